// matmul on every device x dtype against a float64 triple loop, with transposed operands and
// batches; the transposes are passed to BLAS without copies.
#include <gtest/gtest.h>

#include "core/ops.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::DeviceDType;

std::vector<double> reference_matmul(const Tensor& a, const Tensor& b) {
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  const auto va = ac.to_vector<double>(), vb = bc.to_vector<double>();
  const bool batched = a.dim() == 3;
  const int64_t B = batched ? a.size(0) : 1, M = a.size(-2), K = a.size(-1), N = b.size(-1);
  std::vector<double> out(B * M * N, 0.0);
  for (int64_t z = 0; z < B; ++z)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += va[(z * M + i) * K + k] * vb[(z * K + k) * N + j];
        out[(z * M + i) * N + j] = acc;
      }
  return out;
}

class GemmTest : public ::testing::TestWithParam<DeviceDType> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam().device); }
  Tensor normal(const Shape& s, uint64_t seed) const {
    return testing::random_normal(s, seed, GetParam().dtype, GetParam().device);
  }
  // fp32 dot products of length K with unit-variance terms: error ~ sqrt(K) * 6e-8 * sqrt(K)
  // in the worst blocked order; 1e-5 * K^0.5 relative-to-magnitude bound, K <= 300 here.
  double atol() const { return GetParam().dtype == DType::Float32 ? 2e-4 : 1e-11; }
};

TEST_P(GemmTest, PlainTransposedAndBatched) {
  const Tensor a = normal({37, 300}, 1), b = normal({300, 45}, 2);
  EXPECT_TRUE(all_close(matmul(a, b), reference_matmul(a, b), atol(), 0));
  const Tensor at = normal({300, 37}, 3).transpose(0, 1), bt = normal({45, 300}, 4).transpose(0, 1);
  EXPECT_TRUE(all_close(matmul(at, bt), reference_matmul(at, bt), atol(), 0));
  EXPECT_TRUE(all_close(matmul(a, bt), reference_matmul(a, bt), atol(), 0));
  const Tensor ba = normal({3, 5, 64}, 5), bb = normal({3, 64, 7}, 6);
  EXPECT_TRUE(all_close(matmul(ba, bb), reference_matmul(ba, bb), atol(), 0));
  const Tensor narrow_cols = normal({37, 310}, 7).narrow(1, 5, 300);  // ld > cols
  EXPECT_TRUE(all_close(matmul(narrow_cols, b), reference_matmul(narrow_cols, b), atol(), 0));
}

TEST_P(GemmTest, DegenerateShapes) {
  const Tensor a = normal({1, 1}, 8), b = normal({1, 9}, 9);
  EXPECT_TRUE(all_close(matmul(a, b), reference_matmul(a, b), atol(), 0));
  const Tensor e = matmul(Tensor::zeros({4, 0}, GetParam().dtype, GetParam().device),
                          Tensor::zeros({0, 3}, GetParam().dtype, GetParam().device));
  EXPECT_TRUE(all_close(e, std::vector<double>(12, 0.0), 0, 0));
}

INSTANTIATE_TEST_SUITE_P(AllDevices, GemmTest, ::testing::ValuesIn(testing::all_device_dtypes()),
                         testing::device_dtype_name);

TEST(Gemm, ShapeErrors) {
  EXPECT_THROW(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 2})), Error);
  EXPECT_THROW(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({4, 2})), Error);
  EXPECT_THROW(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 2})), Error);
}

}  // namespace
}  // namespace kiln
