// The Tensor methods that compute: creation with values, views (which record a backward that
// maps the gradient back to the base's geometry), copies and conversions, fills, backward and
// printing. They are declared with the class in core/tensor.h but belong to the op layer,
// above the kernels they run (as PyTorch declares Tensor's op methods on the class and
// defines them in ATen); core/tensor.cpp keeps the data-only part.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <numeric>
#include <optional>
#include <sstream>

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "core/tensor.h"
#include "kernels/elementwise.h"

namespace kiln {

using ops_detail::strided;

// ---- creation ----------------------------------------------------------------------------------

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  KILN_CHECK(n >= 0, "arange: n must be >= 0, got ", n);
  std::vector<int64_t> values(static_cast<size_t>(n));
  std::iota(values.begin(), values.end(), 0);
  return from_vector(values, {n}, Device::cpu()).to(dtype).to(device);
}

Tensor Tensor::from_blob(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  if (host.nbytes() > 0) std::memcpy(host.raw_data(), data, host.nbytes());
  return device.is_cpu() ? host : host.to(device);
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  check_shape(shape, "Tensor::from_vector");
  KILN_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
             "Tensor::from_vector: ", values.size(), " values do not fill shape ", shape_str(shape));
  return from_blob(values.data(), shape, dtype_of<T>, device);
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&, Device);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&, Device);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, Device);
template Tensor Tensor::from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&, Device);

// ---- views -------------------------------------------------------------------------------------

// Resolves one -1 in `shape` against `numel`.
static Shape infer_shape(Shape shape, int64_t numel, const char* what) {
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      KILN_CHECK(infer < 0, what, ": only one dimension can be -1 in ", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      KILN_CHECK(shape[i] >= 0, what, ": invalid size in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    KILN_CHECK(known > 0 && numel % known == 0, what, ": cannot infer -1 in ", shape_str(shape), " for ",
               numel, " elements");
    shape[infer] = numel / known;
  }
  KILN_CHECK(shape_numel(shape) == numel, what, ": shape ", shape_str(shape), " is invalid for ", numel,
             " elements");
  return shape;
}

