// index_select (batch gathering) on every device for every gatherable dtype, its adjoint,
// and out-of-range indices (an error on the CPU; the device error flag on CUDA).
#include <gtest/gtest.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "tests/support/helpers.h"
#if KILN_HAS_CUDA
#include "core/cuda_context.h"
#endif

namespace kiln {
namespace {

using testing::all_close;

class IndexTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam()); }
};

TEST_P(IndexTest, GathersRowsOfEveryDtype) {
  const Tensor idx = Tensor::from_vector<int64_t>({2, 0, 2}, {3}, GetParam());
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8}) {
    // src[r][c] = 10 r + c
    const Tensor src = Tensor::from_vector<double>({0, 1, 10, 11, 20, 21}, {3, 2}).to(dt).to(GetParam());
    const Tensor out = index_select(src, idx);
    EXPECT_EQ(out.dtype(), dt);
    EXPECT_TRUE(all_close(out, {20, 21, 0, 1, 20, 21}, 0, 0)) << dtype_name(dt);
  }
}

TEST_P(IndexTest, BackwardAddsRepeatedRows) {
  Tensor src = Tensor::zeros({4, 3}, DType::Float32, GetParam());
  src.set_requires_grad(true);
  const Tensor idx = Tensor::from_vector<int64_t>({1, 3, 1, 1}, {4}, GetParam());
  sum(index_select(src, idx)).backward();
  EXPECT_TRUE(all_close(src.grad(), {0, 0, 0, 3, 3, 3, 0, 0, 0, 1, 1, 1}, 0, 0));
}

TEST_P(IndexTest, OutOfRangeIndexIsReported) {
  const Tensor src = Tensor::zeros({4, 3}, DType::Float32, GetParam());
  const Tensor idx = Tensor::from_vector<int64_t>({0, 4}, {2}, GetParam());
  if (GetParam().is_cpu()) {
    EXPECT_THROW(index_select(src, idx), Error);
  } else {
#if KILN_HAS_CUDA
    (void)index_select(src, idx);
    EXPECT_THROW(cuda::check_device_errors(), Error);
    EXPECT_NO_THROW(cuda::check_device_errors());  // the flag was cleared
#endif
  }
}

INSTANTIATE_TEST_SUITE_P(AllDevices, IndexTest, ::testing::Values(Device::cpu(), Device::cuda()),
                         [](const auto& info) { return info.param.is_cpu() ? "cpu" : "cuda"; });

}  // namespace
}  // namespace kiln
