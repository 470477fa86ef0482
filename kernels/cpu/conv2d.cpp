// CPU convolution: im2col + one OpenBLAS GEMM per chunk of the batch. The column matrix
// lays the chunk's output pixels side by side ([C*R*S, nb*P*Q]), so even the 2x2 maps of
// ResNet's last stage become one reasonably sized GEMM instead of many tiny ones.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_gemm.h"
#include "kernels/cpu/parallel.h"

namespace kiln::kernels::cpu {

namespace {

// col[(c*R + r)*S + s][b*PQ + p*Q + q] = x[n0 + b][c][p*sh - ph + r][q*sw - pw + s] (0 outside).
template <typename T>
void im2col(const Conv2dShape& s, const T* x, int64_t n0, int64_t nb, T* col) {
  const int64_t P = s.p(), Q = s.q(), PQ = P * Q, cols = nb * PQ;
#pragma omp parallel for collapse(2) schedule(static) if (s.c * s.r * s.s * nb * PQ > kParallelGrain)
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t b = 0; b < nb; ++b) {
      const T* plane = x + ((n0 + b) * s.c + c) * s.h * s.w;
      for (int64_t r = 0; r < s.r; ++r)
        for (int64_t t = 0; t < s.s; ++t) {
          T* row = col + ((c * s.r + r) * s.s + t) * cols + b * PQ;
          for (int64_t p = 0; p < P; ++p) {
            const int64_t ih = p * s.stride_h - s.pad_h + r;
            T* out = row + p * Q;
            if (ih < 0 || ih >= s.h) {
              std::fill(out, out + Q, T(0));
              continue;
            }
            const T* in = plane + ih * s.w;
            for (int64_t q = 0; q < Q; ++q) {
              const int64_t iw = q * s.stride_w - s.pad_w + t;
              out[q] = (iw >= 0 && iw < s.w) ? in[iw] : T(0);
            }
          }
        }
    }
}

// The adjoint of im2col: dx[n0 + b] += scattered col. dx must be zeroed by the caller.
template <typename T>
void col2im(const Conv2dShape& s, const T* col, int64_t n0, int64_t nb, T* dx) {
  const int64_t P = s.p(), Q = s.q(), PQ = P * Q, cols = nb * PQ;
  // Parallel over (b, c) planes: each plane of dx is written by one thread only.
#pragma omp parallel for collapse(2) schedule(static) if (s.c * s.r * s.s * nb * PQ > kParallelGrain)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < s.c; ++c) {
      T* plane = dx + ((n0 + b) * s.c + c) * s.h * s.w;
      for (int64_t r = 0; r < s.r; ++r)
        for (int64_t t = 0; t < s.s; ++t) {
          const T* row = col + ((c * s.r + r) * s.s + t) * cols + b * PQ;
          for (int64_t p = 0; p < P; ++p) {
            const int64_t ih = p * s.stride_h - s.pad_h + r;
            if (ih < 0 || ih >= s.h) continue;
            for (int64_t q = 0; q < Q; ++q) {
              const int64_t iw = q * s.stride_w - s.pad_w + t;
              if (iw >= 0 && iw < s.w) plane[ih * s.w + iw] += row[p * Q + q];
            }
          }
        }
    }
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* weight, const T* bias, T* y) {
  const int64_t P = s.p(), Q = s.q(), PQ = P * Q, CRS = s.c * s.r * s.s;
  const int64_t chunk = conv2d_chunk_samples(s);
  std::vector<T> col(static_cast<size_t>(CRS * chunk * PQ)), out(static_cast<size_t>(s.k * chunk * PQ));
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.n - n0), cols = nb * PQ;
    im2col(s, x, n0, nb, col.data());
    matmul<T>(Layout::AsStored, Layout::AsStored, s.k, cols, CRS, weight, CRS, col.data(), cols, out.data(),
              cols, 0.0);
    // out is [K, nb*PQ]; y is [N, K, PQ].
#pragma omp parallel for collapse(2) schedule(static) if (nb * s.k * PQ > kParallelGrain)
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t k = 0; k < s.k; ++k) {
        const T add = bias ? bias[k] : T(0);
        const T* src = out.data() + k * cols + b * PQ;
        T* dst = y + ((n0 + b) * s.k + k) * PQ;
        for (int64_t i = 0; i < PQ; ++i) dst[i] = src[i] + add;
      }
  }
}

template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* weight, T* dx) {
  const int64_t PQ = s.p() * s.q(), CRS = s.c * s.r * s.s;
  const int64_t chunk = conv2d_chunk_samples(s);
  std::fill(dx, dx + s.n * s.c * s.h * s.w, T(0));
  std::vector<T> col(static_cast<size_t>(CRS * chunk * PQ)), dyc(static_cast<size_t>(s.k * chunk * PQ));
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.n - n0), cols = nb * PQ;
#pragma omp parallel for collapse(2) schedule(static) if (nb * s.k * PQ > kParallelGrain)
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t k = 0; k < s.k; ++k)
        std::memcpy(dyc.data() + k * cols + b * PQ, dy + ((n0 + b) * s.k + k) * PQ, PQ * sizeof(T));
    // dcol [CRS, cols] = W^T [CRS, K] @ dyc [K, cols]
    matmul<T>(Layout::Transposed, Layout::AsStored, CRS, cols, s.k, weight, CRS, dyc.data(), cols, col.data(),
              cols, 0.0);
    col2im(s, col.data(), n0, nb, dx);
  }
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dweight, T* dbias) {
  const int64_t PQ = s.p() * s.q(), CRS = s.c * s.r * s.s;
  const int64_t chunk = conv2d_chunk_samples(s);
  std::vector<T> col(static_cast<size_t>(CRS * chunk * PQ)), dyc(static_cast<size_t>(s.k * chunk * PQ));
  std::vector<double> bias_acc(dbias ? s.k : 0, 0.0);
  for (int64_t n0 = 0; n0 < s.n; n0 += chunk) {
    const int64_t nb = std::min(chunk, s.n - n0), cols = nb * PQ;
    im2col(s, x, n0, nb, col.data());
#pragma omp parallel for collapse(2) schedule(static) if (nb * s.k * PQ > kParallelGrain)
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t k = 0; k < s.k; ++k)
        std::memcpy(dyc.data() + k * cols + b * PQ, dy + ((n0 + b) * s.k + k) * PQ, PQ * sizeof(T));
    // dW [K, CRS] (+)= dyc [K, cols] @ col^T [cols, CRS]
    matmul<T>(Layout::AsStored, Layout::Transposed, s.k, CRS, cols, dyc.data(), cols, col.data(), cols,
              dweight, CRS, n0 == 0 ? 0.0 : 1.0);
    if (dbias) add_row_sums(dyc.data(), s.k, cols, bias_acc.data());
  }
  if (s.n == 0) std::fill(dweight, dweight + s.k * CRS, T(0));
  if (dbias)
    for (int64_t k = 0; k < s.k; ++k) dbias[k] = static_cast<T>(bias_acc[k]);
}

#define KILN_INSTANTIATE(T)                                                              \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
