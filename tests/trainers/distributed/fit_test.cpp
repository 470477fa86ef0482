// fit() as several processes (ctest runs this binary with mpirun -np 2), against fit() in one
// process: W ranks with per-rank batch B end with the parameters, the logged losses and
// accuracies and the selected epoch of ONE process with batch W * B; every rank leaves with
// rank 0's model; only rank 0 writes files; and a run interrupted after one epoch and resumed
// from rank 0's checkpoint ends bit for bit where the uninterrupted run ends.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/generator.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "layers/layers.h"
#include "losses/losses.h"
#include "tests/support/helpers.h"
#include "tests/trainers/distributed/replicas.h"
#include "trainers/distributed/process_group.h"
#include "trainers/fit.h"
#include "trainers/optim.h"

namespace kiln {
namespace {

constexpr int64_t kTrain = 96, kVal = 40, kFeatures = 5, kClasses = 3, kPerRankBatch = 6, kEpochs = 3;

// Labels that a small network can learn from the features: the largest of three fixed sums.
Dataset classification_data(int64_t n, uint64_t seed) {
  Dataset d;
  d.inputs = testing::random_normal({n, kFeatures}, seed, DType::Float32);
  const std::vector<float> x = d.inputs.to_vector<float>();
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* r = &x[static_cast<size_t>(i * kFeatures)];
    const float s[kClasses] = {r[0] + r[1], r[2] - r[3], r[4] - r[0]};
    labels[static_cast<size_t>(i)] = s[0] >= s[1] && s[0] >= s[2] ? 0 : (s[1] >= s[2] ? 1 : 2);
  }
  d.targets = Tensor::from_vector(labels, {n});
  d.class_names = {"a", "b", "c"};
  return d;
}

std::shared_ptr<Sequential> make_model(bool dropout) {
  std::vector<std::shared_ptr<Module>> layers = {std::make_shared<Linear>(kFeatures, 16),
                                                 std::make_shared<ReLU>()};
  if (dropout) layers.push_back(std::make_shared<Dropout>(0.3));
  layers.push_back(std::make_shared<Linear>(16, kClasses));
  return std::make_shared<Sequential>(layers);
}

RunContext context(ProcessGroup& group, const std::string& out_dir) {
  RunContext ctx;
  ctx.device = Device::cpu();
  ctx.out_dir = out_dir;
  ctx.progress = ProgressBar(/*quiet=*/true);
  ctx.group = &group;
  return ctx;
}

// A directory every rank names the same way (rank 0's), removed when the test ends.
class SharedDir {
 public:
  explicit SharedDir(ProcessGroup& group) : group_(group) {
    char path[4096] = {};
    if (group.is_root()) {
      owned_ = std::make_unique<testing::TempDir>();
      path_ = owned_->path();
      path_.copy(path, sizeof path - 1);
    }
    group.broadcast(path, sizeof path, 0);
    path_ = path;
  }
  ~SharedDir() { group_.barrier(); }  // nobody still reads it when rank 0 removes it
  const std::string& path() const { return path_; }

