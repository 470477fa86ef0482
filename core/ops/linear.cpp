// linear: y = x W^T + b as one GEMM that accumulates onto the broadcast bias.
#include <algorithm>

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/nn.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "kernels/gemm.h"

namespace kiln {

using namespace ops_detail;

Tensor linear(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in) {
  check_same_device_dtype(x_in, w_in, "linear");
  check_floating(x_in, "linear");
  KILN_CHECK(x_in.dim() >= 1, "linear: input must have at least one dimension");
  KILN_CHECK(w_in.dim() == 2, "linear: weight must be [out, in], got ", shape_str(w_in.shape()));
  const int64_t in = w_in.size(1), out = w_in.size(0);
  KILN_CHECK(x_in.size(-1) == in, "linear: input has ", x_in.size(-1), " features but weight expects ", in,
             " (weight ", shape_str(w_in.shape()), ")");
  if (b_in.defined()) {
    check_same_device_dtype(x_in, b_in, "linear");
    KILN_CHECK(b_in.dim() == 1 && b_in.size(0) == out, "linear: bias must be [", out, "], got ",
               shape_str(b_in.shape()));
  }
  const int64_t rows = x_in.numel() / in;
  const Tensor x = x_in.detach().reshape({rows, in}).contiguous();
  const Tensor w = w_in.detach().contiguous();
  Tensor y = Tensor::empty({rows, out}, x.dtype(), x.device());
  if (b_in.defined()) y.copy_(b_in.detach());  // broadcast over rows; the GEMM adds onto it
  if (y.numel() > 0) {
    kernels::GemmArgs g;
    g.trans_b = true;
    g.m = rows;
    g.n = out;
    g.k = in;
    g.lda = in;
    g.ldb = in;
    g.ldc = out;
    g.beta = b_in.defined() ? 1.0 : 0.0;
    if (in == 0) {
      if (!b_in.defined()) y.zero_();
    } else {
      dispatch_floating(x.dtype(), "linear", [&]<typename T>() {
        KILN_ON_DEVICE(x.device(), gemm<T>)(g, x.data<T>(), w.data<T>(), y.data<T>());
      });
    }
  }
  Shape out_shape = x_in.shape();
  out_shape.back() = out;
  const Tensor result = y.view(out_shape);
  const bool need_x = x_in.requires_grad(), need_w = w_in.requires_grad(),
             need_b = b_in.defined() && b_in.requires_grad();
  return record("linear", result, {x_in, w_in, b_in},
                [x, w, rows, out, need_x, need_w, need_b, x_shape = x_in.shape()](const Tensor& g_in) {
                  const Tensor g = g_in.reshape({rows, out});
                  Tensor dx, dw, db;
                  if (need_x) dx = matmul(g, w).reshape(x_shape);  // [rows, out] @ [out, in]
                  if (need_w) dw = matmul(g.transpose(0, 1), x);   // [out, rows] @ [rows, in]
                  if (need_b) db = sum(g, {0});
                  return std::vector<Tensor>{dx, dw, db};
                });
}

}  // namespace kiln
