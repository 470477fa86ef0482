// Sharded evaluation against one process (ctest runs this binary with mpirun -np 2): each
// rank evaluates its ShardedBatchSampler shard, the sums are all-reduced, and every rank
// reports one process's accuracy exactly and its mean batch loss to float64 rounding;
// evaluate_data_parallel does all of it and sums the confusion matrix too; any_rank agrees.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "data/dataset.h"
#include "data/loader.h"
#include "layers/layers.h"
#include "losses/losses.h"
#include "samplers/distributed.h"
#include "tests/support/helpers.h"
#include "trainers/distributed/process_group.h"
#include "trainers/distributed_evaluation.h"
#include "trainers/loop.h"
#include "trainers/metrics.h"

namespace kiln {
namespace {

// 37 samples in batches of 8: five batches, the last of 5, so shards differ in length.
constexpr int64_t kSamples = 37, kBatch = 8, kClasses = 3;

Dataset classification_data() {
  Dataset d;
  d.inputs = testing::random_normal({kSamples, 5}, 3, DType::Float32);
  const std::vector<double> u = testing::random_uniform({kSamples}, 4, 0, kClasses).to_vector<double>();
  std::vector<int64_t> labels;
  for (double v : u) labels.push_back(static_cast<int64_t>(std::floor(v)));
  d.targets = Tensor::from_vector(labels, {kSamples});
  d.class_names = {"a", "b", "c"};
  return d;
}

TEST(ShardedEvaluation, EqualsOneProcess) {
  ProcessGroup& group = process_group();
  const Dataset data = classification_data();
  Generator gen(9);
  Linear model(5, kClasses, Bias::With, gen);
  const LossFn loss = [](const Tensor& out, const Tensor& targets) { return cross_entropy(out, targets); };

  DataLoader whole(data, kBatch);
  const EpochStats reference = evaluate(model, whole, loss);

  DataLoader shard(data, kBatch,
                   std::make_shared<ShardedBatchSampler>(kSamples, kBatch, group.world_size(), group.rank()));
  const EpochStats local = evaluate(model, shard, loss);
  const EpochStats combined = all_reduce_epoch_stats(group, local);

  EXPECT_LT(local.samples, kSamples) << "each rank evaluated only its shard";
  EXPECT_EQ(combined.samples, kSamples);
  EXPECT_EQ(combined.batches, reference.batches);
  EXPECT_EQ(combined.accuracy, reference.accuracy);
  // The same batch losses, added in another order (per rank, then across ranks) in float64.
  EXPECT_NEAR(combined.loss, reference.loss, 1e-12 * std::abs(reference.loss));
  EXPECT_GT(reference.accuracy, 0.0);
}

TEST(ShardedEvaluation, DataParallelEvaluationGivesEveryRankOneProcesssConfusionMatrix) {
  ProcessGroup& group = process_group();
  const Dataset data = classification_data();
  Generator gen(9);
  Linear model(5, kClasses, Bias::With, gen);
  const LossFn loss = [](const Tensor& out, const Tensor& targets) { return cross_entropy(out, targets); };
  DataLoader loader(data, kBatch);

  ConfusionMatrix reference(kClasses);
  const EpochStats one = evaluate(model, loader, loss, &reference);
  ConfusionMatrix shared(kClasses);
  const EpochStats all = evaluate_data_parallel(group, model, loader, loss, &shared);

  EXPECT_EQ(shared.counts(), reference.counts());
  EXPECT_EQ(shared.total(), kSamples);
  EXPECT_EQ(all.samples, kSamples);
  EXPECT_EQ(all.accuracy, one.accuracy);
  EXPECT_NEAR(all.loss, one.loss, 1e-12 * std::abs(one.loss));
  // A loader in another order cannot be dealt by batches: every rank refuses it alike.
  DataLoader shuffled(data, kBatch, std::make_shared<RandomSampler>(kSamples));
  if (group.world_size() > 1)
    EXPECT_TRUE(
        testing::mentions(testing::error_of([&] { evaluate_data_parallel(group, model, shuffled, loss); }),
                          {"visits its data in order", "random sampler"}));
}

TEST(ShardedEvaluation, AnyRankSeesOneRanksFlag) {
  ProcessGroup& group = process_group();
  EXPECT_FALSE(any_rank(group, false));
  EXPECT_TRUE(any_rank(group, true));
  EXPECT_TRUE(any_rank(group, group.rank() == group.world_size() - 1));
}

TEST(ShardedEvaluation, RegressionStaysWithoutAccuracy) {
  ProcessGroup& group = process_group();
  EpochStats local;
  local.loss = 2.0 + group.rank();
  local.batches = 2;
  local.samples = 7;
  const EpochStats combined = all_reduce_epoch_stats(group, local);
  EXPECT_TRUE(std::isnan(combined.accuracy));
  EXPECT_EQ(combined.batches, 2 * group.world_size());
  // Batch losses 2 + r, twice per rank: their mean.
  double sum = 0;
  for (int r = 0; r < group.world_size(); ++r) sum += 2 * (2.0 + r);
  EXPECT_DOUBLE_EQ(combined.loss, sum / (2 * group.world_size()));
}

}  // namespace
}  // namespace kiln
