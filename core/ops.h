// The functional API: every differentiable computation on tensors. Each op checks its
// arguments, dispatches once on the device to kernels/cpu or kernels/cuda, and records its
// backward on the autograd tape. Elementwise binary ops broadcast like NumPy/PyTorch.
// Layers (layers/) and losses (losses/) are built only from these.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace kiln {

// ---- elementwise, broadcasting -------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor rsub(double a, const Tensor& b);  // a - b
Tensor rdiv(double a, const Tensor& b);  // a / b
Tensor neg(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor square(const Tensor& a);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return rsub(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(double a, const Tensor& b) { return rdiv(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

// Not differentiable: 1 where a == b (or a > b), else 0, in a's dtype.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);

// In-place accumulate `dst += src` (src broadcast to dst). Not recorded: for gradient
// buffers and optimizer state.
void add_(Tensor& dst, const Tensor& src, double alpha = 1.0);

// ---- reductions ------------------------------------------------------------------------------
Tensor sum(const Tensor& a);  // all elements -> shape []
// Sums over `dims` (an empty list reduces nothing and returns a copy).
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
// Largest value along `dim` (differentiable: the gradient goes to the first maximum).
Tensor max(const Tensor& a, int64_t dim, bool keepdim = false);
// Index (int64) of the first largest value along `dim`. Not differentiable.
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim = false);
// Reduces a broadcast gradient back to `shape` by summing the broadcast dimensions.
Tensor sum_to(const Tensor& a, const Shape& shape);

// ---- linear algebra --------------------------------------------------------------------------
// (M,K)@(K,N) -> (M,N) and batched (B,M,K)@(B,K,N) -> (B,M,N). Transposed views are passed
// to BLAS as transposes, not copied.
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- indexing ---------------------------------------------------------------------------------
// Rows of `a` (along dim 0) picked by int64 `index` (1-D): out[i] = a[index[i]].
Tensor index_select(const Tensor& a, const Tensor& index);

// ---- random (Philox; see core/generator.h) ---------------------------------------------------
class Generator;
Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::Float32, Device device = Device::cpu());
// Fills `t` in place with U[low, high) / N(mean, std^2).
void uniform_(Tensor& t, Generator& gen, double low = 0.0, double high = 1.0);
void normal_(Tensor& t, Generator& gen, double mean = 0.0, double stddev = 1.0);

// ---- checks -----------------------------------------------------------------------------------
// True when every element is finite (reads one flag back from the device).
bool all_finite(const Tensor& a);
// Largest |a - b| (host double). For tests and diagnostics.
double max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace kiln
