// Non-finite values and determinism: a NaN in an input or a gradient is caught (skipped and
// counted, or a clear error), gradient clipping works and refuses a NaN norm, anomaly
// detection names the op whose gradient went bad, and two CPU runs are bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/ops.h"
#include "data/loader.h"
#include "layers/models.h"
#include "losses/losses.h"
#include "tests/support/helpers.h"
#include "trainers/experiments/common_options.h"
#include "trainers/fit.h"
#include "trainers/loop.h"

namespace kiln {
namespace {

// 64 rows of 13 features; row `nan_row` (if >= 0) has a NaN feature.
Dataset regression_data(int64_t nan_row) {
  Tensor x = testing::random_uniform({64, 13}, 1, 0, 1, DType::Float32);
  if (nan_row >= 0) x.narrow(0, nan_row, 1).narrow(1, 3, 1).fill_(std::numeric_limits<double>::quiet_NaN());
  return Dataset{x, testing::random_uniform({64, 1}, 2, 0, 1, DType::Float32), {}};
}

const LossFn kMse = [](const Tensor& out, const Tensor& y) { return mse_loss(out, y); };

TEST(NonFinite, ANaNInputIsSkippedAndCountedWhenAsked) {
  manual_seed(3);
  const Dataset data = regression_data(37);
  Regressor model;
  auto opt = make_adam(model.parameters());
  DataLoader loader(data, 16);
  ProgressBar quiet(true);
  TrainOptions o;
  o.skip_nonfinite = true;
  const EpochStats s = train_epoch(model, loader, *opt, kMse, quiet, "t", o);
  EXPECT_EQ(s.skipped, 1);  // row 37 is in the third batch of 16
  EXPECT_EQ(s.batches, 3);
  EXPECT_TRUE(std::isfinite(s.loss));
  for (const Tensor& p : model.parameters()) EXPECT_TRUE(all_finite(p));
}

TEST(NonFinite, ANaNInputStopsTrainingWithAClearError) {
  manual_seed(3);
  const Dataset data = regression_data(5);
  Regressor model;
  auto opt = make_adam(model.parameters());
  DataLoader loader(data, 16);
  testing::TempDir dir;
  CommonOptions common;
  common.out = dir.path();
  common.quiet = true;
  common.device = "cpu";
  RunContext ctx = make_run_context(common, "test");
  FitConfig c;
  c.name = "nan";
  c.epochs = 2;
  c.model_id = "Regressor";
  try {
    fit(model, *opt, loader, nullptr, kMse, ctx, c);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged at epoch 1"), std::string::npos) << e.what();
  }
}

TEST(NonFinite, GradientClippingScalesAndRefusesANaNNorm) {
  Tensor a = Tensor::zeros({3}).set_requires_grad(true), b = Tensor::zeros({4}).set_requires_grad(true);
  a.set_grad(Tensor::from_vector<float>({3, 0, 0}, {3}));
  b.set_grad(Tensor::from_vector<float>({0, 4, 0, 0}, {4}));
  EXPECT_NEAR(clip_grad_norm({a, b}, 1.0), 5.0, 1e-6);  // the norm before clipping
  const double after =
      std::sqrt(std::pow(a.grad().to_vector<double>()[0], 2) + std::pow(b.grad().to_vector<double>()[1], 2));
  EXPECT_NEAR(after, 1.0, 1e-5);
  EXPECT_NEAR(clip_grad_norm({a, b}, 10.0), after, 1e-6);  // below the limit: unchanged
  b.set_grad(Tensor::from_vector<float>({0, std::nanf(""), 0, 0}, {4}));
  try {
    clip_grad_norm({a, b}, 1.0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gradient norm is nan"), std::string::npos) << e.what();
  }
}

TEST(NonFinite, AnomalyDetectionNamesTheOpWhoseGradientIsBad) {
  set_detect_anomaly(true);
  Tensor x = Tensor::from_vector<double>({1, 2}, {2}).set_requires_grad(true);
  // An op whose backward produces NaN (as an injected fault would).
  Tensor y = record("faulty_op", mul(x.detach(), 2.0), {x}, [](const Tensor& g) {
    return std::vector<Tensor>{mul(g, std::numeric_limits<double>::quiet_NaN())};
  });
  std::string message;
  try {
    sum(y).backward();
  } catch (const Error& e) {
    message = e.what();
  }
  set_detect_anomaly(false);
  EXPECT_NE(message.find("gradient computed by faulty_op"), std::string::npos) << message;
}

TEST(Determinism, TwoCpuRunsAreBitIdentical) {
  auto run = [] {
    manual_seed(11);
    MnistNet net;
    auto opt = make_adam(net.parameters());
    Generator gen(4);
    const Tensor x = rand({16, 1, 28, 28}, gen);
    std::vector<int64_t> l(16);
    for (int i = 0; i < 16; ++i) l[i] = i % 10;
    const Tensor y = Tensor::from_vector(l, {16});
    for (int step = 0; step < 3; ++step) {  // dropout draws from the default generator
      opt->zero_grad();
      cross_entropy(net(x), y).backward();
      opt->step();
    }
    return net.state_dict();
  };
  const TensorMap a = run(), b = run();
  for (const auto& [name, t] : a) EXPECT_TRUE(testing::bit_equal(t, b.at(name))) << name;
}

}  // namespace
}  // namespace kiln
