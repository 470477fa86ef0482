// See conv2d_winograd.h. With d a 4x4 input patch, g a 3x3 filter and m their 4x4 elementwise
// product after transformation, one 2x2 output tile is
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A,
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// Tile t = (n, th, tw) covers outputs rows 2th..2th+1, columns 2tw..2tw+1 and reads input rows
// 2th-1..2th+2, columns 2tw-1..2tw+2 (zero outside the image: the padding). Layouts:
// V [16][C][T] (transformed input), U [16][K][C] (transformed weights), M [16][K][T].
#include "kernels/cpu/conv2d_winograd.h"

#include <algorithm>
#include <memory>

#include "kernels/cpu/parallel.h"
#include "kernels/gemm.h"

namespace kiln::kernels::cpu {

namespace {

// Per-thread buffers grown on demand and never cleared: every element read is written first
// in the same call, and repeated training steps reuse them without allocating.
template <typename T>
T* winograd_scratch(int slot, size_t n) {
  struct Buffer {
    std::unique_ptr<T[]> data;
    size_t size = 0;
  };
  thread_local Buffer buffers[3];
  Buffer& b = buffers[slot];
  if (b.size < n) {
    b.data.reset();
    b.data.reset(new T[n]);
    b.size = n;
  }
  return b.data.get();
}

// U[xi][o][i] = (G g G^T)[xi] for the filter g of output channel o and input channel i, read
// from w [O][I][3][3] as stored, or (flip_transpose) from w [I][O][3][3] rotated by 180 degrees:
// the filter that turns the forward convolution into its input gradient.
template <typename T>
void transform_weights(const T* w, int64_t out_ch, int64_t in_ch, bool flip_transpose, T* u) {
  const int64_t OI = out_ch * in_ch;
#pragma omp parallel for schedule(static) if (OI * 16 > kParallelGrain)
  for (int64_t oi = 0; oi < OI; ++oi) {
    const int64_t o = oi / in_ch, i = oi % in_ch;
    T g[3][3];
    if (flip_transpose) {
      const T* src = w + (i * out_ch + o) * 9;
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s) g[r][s] = src[(2 - r) * 3 + (2 - s)];
    } else {
      const T* src = w + (o * in_ch + i) * 9;
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s) g[r][s] = src[r * 3 + s];
    }
    // tmp = G g  (4x3), then G g G^T (4x4).
    T tmp[4][3];
    for (int s = 0; s < 3; ++s) {
      tmp[0][s] = g[0][s];
      tmp[1][s] = T(0.5) * (g[0][s] + g[1][s] + g[2][s]);
      tmp[2][s] = T(0.5) * (g[0][s] - g[1][s] + g[2][s]);
      tmp[3][s] = g[2][s];
    }
    for (int r = 0; r < 4; ++r) {
      const T v[4] = {tmp[r][0], T(0.5) * (tmp[r][0] + tmp[r][1] + tmp[r][2]),
                      T(0.5) * (tmp[r][0] - tmp[r][1] + tmp[r][2]), tmp[r][2]};
      for (int s = 0; s < 4; ++s) u[(r * 4 + s) * OI + oi] = v[s];
    }
  }
}

// V[xi][c][t] = (B^T d B)[xi] for the 4x4 patch d of tile t in channel c.
template <typename T>
void transform_input(const T* x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t th, int64_t tw, T* v) {
  const int64_t tiles = n * th * tw, CT = c * tiles;
#pragma omp parallel for collapse(2) schedule(static) if (CT * 16 > kParallelGrain)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const T* plane = x + (b * c + ch) * h * w;
      for (int64_t i = 0; i < th; ++i)
        for (int64_t j = 0; j < tw; ++j) {
          T d[4][4];
          const int64_t h0 = 2 * i - 1, w0 = 2 * j - 1;
          for (int r = 0; r < 4; ++r)
            for (int s = 0; s < 4; ++s) {
              const int64_t ih = h0 + r, iw = w0 + s;
              d[r][s] = (ih >= 0 && ih < h && iw >= 0 && iw < w) ? plane[ih * w + iw] : T(0);
            }
          // tmp = B^T d, then (B^T d) B.
          T tmp[4][4];
          for (int s = 0; s < 4; ++s) {
            tmp[0][s] = d[0][s] - d[2][s];
            tmp[1][s] = d[1][s] + d[2][s];
            tmp[2][s] = d[2][s] - d[1][s];
            tmp[3][s] = d[1][s] - d[3][s];
          }
          T* out = v + ch * tiles + (b * th + i) * tw + j;
          for (int r = 0; r < 4; ++r) {
            out[(r * 4 + 0) * CT] = tmp[r][0] - tmp[r][2];
            out[(r * 4 + 1) * CT] = tmp[r][1] + tmp[r][2];
            out[(r * 4 + 2) * CT] = tmp[r][2] - tmp[r][1];
            out[(r * 4 + 3) * CT] = tmp[r][1] - tmp[r][3];
          }
        }
    }
}