// Strides for viewing (shape, strides) as new_shape without copying, or empty when the
// memory layout does not allow it (the same rule as PyTorch's view).
static std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
  if (shape_numel(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
  Shape out(new_shape.size());
  // Walk chunks of old dims that are contiguous with each other and match them to new dims.
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor Tensor::view(const Shape& new_shape_in) const {
  const Shape new_shape = infer_shape(new_shape_in, numel(), "view");
  auto st = view_strides(shape(), strides(), new_shape);
  KILN_CHECK(st.has_value(), "view: cannot view a tensor of shape ", shape_str(shape()), " and strides ",
             shape_str(strides()), " as ", shape_str(new_shape), " (use reshape, which copies)");
  Tensor out = make_view(storage(), new_shape, *st, offset(), dtype());
  const Shape in_shape = shape();
  return record("view", out, {*this},
                [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
}

Tensor Tensor::reshape(const Shape& new_shape_in) const {
  const Shape new_shape = infer_shape(new_shape_in, numel(), "reshape");
  if (view_strides(shape(), strides(), new_shape)) return view(new_shape);
  return contiguous().view(new_shape);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  const int64_t n = dim();
  KILN_CHECK(static_cast<int64_t>(dims.size()) == n, "permute: got ", dims.size(), " dims for a ", n,
             "-d tensor");
  Shape sh(n), st(n);
  std::vector<int64_t> inverse(n, -1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = wrap_dim(dims[i], n, "permute");
    KILN_CHECK(inverse[d] < 0, "permute: dimension ", d, " repeated");
    inverse[d] = i;
    sh[i] = shape()[d];
    st[i] = strides()[d];
  }
  Tensor out = make_view(storage(), sh, st, offset(), dtype());
  return record("permute", out, {*this},
                [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  std::vector<int64_t> dims(dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim(d0, dim(), "transpose")], dims[wrap_dim(d1, dim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim(), "narrow");
  const int64_t size_d = shape()[d];
  KILN_CHECK(start >= 0 && length >= 0 && start + length <= size_d, "narrow: range [", start, ", ",
             start + length, ") out of bounds for dimension ", d, " of size ", size_d);
  Shape sh = shape();
  sh[d] = length;
  Tensor out = make_view(storage(), sh, strides(), offset() + start * strides()[d], dtype());
  const Shape in_shape = shape();
  return record("narrow", out, {*this}, [in_shape, d, start, length](const Tensor& g) {
    Tensor full = Tensor::zeros(in_shape, g.dtype(), g.device());
    full.narrow(d, start, length).copy_(g);
    return std::vector<Tensor>{full};
  });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim(), "select");
  const int64_t size_d = shape()[d];
  KILN_CHECK(index >= -size_d && index < size_d, "select: index ", index, " out of range for dimension ", d,
             " of size ", size_d);
  if (index < 0) index += size_d;
  return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& target) const {
  const int64_t n = static_cast<int64_t>(target.size());
  KILN_CHECK(n >= dim(), "expand: cannot expand ", shape_str(shape()), " to fewer dims ", shape_str(target));
  Shape sh(n), st(n);
  for (int64_t i = n - 1, j = dim() - 1; i >= 0; --i, --j) {
    const int64_t src_size = j >= 0 ? shape()[j] : 1;
    const int64_t src_stride = j >= 0 ? strides()[j] : 0;
    const int64_t want = target[i] == -1 ? src_size : target[i];
    KILN_CHECK(src_size == want || src_size == 1, "expand: cannot expand ", shape_str(shape()), " to ",
               shape_str(target));
    sh[i] = want;
    st[i] = (src_size == want) ? src_stride : 0;
  }
  Tensor out = make_view(storage(), sh, st, offset(), dtype());
  const Shape in_shape = shape();
  return record("expand", out, {*this},
                [in_shape](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in_shape)}; });
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape sh = shape();
  sh.insert(sh.begin() + d, 1);
  return view(sh);
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim(d, dim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape sh = shape();
  sh.erase(sh.begin() + d);
  return view(sh);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = wrap_dim(start, dim(), "flatten");
  end = wrap_dim(end, dim(), "flatten");
  KILN_CHECK(start <= end, "flatten: start_dim ", start, " after end_dim ", end);
  Shape sh(shape().begin(), shape().begin() + start);
  int64_t n = 1;
  for (int64_t i = start; i <= end; ++i) n *= shape()[i];
  sh.push_back(n);
  sh.insert(sh.end(), shape().begin() + end + 1, shape().end());
  return reshape(sh);
}

// ---- data movement -----------------------------------------------------------------------------

// Raw copy between any two tensors of one shape (any devices, dtypes, strides).
static void copy_kernel(const Tensor& src, const Tensor& dst) {
  if (dst.numel() == 0) return;
  if (src.device().is_cpu() && dst.device().is_cpu()) {
    kernels::cpu::copy(strided(src), strided(dst));
  } else {
    KILN_ON_CUDA(kernels::cuda::copy(strided(src), strided(dst)));
  }
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  copy_kernel(*this, out);
  return record("clone", out, {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), dtype(), target);
  copy_kernel(*this, out);
  const Device source = device();
  return record("to_device", out, {*this},
                [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target, device());
  copy_kernel(*this, out);
  if (!is_floating(target) || !is_floating(dtype())) return out;  // integer casts cut the graph
  const DType source = dtype();
  return record("to_dtype", out, {*this},
                [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
}

Tensor& Tensor::copy_(const Tensor& src) {
  KILN_CHECK(src.defined(), "copy_: source tensor is undefined");
  NoGradGuard no_grad;
  copy_kernel(src.expand(shape()), *this);
  return *this;
}

Tensor& Tensor::fill_(double value) {
  if (numel() == 0) return *this;
  KILN_ON_DEVICE(device(), fill)(strided(*this), value);
  return *this;
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = detach().to(Device::cpu()).to(dtype_of<T>).contiguous();
  std::vector<T> out(static_cast<size_t>(host.numel()));
  if (!out.empty()) std::memcpy(out.data(), host.raw_data(), out.size() * sizeof(T));
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

template <typename T>
T Tensor::item() const {
  KILN_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", shape_str(shape()));
  return to_vector<T>()[0];
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template uint8_t Tensor::item<uint8_t>() const;

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  KILN_CHECK(defined(), "backward: called on an undefined tensor");
  KILN_CHECK(requires_grad(), "backward: tensor does not require grad and has no grad_fn");
  Tensor seed = gradient;
  if (!seed.defined()) {
    KILN_CHECK(numel() == 1, "backward: a gradient must be given for a non-scalar output of shape ",
               shape_str(shape()));
    seed = Tensor::ones(shape(), dtype(), device());
  }
  KILN_CHECK(seed.shape() == shape(), "backward: gradient shape ", shape_str(seed.shape()),
             " does not match output shape ", shape_str(shape()));
  run_backward(*this, seed, retain_graph);
}

// ---- printing -----------------------------------------------------------------------------------

static void print_elements(std::ostream& out, const std::vector<double>& v, const Shape& shape, size_t dim,
                           size_t& pos, bool integral, int indent) {
  constexpr int64_t kEdge = 3, kMaxFull = 6;
  if (dim == shape.size()) {
    if (integral)
      out << static_cast<int64_t>(v[pos]);
    else
      out << std::fixed << std::setprecision(4) << v[pos];
    ++pos;
    return;
  }
  const int64_t n = shape[dim];
  const int64_t inner = shape_numel(Shape(shape.begin() + dim + 1, shape.end()));
  out << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (n > kMaxFull && i == kEdge) {
      out << "...";
      pos += static_cast<size_t>((n - 2 * kEdge) * inner);
      i = n - kEdge;
      out << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
    }
    print_elements(out, v, shape, dim + 1, pos, integral, indent + 1);
    if (i + 1 < n) out << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  out << ']';
}

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream out;
  out << "tensor(";
  const std::vector<double> values = to_vector<double>();
  size_t pos = 0;
  const bool integral = dtype() == DType::Int64 || dtype() == DType::UInt8;
  print_elements(out, values, shape(), 0, pos, integral, 7);
  out << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) out << ", device=" << device().str();
  if (requires_grad()) out << ", requires_grad=True";
  out << ')';
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) { return out << t.str(); }

}  // namespace kiln
