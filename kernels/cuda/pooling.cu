// CUDA pooling (contract: kernels/pooling.h). Forward: one thread per output element.
// Max-pool backward: one thread per INPUT element gathers dy from the (at most
// ceil(k/stride)^2) windows that contain it and whose argmax it is: no atomics, fixed order.
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#include "kernels/pooling.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void max_pool_forward_kernel(Pool2dShape s, int64_t P, int64_t Q, const T* x, T* y,
                                        int32_t* argmax) {
  const int64_t total = s.planes * P * Q;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const int64_t q = o % Q, p = (o / Q) % P, pl = o / (P * Q);
    const T* in = x + pl * s.h * s.w;
    const int64_t h0 = p * s.stride_h - s.pad_h, w0 = q * s.stride_w - s.pad_w;
    const int64_t h_lo = h0 > 0 ? h0 : 0, w_lo = w0 > 0 ? w0 : 0;
    const int64_t h_hi = h0 + s.kh < s.h ? h0 + s.kh : s.h, w_hi = w0 + s.kw < s.w ? w0 + s.kw : s.w;
    T best = T(0);
    int32_t best_i = -1;
    for (int64_t i = h_lo; i < h_hi; ++i)
      for (int64_t j = w_lo; j < w_hi; ++j) {
        const T v = in[i * s.w + j];
        if (best_i < 0 || v > best || (isnan(v) && !isnan(best))) {
          best = v;
          best_i = static_cast<int32_t>(i * s.w + j);
        }
      }
    y[o] = best;
    argmax[o] = best_i;
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(Pool2dShape s, int64_t P, int64_t Q, const T* dy,
                                         const int32_t* argmax, T* dx) {
  const int64_t total = s.planes * s.h * s.w;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t w = e % s.w, h = (e / s.w) % s.h, pl = e / (s.h * s.w);
    const int32_t self = static_cast<int32_t>(h * s.w + w);
    // Output rows p whose window [p*st - pad, p*st - pad + kh) contains h.
    const int64_t ph = h + s.pad_h;
    int64_t p_lo = ph >= s.kh ? (ph - s.kh) / s.stride_h + 1 : 0;
    int64_t p_hi = ph / s.stride_h;
    if (p_hi > P - 1) p_hi = P - 1;
    const int64_t pw = w + s.pad_w;
    int64_t q_lo = pw >= s.kw ? (pw - s.kw) / s.stride_w + 1 : 0;
    int64_t q_hi = pw / s.stride_w;
    if (q_hi > Q - 1) q_hi = Q - 1;
    T acc = T(0);
    for (int64_t p = p_lo; p <= p_hi; ++p)
      for (int64_t q = q_lo; q <= q_hi; ++q) {
        const int64_t o = (pl * P + p) * Q + q;
        if (argmax[o] == self) acc += dy[o];
      }
    dx[e] = acc;
  }
}

__device__ inline int64_t window_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
__device__ inline int64_t window_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

template <typename T>
__global__ void adaptive_avg_forward_kernel(int64_t planes, int64_t h, int64_t w, int64_t P, int64_t Q,
                                            const T* x, T* y) {
  const int64_t total = planes * P * Q;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const int64_t j = o % Q, i = (o / Q) % P, pl = o / (P * Q);
    const int64_t h0 = window_start(i, h, P), h1 = window_end(i, h, P);
    const int64_t w0 = window_start(j, w, Q), w1 = window_end(j, w, Q);
    T acc = T(0);
    for (int64_t a = h0; a < h1; ++a)
      for (int64_t b = w0; b < w1; ++b) acc += x[(pl * h + a) * w + b];
    y[o] = acc / static_cast<T>((h1 - h0) * (w1 - w0));
  }
}

template <typename T>
__global__ void adaptive_avg_backward_kernel(int64_t planes, int64_t h, int64_t w, int64_t P, int64_t Q,
                                             const T* dy, T* dx) {
  const int64_t total = planes * h * w;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t b = e % w, a = (e / w) % h, pl = e / (h * w);
    T acc = T(0);
    // Windows are monotone in i, so scan the (few) outputs whose window covers row a / col b.
    for (int64_t i = 0; i < P; ++i) {
      const int64_t h0 = window_start(i, h, P), h1 = window_end(i, h, P);
      if (a < h0 || a >= h1) continue;
      for (int64_t j = 0; j < Q; ++j) {
        const int64_t w0 = window_start(j, w, Q), w1 = window_end(j, w, Q);
        if (b < w0 || b >= w1) continue;
        acc += dy[(pl * P + i) * Q + j] / static_cast<T>((h1 - h0) * (w1 - w0));
      }
    }
    dx[e] = acc;
  }
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax) {
  const int64_t P = s.p(), Q = s.q(), total = s.planes * P * Q;
  if (total == 0) return;
  kiln::cuda::launch(max_pool_forward_kernel<T>, {kiln::cuda::grid_for(total, kThreads), kThreads}, s, P, Q,
                     x, y, argmax);
}

template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx) {
  const int64_t total = s.planes * s.h * s.w;
  if (total == 0) return;
  kiln::cuda::launch(max_pool_backward_kernel<T>, {kiln::cuda::grid_for(total, kThreads), kThreads}, s, s.p(),
                     s.q(), dy, argmax, dx);
}

template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* x,
                                 T* y) {
  const int64_t total = planes * p * q;
  if (total == 0) return;
  kiln::cuda::launch(adaptive_avg_forward_kernel<T>, {kiln::cuda::grid_for(total, kThreads), kThreads},
                     planes, h, w, p, q, x, y);
}

template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* dy,
                                  T* dx) {
  const int64_t total = planes * h * w;
  if (total == 0) return;
  kiln::cuda::launch(adaptive_avg_backward_kernel<T>, {kiln::cuda::grid_for(total, kThreads), kThreads},
                     planes, h, w, p, q, dy, dx);
}

#define KILN_INSTANTIATE(T)                                                                                \
  template void max_pool2d_forward<T>(const Pool2dShape&, const T*, T*, int32_t*);                         \
  template void max_pool2d_backward<T>(const Pool2dShape&, const T*, const int32_t*, T*);                  \
  template void adaptive_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*); \
  template void adaptive_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cuda
