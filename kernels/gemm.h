// Contract of the matrix product behind matmul and Linear: row-major
//   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]   for b in [0, batch),
// op(X) = X or X^T, op(A) is m x k, op(B) is k x n, C is m x n with leading dimensions
// lda/ldb/ldc (elements between rows) and batch strides in elements. beta = 0 assigns (C is
// not read, so it may hold NaN); beta = 1 accumulates. The CPU path is OpenBLAS, the CUDA
// path cuBLAS in full FP32 (TF32 off, like PyTorch's default for matmul).
#pragma once

#include <cstdint>

namespace kiln::kernels {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  double alpha = 1.0, beta = 0.0;
};

namespace cpu {
template <typename T>
void gemm(const GemmArgs& args, const T* a, const T* b, T* c);
}
namespace cuda {
template <typename T>
void gemm(const GemmArgs& args, const T* a, const T* b, T* c);
}

}  // namespace kiln::kernels
