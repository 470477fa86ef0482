// CPU mean-squared-error kernels (contract: kernels/mse.h).
#include "kernels/mse.h"

namespace kiln::kernels::cpu {

template <typename T>
void mse_forward(int64_t n, const T* x, const T* y, T* sum_out) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    acc += d * d;
  }
  *sum_out = static_cast<T>(acc);
}

template <typename T>
void mse_backward(int64_t n, const T* x, const T* y, const T* upstream, double scale, T* dx) {
  const T k = static_cast<T>(scale * upstream[0]);
  for (int64_t i = 0; i < n; ++i) dx[i] = k * (x[i] - y[i]);
}

template void mse_forward<float>(int64_t, const float*, const float*, float*);
template void mse_forward<double>(int64_t, const double*, const double*, double*);
template void mse_backward<float>(int64_t, const float*, const float*, const float*, double, float*);
template void mse_backward<double>(int64_t, const double*, const double*, const double*, double, double*);

}  // namespace kiln::kernels::cpu
