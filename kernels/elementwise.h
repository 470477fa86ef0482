// Contract of the elementwise kernels (map, copy, fill) behind core/ops. Operands are
// StridedArray descriptions (kernels/strided.h), never tensors.
//  - Every operand has exactly out's shape (the op broadcast it: stride-0 dims) and any
//    strides; `out` is assigned (=), never accumulated, except axpy which does out += alpha*x.
//  - Arithmetic ops take float32 or float64 operands of one dtype; copy converts between any
//    two dtypes (float32, float64, int64, uint8, bfloat16): floating to integer truncates
//    toward zero and saturates at the integer range (NaN gives 0), identically on CPU and
//    CUDA; to bfloat16 rounds to nearest even.
//  - `out` may alias an input exactly (same storage, offset and strides): each element is
//    read before it is written. Partial overlap is not allowed.
#pragma once

#include <cstdint>

#include "kernels/strided.h"

namespace kiln::kernels {

enum class UnaryOp : uint8_t { Neg, Relu, Exp, Log, Sqrt, Square };
// ReluBackward: a where b > 0 else 0 (a = upstream gradient, b = relu input).
enum class BinaryOp : uint8_t { Add, Sub, Mul, Div, Eq, Gt, ReluBackward };

// Where binary_scalar puts its scalar: op(a, s) (Right) or op(s, a) (Left, as in s - a).
enum class ScalarSide : uint8_t { Right, Left };

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);

namespace cpu {
void unary(UnaryOp op, const StridedArray& a, const StridedArray& out);
void binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out);
// out = op(a, s), or op(s, a) when the scalar is on the left.
void binary_scalar(BinaryOp op, const StridedArray& a, double s, ScalarSide side, const StridedArray& out);
void axpy(const StridedArray& x, double alpha, const StridedArray& out);  // out += alpha * x
void copy(const StridedArray& src, const StridedArray& dst);
void fill(const StridedArray& dst, double value);
}  // namespace cpu

namespace cuda {
void unary(UnaryOp op, const StridedArray& a, const StridedArray& out);
void binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out);
void binary_scalar(BinaryOp op, const StridedArray& a, double s, ScalarSide side, const StridedArray& out);
void axpy(const StridedArray& x, double alpha, const StridedArray& out);
void copy(const StridedArray& src, const StridedArray& dst);  // any device pair; one of them is CUDA
void fill(const StridedArray& dst, double value);
}  // namespace cuda

}  // namespace kiln::kernels
