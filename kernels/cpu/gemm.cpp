// CPU matrix products through OpenBLAS's CBLAS interface (row-major).
#include <cblas.h>

#include "core/error.h"
#include "kernels/gemm.h"

namespace kiln::kernels::cpu {

namespace {
void check_int(int64_t v, const char* what) {
  KILN_CHECK(v >= 0 && v <= INT32_MAX, "gemm: ", what, " = ", v, " exceeds the BLAS integer range");
}
}  // namespace

template <typename T>
void gemm(const GemmArgs& g, const T* a, const T* b, T* c) {
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc}) check_int(v, "dimension");
  const auto ta = g.trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = g.trans_b ? CblasTrans : CblasNoTrans;
  for (int64_t i = 0; i < g.batch; ++i) {
    const T* ai = a + i * g.stride_a;
    const T* bi = b + i * g.stride_b;
    T* ci = c + i * g.stride_c;
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k),
                  static_cast<float>(g.alpha), ai, static_cast<int>(g.lda), bi, static_cast<int>(g.ldb),
                  static_cast<float>(g.beta), ci, static_cast<int>(g.ldc));
    } else {
      cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k),
                  g.alpha, ai, static_cast<int>(g.lda), bi, static_cast<int>(g.ldb), g.beta, ci,
                  static_cast<int>(g.ldc));
    }
  }
}

template void gemm<float>(const GemmArgs&, const float*, const float*, float*);
template void gemm<double>(const GemmArgs&, const double*, const double*, double*);

}  // namespace kiln::kernels::cpu
