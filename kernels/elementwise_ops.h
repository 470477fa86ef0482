// The scalar functions behind kernels/elementwise.h, shared by the CPU loops and the CUDA
// kernels so both compute exactly the same expression. The op is a template parameter so
// each loop compiles to straight-line code; with_unary/with_binary turn the runtime enum
// into that parameter once per call, outside the loop.
#pragma once

#include <cmath>

#include "core/error.h"
#include "core/macros.h"
#include "kernels/elementwise.h"

namespace kiln::kernels {

template <UnaryOp Op, typename T>
KILN_HD KILN_FORCEINLINE T unary_fn(T a) {
  if constexpr (Op == UnaryOp::Neg) return -a;
  // NaN passes through, as in PyTorch (a NaN that relu turned into 0 would hide divergence
  // from the loss while the gradients still carry it into the weights).
  else if constexpr (Op == UnaryOp::Relu)
    return a <= T(0) ? T(0) : a;
  else if constexpr (Op == UnaryOp::Exp)
    return exp(a);
  else if constexpr (Op == UnaryOp::Log)
    return log(a);
  else if constexpr (Op == UnaryOp::Sqrt)
    return sqrt(a);
  else
    return a * a;  // Square
}

template <BinaryOp Op, typename T>
KILN_HD KILN_FORCEINLINE T binary_fn(T a, T b) {
  if constexpr (Op == BinaryOp::Add)
    return a + b;
  else if constexpr (Op == BinaryOp::Sub)
    return a - b;
  else if constexpr (Op == BinaryOp::Mul)
    return a * b;
  else if constexpr (Op == BinaryOp::Div)
    return a / b;
  else if constexpr (Op == BinaryOp::Eq)
    return a == b ? T(1) : T(0);
  else if constexpr (Op == BinaryOp::Gt)
    return a > b ? T(1) : T(0);
  else
    return b > T(0) ? a : T(0);  // ReluBackward
}

template <typename F>
void with_unary(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::Neg:
      return f.template operator()<UnaryOp::Neg>();
    case UnaryOp::Relu:
      return f.template operator()<UnaryOp::Relu>();
    case UnaryOp::Exp:
      return f.template operator()<UnaryOp::Exp>();
    case UnaryOp::Log:
      return f.template operator()<UnaryOp::Log>();
    case UnaryOp::Sqrt:
      return f.template operator()<UnaryOp::Sqrt>();
    case UnaryOp::Square:
      return f.template operator()<UnaryOp::Square>();
  }
  KILN_FAIL("unknown unary op");
}

template <typename F>
void with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add:
      return f.template operator()<BinaryOp::Add>();
    case BinaryOp::Sub:
      return f.template operator()<BinaryOp::Sub>();
    case BinaryOp::Mul:
      return f.template operator()<BinaryOp::Mul>();
    case BinaryOp::Div:
      return f.template operator()<BinaryOp::Div>();
    case BinaryOp::Eq:
      return f.template operator()<BinaryOp::Eq>();
    case BinaryOp::Gt:
      return f.template operator()<BinaryOp::Gt>();
    case BinaryOp::ReluBackward:
      return f.template operator()<BinaryOp::ReluBackward>();
  }
  KILN_FAIL("unknown binary op");
}

}  // namespace kiln::kernels
