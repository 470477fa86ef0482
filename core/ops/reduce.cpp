// Reductions (sum, mean, max, argmax) and sum_to, the adjoint of broadcasting.
#include <algorithm>
#include <set>

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "kernels/reduce.h"

namespace kiln {

using namespace ops_detail;

namespace {

struct MidShape {
  int64_t outer = 1, n = 1, inner = 1;
};

MidShape mid_shape(const Shape& shape, int64_t dim) {
  MidShape m;
  for (int64_t i = 0; i < dim; ++i) m.outer *= shape[i];
  m.n = shape[dim];
  for (size_t i = dim + 1; i < shape.size(); ++i) m.inner *= shape[i];
  return m;
}

// Sums one dimension of a tensor (kept as size 1). No autograd.
Tensor sum_one_dim(const Tensor& a_in, int64_t dim) {
  const Tensor a = a_in.contiguous();
  const MidShape m = mid_shape(a.shape(), dim);
  Shape out_shape = a.shape();
  out_shape[dim] = 1;
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  dispatch_floating(a.dtype(), "sum", [&]<typename T>() {
    KILN_ON_DEVICE(a.device(), sum_mid<T>)(a.data<T>(), out.data<T>(), m.outer, m.n, m.inner);
  });
  return out;
}

std::vector<int64_t> normalise_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::set<int64_t> unique;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, ndim, op);
    KILN_CHECK(unique.insert(w).second, op, ": dimension ", w, " listed twice");
  }
  return {unique.begin(), unique.end()};
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (size_t i = 0; i < shape.size(); ++i) {
    const bool reduced = std::find(dims.begin(), dims.end(), static_cast<int64_t>(i)) != dims.end();
    if (!reduced)
      out.push_back(shape[i]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

// Sums the given (normalised) dims, keeping them as size 1. No autograd.
Tensor sum_dims_keep(const Tensor& a, const std::vector<int64_t>& dims) {
  Tensor x = a.detach();
  // One pass per dimension, last first; dims already of size 1 cost nothing.
  for (auto it = dims.rbegin(); it != dims.rend(); ++it)
    if (x.shape()[*it] != 1) x = sum_one_dim(x, *it);
  return x;
}

}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim) {
  check_defined(a, "sum", "input");
  check_floating(a, "sum");
  const std::vector<int64_t> dims = normalise_dims(dims_in, a.dim(), "sum");
  Tensor out;
  {
    NoGradGuard no_grad;
    Tensor kept = sum_dims_keep(a, dims);
    // Reducing nothing (or only size-1 dims) leaves a view of `a`; the result must own its data.
    if (kept.storage() == a.storage()) kept = kept.clone();
    out = kept.reshape(reduced_shape(a.shape(), dims, keepdim));
  }
  const Shape keep_shape = reduced_shape(a.shape(), dims, true);
  return record("sum", out, {a}, [in_shape = a.shape(), keep_shape](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(keep_shape).expand(in_shape)};
  });
}

Tensor sum(const Tensor& a) {
  check_defined(a, "sum", "input");
  std::vector<int64_t> all(a.dim());
  for (int64_t i = 0; i < a.dim(); ++i) all[i] = i;
  if (a.dim() == 0) return add(a, 0.0);
  return sum(a, all, false);
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim) {
  check_defined(a, "mean", "input");
  const std::vector<int64_t> dims = normalise_dims(dims_in, a.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : dims) count *= a.shape()[d];
  KILN_CHECK(count > 0, "mean: reducing over an empty dimension");
  return div(sum(a, dims, keepdim), static_cast<double>(count));
}

Tensor mean(const Tensor& a) {
  check_defined(a, "mean", "input");
  KILN_CHECK(a.numel() > 0, "mean: empty tensor of shape ", shape_str(a.shape()));
  return div(sum(a), static_cast<double>(a.numel()));
}

namespace {
// Values and/or indices of the maximum along `dim` (kept as size 1). No autograd.
void max_along(const Tensor& a_in, int64_t dim, Tensor* values, Tensor* indices) {
  const Tensor a = a_in.contiguous();
  const MidShape m = mid_shape(a.shape(), dim);
  KILN_CHECK(m.n > 0, "max/argmax: dimension ", dim, " is empty");
  Shape out_shape = a.shape();
  out_shape[dim] = 1;
  if (values) *values = Tensor::empty(out_shape, a.dtype(), a.device());
  if (indices) *indices = Tensor::empty(out_shape, DType::Int64, a.device());
  dispatch_floating(a.dtype(), "max", [&]<typename T>() {
    T* pv = values ? values->data<T>() : nullptr;
    int64_t* pi = indices ? indices->data<int64_t>() : nullptr;
    KILN_ON_DEVICE(a.device(), max_mid<T>)(a.data<T>(), pv, pi, m.outer, m.n, m.inner);
  });
}
}  // namespace

Tensor max(const Tensor& a, int64_t dim, bool keepdim) {
  check_defined(a, "max", "input");
  check_floating(a, "max");
  dim = wrap_dim(dim, a.dim(), "max");
  Tensor values, indices;
  max_along(a.detach(), dim, &values, &indices);
  Tensor out = keepdim ? values : values.squeeze(dim);
  return record("max", out, {a}, [in_shape = a.shape(), indices, dim](const Tensor& g) {
    // One-hot of the winning index along `dim`, times the (broadcast) upstream gradient.
    Shape pos_shape(in_shape.size(), 1);
    pos_shape[dim] = in_shape[dim];
    const Tensor positions = Tensor::arange(in_shape[dim], g.dtype(), g.device()).reshape(pos_shape);
    const Tensor onehot = eq(positions, indices.to(g.dtype()));
    Shape keep = in_shape;
    keep[dim] = 1;
    return std::vector<Tensor>{mul(onehot, g.reshape(keep))};
  });
}

Tensor argmax(const Tensor& a, int64_t dim, bool keepdim) {
  check_defined(a, "argmax", "input");
  check_floating(a, "argmax");
  dim = wrap_dim(dim, a.dim(), "argmax");
  Tensor indices;
  max_along(a.detach(), dim, nullptr, &indices);
  return keepdim ? indices : indices.squeeze(dim);
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  const int64_t lead = a.dim() - static_cast<int64_t>(shape.size());
  KILN_CHECK(lead >= 0, "sum_to: cannot reduce ", shape_str(a.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < a.dim(); ++i) {
    if (i < lead)
      dims.push_back(i);
    else if (shape[i - lead] == 1 && a.shape()[i] != 1)
      dims.push_back(i);
    else
      KILN_CHECK(shape[i - lead] == a.shape()[i] || a.shape()[i] == 1, "sum_to: cannot reduce ",
                 shape_str(a.shape()), " to ", shape_str(shape));
  }
  return sum(a, dims, true).reshape(shape);
}

}  // namespace kiln
