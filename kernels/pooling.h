// Contract of the pooling kernels, NCHW; the N*C planes are independent.
//  - max_pool2d: window (kh, kw), stride, padding that never wins (it acts as -inf),
//    as PyTorch's MaxPool2d (dilation 1, floor mode). Forward writes y [N,C,P,Q] and, for
//    backward, the flat index h*W + w of each window's first maximum (int32). Backward
//    assigns dx [N,C,H,W]: each input element sums dy over the windows whose argmax it is,
//    in window order (CUDA gathers over the overlapping windows: no atomics, deterministic).
//    Padding must not exceed half the window, so every window holds a real element.
//  - adaptive_avg_pool2d: output (P, Q); window of output (i, j) spans rows
//    [floor(i*H/P), ceil((i+1)*H/P)) and the same for columns (PyTorch's rule); forward
//    and backward assign.
#pragma once

#include <cstdint>

namespace kiln::kernels {

struct Pool2dShape {
  int64_t planes = 0, h = 0, w = 0;  // planes = N*C
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int64_t p() const { return (h + 2 * pad_h - kh) / stride_h + 1; }
  int64_t q() const { return (w + 2 * pad_w - kw) / stride_w + 1; }
};

namespace cpu {
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax);
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx);
template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* x,
                                 T* y);
template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* dy,
                                  T* dx);
}  // namespace cpu

namespace cuda {
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int32_t* argmax);
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int32_t* argmax, T* dx);
template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* x,
                                 T* y);
template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t p, int64_t q, const T* dy,
                                  T* dx);
}  // namespace cuda

}  // namespace kiln::kernels
