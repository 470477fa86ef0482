// The process group in one process: the launcher's environment (good and malformed values),
// the collective deadline's parsing, the single-process group's identity collectives and
// argument checks, and the gradient averager's and the module broadcast's no-op for one
// process, and the `kiln` program's refusal to run as several processes. The collectives
// between processes run in kiln_dist_tests under mpirun.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "tests/support/helpers.h"
#include "trainers/distributed/gradients.h"
#include "trainers/distributed/process_group.h"

namespace kiln {
namespace {

using testing::error_of;
using testing::mentions;

LaunchEnv parse(const std::map<std::string, std::string>& vars) {
  return parse_launch_env([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(LaunchEnv, NoLauncherIsOneProcess) {
  const LaunchEnv env = parse({{"PATH", "/usr/bin"}});
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.local_rank, 0);
  EXPECT_EQ(env.variable, "");
}

TEST(LaunchEnv, ReadsEachLaunchersVariables) {
  LaunchEnv env = parse(
      {{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.variable, "OMPI_COMM_WORLD_SIZE");
  env = parse({{"PMI_SIZE", "2"}, {"PMI_RANK", "1"}});
  EXPECT_EQ(env.world_size, 2);
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.local_rank, 0);
  env =
      parse({{"MV2_COMM_WORLD_SIZE", "3"}, {"MV2_COMM_WORLD_RANK", "2"}, {"MV2_COMM_WORLD_LOCAL_RANK", "2"}});
  EXPECT_EQ(env.world_size, 3);
  EXPECT_EQ(env.rank, 2);
  EXPECT_EQ(env.local_rank, 2);
}

TEST(LaunchEnv, MalformedValuesAreNamed) {
  EXPECT_TRUE(mentions(error_of([] {
                         parse({{"OMPI_COMM_WORLD_SIZE", "two"}, {"OMPI_COMM_WORLD_RANK", "0"}});
                       }),
                       {"OMPI_COMM_WORLD_SIZE=two", "whole number"}));
  EXPECT_TRUE(mentions(error_of([] {
                         parse({{"OMPI_COMM_WORLD_SIZE", "2x"}, {"OMPI_COMM_WORLD_RANK", "0"}});
                       }),
                       {"OMPI_COMM_WORLD_SIZE=2x"}));
  EXPECT_TRUE(mentions(error_of([] {
                         parse({{"PMI_SIZE", "0"}, {"PMI_RANK", "0"}});
                       }),
                       {"PMI_SIZE=0", ">= 1"}));
  EXPECT_TRUE(mentions(error_of([] {
                         parse({{"PMI_SIZE", "2"}, {"PMI_RANK", "2"}});
                       }),
                       {"PMI_RANK=2", "[0, 2)"}));
  EXPECT_TRUE(mentions(error_of([] { parse({{"PMI_SIZE", "2"}, {"PMI_RANK", "-1"}}); }), {"PMI_RANK=-1"}));
  EXPECT_TRUE(mentions(error_of([] {
                         parse({{"PMI_SIZE", "2"}});
                       }),
                       {"PMI_SIZE is set but PMI_RANK is not"}));
  EXPECT_TRUE(mentions(error_of([] {
                         parse({{"PMI_SIZE", "99999999999"}, {"PMI_RANK", "0"}});
                       }),
                       {"PMI_SIZE"}));
  EXPECT_TRUE(mentions(error_of([] {
                         parse({{"OMPI_COMM_WORLD_SIZE", "2"},
                                {"OMPI_COMM_WORLD_RANK", "0"},
                                {"OMPI_COMM_WORLD_LOCAL_RANK", "5"}});
                       }),
                       {"OMPI_COMM_WORLD_LOCAL_RANK=5"}));
}

TEST(CollectiveTimeout, DefaultAndParsing) {
  EXPECT_EQ(parse_collective_timeout(nullptr), kDefaultCollectiveTimeoutSeconds);
  EXPECT_EQ(parse_collective_timeout(""), kDefaultCollectiveTimeoutSeconds);
  EXPECT_EQ(parse_collective_timeout("2.5"), 2.5);
  EXPECT_EQ(parse_collective_timeout("60"), 60.0);
  for (const char* bad : {"0", "-3", "ten", "5s", "inf", "nan"}) {
    EXPECT_TRUE(mentions(error_of([&] { parse_collective_timeout(bad); }),
                         {std::string("KILN_DIST_TIMEOUT=") + bad, "positive number of seconds"}))
        << bad;
  }
}

TEST(SingleProcessGroup, CollectivesAreTheIdentity) {
  auto group = make_single_process_group();
  EXPECT_EQ(group->rank(), 0);
  EXPECT_EQ(group->world_size(), 1);
  EXPECT_EQ(group->describe(), "rank 0 of 1 (single)");
  std::vector<float> f = {1.5f, -2.0f, 3.25f};
  Tensor t = Tensor::from_vector(f, {3});
  group->all_reduce(t, ReduceOp::Sum);
  EXPECT_EQ(t.to_vector<float>(), f);
  group->all_reduce(t, ReduceOp::Average);
  EXPECT_EQ(t.to_vector<float>(), f);
  group->broadcast(t, 0);
  EXPECT_EQ(t.to_vector<float>(), f);
  group->barrier();
  group->synchronize();
}

TEST(SingleProcessGroup, RejectsBadArguments) {
  auto group = make_single_process_group();
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{1, 2}, {2});
  EXPECT_TRUE(
      mentions(error_of([&] { group->all_reduce(labels, ReduceOp::Average); }), {"int64", "average"}));
  Tensor bytes = Tensor::zeros({2}, DType::UInt8);
  EXPECT_TRUE(
      mentions(error_of([&] { group->all_reduce(bytes, ReduceOp::Sum); }), {"uint8", "not supported"}));
  Tensor strided = Tensor::zeros({4, 3}).transpose(0, 1);
  EXPECT_TRUE(mentions(error_of([&] { group->all_reduce(strided, ReduceOp::Sum); }), {"contiguous"}));
  Tensor undefined;
  EXPECT_TRUE(mentions(error_of([&] { group->all_reduce(undefined, ReduceOp::Sum); }), {"undefined"}));
  Tensor t = Tensor::zeros({2});
  EXPECT_TRUE(mentions(error_of([&] { group->broadcast(t, 1); }), {"root 1", "[0, 1)"}));
}

TEST(SingleProcessGroup, UnlaunchedProcessIsOneProcess) {
  // ctest runs this binary without mpirun: the group is one process, with no MPI started.
  if (launch_env().world_size != 1) GTEST_SKIP() << "running under a launcher";
  ProcessGroup& group = init_process_group();
  EXPECT_EQ(group.world_size(), 1);
  EXPECT_EQ(group.backend(), "single");
  EXPECT_EQ(&group, &process_group());
}

TEST(GradientAverager, OneProcessLeavesGradientsAlone) {
  auto group = make_single_process_group();
  Linear layer(3, 2);
  std::vector<Tensor> params = layer.parameters();
  for (Tensor& p : params) p.set_grad(Tensor::full(p.shape(), 0.75));
  GradientAverager averager(*group, params);
  averager.average();
  EXPECT_EQ(averager.num_buckets(), 0u);
  for (const Tensor& p : params) {
    for (float g : p.grad().to_vector<float>()) EXPECT_EQ(g, 0.75f);
  }
  broadcast_module(*group, layer);  // nothing to exchange with one process
}

TEST(NcclProcessGroup, UnavailableWithoutNccl) {
  if (nccl_built()) GTEST_SKIP() << "built with NCCL; kiln_dist_tests runs it on a GPU";
  auto group = make_single_process_group();
  EXPECT_TRUE(mentions(error_of([&] { make_nccl_process_group(*group, Device::cuda(0)); }), {"needs NCCL"}));
}

TEST(KilnProgram, WithoutMpiRefusesSeveralProcessesBeforeWritingAnything) {
  // Built with MPI, the program trains data-parallel under mpirun (tests/scripts/dist_kiln_test.sh).
  if (mpi_built()) GTEST_SKIP() << "built with MPI";
  // What mpirun -np 2 puts in each process's environment; the program must stop before it
  // creates its output directory, with one line saying why.
  testing::TempDir dir;
  const std::string out = dir.file("run");
  const std::string cmd = "OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=1 " + testing::kiln_binary() +
                          " batchnorm --out " + out + " >/dev/null 2>" + dir.file("err");
  const int raw = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(raw));
  EXPECT_EQ(WEXITSTATUS(raw), 1);
  std::string err;
  if (FILE* f = std::fopen(dir.file("err").c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) err.append(buf, n);
    std::fclose(f);
  }
  EXPECT_TRUE(mentions(
      err, {"kiln: error: launched as rank 1 of 2 processes (OMPI_COMM_WORLD_SIZE=2)", "built without MPI"}));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace kiln
