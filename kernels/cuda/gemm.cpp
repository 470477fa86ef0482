// CUDA matrix products through cuBLAS (contract: kernels/gemm.h). cuBLAS is column-major;
// a row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so the operands are
// passed swapped and no data is transposed.
#include <type_traits>

#include "core/cuda_context.h"
#include "core/error.h"
#include "kernels/gemm.h"

namespace kiln::kernels::cuda {

template <typename T>
void gemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.batch})
    KILN_CHECK(v >= 0 && v <= INT32_MAX, "gemm: dimension ", v, " exceeds the cuBLAS integer range");
  const cublasOperation_t ta = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t tb = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
  cublasHandle_t h = kiln::cuda::cublas_handle();
  const int m = static_cast<int>(g.m), n = static_cast<int>(g.n), k = static_cast<int>(g.k);
  const int lda = static_cast<int>(g.lda), ldb = static_cast<int>(g.ldb), ldc = static_cast<int>(g.ldc);
  if constexpr (std::is_same_v<T, float>) {
    KILN_CUBLAS_CHECK(cublasSgemmStridedBatched(h, tb, ta, n, m, k, &alpha, b, ldb, g.stride_b, a, lda,
                                                g.stride_a, &beta, c, ldc, g.stride_c,
                                                static_cast<int>(g.batch)));
  } else {
    KILN_CUBLAS_CHECK(cublasDgemmStridedBatched(h, tb, ta, n, m, k, &alpha, b, ldb, g.stride_b, a, lda,
                                                g.stride_a, &beta, c, ldc, g.stride_c,
                                                static_cast<int>(g.batch)));
  }
}

template void gemm<float>(const GemmArgs&, const float*, const float*, float*);
template void gemm<double>(const GemmArgs&, const double*, const double*, double*);

}  // namespace kiln::kernels::cuda
