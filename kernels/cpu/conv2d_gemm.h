// Pieces shared by the CPU convolutions (the reference, kernels/cpu/conv2d.cpp, and its
// variants, kernels/cpu/conv2d_fast.cpp and conv2d_winograd.cpp): how many samples one column
// matrix holds, the row-major GEMM they call, and the bias gradient's row sums.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/conv2d.h"
#include "kernels/gemm.h"

namespace kiln::kernels::cpu {

// Samples per chunk so the column buffer stays near 16M elements.
inline int64_t conv2d_chunk_samples(const Conv2dShape& s) {
  const int64_t per_sample = s.c * s.r * s.s * s.p() * s.q();
  return std::max<int64_t>(1, std::min<int64_t>(s.n, (int64_t(1) << 24) / std::max<int64_t>(per_sample, 1)));
}

// Whether matmul reads an operand as stored or transposed.
enum class Layout { AsStored, Transposed };

// Row-major GEMM through kernels/gemm.h: c = a b + beta c.
template <typename T>
void matmul(Layout layout_a, Layout layout_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
            const T* b, int64_t ldb, T* c, int64_t ldc, double beta) {
  GemmArgs g;
  g.trans_a = layout_a == Layout::Transposed;
  g.trans_b = layout_b == Layout::Transposed;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = ldc;
  g.beta = beta;
  gemm<T>(g, a, b, c);
}

// acc[k] += the sum of row k of rows [K, cols], in double (the bias gradient of one chunk).
template <typename T>
void add_row_sums(const T* rows, int64_t k_rows, int64_t cols, double* acc) {
  for (int64_t k = 0; k < k_rows; ++k) {
    const T* row = rows + k * cols;
    double sum = 0;
    for (int64_t i = 0; i < cols; ++i) sum += row[i];
    acc[k] += sum;
  }
}

}  // namespace kiln::kernels::cpu
