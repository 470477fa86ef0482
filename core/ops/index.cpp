// index_select along dim 0 (batch gathering) and its adjoint.
#include "kernels/index.h"
#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace kiln {

using namespace ops_detail;

namespace {

template <typename F>
void dispatch_gatherable(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32:
      return f.template operator()<float>();
    case DType::Float64:
      return f.template operator()<double>();
    case DType::Int64:
      return f.template operator()<int64_t>();
    case DType::UInt8:
      return f.template operator()<uint8_t>();
    default:
      KILN_FAIL("index_select: unsupported dtype ", dtype_name(dtype));
  }
}

}  // namespace

Tensor index_select(const Tensor& a_in, const Tensor& index_in) {
  check_defined(a_in, "index_select", "input");
  check_defined(index_in, "index_select", "index");
  KILN_CHECK(index_in.dtype() == DType::Int64 && index_in.dim() == 1,
             "index_select: index must be a 1-d int64 tensor, got ", dtype_name(index_in.dtype()),
             " of shape ", shape_str(index_in.shape()));
  KILN_CHECK(a_in.dim() >= 1, "index_select: input must have at least one dimension");
  KILN_CHECK(a_in.device() == index_in.device(), "index_select: input on ", a_in.device().str(),
             ", index on ", index_in.device().str());
  const Tensor a = a_in.detach().contiguous();
  const Tensor index = index_in.contiguous();
  const int64_t rows = a.size(0), count = index.size(0);
  const int64_t row_size = rows == 0 ? 0 : a.numel() / rows;
  Shape out_shape = a.shape();
  out_shape[0] = count;
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  if (out.numel() > 0) {
    dispatch_gatherable(a.dtype(), [&]<typename T>() {
      KILN_ON_DEVICE(a.device(), index_select_rows<T>)
      (a.data<T>(), index.data<int64_t>(), out.data<T>(), count, rows, row_size);
    });
  }
  return record("index_select", out, {a_in},
                [in_shape = a_in.shape(), index, rows, row_size, count](const Tensor& g_in) {
                  const Tensor g = g_in.contiguous();
                  Tensor grad = Tensor::zeros(in_shape, g.dtype(), g.device());
                  if (g.numel() > 0) {
                    dispatch_floating(g.dtype(), "index_select backward", [&]<typename T>() {
                      KILN_ON_DEVICE(g.device(), index_add_rows<T>)
                      (g.data<T>(), index.data<int64_t>(), grad.data<T>(), count, rows, row_size);
                    });
                  }
                  return std::vector<Tensor>{grad};
                });
}

}  // namespace kiln
