// Captured training and evaluation steps (trainers/step_graph.h): which options allow capture,
// and — on a GPU — that epochs replayed through the graphs give bit-identical losses,
// accuracies, parameters and random-stream positions to the same epochs run eagerly, with
// DisturbLabel and dropout drawing fresh numbers every step and a partial last batch run
// eagerly. On the CPU the same runs check that the graph objects leave eager results alone.
#include <gtest/gtest.h>

#include <memory>

#include "core/generator.h"
#include "layers/layers.h"
#include "losses/losses.h"
#include "tests/support/helpers.h"
#include "trainers/loop.h"
#include "trainers/optim.h"
#include "trainers/step_graph.h"

namespace kiln {
namespace {

TEST(StepGraph, OnlyTrainingStepsThatNeverReadTheHostAreCaptured) {
  TrainOptions plain;
  EXPECT_TRUE(can_capture_train_step(plain));
  TrainOptions transform;
  transform.target_transform = [](const Tensor& t) { return t; };
  EXPECT_TRUE(can_capture_train_step(transform));
  TrainOptions skip;
  skip.skip_nonfinite = true;
  EXPECT_FALSE(can_capture_train_step(skip));
  TrainOptions clip;
  clip.clip_grad_norm = 1.0;
  EXPECT_FALSE(can_capture_train_step(clip));
  TrainOptions extra;
  extra.extra_loss = [](Module&, int64_t) { return Tensor(); };
  EXPECT_FALSE(can_capture_train_step(extra));
}

// 100 samples of 20 features in 5 classes; batch 16: six full batches and one of 4.
struct Run {
  Dataset data;
  Generator init{11}, noise{12};
  std::shared_ptr<Sequential> model;
  std::unique_ptr<Optimizer> opt;
  std::unique_ptr<DataLoader> loader;

  explicit Run(Device device) {
    data.inputs = testing::random_normal({100, 20}, 1, DType::Float32).to(device);
    std::vector<int64_t> labels(100);
    for (int64_t i = 0; i < 100; ++i) labels[i] = (i * 7) % 5;
    data.targets = Tensor::from_vector<int64_t>(labels, {100}).to(device);
    data.class_names = {"a", "b", "c", "d", "e"};
    model = std::make_shared<Sequential>();
    model->add(std::make_shared<Linear>(20, 32, Bias::With, init));
    model->add(std::make_shared<ReLU>());
    model->add(std::make_shared<Dropout>(0.3));
    model->add(std::make_shared<Linear>(32, 5, Bias::With, init));
    model->to(device);
    opt = make_sgd(model->parameters(), 0.05, 0.9);
    loader = std::make_unique<DataLoader>(data, 16);
  }

  // Each epoch: training, then evaluation on the training data (eval mode: dropout off).
  std::vector<EpochStats> train(int epochs, StepGraph* graph, StepGraph* eval_graph) {
    TrainOptions o;
    o.target_transform = [this](const Tensor& y) { return disturb_label(y, 5, 20.0, noise); };
    ProgressBar quiet(true);
    const LossFn ce = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
    std::vector<EpochStats> stats;
    for (int e = 0; e < epochs; ++e) {
      stats.push_back(train_epoch(*model, *loader, *opt, ce, quiet, "t", o, graph));
      stats.push_back(evaluate(*model, *loader, ce, nullptr, eval_graph));
    }
    return stats;
  }
};

void expect_identical_runs(Device device, bool expect_replays) {
  manual_seed(5);
  Run eager(device);
  const std::vector<EpochStats> a = eager.train(3, nullptr, nullptr);
  const uint64_t dropout_offset = default_generator().offset();

  manual_seed(5);
  Run graphed(device);
  StepGraph graph, eval_graph;
  const std::vector<EpochStats> b = graphed.train(3, &graph, &eval_graph);
  EXPECT_EQ(default_generator().offset(), dropout_offset);
  EXPECT_EQ(graphed.noise.offset(), eager.noise.offset());
  // Epoch 1: batch 0 warms up, batches 1-5 replay; epochs 2-3: all six full batches replay.
  // Likewise for evaluation.
  EXPECT_EQ(graph.replays(), expect_replays ? 17 : 0);
  EXPECT_EQ(eval_graph.replays(), expect_replays ? 17 : 0);
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e].loss, b[e].loss) << "pass " << e;
    EXPECT_EQ(a[e].accuracy, b[e].accuracy) << "pass " << e;
    EXPECT_EQ(a[e].batches, b[e].batches);
    EXPECT_EQ(a[e].samples, b[e].samples);
  }
  const auto pa = eager.model->named_parameters(), pb = graphed.model->named_parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_EQ(pa[i].second.to(Device::cpu()).to_vector<float>(),
              pb[i].second.to(Device::cpu()).to_vector<float>())
        << pa[i].first;
}

TEST(StepGraph, CpuEpochsRunEagerlyAndUnchanged) { expect_identical_runs(Device::cpu(), false); }

TEST(StepGraph, ReplayedEpochsEqualEagerEpochsBitForBit) {
  KILN_REQUIRE_CUDA();
  expect_identical_runs(Device::cuda(), true);
}

}  // namespace
}  // namespace kiln
