// Contract of the mean-squared-error kernels over n elements of x and target y:
//  - mse_forward: *sum_out = sum_i (x_i - y_i)^2 (assigned; the op divides by n).
//  - mse_backward: dx_i = scale * upstream[0] * (x_i - y_i), upstream a device scalar (the
//    incoming gradient, read on the device so no host synchronisation is needed).
#pragma once

#include <cstdint>

namespace kiln::kernels {

namespace cpu {
template <typename T>
void mse_forward(int64_t n, const T* x, const T* y, T* sum_out);
template <typename T>
void mse_backward(int64_t n, const T* x, const T* y, const T* upstream, double scale, T* dx);
}  // namespace cpu

namespace cuda {
template <typename T>
void mse_forward(int64_t n, const T* x, const T* y, T* sum_out);
template <typename T>
void mse_backward(int64_t n, const T* x, const T* y, const T* upstream, double scale, T* dx);
}  // namespace cuda

}  // namespace kiln::kernels
