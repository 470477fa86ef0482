// Elementwise ops and their backward formulas.
#include <cmath>

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "kernels/elementwise.h"

namespace kiln {

using kernels::BinaryOp;
using kernels::ScalarSide;
using kernels::UnaryOp;
using namespace ops_detail;

namespace {

Tensor run_unary(UnaryOp op, const Tensor& a) {
  check_defined(a, kernels::op_name(op), "input");
  check_floating(a, kernels::op_name(op));
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  KILN_ON_DEVICE(a.device(), unary)(op, strided(a), strided(out));
  return out;
}

Tensor run_binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = kernels::op_name(op);
  check_same_device_dtype(a, b, name);
  check_floating(a, name);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  NoGradGuard no_grad;  // the broadcast views below are plumbing, not graph
  const Tensor ea = a.expand(shape), eb = b.expand(shape);
  KILN_ON_DEVICE(a.device(), binary)(op, strided(ea), strided(eb), strided(out));
  return out;
}

Tensor run_scalar(BinaryOp op, const Tensor& a, double s, ScalarSide side) {
  check_defined(a, kernels::op_name(op), "input");
  check_floating(a, kernels::op_name(op));
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  KILN_ON_DEVICE(a.device(), binary_scalar)(op, strided(a), s, side, strided(out));
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary(BinaryOp::Add, a, b);
  return record("add", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary(BinaryOp::Sub, a, b);
  return record("sub", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary(BinaryOp::Mul, a, b);
  return record("mul", out, {a, b},
                [a = a.detach(), b = b.detach(), need_a = a.requires_grad(),
                 need_b = b.requires_grad()](const Tensor& g) {
                  return std::vector<Tensor>{need_a ? sum_to(mul(g, b), a.shape()) : Tensor(),
                                             need_b ? sum_to(mul(g, a), b.shape()) : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary(BinaryOp::Div, a, b);
  return record("div", out, {a, b},
                [a = a.detach(), b = b.detach(), need_a = a.requires_grad(),
                 need_b = b.requires_grad()](const Tensor& g) {
                  Tensor ga, gb;
                  if (need_a) ga = sum_to(div(g, b), a.shape());
                  if (need_b) gb = sum_to(neg(div(mul(g, a), mul(b, b))), b.shape());  // -g a / b^2
                  return std::vector<Tensor>{ga, gb};
                });
}

Tensor add(const Tensor& a, double s) {
  Tensor out = run_scalar(BinaryOp::Add, a, s, ScalarSide::Right);
  return record("add_scalar", out, {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor sub(const Tensor& a, double s) {
  Tensor out = run_scalar(BinaryOp::Sub, a, s, ScalarSide::Right);
  return record("sub_scalar", out, {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor mul(const Tensor& a, double s) {
  Tensor out = run_scalar(BinaryOp::Mul, a, s, ScalarSide::Right);
  return record("mul_scalar", out, {a}, [s](const Tensor& g) { return std::vector<Tensor>{mul(g, s)}; });
}

Tensor div(const Tensor& a, double s) {
  Tensor out = run_scalar(BinaryOp::Div, a, s, ScalarSide::Right);
  return record("div_scalar", out, {a}, [s](const Tensor& g) { return std::vector<Tensor>{div(g, s)}; });
}

Tensor rsub(double s, const Tensor& a) {
  Tensor out = run_scalar(BinaryOp::Sub, a, s, ScalarSide::Left);
  return record("rsub_scalar", out, {a}, [](const Tensor& g) { return std::vector<Tensor>{neg(g)}; });
}

Tensor rdiv(double s, const Tensor& a) {
  Tensor out = run_scalar(BinaryOp::Div, a, s, ScalarSide::Left);
  // d(s/a)/da = -s/a^2 = -out/a
  return record("rdiv_scalar", out, {a}, [a = a.detach(), out = out.detach()](const Tensor& g) {
    return std::vector<Tensor>{neg(div(mul(g, out), a))};
  });
}

Tensor neg(const Tensor& a) {
  Tensor out = run_unary(UnaryOp::Neg, a);
  return record("neg", out, {a}, [](const Tensor& g) { return std::vector<Tensor>{neg(g)}; });
}

Tensor relu(const Tensor& a) {
  Tensor out = run_unary(UnaryOp::Relu, a);
  return record("relu", out, {a}, [a = a.detach()](const Tensor& g) {
    // The gradient at exactly 0 is taken as 0, as PyTorch does.
    Tensor grad = Tensor::empty(g.shape(), g.dtype(), g.device());
    KILN_ON_DEVICE(g.device(), binary)(BinaryOp::ReluBackward, strided(g), strided(a), strided(grad));
    return std::vector<Tensor>{grad};
  });
}

Tensor exp(const Tensor& a) {
  Tensor out = run_unary(UnaryOp::Exp, a);
  return record("exp", out, {a},
                [out = out.detach()](const Tensor& g) { return std::vector<Tensor>{mul(g, out)}; });
}

Tensor log(const Tensor& a) {
  Tensor out = run_unary(UnaryOp::Log, a);
  return record("log", out, {a},
                [a = a.detach()](const Tensor& g) { return std::vector<Tensor>{div(g, a)}; });
}

Tensor sqrt(const Tensor& a) {
  Tensor out = run_unary(UnaryOp::Sqrt, a);
  return record("sqrt", out, {a},
                [out = out.detach()](const Tensor& g) { return std::vector<Tensor>{div(g, mul(out, 2.0))}; });
}

Tensor square(const Tensor& a) {
  Tensor out = run_unary(UnaryOp::Square, a);
  return record("square", out, {a},
                [a = a.detach()](const Tensor& g) { return std::vector<Tensor>{mul(mul(g, a), 2.0)}; });
}

Tensor eq(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  return run_binary(BinaryOp::Eq, a, b);
}

Tensor gt(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  return run_binary(BinaryOp::Gt, a, b);
}

void add_(Tensor& dst, const Tensor& src, double alpha) {
  check_same_device_dtype(dst, src, "add_");
  check_floating(dst, "add_");
  NoGradGuard no_grad;
  const Tensor e = src.expand(dst.shape());
  KILN_ON_DEVICE(dst.device(), axpy)(strided(e), alpha, strided(dst));
}

}  // namespace kiln
