// Data-parallel training against one process (ctest runs this binary with mpirun -np 2):
// W ranks with per-rank batch B, each on its DistributedSampler shard, averaging gradients
// after backward, end with the parameters of ONE process trained with batch W * B on the
// same epochs (within float32 rounding of the different summation order); the ranks hold
// bit-identical parameters; a repeated run, and a run with other bucket sizes, gives the
// same bits (and KILN_DIST_TEST_DUMP=FILE writes them, for comparing separate launches); and without the
// averaging the test would see the ranks drift apart.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "layers/layers.h"
#include "losses/losses.h"
#include "samplers/distributed.h"
#include "tests/support/helpers.h"
#include "tests/trainers/distributed/replicas.h"
#include "trainers/distributed/gradients.h"
#include "trainers/distributed/process_group.h"
#include "trainers/optim.h"

namespace kiln {
namespace {

constexpr int64_t kSamples = 72, kFeatures = 5, kOutputs = 3, kPerRankBatch = 6, kEpochs = 3;
constexpr uint64_t kSamplerSeed = 17, kModelSeed = 5;

Dataset regression_data() {
  Dataset d;
  d.inputs = testing::random_normal({kSamples, kFeatures}, 1, DType::Float32);
  d.targets = testing::random_normal({kSamples, kOutputs}, 2, DType::Float32);
  return d;
}

std::shared_ptr<Sequential> make_model(uint64_t seed) {
  Generator gen(seed);
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(kFeatures, 8, Bias::With, gen), std::make_shared<ReLU>(),
      std::make_shared<Linear>(8, kOutputs, Bias::With, gen)});
}

// The order it is given, every epoch: the reference's batches, chosen by the test.
class FixedOrderSampler final : public Sampler {
 public:
  explicit FixedOrderSampler(std::vector<int64_t> order) : order_(std::move(order)) {}
  std::vector<int64_t> epoch_indices(Generator&) override { return order_; }
  int64_t size() const override { return static_cast<int64_t>(order_.size()); }
  std::string name() const override { return "fixed-order"; }

 private:
  std::vector<int64_t> order_;
};

enum class Averaging { None, AfterBackward, Overlapped };

void sgd_step(Module& model, Optimizer& optimizer, const Batch& batch, GradientAverager* averager,
              Averaging averaging = Averaging::AfterBackward) {
  optimizer.zero_grad();
  const Tensor loss = mse_loss(model(batch.inputs), batch.targets);
  if (averager && averaging == Averaging::Overlapped) {
    averager->backward(loss);
  } else {
    loss.backward();
    if (averager && averaging == Averaging::AfterBackward) averager->average();
  }
  optimizer.step();
}

// One process, batch W * B, visiting each epoch in the order DistributedSampler's wrapped
// RandomSampler draws for (seed, epoch): the generator with that seed at offset `epoch`.
std::vector<Tensor> train_one_process(int world) {
  const Dataset data = regression_data();
  auto model = make_model(kModelSeed);
  auto optimizer = make_sgd(model->parameters(), 0.05, 0.9);
  for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
    RandomSampler shuffle(kSamples);
    Generator gen(kSamplerSeed);
    gen.set_offset(static_cast<uint64_t>(epoch));
    DataLoader loader(data, world * kPerRankBatch,
                      std::make_shared<FixedOrderSampler>(shuffle.epoch_indices(gen)));
    for (const Batch& batch : loader.epoch()) sgd_step(*model, *optimizer, batch, nullptr);
  }
  return model->parameters();
}

// This rank's part of a data-parallel run. Every rank starts from a different initialisation
// and broadcast_module makes rank 0's the common start.
std::vector<Tensor> train_data_parallel(ProcessGroup& group, int64_t bucket_bytes,
                                        Averaging averaging = Averaging::AfterBackward,
                                        size_t* buckets_started_early = nullptr) {
  const Dataset data = regression_data();
  auto model = make_model(kModelSeed + static_cast<uint64_t>(group.rank()));
  broadcast_module(group, *model);
  auto optimizer = make_sgd(model->parameters(), 0.05, 0.9);
  GradientAverager averager(group, model->parameters(), bucket_bytes);
  auto sampler =
      DistributedSampler::over_range(kSamples, group.world_size(), group.rank(), true, kSamplerSeed);
  DataLoader loader(data, kPerRankBatch, sampler);
  for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
    sampler->set_epoch(epoch);
    for (const Batch& batch : loader.epoch()) sgd_step(*model, *optimizer, batch, &averager, averaging);
  }
  if (buckets_started_early) *buckets_started_early = averager.buckets_started_early();
  return model->parameters();
}

