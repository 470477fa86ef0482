// Argument checks and broadcasting shared by the ops.
#include "core/ops/common.h"

#include <algorithm>

namespace kiln::ops_detail {

void check_defined(const Tensor& t, const char* op, const char* arg) {
  KILN_CHECK(t.defined(), op, ": argument '", arg, "' is an undefined tensor");
}

void check_same_device_dtype(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op, "a");
  check_defined(b, op, "b");
  KILN_CHECK(a.device() == b.device(), op, ": tensors on different devices (", a.device().str(), " and ",
             b.device().str(), ")");
  KILN_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch (", dtype_name(a.dtype()), " and ",
             dtype_name(b.dtype()), ")");
}

void check_floating(const Tensor& t, const char* op) {
  KILN_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, op,
             ": expected a float32 or float64 tensor, got ", dtype_name(t.dtype()));
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    KILN_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
               " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

kernels::StridedArray strided(const Tensor& t) {
  return kernels::StridedArray{t.raw_data(),     t.dtype(),         t.device(), static_cast<int>(t.dim()),
                               t.shape().data(), t.strides().data()};
}

}  // namespace kiln::ops_detail
