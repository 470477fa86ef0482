// PyTorch's default initialisation: bounds and moments of the drawn weights.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/init.h"
#include "layers/layers.h"
#include "layers/models.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

struct Moments {
  double mean = 0, var = 0, lo = 1e300, hi = -1e300;
};

Moments moments(const Tensor& t) {
  Moments m;
  const auto v = t.to_vector<double>();
  for (double x : v) {
    m.mean += x / v.size();
    m.lo = std::min(m.lo, x);
    m.hi = std::max(m.hi, x);
  }
  for (double x : v) m.var += (x - m.mean) * (x - m.mean) / v.size();
  return m;
}

TEST(Init, LinearAndConvFollowKaimingUniformWithASqrt5) {
  // bound = 1/sqrt(fan_in) for weight and bias; U(-b, b) has variance b^2 / 3.
  Generator gen(3);
  Linear fc(512, 256, Bias::With, gen);
  const double b = 1 / std::sqrt(512.0);
  const Moments w = moments(fc.weight());
  EXPECT_GE(w.lo, -b);
  EXPECT_LE(w.hi, b);
  EXPECT_NEAR(w.var, b * b / 3, 0.02 * b * b / 3);
  EXPECT_NEAR(w.mean, 0, 4 * b / std::sqrt(3.0 * 512 * 256));
  const Moments bias = moments(fc.bias());
  EXPECT_GE(bias.lo, -b);
  EXPECT_LE(bias.hi, b);
  Conv2d conv(64, 128, 3, 1, 1, Bias::With, gen);  // fan_in = 64 * 9
  const double cb = 1 / std::sqrt(576.0);
  const Moments cw = moments(conv.weight());
  EXPECT_GE(cw.lo, -cb);
  EXPECT_LE(cw.hi, cb);
  EXPECT_NEAR(cw.var, cb * cb / 3, 0.02 * cb * cb / 3);
}

TEST(Init, ResNetConvolutionsUseKaimingNormalFanOut) {
  Generator gen(4);
  ResNet18 model({}, gen);
  for (const auto& [name, t] : model.named_parameters()) {
    if (name.find("conv") == std::string::npos || name == "conv1.weight" || name == "conv1.bias") continue;
    if (t.dim() != 4) continue;
    const double fan_out = double(t.size(0) * t.size(2) * t.size(3));
    const Moments m = moments(t);
    // Sample variance of n normals: relative sd sqrt(2/n); n >= 36,864 here -> 4 sd < 3%.
    EXPECT_NEAR(m.var, 2 / fan_out, 0.03 * 2 / fan_out) << name;
  }
  EXPECT_EQ(model.state_dict().at("layer1.0.bn1.weight").to_vector<float>(), std::vector<float>(64, 1.0f));
  EXPECT_EQ(model.state_dict().at("layer1.0.bn1.bias").to_vector<float>(), std::vector<float>(64, 0.0f));
}

TEST(Init, TheAuthorsCifarResNetKeepsPyTorchsDefaults) {
  // Every convolution and the classifier: kaiming_uniform(a = sqrt(5)), U(-b, b) with
  // b = 1/sqrt(fan_in) (torchvision's kaiming_normal(fan_out) would exceed b and have variance
  // 2/fan_out instead of b^2/3); batch norm weight 1, bias 0.
  Generator gen(5);
  CifarResNet18 model({}, gen);
  int checked = 0;
  for (const auto& [name, t] : model.named_parameters()) {
    if (t.dim() < 2) continue;
    const double b = 1 / std::sqrt(double(t.numel() / t.size(0)));
    const Moments m = moments(t);
    EXPECT_GE(m.lo, -b) << name;
    EXPECT_LE(m.hi, b) << name;
    // Sample variance of n uniforms: relative sd sqrt(0.8/n); n >= 5,120 here -> 4 sd < 5%.
    EXPECT_NEAR(m.var, b * b / 3, 0.05 * b * b / 3) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 1 + 16 + 3 + 1);  // stem, 16 block convolutions, 3 shortcuts, fc
  const Moments fc_bias = moments(model.state_dict().at("fc.bias"));
  EXPECT_LE(std::max(-fc_bias.lo, fc_bias.hi), 1 / std::sqrt(512.0));
  EXPECT_EQ(model.state_dict().at("layer2.0.conv_block.1.weight").to_vector<float>(),
            std::vector<float>(128, 1.0f));
  EXPECT_EQ(model.state_dict().at("layer2.0.downsample.1.bias").to_vector<float>(),
            std::vector<float>(128, 0.0f));
}

TEST(Init, SameSeedSameModel) {
  Generator a(9), b(9);
  Regressor ra(13, 50, 0.5, a), rb(13, 50, 0.5, b);
  for (const auto& [name, t] : ra.state_dict())
    EXPECT_TRUE(testing::bit_equal(t, rb.state_dict().at(name))) << name;
}

}  // namespace
}  // namespace kiln
