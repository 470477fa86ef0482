// Winograd F(2x2, 3x3) for the CPU's 3x3, stride-1, pad-1 convolutions (contract:
// kernels/conv2d.h), the shape of almost every convolution in ResNet-18 and the MNIST Net's
// second one. Each 2x2 output tile costs 16 multiplications per (input, output) channel pair
// instead of 36: inputs and weights are transformed into 16 planes, the planes multiplied as 16
// GEMMs [K, C] x [C, tiles], and the products transformed back (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016). The input gradient of such a
// convolution is the same kind of convolution of dy with the weights flipped and transposed, so
// it runs through the same path; the weight gradient is F(3x3, 2x2), which shares the input
// transform. Rounding differs from the im2col GEMM only by the transforms' few additions and
// halvings per element.
#pragma once

#include "kernels/conv2d.h"

namespace kiln::kernels::cpu {

// Whether the Winograd variant computes `shape` (3x3, stride 1, pad 1, enough channels that the
// transforms are repaid).
bool conv2d_winograd_applies(const Conv2dShape& shape);

template <typename T>
void conv2d_forward_winograd(const Conv2dShape& shape, const T* x, const T* weight, const T* bias, T* y);
template <typename T>
void conv2d_backward_input_winograd(const Conv2dShape& shape, const T* dy, const T* weight, T* dx);
template <typename T>
void conv2d_backward_weight_winograd(const Conv2dShape& shape, const T* x, const T* dy, T* dweight, T* dbias);

}  // namespace kiln::kernels::cpu
