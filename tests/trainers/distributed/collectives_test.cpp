// The MPI process group's collectives between real processes (ctest starts this binary with
// mpirun -np 2): all-reduce sums and averages against values computed locally from every
// rank's known contribution, broadcast from every root, a barrier that really waits, and
// identical results on every rank.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "tests/support/helpers.h"
#include "trainers/distributed/process_group.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::mentions;

// Rank r's contribution at i: multiples of 1/4 below 64 in magnitude, so every partial sum
// over a few ranks is exact in float32 whatever the order of the additions.
float exact_value(int r, int64_t i) { return static_cast<float>(((i * 7 + r * 3) % 64) - 20) * 0.25f; }

// An arbitrary double whose sums do round.
double rounding_value(int r, int64_t i) {
  return 0.1 * static_cast<double>(i + 1) / static_cast<double>(r + 3);
}

TEST(MpiGroup, MatchesTheLauncher) {
  ProcessGroup& group = process_group();
  const LaunchEnv env = launch_env();
  EXPECT_EQ(group.backend(), "mpi");
  EXPECT_GE(group.world_size(), 2);
  EXPECT_EQ(group.world_size(), env.world_size);
  EXPECT_EQ(group.rank(), env.rank);
  EXPECT_TRUE(group.carries(Device::cpu()));
  EXPECT_FALSE(group.carries(Device::cuda(0)));
}

TEST(MpiGroup, AllReduceFloat32IsExact) {
  ProcessGroup& group = process_group();
  const int world = group.world_size(), rank = group.rank();
  for (int64_t count : {int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{(1 << 20) + 3}}) {
    std::vector<float> sum(static_cast<size_t>(count)), avg(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) sum[i] = avg[i] = exact_value(rank, i);
    group.all_reduce(sum.data(), count, DType::Float32, ReduceOp::Sum);
    group.all_reduce(avg.data(), count, DType::Float32, ReduceOp::Average);
    int64_t wrong_sum = 0, wrong_avg = 0;
    for (int64_t i = 0; i < count; ++i) {
      double expected = 0;
      for (int r = 0; r < world; ++r) expected += exact_value(r, i);
      wrong_sum += sum[i] != static_cast<float>(expected);
      // The exact sum divided by the world size, rounded once to float32.
      wrong_avg += avg[i] != static_cast<float>(expected / world);
    }
    EXPECT_EQ(wrong_sum, 0) << count << " elements";
    EXPECT_EQ(wrong_avg, 0) << count << " elements";
  }
}

TEST(MpiGroup, AllReduceFloat64AndInt64) {
  ProcessGroup& group = process_group();
  const int world = group.world_size(), rank = group.rank();
  const int64_t count = 5000;
  std::vector<double> d(count);
  std::vector<int64_t> n(count);
  for (int64_t i = 0; i < count; ++i) {
    d[i] = rounding_value(rank, i);
    n[i] = int64_t{1000000000000} * (rank + 1) + i;
  }
  group.all_reduce(d.data(), count, DType::Float64, ReduceOp::Sum);
  group.all_reduce(n.data(), count, DType::Int64, ReduceOp::Sum);
  for (int64_t i = 0; i < count; ++i) {
    double expected = 0;
    for (int r = 0; r < world; ++r) expected += rounding_value(r, i);
    // Two ranks: a + b is the same bits in either order; more ranks may round differently.
    if (world == 2) {
      ASSERT_EQ(d[i], expected) << i;
    } else {
      ASSERT_NEAR(d[i], expected, 1e-15 * std::abs(expected)) << i;
    }
    ASSERT_EQ(n[i], int64_t{1000000000000} * world * (world + 1) / 2 + int64_t{world} * i) << i;
  }
}

TEST(MpiGroup, EveryRankGetsTheSameBits) {
  ProcessGroup& group = process_group();
  Tensor t = testing::random_normal({4096}, 100 + static_cast<uint64_t>(group.rank()), DType::Float32);
  group.all_reduce(t, ReduceOp::Average);
  Tensor root = t.clone();
  group.broadcast(root, 0);
  EXPECT_TRUE(testing::bit_equal(t, root));
}

TEST(MpiGroup, BroadcastFromEveryRoot) {
  ProcessGroup& group = process_group();
  for (int root = 0; root < group.world_size(); ++root) {
    for (int64_t bytes : {int64_t{0}, int64_t{13}, int64_t{5} << 20}) {
      std::vector<unsigned char> buf(static_cast<size_t>(bytes));
      for (int64_t i = 0; i < bytes; ++i) {
        buf[i] = group.rank() == root ? static_cast<unsigned char>((i * 31 + root) & 255) : 0xAB;
      }
      group.broadcast(buf.data(), bytes, root);
      int64_t wrong = 0;
      for (int64_t i = 0; i < bytes; ++i)
        wrong += buf[i] != static_cast<unsigned char>((i * 31 + root) & 255);
      EXPECT_EQ(wrong, 0) << "root " << root << ", " << bytes << " bytes";
    }
  }
  Tensor t = Tensor::full({3, 2}, group.rank() == 1 ? 2.5 : -1.0, DType::Float64);
  group.broadcast(t, 1);
  EXPECT_EQ(t.to_vector<double>(), std::vector<double>(6, 2.5));
}

TEST(MpiGroup, BarrierWaitsForTheLastRank) {
  ProcessGroup& group = process_group();
  group.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  if (group.rank() == group.world_size() - 1) std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  group.barrier();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Rank 0 left the first barrier at about the time the last rank did, so it waits most of
  // the last rank's second: half of it leaves room for a busy machine delaying either rank.
  if (group.rank() == 0) {
    EXPECT_GT(waited, 0.5);
  }
}

TEST(MpiGroup, RejectsBadArgumentsOnEveryRank) {
  ProcessGroup& group = process_group();
  Tensor t = Tensor::zeros({2});
  EXPECT_TRUE(mentions(error_of([&] { group.broadcast(t, group.world_size()); }), {"root", "outside"}));
  Tensor labels = Tensor::zeros({2}, DType::Int64);
  EXPECT_TRUE(mentions(error_of([&] { group.all_reduce(labels, ReduceOp::Average); }), {"int64", "average"}));
  EXPECT_TRUE(
      mentions(error_of([&] { group.all_reduce(t.data<float>(), -1, DType::Float32, ReduceOp::Sum); }),
               {"count", "-1"}));
  // The group still works after refusing them.
  float one = 1;
  group.all_reduce(&one, 1, DType::Float32, ReduceOp::Sum);
  EXPECT_EQ(one, static_cast<float>(group.world_size()));
}

}  // namespace
}  // namespace kiln
