// Random tensors from a Generator (Philox; see core/philox.h for the numbering).
#include "kernels/random.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace kiln {

void uniform_(Tensor& t, Generator& gen, double low, double high) {
  ops_detail::check_defined(t, "uniform_", "tensor");
  KILN_CHECK(t.is_contiguous(), "uniform_: tensor must be contiguous");
  KILN_CHECK(low <= high, "uniform_: low (", low, ") must not exceed high (", high, ")");
  const uint64_t offset = gen.next_offset();
  dispatch_floating(t.dtype(), "uniform_", [&]<typename T>() {
    KILN_ON_DEVICE(t.device(), fill_uniform<T>)(t.data<T>(), t.numel(), gen.seed(), offset, low, high);
  });
}

void normal_(Tensor& t, Generator& gen, double mean, double stddev) {
  ops_detail::check_defined(t, "normal_", "tensor");
  KILN_CHECK(t.is_contiguous(), "normal_: tensor must be contiguous");
  KILN_CHECK(stddev >= 0, "normal_: stddev must be >= 0, got ", stddev);
  const uint64_t offset = gen.next_offset();
  dispatch_floating(t.dtype(), "normal_", [&]<typename T>() {
    KILN_ON_DEVICE(t.device(), fill_normal<T>)(t.data<T>(), t.numel(), gen.seed(), offset, mean, stddev);
  });
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  uniform_(t, gen, 0.0, 1.0);
  return t;
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  normal_(t, gen, 0.0, 1.0);
  return t;
}

}  // namespace kiln
