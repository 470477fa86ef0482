// Tensor: a handle to an n-dimensional, strided view of a Storage, plus the autograd
// metadata (requires_grad, grad, grad_fn). Copying a Tensor copies the handle, not the
// data, exactly like torch.Tensor. Differentiable computation lives in core/ops.h; this
// header holds metadata, creation, views and data movement.
//
// The class is core's, but its methods fall into two layers. Metadata, allocation (empty)
// and the autograd fields are defined in core/tensor.cpp and need nothing above core. The
// methods that run a kernel or record an op (full/zeros/ones/arange/from_vector/from_blob,
// views, contiguous/to/clone/copy_/fill_, item/to_vector, backward, str) are defined in the
// op layer (core/ops/tensor_methods.cpp); code below that layer must not call them, which
// the build checks (cmake/layers.cmake).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/storage.h"

namespace kiln {

using Shape = std::vector<int64_t>;

class Node;
struct TensorImpl;

std::string shape_str(const Shape& shape);  // "[2, 3]"
int64_t shape_numel(const Shape& shape);
// Throws naming `what` unless every size is >= 0 and the element count fits in int64.
void check_shape(const Shape& shape, const char* what);
Shape contiguous_strides(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: no storage, defined() == false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- creation -------------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32,
                     Device device = Device::cpu());
  // 0, 1, ..., n-1
  static Tensor arange(int64_t n, DType dtype = DType::Int64, Device device = Device::cpu());
  // Copies host values into a new tensor of `shape` (numel must match) on `device`.
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());
  // Copies `nbytes` of host memory laid out as a contiguous `shape` of `dtype`.
  static Tensor from_blob(const void* data, const Shape& shape, DType dtype, Device device = Device::cpu());

  // ---- metadata -------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;  // in elements, into the storage
  int64_t dim() const;
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t stride(int64_t dim) const;
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  DType dtype() const;
  Device device() const;
  bool is_cuda() const { return device().is_cuda(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;

  // Pointer to the first element (storage + offset).
  void* raw_data() const;
  template <typename T>
  T* data() const {
    KILN_CHECK(dtype() == dtype_of<T>, "tensor holds ", dtype_name(dtype()), ", accessed as ",
               dtype_name(dtype_of<T>));
    return static_cast<T*>(raw_data());
  }

  // ---- views (share storage; differentiable) ---------------------------------------------
  Tensor view(const Shape& shape) const;     // needs compatible strides; one dim may be -1
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;  // removes `dim`
  Tensor expand(const Shape& shape) const;          // broadcasts size-1 dims (stride 0)
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

  // ---- data movement ----------------------------------------------------------------------
  Tensor contiguous() const;  // itself when already contiguous
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor clone() const;
  // In-place writes. They are not recorded by autograd: use them on leaves outside the
  // graph (parameters under NoGradGuard, buffers, gradients).
  Tensor& copy_(const Tensor& src);  // src is broadcast to this shape; dtype/device converted
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  // Makes this handle (and every copy of it) refer to `source`'s data, keeping its autograd
  // identity: torch's `t.data = source`. Used to move parameters between devices in place.
  void set_data(const Tensor& source) const;

  // Reads one element (synchronises with the device for CUDA tensors).
  template <typename T>
  T item() const;
  // Copies every element to the host in row-major order.
  template <typename T>
  std::vector<T> to_vector() const;

  // ---- autograd ---------------------------------------------------------------------------
  bool requires_grad() const;
  // Marks a leaf as a parameter-like tensor whose .grad is filled by backward().
  Tensor& set_requires_grad(bool requires_grad);
  Tensor grad() const;  // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& grad) const;
  const std::shared_ptr<Node>& grad_fn() const;
  bool is_leaf() const { return grad_fn() == nullptr; }
  // Back-propagates from this tensor. Without `gradient` the tensor must hold one element.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  // The same data, cut from the graph (no grad_fn, requires_grad false).
  Tensor detach() const;

  // ---- misc -------------------------------------------------------------------------------
  std::string str() const;  // like PyTorch's repr
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;

  // Autograd metadata.
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  // A leaf's gradient sink, shared by every op that reads the leaf in one graph.
  std::weak_ptr<Node> grad_accumulator;
};

// Makes a tensor over `storage` with the given geometry (no autograd metadata).
Tensor make_view(const std::shared_ptr<Storage>& storage, const Shape& shape, const Shape& strides,
                 int64_t offset, DType dtype);

// Normalises a possibly negative dimension index; throws naming `what` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* what);

}  // namespace kiln
