// The three convolution passes as implicit GEMMs C[M][N] = sum_k A[m][k] B[k][n], with the
// operands gathered from the NCHW tensors by index arithmetic (contract: kernels/conv2d.h;
// kernel: kernels/cuda/conv2d.cu):
//   forward          M = N*P*Q (output pixels)   N = K (out channels)   K = C*R*S
//   backward_input   M = N*H*W (input pixels)    N = C                  K = K*R*S
//   backward_weight  M = K                       N = C*R*S              K = N*P*Q
//
// The index math is split by how often each part changes inside the kernel, so that the
// K loop does no more of it than it must:
//   - a_row(m) / b_col(n): everything that depends only on the row m of A or the column n of B.
//     A thread's rows and columns are fixed for the whole K loop, so this runs once per kernel.
//   - a_tap(k) / b_tap(k): everything that depends only on the reduction index k; once per
//     K step (or per staged element where the thread's k differs per slot).
//   - a(row, tap) / b(col, tap): the load itself, a few adds and a bounds test.
// Every division is by a launch-constant extent through FastDivmod (kernels/fast_divmod.h),
// 32-bit: the host checks that M, N, K and every per-image extent stay below 2^31 (fits()),
// and batch offsets are 64-bit products. The functions are host-callable too, so the CPU tests
// check the index math against a direct convolution without a GPU.
#pragma once

#include <cstdint>

#include "core/macros.h"
#include "kernels/conv2d.h"
#include "kernels/fast_divmod.h"

namespace kiln::kernels::conv_gemm {

// Extents of one convolution, with a divider for each extent the index math divides by.
struct Geometry {
  int32_t n, c, h, w, k, r, s, sh, sw, ph, pw, p, q;
  FastDivmod div_q, div_pq, div_w, div_hw, div_s, div_rs, div_sh, div_sw;

  // True when every index and per-image extent of `shape` fits the 32-bit index math.
  static bool fits(const Conv2dShape& g) {
    const int64_t lim = FastDivmod::kLimit;
    const int64_t p = g.p(), q = g.q();
    const int64_t in_image = g.c * g.h * g.w, out_image = g.k * p * q, filter = g.c * g.r * g.s;
    return g.n < lim && in_image < lim && out_image < lim && g.k * filter < lim && g.n * p * q < lim &&
           g.n * g.h * g.w < lim && g.k * g.r * g.s < lim && g.stride_h < lim && g.stride_w < lim &&
           g.pad_h < lim / 4 && g.pad_w < lim / 4 && g.h + g.pad_h < lim / 2 && g.w + g.pad_w < lim / 2;
  }

  explicit Geometry(const Conv2dShape& g)
      : n(static_cast<int32_t>(g.n)),
        c(static_cast<int32_t>(g.c)),
        h(static_cast<int32_t>(g.h)),
        w(static_cast<int32_t>(g.w)),
        k(static_cast<int32_t>(g.k)),
        r(static_cast<int32_t>(g.r)),
        s(static_cast<int32_t>(g.s)),
        sh(static_cast<int32_t>(g.stride_h)),
        sw(static_cast<int32_t>(g.stride_w)),
        ph(static_cast<int32_t>(g.pad_h)),
        pw(static_cast<int32_t>(g.pad_w)),
        p(static_cast<int32_t>(g.p())),
        q(static_cast<int32_t>(g.q())),
        div_q(q > 0 ? q : 1),
        div_pq(p * q > 0 ? p * q : 1),
        div_w(w > 0 ? w : 1),
        div_hw(h * w > 0 ? h * w : 1),
        div_s(s > 0 ? s : 1),
        div_rs(r * s > 0 ? r * s : 1),
        div_sh(sh),
        div_sw(sw) {}

