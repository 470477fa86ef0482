// Modules: PyTorch's parameter names, state-dict round trips through safetensors, strict
// loading errors, train/eval, gradient buffers that keep their address, and device moves.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/autograd.h"
#include "core/ops.h"
#include "layers/models.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

std::vector<std::string> names(const NamedTensors& v) {
  std::vector<std::string> out;
  for (const auto& [n, t] : v) out.push_back(n);
  return out;
}

TEST(Module, MnistNetAndRegressorUseTheTutorialsNames) {
  MnistNet net;
  EXPECT_EQ(names(net.named_parameters()),
            (std::vector<std::string>{"features.0.weight", "features.0.bias", "features.3.weight",
                                      "features.3.bias", "classifier.1.weight", "classifier.1.bias",
                                      "classifier.4.weight", "classifier.4.bias", "classifier.6.weight",
                                      "classifier.6.bias"}));
  EXPECT_EQ(net.state_dict().at("classifier.1.weight").shape(), (Shape{1024, 6912}));
  Regressor reg;
  EXPECT_EQ(names(reg.named_parameters()),
            (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(reg.num_parameters(), 13 * 50 + 50 + 50 + 1);
}

TEST(Module, ResNetWithoutBatchNormHasNoNormParameters) {
  ResNetOptions o;
  o.batchnorm = false;
  ResNet18 plain(o);
  for (const auto& [name, t] : plain.state_dict()) EXPECT_EQ(name.find("bn"), std::string::npos) << name;
  EXPECT_TRUE(plain.named_buffers().empty());
  ResNet18 full;
  // torchvision resnet18(): 11,689,512; minus its 7x7 stem (9,408) and 1000-way fc (513,000), plus
  // the tutorial's 3x3 stem with bias (1,792) and 10-way fc (5,130).
  EXPECT_EQ(full.num_parameters(), 11689512 - 9408 - 513000 + 1792 + 5130);
}

TEST(Module, TheAuthorsCifarResNetHasElevenMillionParametersAndNoDropout) {
  CifarResNet18 model;
  // 3x3 stem without bias (1,728) + BN (128); per stage two blocks of two 3x3 convolutions and
  // two BNs, stages 2-4 with a 1x1 shortcut + BN: 147,968 + 525,568 + 2,099,712 + 8,393,728;
  // Linear(512, 10) (5,130).
  EXPECT_EQ(model.num_parameters(), 1728 + 128 + 147968 + 525568 + 2099712 + 8393728 + 5130);
  EXPECT_EQ(model.num_parameters(), 11173962);
  // No dropout: training mode gives the same output twice (batch statistics only).
  const Tensor x = testing::random_normal({2, 3, 32, 32}, 8, DType::Float32);
  NoGradGuard no_grad;
  EXPECT_TRUE(testing::bit_equal(model(x), model(x)));
  EXPECT_EQ(model(x).shape(), (Shape{2, 10}));
  // A 28x28 image (the single-channel stand-in datasets) also reaches the pool as 4x4.
  CifarResNetOptions gray;
  gray.in_channels = 1;
  EXPECT_EQ(CifarResNet18(gray)(testing::random_normal({2, 1, 28, 28}, 9, DType::Float32)).shape(),
            (Shape{2, 10}));
}

TEST(Module, StateDictRoundTripThroughSafetensorsIsExact) {
  testing::TempDir dir;
  manual_seed(1);
  ResNetOptions o;
  o.width = 8;
  ResNet18 a(o);
  {
    // Change the running statistics too, so buffers are exercised.
    a.train();
    NoGradGuard no_grad;
    a(testing::random_normal({2, 3, 16, 16}, 3, DType::Float32));
  }
  a.save(dir.file("model.safetensors"));
  manual_seed(2);
  ResNet18 b(o);
  b.load(dir.file("model.safetensors"));
  for (const auto& [name, t] : a.state_dict())
    EXPECT_TRUE(testing::bit_equal(t, b.state_dict().at(name))) << name;
  EXPECT_EQ(b.state_dict().at("bn1.num_batches_tracked").item<int64_t>(), 1);
}

TEST(Module, StrictLoadNamesWhatDoesNotFit) {
  Regressor reg;
  TensorMap state = reg.state_dict();
  auto message = [&](const TensorMap& s) {
    try {
      reg.load_state_dict(s);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  TensorMap missing = state;
  missing.erase("fc2.bias");
  EXPECT_NE(message(missing).find("missing: fc2.bias"), std::string::npos);
  TensorMap extra = state;
  extra["fc3.weight"] = Tensor::zeros({1});
  EXPECT_NE(message(extra).find("unexpected: fc3.weight"), std::string::npos);
  TensorMap wrong = state;
  wrong["fc1.weight"] = Tensor::zeros({50, 12});
  EXPECT_NE(message(wrong).find("'fc1.weight' has shape [50, 12]"), std::string::npos);
  EXPECT_NO_THROW(reg.load_state_dict(extra, /*strict=*/false));
  MnistNet other;
  testing::TempDir dir;
  other.save(dir.file("net.safetensors"));
  try {
    reg.load(dir.file("net.safetensors"));
    FAIL() << "loading a checkpoint of another model must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("net.safetensors"), std::string::npos);
  }
}

TEST(Module, TrainEvalReachesEveryDescendant) {
  MnistNet net;
  net.eval();
  const Tensor x = testing::random_normal({2, 1, 28, 28}, 4, DType::Float32);
  NoGradGuard no_grad;
  // Evaluation is deterministic (dropout off); training is not.
  EXPECT_TRUE(testing::bit_equal(net(x), net(x)));
  net.train();
  EXPECT_GT(max_abs_diff(net(x), net(x)), 0.0);
}

TEST(Module, ZeroGradKeepsTheBuffers) {
  Regressor reg;
  reg.zero_grad();
  std::vector<const void*> buffers;
  for (const Tensor& p : reg.parameters()) buffers.push_back(p.grad().raw_data());
  for (int step = 0; step < 3; ++step) {
    reg.zero_grad();
    sum(reg(testing::random_normal({4, 13}, 5 + step, DType::Float32))).backward();
  }
  size_t i = 0;
  for (const Tensor& p : reg.parameters()) EXPECT_EQ(p.grad().raw_data(), buffers[i++]);
}

TEST(Module, ToMovesParametersInPlace) {
  KILN_REQUIRE_CUDA();
  Regressor reg;
  const Tensor w = reg.named_parameters()[0].second;  // a handle held outside the module
  const Tensor before = w.clone();
  reg.to(Device::cuda());
  EXPECT_TRUE(w.is_cuda());
  EXPECT_TRUE(testing::bit_equal(w.to(Device::cpu()), before));
  const Tensor y = reg(testing::random_normal({3, 13}, 6, DType::Float32, Device::cuda()));
  EXPECT_TRUE(y.is_cuda());
}

TEST(Module, PrintsTheTree) {
  const std::string s = Regressor().str();
  EXPECT_NE(s.find("(fc1): Linear(in_features=13, out_features=50, bias=True)"), std::string::npos) << s;
  EXPECT_NE(s.find("(dropout): Dropout(p=0.5)"), std::string::npos) << s;
}

}  // namespace
}  // namespace kiln
