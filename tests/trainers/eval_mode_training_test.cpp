// Training a model that stays in evaluation mode (TrainOptions::eval_mode, what the tutorial's
// DisturbLabel run did): dropout is off, so one SGD step matches the gradient of the model
// without it, computed here in float64 from the formula; batch norm normalises with its
// running statistics and never updates them. The same steps in train mode do neither.
#include <gtest/gtest.h>

#include <cmath>
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

constexpr int64_t kN = 8;

// x_i = (i + 1) / 4, y_i = 1 - x_i / 3: one batch of 8 regression samples.
Dataset line_data() {
  std::vector<float> x, y;
  for (int64_t i = 0; i < kN; ++i) {
    x.push_back(float(i + 1) / 4.0f);
    y.push_back(1.0f - x.back() / 3.0f);
  }
  Dataset d;
  d.inputs = Tensor::from_vector(x, {kN, 1});
  d.targets = Tensor::from_vector(y, {kN, 1});
  return d;
}

// One full-batch SGD step (lr 0.1) of Sequential(first..., Linear(1, 1, no bias)) on MSE.
// Returns the linear weight before and after.
std::pair<double, double> one_step(std::shared_ptr<Module> first, bool eval_mode) {
  const Dataset data = line_data();
  Generator init(3);
  auto linear = std::make_shared<Linear>(1, 1, Bias::Without, init);
  Sequential model({first, linear});
  const double w0 = linear->weight().to(DType::Float64).item<double>();
  auto opt = make_sgd(model.parameters(), 0.1);
  DataLoader loader(data, kN);
  ProgressBar quiet(true);
  TrainOptions options;
  options.eval_mode = eval_mode;
  const LossFn mse = [](const Tensor& out, const Tensor& y) { return mse_loss(out, y); };
  train_epoch(model, loader, *opt, mse, quiet, "step", options);
  return {w0, linear->weight().to(DType::Float64).item<double>()};
}

// w' = w - lr * dL/dw with L = mean_i (w x_i - y_i)^2, i.e. dL/dw = mean_i 2 (w x_i - y_i) x_i.
double sgd_reference(double w) {
  const Dataset data = line_data();
  const std::vector<double> x = data.inputs.to(DType::Float64).to_vector<double>();
  const std::vector<double> y = data.targets.to(DType::Float64).to_vector<double>();
  double g = 0;
  for (int64_t i = 0; i < kN; ++i) g += 2 * (w * x[i] - y[i]) * x[i];
  return w - 0.1 * g / double(kN);
}

TEST(EvalModeTraining, DropoutIsOff) {
  manual_seed(1);
  const auto [w0, w1] = one_step(std::make_shared<Dropout>(0.5), true);
  // float32 arithmetic against the float64 formula: a few ulps of values near 1.
  EXPECT_NEAR(w1, sgd_reference(w0), 1e-6);
  // In train mode half the inputs are dropped and the rest doubled: a different step.
  manual_seed(1);
  const auto [v0, v1] = one_step(std::make_shared<Dropout>(0.5), false);
  EXPECT_EQ(v0, w0);
  EXPECT_GT(std::fabs(v1 - sgd_reference(v0)), 1e-3);
}

TEST(EvalModeTraining, BatchNormUsesAndKeepsItsRunningStatistics) {
  auto bn = std::make_shared<BatchNorm2d>(1);
  // Fresh running statistics (mean 0, variance 1): eval-mode batch norm is x / sqrt(1 + eps)
  // with weight 1 and bias 0, so the step is the formula's with x scaled by that factor, and
  // the batch-norm parameters get gradients (they are trained, as in PyTorch).
  const auto [w0, w1] = one_step(bn, true);
  const TensorMap s = bn->state_dict();
  EXPECT_EQ(s.at("running_mean").to(DType::Float64).item<double>(), 0.0);
  EXPECT_EQ(s.at("running_var").to(DType::Float64).item<double>(), 1.0);
  EXPECT_EQ(s.at("num_batches_tracked").to(DType::Float64).item<double>(), 0.0);
  EXPECT_NE(s.at("bias").to(DType::Float64).item<double>(), 0.0);
  const double k = 1.0 / std::sqrt(1.0 + 1e-5);
  const Dataset data = line_data();
  const std::vector<double> x = data.inputs.to(DType::Float64).to_vector<double>();
  const std::vector<double> y = data.targets.to(DType::Float64).to_vector<double>();
  double g = 0;
  for (int64_t i = 0; i < kN; ++i) g += 2 * (w0 * k * x[i] - y[i]) * k * x[i];
  EXPECT_NEAR(w1, w0 - 0.1 * g / double(kN), 1e-6);

  // Train mode: batch statistics, and the running ones move.
  auto trained = std::make_shared<BatchNorm2d>(1);
  one_step(trained, false);
  const TensorMap t = trained->state_dict();
  EXPECT_NE(t.at("running_mean").to(DType::Float64).item<double>(), 0.0);
  EXPECT_EQ(t.at("num_batches_tracked").to(DType::Float64).item<double>(), 1.0);
}

// On a GPU the eval-mode step is captured and replayed like any other: the same losses and
// weights as eager steps, and the running statistics still untouched.
TEST(EvalModeTraining, ReplayedStepsEqualEagerSteps) {
  KILN_REQUIRE_CUDA();
  auto run = [](bool graphed) {
    Generator init(4);
    Dataset data;
    data.inputs = testing::random_normal({96, 6}, 1, DType::Float32).to(Device::cuda());
    std::vector<int64_t> labels(96);
    for (int64_t i = 0; i < 96; ++i) labels[i] = (i * 5) % 3;
    data.targets = Tensor::from_vector<int64_t>(labels, {96}).to(Device::cuda());
    data.class_names = {"a", "b", "c"};
    Sequential model({std::make_shared<Linear>(6, 8, Bias::With, init), std::make_shared<BatchNorm2d>(8),
                      std::make_shared<ReLU>(), std::make_shared<Dropout>(0.5),
                      std::make_shared<Linear>(8, 3, Bias::With, init)});
    model.to(Device::cuda());
    auto opt = make_adam(model.parameters(), 1e-2);
    DataLoader loader(data, 16);
    StepGraph graph;
    TrainOptions o;
    o.eval_mode = true;
    ProgressBar quiet(true);
    const LossFn ce = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
    std::vector<double> losses;
    for (int e = 0; e < 3; ++e)
      losses.push_back(train_epoch(model, loader, *opt, ce, quiet, "t", o, graphed ? &graph : nullptr).loss);
    EXPECT_EQ(graph.replays(), graphed ? 17 : 0);  // batch 0 warms up; then every full batch replays
    std::vector<std::vector<double>> state;
    for (const auto& [name, t] : model.state_dict())
      state.push_back(t.to(Device::cpu()).to(DType::Float64).to_vector<double>());
    EXPECT_EQ(model.state_dict().at("1.running_mean").to(Device::cpu()).to_vector<float>(),
              std::vector<float>(8, 0.0f));
    return std::make_pair(losses, state);
  };
  const auto eager = run(false), graphed = run(true);
  EXPECT_EQ(eager.first, graphed.first);
  EXPECT_EQ(eager.second, graphed.second);
}

}  // namespace
}  // namespace kiln