  // Tap k = (c, r, s) of a filter bank, its channel scaled by `channel_stride` (the distance
  // between the channels of the tensor the tap indexes).
  struct FilterTap {
    int32_t channel_offset, r, s;
  };
  KILN_HD FilterTap filter_tap(uint32_t k, int32_t channel_stride) const {
    uint32_t c, rs, tr, ts;
    div_rs.divmod(k, c, rs);
    div_s.divmod(rs, tr, ts);
    return {static_cast<int32_t>(c) * channel_stride, static_cast<int32_t>(tr), static_cast<int32_t>(ts)};
  }

  // Output pixel (n, p, q): the input image it reads and the corner its window starts at.
  struct Window {
    int64_t image_offset;
    int32_t ih0, iw0;
  };
  KILN_HD Window output_window(uint32_t pixel) const {
    uint32_t nb, pq, op, oq;
    div_pq.divmod(pixel, nb, pq);
    div_q.divmod(pq, op, oq);
    return {static_cast<int64_t>(nb) * c * h * w, static_cast<int32_t>(op) * sh - ph,
            static_cast<int32_t>(oq) * sw - pw};
  }

  // x at `tap` of `window`, 0 outside the image (the padding).
  KILN_HD float input_at(const float* x, const Window& window, const FilterTap& tap) const;
};

// True when 0 <= v < bound, in one unsigned comparison.
KILN_HD KILN_FORCEINLINE bool in_range(int32_t v, int32_t bound) {
  return static_cast<uint32_t>(v) < static_cast<uint32_t>(bound);
}

KILN_HD inline float Geometry::input_at(const float* x, const Window& window, const FilterTap& tap) const {
  const int32_t ih = window.ih0 + tap.r, iw = window.iw0 + tap.s;
  if (!in_range(ih, h) || !in_range(iw, w)) return 0.f;
  return x[window.image_offset + tap.channel_offset + ih * w + iw];
}

// Forward: A[m][k] = x at output pixel m = (n, p, q), tap k = (c, r, s); B[k][n] = w[n][k].
struct ForwardOp {
  Geometry g;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
  int64_t M, N, K;
  static constexpr bool kAContiguousInM = true;

  using Row = Geometry::Window;     // output pixel m
  using Tap = Geometry::FilterTap;  // reduction index k = (c, r, s)
  using Col = const float*;         // the filter row of output channel n
  using BTap = uint32_t;

  KILN_HD Row a_row(uint32_t m) const { return g.output_window(m); }
  KILN_HD Tap a_tap(uint32_t k) const { return g.filter_tap(k, g.h * g.w); }
  KILN_HD float a(const Row& row, const Tap& tap) const { return g.input_at(x, row, tap); }
  KILN_HD Col b_col(uint32_t n) const { return w + static_cast<int64_t>(n) * K; }
  KILN_HD BTap b_tap(uint32_t k) const { return k; }
  KILN_HD float b(Col col, BTap k) const { return col[k]; }
  KILN_HD void store(uint32_t m, uint32_t n, float v) const {
    uint32_t nb, pq;
    g.div_pq.divmod(m, nb, pq);
    y[(static_cast<int64_t>(nb) * g.k + n) * (g.p * g.q) + pq] = v + (bias ? bias[n] : 0.f);
  }
};

// Input gradient: A[m][k] = dy at the output pixel that tap k = (ko, r, s) of input pixel
// m = (n, h, w) came from (0 when no output pixel maps there); B[k][n] = w[ko][n][r][s].
struct BackwardInputOp {
  Geometry g;
  const float* dy;
  const float* w;
  float* dx;
  int64_t M, N, K;
  static constexpr bool kAContiguousInM = true;

  struct Row {  // input pixel m, shifted by the padding
    const float* image;
    int32_t th0, tw0;
  };
  using Tap = Geometry::FilterTap;  // k = (ko, r, s)
  using Col = const float*;         // input channel n's filters start here
  using BTap = int64_t;             // offset of (ko, r, s) within a filter bank

