// See conv2d_fast.h. Index conventions are the reference's: the column matrix of a chunk of nb
// samples is [C*R*S, nb*P*Q], row (c*R + r)*S + s, column b*P*Q + p*Q + q.
#include "kernels/cpu/conv2d_fast.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "kernels/cpu/conv2d_gemm.h"
#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {

namespace {

// A buffer kept for the life of the thread and grown on demand, never zero-filled: every
// element a kernel reads from it was written first in the same call. A training step calls the
// convolutions with the same shapes again and again, so after the first step nothing is
// allocated.
template <typename T>
T* scratch(int slot, size_t n) {
  struct Buffer {
    std::unique_ptr<T[]> data;
    size_t size = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[slot];
  if (b.size < n) {
    b.data.reset();  // free first so the old and new buffers never coexist
    b.data.reset(new T[n]);
    b.size = n;
  }
  return b.data.get();
}

// The output columns q whose tap iw = q*stride - pad + t lies inside [0, w): [lo, hi).
struct Span {
  int64_t lo, hi;
};
inline Span valid_q(int64_t t, int64_t stride, int64_t pad, int64_t w, int64_t Q) {
  // q >= ceil((pad - t) / stride) and q <= floor((w - 1 + pad - t) / stride)
  const int64_t a = pad - t, b = w - 1 + pad - t;
  int64_t lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  int64_t hi = b < 0 ? 0 : b / stride + 1;
  lo = std::min(lo, Q);
  hi = std::clamp(hi, lo, Q);
  return {lo, hi};
}

template <typename T>
void im2col_rows(const Conv2dShape& s, const T* x, int64_t n0, int64_t nb, T* col) {
  const int64_t P = s.p(), Q = s.q(), PQ = P * Q, cols = nb * PQ;
  const int64_t sh = s.stride_h, sw = s.stride_w;
#pragma omp parallel for collapse(2) schedule(static) if (s.c * s.r * s.s * nb * PQ > kParallelGrain)
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t b = 0; b < nb; ++b) {
      const T* plane = x + ((n0 + b) * s.c + c) * s.h * s.w;
      for (int64_t r = 0; r < s.r; ++r)
        for (int64_t t = 0; t < s.s; ++t) {
          T* row = col + ((c * s.r + r) * s.s + t) * cols + b * PQ;
          const Span span = valid_q(t, sw, s.pad_w, s.w, Q);
          for (int64_t p = 0; p < P; ++p) {
            const int64_t ih = p * sh - s.pad_h + r;
            T* out = row + p * Q;
            if (ih < 0 || ih >= s.h) {
              std::fill(out, out + Q, T(0));
              continue;
            }
            std::fill(out, out + span.lo, T(0));
            if (span.hi > span.lo) {
              const T* in = plane + ih * s.w + span.lo * sw - s.pad_w + t;
              if (sw == 1)
                std::memcpy(out + span.lo, in, (span.hi - span.lo) * sizeof(T));
              else
                for (int64_t q = span.lo; q < span.hi; ++q) out[q] = in[(q - span.lo) * sw];
            }
            std::fill(out + span.hi, out + Q, T(0));
          }
        }
    }
}

// dx planes of the chunk = col2im(col): each (b, c) plane is cleared and then accumulated by
// the one thread that owns it.
template <typename T>
void col2im_rows(const Conv2dShape& s, const T* col, int64_t n0, int64_t nb, T* dx) {
  const int64_t P = s.p(), Q = s.q(), PQ = P * Q, cols = nb * PQ;
  const int64_t sh = s.stride_h, sw = s.stride_w;
#pragma omp parallel for collapse(2) schedule(static) if (s.c * s.r * s.s * nb * PQ > kParallelGrain)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < s.c; ++c) {
      T* plane = dx + ((n0 + b) * s.c + c) * s.h * s.w;
      std::fill(plane, plane + s.h * s.w, T(0));
      for (int64_t r = 0; r < s.r; ++r)
        for (int64_t t = 0; t < s.s; ++t) {
          const T* row = col + ((c * s.r + r) * s.s + t) * cols + b * PQ;
          const Span span = valid_q(t, sw, s.pad_w, s.w, Q);
          for (int64_t p = 0; p < P; ++p) {
            const int64_t ih = p * sh - s.pad_h + r;
            if (ih < 0 || ih >= s.h || span.hi <= span.lo) continue;
            T* __restrict out = plane + ih * s.w + span.lo * sw - s.pad_w + t;
            const T* __restrict in = row + p * Q + span.lo;
            const int64_t len = span.hi - span.lo;
            if (sw == 1)
              for (int64_t q = 0; q < len; ++q) out[q] += in[q];
            else
              for (int64_t q = 0; q < len; ++q) out[q * sw] += in[q];
          }
        }
    }
}

