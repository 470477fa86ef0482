// CPU elementwise kernels: one dense loop when every operand is contiguous, otherwise an
// odometer walk over the merged strided dimensions (no per-element division).
#include <cmath>

#include "core/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_ops.h"
#include "kernels/strided.h"

namespace kiln::kernels {

const char* op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg:
      return "neg";
    case UnaryOp::Relu:
      return "relu";
    case UnaryOp::Exp:
      return "exp";
    case UnaryOp::Log:
      return "log";
    case UnaryOp::Sqrt:
      return "sqrt";
    case UnaryOp::Square:
      return "square";
  }
  return "?";
}

const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add:
      return "add";
    case BinaryOp::Sub:
      return "sub";
    case BinaryOp::Mul:
      return "mul";
    case BinaryOp::Div:
      return "div";
    case BinaryOp::Eq:
      return "eq";
    case BinaryOp::Gt:
      return "gt";
    case BinaryOp::ReluBackward:
      return "relu_backward";
  }
  return "?";
}

namespace cpu {
namespace {

// Calls f(offsets) for every element, offsets[k] being operand k's element offset.
template <int N, typename F>
void for_each_offset(const StridedOperands<N>& s, F&& f) {
  if (s.numel == 0) return;
  int64_t off[N] = {};
  if (s.is_contiguous()) {
    for (int64_t i = 0; i < s.numel; ++i) {
      for (int k = 0; k < N; ++k) off[k] = i;
      f(off);
    }
    return;
  }
  int64_t idx[kMaxDims] = {};
  const int last = s.ndim - 1;
  for (int64_t i = 0; i < s.numel; ++i) {
    f(off);
    // Advance the odometer: bump the last dim, carry into earlier ones.
    for (int d = last; d >= 0; --d) {
      if (++idx[d] < s.sizes[d]) {
        for (int k = 0; k < N; ++k) off[k] += s.strides[k][d];
        break;
      }
      idx[d] = 0;
      for (int k = 0; k < N; ++k) off[k] -= (s.sizes[d] - 1) * s.strides[k][d];
    }
  }
}

}  // namespace

void unary(UnaryOp op, const StridedArray& a, const StridedArray& out) {
  const auto s = make_strided<2>({&out, &a});
  dispatch_floating(out.dtype, op_name(op), [&]<typename T>() {
    const T* pa = a.as<T>();
    T* po = out.as<T>();
    with_unary(op, [&]<UnaryOp Op>() {
      if (s.is_contiguous()) {
#pragma omp parallel for schedule(static) if (s.numel > kParallelGrain)
        for (int64_t i = 0; i < s.numel; ++i) po[i] = unary_fn<Op>(pa[i]);
      } else {
        for_each_offset(s, [&](const int64_t(&o)[2]) { po[o[0]] = unary_fn<Op>(pa[o[1]]); });
      }
    });
  });
}

void binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out) {
  const auto s = make_strided<3>({&out, &a, &b});
  dispatch_floating(out.dtype, op_name(op), [&]<typename T>() {
    const T* pa = a.as<T>();
    const T* pb = b.as<T>();
    T* po = out.as<T>();
    with_binary(op, [&]<BinaryOp Op>() {
      if (s.is_contiguous()) {
#pragma omp parallel for schedule(static) if (s.numel > kParallelGrain)
        for (int64_t i = 0; i < s.numel; ++i) po[i] = binary_fn<Op>(pa[i], pb[i]);
      } else {
        for_each_offset(s, [&](const int64_t(&o)[3]) { po[o[0]] = binary_fn<Op>(pa[o[1]], pb[o[2]]); });
      }
    });
  });
}

void binary_scalar(BinaryOp op, const StridedArray& a, double scalar, ScalarSide side,
                   const StridedArray& out) {
  const bool scalar_first = side == ScalarSide::Left;
  const auto s = make_strided<2>({&out, &a});
  dispatch_floating(out.dtype, op_name(op), [&]<typename T>() {
    const T* pa = a.as<T>();
    T* po = out.as<T>();
    const T c = static_cast<T>(scalar);
    with_binary(op, [&]<BinaryOp Op>() {
      for_each_offset(s, [&](const int64_t(&o)[2]) {
        po[o[0]] = scalar_first ? binary_fn<Op>(c, pa[o[1]]) : binary_fn<Op>(pa[o[1]], c);
      });
    });
  });
}

void axpy(const StridedArray& x, double alpha, const StridedArray& out) {
  const auto s = make_strided<2>({&out, &x});
  dispatch_floating(out.dtype, "add_", [&]<typename T>() {
    const T* px = x.as<T>();
    T* po = out.as<T>();
    const T a = static_cast<T>(alpha);
    if (s.is_contiguous()) {
#pragma omp parallel for schedule(static) if (s.numel > kParallelGrain)
      for (int64_t i = 0; i < s.numel; ++i) po[i] += a * px[i];
      return;
    }
    if (alpha == 1.0)
      for_each_offset(s, [&](const int64_t(&o)[2]) { po[o[0]] += px[o[1]]; });
    else
      for_each_offset(s, [&](const int64_t(&o)[2]) { po[o[0]] += a * px[o[1]]; });
  });
}

void copy(const StridedArray& src, const StridedArray& dst) {
  const auto s = make_strided<2>({&dst, &src});
  dispatch_all(dst.dtype, "copy", [&]<typename To>() {
    dispatch_all(src.dtype, "copy", [&]<typename From>() {
      const From* ps = static_cast<const From*>(src.data);
      To* pd = static_cast<To*>(dst.data);
      for_each_offset(s, [&](const int64_t(&o)[2]) { pd[o[0]] = convert<To>(ps[o[1]]); });
    });
  });
}

void fill(const StridedArray& dst, double value) {
  const StridedArray* operands[1] = {&dst};
  const auto s = make_strided<1>(operands);
  dispatch_all(dst.dtype, "fill", [&]<typename T>() {
    T* pd = static_cast<T*>(dst.data);
    const T v = convert<T>(value);
    for_each_offset(s, [&](const int64_t(&o)[1]) { pd[o[0]] = v; });
  });
}

}  // namespace cpu
}  // namespace kiln::kernels