  KILN_HD Row a_row(uint32_t m) const {
    uint32_t nb, hw, ih, iw;
    g.div_hw.divmod(m, nb, hw);
    g.div_w.divmod(hw, ih, iw);
    return {dy + static_cast<int64_t>(nb) * g.k * g.p * g.q, static_cast<int32_t>(ih) + g.ph,
            static_cast<int32_t>(iw) + g.pw};
  }
  KILN_HD Tap a_tap(uint32_t k) const { return g.filter_tap(k, g.p * g.q); }
  KILN_HD float a(const Row& row, const Tap& tap) const {
    const int32_t th = row.th0 - tap.r, tw = row.tw0 - tap.s;
    if (th < 0 || tw < 0) return 0.f;
    uint32_t p, q, rem_h, rem_w;
    g.div_sh.divmod(static_cast<uint32_t>(th), p, rem_h);
    g.div_sw.divmod(static_cast<uint32_t>(tw), q, rem_w);
    if (rem_h != 0 || rem_w != 0 || p >= static_cast<uint32_t>(g.p) || q >= static_cast<uint32_t>(g.q))
      return 0.f;
    return row.image[tap.channel_offset + static_cast<int32_t>(p) * g.q + static_cast<int32_t>(q)];
  }
  KILN_HD Col b_col(uint32_t n) const { return w + static_cast<int64_t>(n) * g.r * g.s; }
  KILN_HD BTap b_tap(uint32_t k) const {
    uint32_t ko, rs;
    g.div_rs.divmod(k, ko, rs);
    return static_cast<int64_t>(ko) * g.c * g.r * g.s + rs;
  }
  KILN_HD float b(Col col, BTap tap) const { return col[tap]; }
  KILN_HD void store(uint32_t m, uint32_t n, float v) const {
    uint32_t nb, hw;
    g.div_hw.divmod(m, nb, hw);
    dx[(static_cast<int64_t>(nb) * g.c + n) * (g.h * g.w) + hw] = v;
  }
};

// Weight gradient: A[m][k] = dy[n][m][p][q] for k = (n, p, q); B[k][n] = x at tap n = (c, r, s)
// of output pixel k.
struct BackwardWeightOp {
  Geometry g;
  const float* x;
  const float* dy;
  float* dw;
  int64_t M, N, K;
  static constexpr bool kAContiguousInM = false;

  using Row = const float*;         // output channel m's first pixel in image 0
  using Tap = int64_t;              // offset of output pixel k = (n, p, q) from there
  using Col = Geometry::FilterTap;  // filter tap n = (c, r, s)
  using BTap = Geometry::Window;    // output pixel k

  KILN_HD Row a_row(uint32_t m) const { return dy + static_cast<int64_t>(m) * g.p * g.q; }
  KILN_HD Tap a_tap(uint32_t k) const {
    uint32_t nb, pq;
    g.div_pq.divmod(k, nb, pq);
    return static_cast<int64_t>(nb) * g.k * g.p * g.q + pq;
  }
  KILN_HD float a(Row row, Tap tap) const { return row[tap]; }
  KILN_HD Col b_col(uint32_t n) const { return g.filter_tap(n, g.h * g.w); }
  KILN_HD BTap b_tap(uint32_t k) const { return g.output_window(k); }
  KILN_HD float b(const Col& col, const BTap& tap) const { return g.input_at(x, tap, col); }
  KILN_HD void store(uint32_t m, uint32_t n, float v) const { dw[static_cast<int64_t>(m) * N + n] = v; }
};

// The ops for a shape; M, N, K as in the table above.
inline ForwardOp forward_op(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                            float* y) {
  const Geometry g(s);
  return {g, x, w, bias, y, s.n * s.p() * s.q(), s.k, s.c * s.r * s.s};
}
inline BackwardInputOp backward_input_op(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const Geometry g(s);
  return {g, dy, w, dx, s.n * s.h * s.w, s.c, s.k * s.r * s.s};
}
inline BackwardWeightOp backward_weight_op(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const Geometry g(s);
  return {g, x, dy, dw, s.k, s.c * s.r * s.s, s.n * s.p() * s.q()};
}

}  // namespace kiln::kernels::conv_gemm