 private:
  ProcessGroup& group_;
  std::unique_ptr<testing::TempDir> owned_;
  std::string path_;
};

// The order DistributedSampler's documented contract gives epoch e (fit's epochs count from 1)
// of a wrapped RandomSampler when the run's seed is `seed`: a RandomSampler drawing from the
// generator (seed, offset e), whatever the generator the loader passes.
class EpochOrderSampler final : public Sampler {
 public:
  EpochOrderSampler(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  std::vector<int64_t> epoch_indices(Generator&) override {
    Generator gen(seed_);
    gen.set_offset(static_cast<uint64_t>(++epoch_));
    return RandomSampler(n_).epoch_indices(gen);
  }
  int64_t size() const override { return n_; }
  std::string name() const override { return "epoch-order"; }

 private:
  int64_t n_;
  uint64_t seed_;
  int64_t epoch_ = 0;
};

bool is_empty_dir(const std::string& path) { return std::filesystem::is_empty(path); }

struct TrainedRun {
  FitResult fit;
  std::vector<Tensor> params;
};

constexpr uint64_t kSeed = 7;

// Trains a fresh model from kSeed (the same start on every rank, as make_run_context seeds
// them alike) on `train_order`'s order with per-process batch `batch`.
TrainedRun train(RunContext& ctx, int64_t batch, std::shared_ptr<Sampler> train_order, bool dropout,
                 int64_t epochs, const std::string& resume = "") {
  const Dataset train_data = classification_data(kTrain, 1), val_data = classification_data(kVal, 2);
  manual_seed(kSeed);
  auto model = make_model(dropout);
  auto optimizer = make_adam(model->parameters(), 0.02);
  DataLoader train_loader(train_data, batch, std::move(train_order));
  DataLoader val_loader(val_data, 8);  // 5 batches: 3 for rank 0, 2 for rank 1
  FitConfig c;
  c.name = "run";
  c.epochs = epochs;
  c.selection = Selection::BestValAccuracy;
  c.model_id = "mlp";
  c.resume = resume;
  c.checkpoint_interval_seconds = 0;
  const LossFn ce = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
  TrainedRun r;
  r.fit = fit(*model, *optimizer, train_loader, &val_loader, ce, ctx, c);
  r.params = model->parameters();
  return r;
}

TEST(FitDataParallel, EqualsOneProcessWithTheGlobalBatch) {
  ProcessGroup& group = process_group();
  const int64_t world = group.world_size();
  ASSERT_EQ(kTrain % (world * kPerRankBatch), 0) << "the test assumes whole global batches";

  // One process, batch W * B, visiting each epoch in the order the data-parallel run shuffles
  // it into: the reference each rank computes for itself.
  std::unique_ptr<ProcessGroup> alone = make_single_process_group();
  testing::TempDir alone_dir;
  RunContext alone_ctx = context(*alone, alone_dir.path());
  const TrainedRun reference = train(alone_ctx, world * kPerRankBatch,
                                     std::make_shared<EpochOrderSampler>(kTrain, kSeed), false, kEpochs);

  // W processes, batch B each, shuffled: rank r's shard holds entries r, r + W, ... of the
  // epoch's order, so the W batches of one step together hold exactly one reference batch.
  // Rank 0 writes into the shared directory; the others are given directories of their own,
  // which must stay empty.
  SharedDir shared(group);
  testing::TempDir own_dir;
  RunContext ctx = context(group, group.is_root() ? shared.path() : own_dir.path());
  const TrainedRun parallel =
      train(ctx, kPerRankBatch, std::make_shared<RandomSampler>(kTrain), false, kEpochs);

  ASSERT_EQ(parallel.params.size(), reference.params.size());
  for (size_t k = 0; k < reference.params.size(); ++k)
    // Per-rank sums then a sum across ranks instead of one sum: float32 rounding, compounded
    // over 24 Adam steps; 1e-5 is far above it and far below the training's movement.
    EXPECT_TRUE(testing::all_close(parallel.params[k], reference.params[k], 1e-5, 1e-5)) << "parameter " << k;
  EXPECT_TRUE(testing::same_on_every_rank(group, parallel.params));

  ASSERT_EQ(parallel.fit.history.size(), static_cast<size_t>(kEpochs));
  ASSERT_EQ(reference.fit.history.size(), static_cast<size_t>(kEpochs));
  for (size_t e = 0; e < reference.fit.history.size(); ++e) {
    const EpochRecord &p = parallel.fit.history[e], &r = reference.fit.history[e];
    // The training loss is the mean of the W ranks' batch means: the global batch's mean.
    EXPECT_NEAR(p.train_loss, r.train_loss, 1e-5) << "epoch " << e + 1;
    EXPECT_EQ(p.train_accuracy, r.train_accuracy) << "epoch " << e + 1;
    EXPECT_NEAR(p.val_loss, r.val_loss, 1e-5) << "epoch " << e + 1;
    EXPECT_EQ(p.val_accuracy, r.val_accuracy) << "epoch " << e + 1;
  }
  EXPECT_EQ(parallel.fit.selected_epoch, reference.fit.selected_epoch);
  EXPECT_GT(reference.fit.history.back().val_accuracy, reference.fit.history.front().val_accuracy - 1e-12)
      << "the reference did not learn";

  if (group.is_root()) {
    EXPECT_TRUE(std::filesystem::exists(shared.path() + "/run_log.csv"));
    EXPECT_TRUE(std::filesystem::exists(shared.path() + "/run_last.ckpt"));
    EXPECT_TRUE(std::filesystem::exists(shared.path() + "/run_best.safetensors"));
  } else {
    EXPECT_TRUE(is_empty_dir(own_dir.path())) << "rank " << group.rank() << " wrote files";
  }
}

TEST(FitDataParallel, ResumedRunEndsBitForBitWhereTheUninterruptedRunEnds) {
  // Shuffled shards and dropout: the sampler's epoch and every rank's random stream must be
  // restored from rank 0's checkpoint.
  ProcessGroup& group = process_group();
  auto shuffled = [] { return std::make_shared<RandomSampler>(kTrain); };
  SharedDir straight_dir(group), resumed_dir(group);
  testing::TempDir own_dir;
  const auto dir = [&](const SharedDir& d) { return group.is_root() ? d.path() : own_dir.path(); };

  RunContext straight_ctx = context(group, dir(straight_dir));
  const TrainedRun straight = train(straight_ctx, kPerRankBatch, shuffled(), true, kEpochs);

  RunContext resumed_ctx = context(group, dir(resumed_dir));
  train(resumed_ctx, kPerRankBatch, shuffled(), true, 1);
  const TrainedRun resumed =
      train(resumed_ctx, kPerRankBatch, shuffled(), true, kEpochs, resumed_dir.path() + "/run_last.ckpt");

  ASSERT_EQ(resumed.params.size(), straight.params.size());
  for (size_t k = 0; k < straight.params.size(); ++k)
    EXPECT_TRUE(testing::bit_equal(resumed.params[k], straight.params[k])) << "parameter " << k;
  ASSERT_EQ(resumed.fit.history.size(), straight.fit.history.size());
  for (size_t e = 0; e < straight.fit.history.size(); ++e) {
    EXPECT_EQ(resumed.fit.history[e].train_loss, straight.fit.history[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(resumed.fit.history[e].val_loss, straight.fit.history[e].val_loss) << "epoch " << e + 1;
  }
  EXPECT_EQ(resumed.fit.selected_epoch, straight.fit.selected_epoch);
  EXPECT_TRUE(testing::same_on_every_rank(group, resumed.params));
  // Every rank leaves fit() where rank 0's stream is, as one process would.
  int64_t offset = static_cast<int64_t>(default_generator().offset()), root_offset = offset;
  group.broadcast(&root_offset, sizeof root_offset, 0);
  EXPECT_EQ(offset, root_offset);
  if (!group.is_root())
    EXPECT_TRUE(is_empty_dir(own_dir.path())) << "rank " << group.rank() << " wrote files";
}

}  // namespace
}  // namespace kiln
