// matmul: 2-D and batched 3-D products through kernels/gemm (OpenBLAS / cuBLAS).
#include <algorithm>

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "kernels/gemm.h"

namespace kiln {

using namespace ops_detail;

namespace {

// How a matrix view [rows, cols] (last two dims) is handed to BLAS: as-is when rows are
// contiguous, as a transpose when columns are; otherwise it is copied first.
struct BlasOperand {
  Tensor t;
  bool trans = false;
  int64_t ld = 0;
};

BlasOperand as_blas_operand(const Tensor& x) {
  const int64_t nd = x.dim();
  const int64_t rows = x.size(nd - 2), cols = x.size(nd - 1);
  const int64_t rs = x.stride(nd - 2), cs = x.stride(nd - 1);
  if ((cs == 1 || cols == 1) && rs >= std::max<int64_t>(cols, 1)) return {x, false, rs};
  if ((rs == 1 || rows == 1) && cs >= std::max<int64_t>(rows, 1)) return {x, true, cs};
  Tensor c = x.contiguous();
  return {c, false, std::max<int64_t>(cols, 1)};
}

Tensor matmul_forward(const Tensor& a, const Tensor& b) {
  const bool batched = a.dim() == 3;
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const int64_t batch = batched ? a.size(0) : 1;
  Tensor out = Tensor::empty(batched ? Shape{batch, m, n} : Shape{m, n}, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  if (k == 0) return out.zero_();
  BlasOperand pa = as_blas_operand(a), pb = as_blas_operand(b);
  kernels::GemmArgs g;
  g.trans_a = pa.trans;
  g.trans_b = pb.trans;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = pa.ld;
  g.ldb = pb.ld;
  g.ldc = n;
  g.batch = batch;
  g.stride_a = batched ? pa.t.stride(0) : 0;
  g.stride_b = batched ? pb.t.stride(0) : 0;
  g.stride_c = m * n;
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    KILN_ON_DEVICE(a.device(), gemm<T>)(g, pa.t.data<T>(), pb.t.data<T>(), out.data<T>());
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_same_device_dtype(a, b, "matmul");
  check_floating(a, "matmul");
  KILN_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3),
             "matmul: expected two 2-d or two 3-d tensors, got shapes ", shape_str(a.shape()), " and ",
             shape_str(b.shape()));
  KILN_CHECK(a.size(-1) == b.size(-2), "matmul: inner dimensions differ: ", shape_str(a.shape()), " @ ",
             shape_str(b.shape()));
  KILN_CHECK(a.dim() == 2 || a.size(0) == b.size(0), "matmul: batch sizes differ: ", shape_str(a.shape()),
             " @ ", shape_str(b.shape()));
  Tensor out;
  {
    NoGradGuard no_grad;
    out = matmul_forward(a.detach(), b.detach());
  }
  return record("matmul", out, {a, b},
                [a = a.detach(), b = b.detach(), need_a = a.requires_grad(),
                 need_b = b.requires_grad()](const Tensor& g) {
                  // dA = g @ B^T, dB = A^T @ g; the transposes are views handed to BLAS as such.
                  Tensor ga, gb;
                  if (need_a) ga = matmul_forward(g, b.transpose(-2, -1));
                  if (need_b) gb = matmul_forward(a.transpose(-2, -1), g);
                  return std::vector<Tensor>{ga, gb};
                });
}

}  // namespace kiln
