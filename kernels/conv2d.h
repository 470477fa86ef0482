// Contract of the 2-D convolution kernels (groups = 1, dilation = 1), NCHW as PyTorch, so
// weights interchange: x [N, C, H, W], weight [K, C, R, S], bias [K], y [N, K, P, Q] with
//   P = (H + 2 pad_h - R) / stride_h + 1,  Q = (W + 2 pad_w - S) / stride_w + 1,
//   y[n,k,p,q] = bias[k] + sum_{c,r,s} x[n, c, p*stride_h - pad_h + r, q*stride_w - pad_w + s] * w[k,c,r,s]
// (out-of-image taps read 0). Every function ASSIGNS its outputs (=): gradient buffers may
// hold anything (NaN) on entry; accumulation into parameter gradients happens in autograd.
//  - forward: y; bias may be null.
//  - backward_input: dx from dy and weight.
//  - backward_weight: dweight from x and dy; dbias (may be null) = sum of dy over n, p, q.
// CPU: im2col + OpenBLAS GEMM over the whole batch (chunked to bound the column buffer).
// CUDA: kiln's own implicit-GEMM kernels (no cuDNN, no cuBLAS): TF32 tensor cores by default
// (10-bit mantissa operands, fp32 accumulation; PyTorch's cuDNN default), or exact FP32 FMA.
#pragma once

#include <cstdint>

namespace kiln::kernels {

struct Conv2dShape {
  int64_t n = 0, c = 0, h = 0, w = 0;  // input
  int64_t k = 0, r = 0, s = 0;         // output channels, kernel height, kernel width
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;

  int64_t p() const { return (h + 2 * pad_h - r) / stride_h + 1; }
  int64_t q() const { return (w + 2 * pad_w - s) / stride_w + 1; }
};

enum class ConvPrecision : uint8_t { TF32, FP32 };

namespace cpu {
template <typename T>
void conv2d_forward(const Conv2dShape& shape, const T* x, const T* weight, const T* bias, T* y);
template <typename T>
void conv2d_backward_input(const Conv2dShape& shape, const T* dy, const T* weight, T* dx);
template <typename T>
void conv2d_backward_weight(const Conv2dShape& shape, const T* x, const T* dy, T* dweight, T* dbias);
}  // namespace cpu

namespace cuda {
// float only; double convolutions run on the CPU reference in gradient checks.
void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight, const float* bias,
                    float* y, ConvPrecision precision);
void conv2d_backward_input(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                           ConvPrecision precision);
void conv2d_backward_weight(const Conv2dShape& shape, const float* x, const float* dy, float* dweight,
                            float* dbias, ConvPrecision precision);
}  // namespace cuda

}  // namespace kiln::kernels
