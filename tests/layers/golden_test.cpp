// Golden tests against PyTorch: fixtures written by scripts/fixtures/make_golden_fixtures.py
// (PyTorch in float64 on the CPU) hold inputs, weights and PyTorch's outputs and gradients;
// kiln recomputes them in float64 and must agree to rounding (1e-10 relative: the two
// libraries sum in different orders, each with ~1e-16 relative error per operation).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/nn.h"
#include "core/ops.h"
#include "core/safetensors.h"
#include "layers/models.h"
#include "losses/losses.h"
#include "tests/support/helpers.h"
#include "trainers/optim.h"

namespace kiln {
namespace {

using testing::all_close;

constexpr double kTol = 1e-10;

SafetensorsContents fixture(const std::string& name) {
  return load_safetensors(testing::source_dir() + "/tests/fixtures/golden/" + name + ".safetensors");
}

const Tensor& get(const SafetensorsContents& f, const std::string& key) {
  auto it = f.tensors.find(key);
  if (it == f.tensors.end()) throw Error("fixture has no tensor '" + key + "'");
  return it->second;
}

// The model's state dict has exactly the names and shapes of the full-size PyTorch model
// recorded in the fixture's metadata.
void expect_state_dict_shapes(Module& model, const SafetensorsContents& f) {
  const auto expected = nlohmann::json::parse(f.metadata.at("full_state_dict_shapes"));
  const TensorMap mine = model.state_dict();
  EXPECT_EQ(mine.size(), expected.size());
  for (const auto& [name, shape] : expected.items()) {
    ASSERT_TRUE(mine.count(name)) << "kiln has no '" << name << "'";
    EXPECT_EQ(mine.at(name).shape(), shape.get<Shape>()) << name;
  }
}

struct GoldenCounts {
  int gradients = 0, buffers = 0;
};

// A whole model against a fixture of make_golden_fixtures.py: its weights ("model.*") loaded
// and run in float64 as PyTorch computed them; eval logits, one training step's loss, every
// parameter's gradient ("grad.*", each one and no other) and the buffers after that step
// ("after.*"). Returns how many gradients and buffers were compared.
GoldenCounts expect_matches_golden_model(Module& model, const SafetensorsContents& f) {
  TensorMap weights;
  for (const auto& [key, t] : f.tensors)
    if (key.rfind("model.", 0) == 0) weights[key.substr(6)] = t;
  model.load_state_dict(weights);  // float64 values into float32 parameters...
  // ...so run in float64: convert every parameter and buffer in place.
  for (auto& [name, t] : model.state_dict()) {
    if (t.dtype() == DType::Float32) t.set_data(weights.at(name).clone());
  }
  model.eval();
  {
    NoGradGuard no_grad;
    EXPECT_TRUE(all_close(model(get(f, "input")), get(f, "eval_logits"), 1e-9, 1e-9));
  }
  model.train();
  const Tensor loss = cross_entropy(model(get(f, "input")), get(f, "labels"));
  EXPECT_TRUE(all_close(loss.reshape({1}), get(f, "train_loss"), 1e-10, 1e-10));
  loss.backward();
  GoldenCounts n;
  for (const auto& [name, p] : model.named_parameters()) {
    EXPECT_TRUE(p.grad().defined()) << name;
    if (!p.grad().defined()) continue;
    EXPECT_TRUE(all_close(p.grad(), get(f, "grad." + name), 1e-9, 1e-8)) << name;
    ++n.gradients;
  }
  int expected_grads = 0;
  for (const auto& [key, t] : f.tensors) expected_grads += key.rfind("grad.", 0) == 0;
  EXPECT_EQ(n.gradients, expected_grads);  // every parameter PyTorch has, and no other
  for (const auto& [key, t] : f.tensors) {
    if (key.rfind("after.", 0) != 0) continue;
    const std::string name = key.substr(6);
    EXPECT_TRUE(all_close(model.state_dict().at(name), t, 1e-10, 1e-10)) << name;
    ++n.buffers;
  }
  return n;
}

TEST(GoldenPyTorch, Conv2dForwardAndBackward) {
  const auto f = fixture("conv2d");
  for (const std::string name : {"stem", "down", "pointwise", "mnist"}) {
    const auto opts = nlohmann::json::parse(f.metadata.at(name));
    Tensor x = get(f, name + ".x").clone().set_requires_grad(true);
    Tensor w = get(f, name + ".weight").clone().set_requires_grad(true);
    const bool has_bias = f.tensors.count(name + ".bias") > 0;
    Tensor b = has_bias ? get(f, name + ".bias").clone().set_requires_grad(true) : Tensor();
    const Tensor y = conv2d(x, w, b, opts["stride"].get<int64_t>(), opts["padding"].get<int64_t>());
    EXPECT_TRUE(all_close(y, get(f, name + ".y"), kTol, kTol)) << name;
    y.backward(get(f, name + ".dy"));
    EXPECT_TRUE(all_close(x.grad(), get(f, name + ".dx"), kTol, kTol)) << name;
    EXPECT_TRUE(all_close(w.grad(), get(f, name + ".dweight"), kTol, kTol)) << name;
    if (has_bias) {
      EXPECT_TRUE(all_close(b.grad(), get(f, name + ".dbias"), kTol, kTol)) << name;
    }
  }
}

TEST(GoldenPyTorch, BatchNormTrainEvalAndRunningStats) {
  const auto f = fixture("batchnorm");
  Tensor x = get(f, "x").clone().set_requires_grad(true);
  Tensor w = get(f, "weight").clone().set_requires_grad(true),
         b = get(f, "bias").clone().set_requires_grad(true);
  Tensor rm = get(f, "running_mean_before").clone(), rv = get(f, "running_var_before").clone();
  const Tensor y = batch_norm(x, rm, rv, w, b, Phase::Train, 0.1, 1e-5);
  EXPECT_TRUE(all_close(y, get(f, "y"), kTol, kTol));
  y.backward(get(f, "dy"));
  EXPECT_TRUE(all_close(x.grad(), get(f, "dx"), kTol, kTol));
  EXPECT_TRUE(all_close(w.grad(), get(f, "dweight"), kTol, kTol));
  EXPECT_TRUE(all_close(b.grad(), get(f, "dbias"), kTol, kTol));
  EXPECT_TRUE(all_close(rm, get(f, "running_mean_after"), kTol, kTol));
  EXPECT_TRUE(all_close(rv, get(f, "running_var_after"), kTol, kTol));
  NoGradGuard no_grad;
  EXPECT_TRUE(all_close(batch_norm(x, rm, rv, w, b, Phase::Eval, 0.1, 1e-5), get(f, "y_eval"), kTol, kTol));
}

TEST(GoldenPyTorch, CrossEntropyWeightsAndBothSmoothingConventions) {
  const auto f = fixture("cross_entropy");
  const Tensor& logits = get(f, "logits");
  const Tensor& labels = get(f, "labels");
  int checked = 0;
  for (double s : {0.0, 0.1})
    for (int weighted : {0, 1})
      for (const std::string red : {"mean", "sum", "none"}) {
        std::ostringstream key;
        key << "pytorch.s" << (s == 0 ? "0.0" : "0.1") << ".w" << weighted << "." << red;
        CrossEntropyOptions opt;
        opt.label_smoothing = s;
        if (weighted) opt.class_weights = get(f, "class_weights");
        opt.reduction = red == "mean" ? Reduction::Mean : red == "sum" ? Reduction::Sum : Reduction::None;
        Tensor z = logits.clone().set_requires_grad(true);
        const Tensor loss = cross_entropy(z, labels, opt);
        EXPECT_TRUE(all_close(loss.reshape({-1}), get(f, key.str() + ".loss"), kTol, kTol)) << key.str();
        loss.backward(Tensor::ones(loss.shape(), DType::Float64));
        EXPECT_TRUE(all_close(z.grad(), get(f, key.str() + ".dlogits"), kTol, kTol)) << key.str();
        ++checked;
      }
  for (const char* s : {"0.0", "0.1", "0.3"}) {
    CrossEntropyOptions opt;
    opt.label_smoothing = std::stod(s);
    opt.convention = LabelSmoothing::Tutorial;
    Tensor z = logits.clone().set_requires_grad(true);
    const Tensor loss = cross_entropy(z, labels, opt);
    const std::string key = std::string("source.s") + s;
    EXPECT_TRUE(all_close(loss.reshape({-1}), get(f, key + ".loss"), kTol, kTol)) << key;
    loss.backward();
    EXPECT_TRUE(all_close(z.grad(), get(f, key + ".dlogits"), kTol, kTol)) << key;
    ++checked;
  }
  EXPECT_EQ(checked, 15);
}

TEST(GoldenPyTorch, OptimizerTrajectories) {
  const auto f = fixture("optimizers");
  const Tensor& grads = get(f, "grads");
  struct Config {
    const char* name;
    std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)> make;
  };
  const Config configs[] = {
      {"adam", [](auto p) { return make_adam(p, 1e-3); }},
      {"adam_wd", [](auto p) { return make_adam(p, 1e-2, 0.9, 0.999, 1e-8, 1e-2); }},
      {"adamw", [](auto p) { return make_adamw(p, 1e-2, 0.9, 0.999, 1e-8, 1e-2); }},
      {"sgd", [](auto p) { return make_sgd(p, 0.1); }},
      {"sgd_momentum", [](auto p) { return make_sgd(p, 0.1, 0.9, 0.1, false, 1e-3); }},
      {"sgd_nesterov", [](auto p) { return make_sgd(p, 0.1, 0.9, 0.0, true); }},
  };
  for (const Config& c : configs) {
    Tensor p = get(f, "p0").clone().set_requires_grad(true);
    auto opt = c.make({p});
    const Tensor& expected = get(f, std::string(c.name) + ".params");
    for (int64_t t = 0; t < grads.size(0); ++t) {
      p.grad().copy_(grads.select(0, t));
      opt->step();
      EXPECT_TRUE(all_close(p, expected.select(0, t), 1e-14, 1e-12)) << c.name << " step " << t + 1;
    }
    EXPECT_EQ(opt->step_count(), grads.size(0));
  }
}

TEST(GoldenPyTorch, ResNet18StateDictNamesAndShapesMatchTorchvision) {
  const auto f = fixture("resnet18");
  ResNet18 model;  // full size, as the tutorial builds it
  expect_state_dict_shapes(model, f);
}

TEST(GoldenPyTorch, ResNet18LogitsLossAndEveryGradient) {
  const auto f = fixture("resnet18");
  ResNetOptions o;
  o.width = 4;
  o.dropout = 0.0;  // the fixture's train pass ran with dropout off
  ResNet18 model(o);
  const GoldenCounts n = expect_matches_golden_model(model, f);
  EXPECT_EQ(n.gradients, 63);
}

TEST(GoldenPyTorch, CifarResNet18StateDictNamesAndShapesMatchTheAuthorsModel) {
  const auto f = fixture("cifar_resnet18");
  CifarResNet18 model;  // full size, as the early-stopping experiment builds it
  expect_state_dict_shapes(model, f);
}

TEST(GoldenPyTorch, CifarResNet18LogitsLossAndEveryGradient) {
  const auto f = fixture("cifar_resnet18");
  CifarResNetOptions o;
  o.width = 2;  // as the fixture's model
  CifarResNet18 model(o);
  const GoldenCounts n = expect_matches_golden_model(model, f);
  // Stem conv + BN (3), 8 blocks of two conv + BN (6 each), 3 shortcuts of conv + BN (3 each), fc (2).
  EXPECT_EQ(n.gradients, 3 + 8 * 6 + 3 * 3 + 2);
  EXPECT_EQ(n.buffers, 3 * (1 + 8 * 2 + 3));  // running mean, var and count of all 20 BatchNorm2d
}

}  // namespace
}  // namespace kiln