// y[b][k] tile (i, j) = A^T M A (+ bias), clipped at the image's last row and column.
template <typename T>
void transform_output(const T* m, const T* bias, int64_t n, int64_t k, int64_t p, int64_t q, int64_t th, int64_t tw,
                      T* y) {
  const int64_t tiles = n * th * tw, KT = k * tiles;
#pragma omp parallel for collapse(2) schedule(static) if (KT * 16 > kParallelGrain)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < k; ++ch) {
      T* plane = y + (b * k + ch) * p * q;
      const T add = bias ? bias[ch] : T(0);
      for (int64_t i = 0; i < th; ++i)
        for (int64_t j = 0; j < tw; ++j) {
          const T* src = m + ch * tiles + (b * th + i) * tw + j;
          T e[4][4];
          for (int r = 0; r < 4; ++r)
            for (int s = 0; s < 4; ++s) e[r][s] = src[(r * 4 + s) * KT];
          // tmp = A^T e (2x4), then (A^T e) A (2x2).
          T tmp[2][4];
          for (int s = 0; s < 4; ++s) {
            tmp[0][s] = e[0][s] + e[1][s] + e[2][s];
            tmp[1][s] = e[1][s] - e[2][s] - e[3][s];
          }
          const T out[2][2] = {{tmp[0][0] + tmp[0][1] + tmp[0][2], tmp[0][1] - tmp[0][2] - tmp[0][3]},
                               {tmp[1][0] + tmp[1][1] + tmp[1][2], tmp[1][1] - tmp[1][2] - tmp[1][3]}};
          for (int r = 0; r < 2; ++r) {
            const int64_t oh = 2 * i + r;
            if (oh >= p) break;
            for (int s = 0; s < 2; ++s) {
              const int64_t ow = 2 * j + s;
              if (ow < q) plane[oh * q + ow] = out[r][s] + add;
            }
          }
        }
    }
}

// The 3x3 / stride 1 / pad 1 convolution of x [n, in_ch, h, w] into y [n, out_ch, h, w], in
// chunks of the batch that keep the transformed input and products near 16M elements.
template <typename T>
void winograd_conv(int64_t n, int64_t in_ch, int64_t out_ch, int64_t h, int64_t w, const T* x, const T* weight,
                   bool flip_transpose, const T* bias, T* y) {
  const int64_t th = (h + 1) / 2, tw = (w + 1) / 2;
  const int64_t per_sample = 16 * (in_ch + out_ch) * th * tw;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(n, (int64_t(1) << 24) / per_sample));
  T* u = winograd_scratch<T>(0, static_cast<size_t>(16 * out_ch * in_ch));
  T* v = winograd_scratch<T>(1, static_cast<size_t>(16 * in_ch * chunk * th * tw));
  T* m = winograd_scratch<T>(2, static_cast<size_t>(16 * out_ch * chunk * th * tw));
  transform_weights(weight, out_ch, in_ch, flip_transpose, u);
  for (int64_t n0 = 0; n0 < n; n0 += chunk) {
    const int64_t nb = std::min(chunk, n - n0), tiles = nb * th * tw;
    transform_input(x + n0 * in_ch * h * w, nb, in_ch, h, w, th, tw, v);
    // M[xi] [out_ch, tiles] = U[xi] [out_ch, in_ch] @ V[xi] [in_ch, tiles], for the 16 xi.
    GemmArgs g;
    g.m = out_ch;
    g.n = tiles;
    g.k = in_ch;
    g.lda = in_ch;
    g.ldb = tiles;
    g.ldc = tiles;
    g.batch = 16;
    g.stride_a = out_ch * in_ch;
    g.stride_b = in_ch * tiles;
    g.stride_c = out_ch * tiles;
    gemm<T>(g, u, v, m);
    transform_output(m, bias, nb, out_ch, h, w, th, tw, y + n0 * out_ch * h * w);
  }
}

}  // namespace

bool conv2d_winograd_applies(const Conv2dShape& s) {
  // Below 16 channels on either side the GEMMs are too thin to pay for the transforms (the
  // ResNet stem's 3 input channels, the MNIST Net's 1).
  return s.r == 3 && s.s == 3 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 1 && s.pad_w == 1 && s.c >= 16 &&
         s.k >= 16 && s.n > 0;
}

template <typename T>
void conv2d_forward_winograd(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  winograd_conv(s.n, s.c, s.k, s.h, s.w, x, weight, false, bias, y);
}

template <typename T>
void conv2d_backward_input_winograd(const Conv2dShape& s, const T* dy, const T* weight, T* dx) {
  // dx[n, c] = sum_k dy[n, k] (*) rot180(w[k, c]), pad 1: the forward with k and c swapped.
  winograd_conv(s.n, s.k, s.c, s.h, s.w, dy, weight, true, static_cast<const T*>(nullptr), dx);
}

#define KILN_INSTANTIATE(T)                                                                       \
  template void conv2d_forward_winograd<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input_winograd<T>(const Conv2dShape&, const T*, const T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
