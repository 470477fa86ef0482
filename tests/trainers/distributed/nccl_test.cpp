// The NCCL process group with one rank on a GPU (skipped without a GPU or without NCCL):
// it is created from a host group, its collectives on device tensors give one rank's values
// back, it refuses host tensors, and an all-reduce can be captured in a CUDA graph and
// replayed with the step's other work.
#include <gtest/gtest.h>

#include <vector>

#include "core/cuda_graph.h"
#include "core/ops.h"
#include "tests/support/helpers.h"
#include "trainers/distributed/process_group.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::mentions;

TEST(NcclProcessGroup, OneRankOnCuda) {
  KILN_REQUIRE_CUDA();
  if (!nccl_built()) GTEST_SKIP() << "built without NCCL";
  auto host = make_single_process_group();
  auto nccl = make_nccl_process_group(*host, Device::cuda(0));
  EXPECT_EQ(nccl->backend(), "nccl");
  EXPECT_EQ(nccl->world_size(), 1);
  EXPECT_EQ(nccl->rank(), 0);
  EXPECT_TRUE(nccl->carries(Device::cuda(0)));
  EXPECT_FALSE(nccl->carries(Device::cpu()));

  const std::vector<float> values = {1.5f, -2.0f, 3.25f};
  Tensor t = Tensor::from_vector(values, {3}, Device::cuda(0));
  nccl->all_reduce(t, ReduceOp::Sum);
  nccl->all_reduce(t, ReduceOp::Average);
  nccl->broadcast(t, 0);
  nccl->barrier();
  nccl->synchronize();
  EXPECT_EQ(t.to_vector<float>(), values);
  Tensor counts = Tensor::from_vector(std::vector<int64_t>{7, -3}, {2}, Device::cuda(0));
  nccl->all_reduce(counts, ReduceOp::Sum);
  EXPECT_EQ(counts.to_vector<int64_t>(), (std::vector<int64_t>{7, -3}));

  Tensor host_tensor = Tensor::from_vector(values, {3});
  EXPECT_TRUE(
      mentions(error_of([&] { nccl->all_reduce(host_tensor, ReduceOp::Sum); }), {"does not carry", "cpu"}));
  EXPECT_TRUE(mentions(error_of([&] { nccl->broadcast(t, 1); }), {"root 1", "[0, 1)"}));
}

TEST(NcclProcessGroup, AllReduceInsideACapturedGraph) {
  KILN_REQUIRE_CUDA();
  if (!nccl_built()) GTEST_SKIP() << "built without NCCL";
  auto host = make_single_process_group();
  auto nccl = make_nccl_process_group(*host, Device::cuda(0));
  Tensor t = Tensor::from_vector(std::vector<float>{1.0f, -0.5f}, {2}, Device::cuda(0));
  CudaGraph graph(Device::cuda(0));
  // Doubling, then the all-reduce, as a step's backward is followed by the gradients' reduction.
  graph.capture([&] {
    t.copy_(mul(t, 2.0));
    nccl->all_reduce(t, ReduceOp::Average);
  });
  for (int i = 0; i < 3; ++i) graph.replay();
  nccl->synchronize();
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{8.0f, -4.0f})) << "three replays of the doubling";
}

}  // namespace
}  // namespace kiln
