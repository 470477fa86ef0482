// Helpers shared by the op implementations in core/ops/: argument checks and broadcasting.
#pragma once

#include <initializer_list>

#include "core/tensor.h"
#include "kernels/strided.h"

namespace kiln::ops_detail {

// Throws naming `op` unless the tensor is defined.
void check_defined(const Tensor& t, const char* op, const char* arg);
// Throws naming `op` unless all tensors live on one device and share one dtype.
void check_same_device_dtype(const Tensor& a, const Tensor& b, const char* op);
void check_floating(const Tensor& t, const char* op);
// NumPy broadcasting of two shapes; throws naming `op` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// How an elementwise kernel sees `t`: its first element, dtype, device, sizes and strides.
// The arrays are borrowed from `t`, which must outlive the kernel call.
kernels::StridedArray strided(const Tensor& t);

}  // namespace kiln::ops_detail