TEST(DataParallel, EqualsOneProcessWithTheGlobalBatch) {
  ProcessGroup& group = process_group();
  ASSERT_EQ(kSamples % (group.world_size() * kPerRankBatch), 0) << "the test assumes whole global batches";
  const std::vector<Tensor> reference = train_one_process(group.world_size());
  const std::vector<Tensor> parallel = train_data_parallel(group, GradientAverager::kDefaultBucketBytes);
  const std::vector<Tensor> start = make_model(kModelSeed)->parameters();
  ASSERT_EQ(parallel.size(), reference.size());
  for (size_t k = 0; k < reference.size(); ++k) {
    // The averaged gradient sums the same per-sample terms in another order (per rank, then
    // across ranks): float32 rounding of ~1e-7 per step, over 18 momentum steps (two ranks) of a model
    // whose weights are O(1); 1e-5 is well above that and far below the training's movement.
    EXPECT_TRUE(testing::all_close(parallel[k], reference[k], 1e-5, 1e-5)) << "parameter " << k;
    EXPECT_FALSE(testing::all_close(parallel[k], start[k], 1e-3, 0)) << "parameter " << k << " did not train";
  }
  EXPECT_TRUE(testing::same_on_every_rank(group, parallel));
}

TEST(DataParallel, RepeatedRunsAndBucketSizesGiveTheSameBits) {
  ProcessGroup& group = process_group();
  const std::vector<Tensor> first = train_data_parallel(group, GradientAverager::kDefaultBucketBytes);
  const std::vector<Tensor> again = train_data_parallel(group, GradientAverager::kDefaultBucketBytes);
  // 64 bytes: one bucket per parameter and several all-reduces per step.
  const std::vector<Tensor> small_buckets = train_data_parallel(group, 64);
  for (size_t k = 0; k < first.size(); ++k) {
    EXPECT_TRUE(testing::bit_equal(first[k], again[k])) << "parameter " << k;
    EXPECT_TRUE(testing::bit_equal(first[k], small_buckets[k])) << "parameter " << k;
  }
  // For tests/scripts/dist_repeat_test.sh, which compares the bytes of two separate launches.
  if (const char* dump = std::getenv("KILN_DIST_TEST_DUMP"); dump && group.is_root()) {
    std::vector<uint8_t> bytes;
    for (const Tensor& p : first) {
      const auto* b = static_cast<const uint8_t*>(p.raw_data());
      bytes.insert(bytes.end(), b, b + p.nbytes());
    }
    testing::write_bytes(dump, bytes);
  }
}

TEST(DataParallel, OverlappedAveragingGivesTheSameBits) {
  ProcessGroup& group = process_group();
  const std::vector<Tensor> after = train_data_parallel(group, 64);
  size_t early_small = 0, early_one = 0;
  const std::vector<Tensor> overlapped = train_data_parallel(group, 64, Averaging::Overlapped, &early_small);
  const std::vector<Tensor> one_bucket =
      train_data_parallel(group, GradientAverager::kDefaultBucketBytes, Averaging::Overlapped, &early_one);
  for (size_t k = 0; k < after.size(); ++k) {
    EXPECT_TRUE(testing::bit_equal(after[k], overlapped[k])) << "parameter " << k;
    EXPECT_TRUE(testing::bit_equal(after[k], one_bucket[k])) << "parameter " << k;
  }
  // One bucket per parameter: the second layer's buckets start while backward has the first
  // layer's gradients still to compute. One bucket for all: it can only start at the end.
  EXPECT_GE(early_small, 2u);
  EXPECT_EQ(early_one, 0u);
}

TEST(DataParallel, WithoutAveragingTheRanksDrift) {
  // The control: the same runs with the all-reduce left out end with different weights on
  // different ranks, so the agreement above is the averaging's doing.
  ProcessGroup& group = process_group();
  EXPECT_FALSE(testing::same_on_every_rank(
      group, train_data_parallel(group, GradientAverager::kDefaultBucketBytes, Averaging::None)));
}

TEST(DataParallel, BucketsFollowTheirSize) {
  ProcessGroup& group = process_group();
  auto model = make_model(kModelSeed);
  EXPECT_EQ(GradientAverager(group, model->parameters()).num_buckets(), 1u);
  EXPECT_EQ(GradientAverager(group, model->parameters(), 64).num_buckets(), model->parameters().size());
}

}  // namespace
}  // namespace kiln