// y[N, K, PQ] <-> the GEMM's [K, nb*PQ]: one contiguous PQ run per (b, k).
template <typename T>
void gather_dy(const Conv2dShape& s, const T* dy, int64_t n0, int64_t nb, T* dyc) {
  const int64_t PQ = s.p() * s.q(), cols = nb * PQ;
#pragma omp parallel for collapse(2) schedule(static) if (nb * s.k * PQ > kParallelGrain)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t k = 0; k < s.k; ++k)
      std::memcpy(dyc + k * cols + b * PQ, dy + ((n0 + b) * s.k + k) * PQ, PQ * sizeof(T));
}

}  // namespace

template <typename T>
void conv2d_forward_fast(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  const int64_t P = s.p(), Q = s.q(), PQ = P * Q, CRS = s.c * s.r * s.s;
  const int64_t chunk = conv2d_chunk_samples(s);
  T* col = scratch<T>(0, static_cast<size_t>(CRS * chunk * PQ));
  T* out = scratch<T>(1, static_cast<size_t>(s.k * chunk * PQ));
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.n - n0), cols = nb * PQ;
    im2col_rows(s, x, n0, nb, col);
    matmul<T>(Layout::AsStored, Layout::AsStored, s.k, cols, CRS, weight, CRS, col, cols, out, cols, 0.0);
#pragma omp parallel for collapse(2) schedule(static) if (nb * s.k * PQ > kParallelGrain)
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t k = 0; k < s.k; ++k) {
        const T add = bias ? bias[k] : T(0);
        const T* src = out + k * cols + b * PQ;
        T* dst = y + ((n0 + b) * s.k + k) * PQ;
        for (int64_t i = 0; i < PQ; ++i) dst[i] = src[i] + add;
      }
  }
}

template <typename T>
void conv2d_backward_input_fast(const Conv2dShape& s, const T* dy, const T* weight, T* dx) {
  const int64_t PQ = s.p() * s.q(), CRS = s.c * s.r * s.s;
  const int64_t chunk = conv2d_chunk_samples(s);
  T* col = scratch<T>(0, static_cast<size_t>(CRS * chunk * PQ));
  T* dyc = scratch<T>(1, static_cast<size_t>(s.k * chunk * PQ));
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.n - n0), cols = nb * PQ;
    gather_dy(s, dy, n0, nb, dyc);
    // dcol [CRS, cols] = W^T [CRS, K] @ dyc [K, cols]
    matmul<T>(Layout::Transposed, Layout::AsStored, CRS, cols, s.k, weight, CRS, dyc, cols, col, cols, 0.0);
    col2im_rows(s, col, n0, nb, dx);
  }
}

template <typename T>
void conv2d_backward_weight_fast(const Conv2dShape& s, const T* x, const T* dy, T* dweight, T* dbias) {
  const int64_t PQ = s.p() * s.q(), CRS = s.c * s.r * s.s;
  const int64_t chunk = conv2d_chunk_samples(s);
  T* col = scratch<T>(0, static_cast<size_t>(CRS * chunk * PQ));
  T* dyc = scratch<T>(1, static_cast<size_t>(s.k * chunk * PQ));
  std::unique_ptr<double[]> bias_acc(dbias ? new double[s.k]() : nullptr);
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.n - n0), cols = nb * PQ;
    im2col_rows(s, x, n0, nb, col);
    gather_dy(s, dy, n0, nb, dyc);
    // dW [K, CRS] (+)= dyc [K, cols] @ col^T [cols, CRS]
    matmul<T>(Layout::AsStored, Layout::Transposed, s.k, CRS, cols, dyc, cols, col, cols, dweight, CRS,
              n0 == 0 ? 0.0 : 1.0);
    if (dbias) add_row_sums(dyc, s.k, cols, bias_acc.get());
  }
  if (s.n == 0) std::fill(dweight, dweight + s.k * CRS, T(0));
  if (dbias)
    for (int64_t k = 0; k < s.k; ++k) dbias[k] = static_cast<T>(bias_acc[k]);
}

#define KILN_INSTANTIATE(T)                                                                   \
  template void conv2d_forward_fast<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input_fast<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight_fast<T>(const Conv2dShape&, const T*, const T*, T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
