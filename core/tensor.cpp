// The Tensor as data: shapes, allocation, metadata and the autograd fields. Nothing here runs
// a kernel or records an op; the methods that do (views, copies, fills, backward, printing)
// are defined in the op layer, core/ops/tensor_methods.cpp.
#include "core/tensor.h"

#include <sstream>

namespace kiln {

// ---- shapes ------------------------------------------------------------------------------------

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* what) {
  const int64_t lo = -std::max<int64_t>(ndim, 1), hi = std::max<int64_t>(ndim, 1) - 1;
  KILN_CHECK(dim >= lo && dim <= hi, what, ": dimension ", dim, " out of range for a ", ndim,
             "-d tensor (expected ", lo, "..", hi, ")");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

// Sizes must be >= 0, and the product of the sizes (with empty dimensions counted as 1, as
// the strides are) must fit in int64: a [0, 2^40, 2^40] tensor holds nothing but its strides
// would overflow.
void check_shape(const Shape& shape, const char* what) {
  int64_t n = 1;
  for (int64_t s : shape) {
    KILN_CHECK(s >= 0, what, ": negative size in shape ", shape_str(shape));
    const int64_t f = std::max<int64_t>(s, 1);
    KILN_CHECK(n <= INT64_MAX / f, what, ": shape ", shape_str(shape), " overflows int64");
    n *= f;
  }
}

Tensor make_view(const std::shared_ptr<Storage>& storage, const Shape& shape, const Shape& strides,
                 int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// ---- creation ----------------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape, "Tensor::empty");
  const size_t nbytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  return make_view(std::make_shared<Storage>(nbytes, device), shape, contiguous_strides(shape), 0, dtype);
}

// ---- metadata ----------------------------------------------------------------------------------

#define KILN_REQUIRE_DEFINED() KILN_CHECK(impl_ != nullptr, "operation on an undefined tensor")

const Shape& Tensor::shape() const {
  KILN_REQUIRE_DEFINED();
  return impl_->shape;
}
const Shape& Tensor::strides() const {
  KILN_REQUIRE_DEFINED();
  return impl_->strides;
}
int64_t Tensor::offset() const {
  KILN_REQUIRE_DEFINED();
  return impl_->offset;
}
int64_t Tensor::dim() const { return static_cast<int64_t>(shape().size()); }
int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const {
  KILN_REQUIRE_DEFINED();
  return impl_->dtype;
}
Device Tensor::device() const {
  KILN_REQUIRE_DEFINED();
  return impl_->storage->device();
}
const std::shared_ptr<Storage>& Tensor::storage() const {
  KILN_REQUIRE_DEFINED();
  return impl_->storage;
}

void* Tensor::raw_data() const {
  KILN_REQUIRE_DEFINED();
  return static_cast<char*>(impl_->storage->data()) +
         impl_->offset * static_cast<int64_t>(dtype_size(impl_->dtype));
}

bool Tensor::is_contiguous() const {
  const Shape& sh = shape();
  const Shape& st = strides();
  int64_t expected = 1;
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

void Tensor::set_data(const Tensor& source) const {
  KILN_REQUIRE_DEFINED();
  KILN_CHECK(source.defined(), "set_data: source tensor is undefined");
  KILN_CHECK(is_leaf(), "set_data: only leaf tensors can change their data");
  impl_->storage = source.storage();
  impl_->shape = source.shape();
  impl_->strides = source.strides();
  impl_->offset = source.offset();
  impl_->dtype = source.dtype();
}

// ---- autograd accessors --------------------------------------------------------------------------

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  KILN_REQUIRE_DEFINED();
  KILN_CHECK(!on || is_floating(dtype()), "set_requires_grad: only floating tensors can require grad, got ",
             dtype_name(dtype()));
  KILN_CHECK(is_leaf() || on, "set_requires_grad(false): only leaves can be changed; use detach()");
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  KILN_REQUIRE_DEFINED();
  return impl_->grad;
}

void Tensor::set_grad(const Tensor& g) const {
  KILN_REQUIRE_DEFINED();
  KILN_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient shape ", shape_str(g.shape()),
             " does not match tensor shape ", shape_str(shape()));
  impl_->grad = g;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  return impl_ ? impl_->grad_fn : none;
}

Tensor Tensor::detach() const {
  KILN_REQUIRE_DEFINED();
  return make_view(storage(), shape(), strides(), offset(), dtype());
}

}  // namespace kiln
