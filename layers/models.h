// The networks of the source tutorial, with PyTorch's module names so state dicts interchange:
//  - ResNet18: torchvision's resnet18() with conv1 replaced by Conv2d(in, 64, 3, 1, 1) (with
//    bias, as nn.Conv2d's default; the 3x3/s2 max-pool after it is kept) and
//    fc = Sequential(Dropout2d(0.5), Linear(512, classes)). Options: input channels (1 for
//    MNIST-like data) and batch norm on/off (the `batchnorm` ablation). The DisturbLabel,
//    label-smoothing, batch-norm and weighted-loss experiments train it.
//  - CifarResNet18: the tutorial author's own CIFAR ResNet-18 (`modeltype('resnet18')`, the
//    early-stopping experiment): 3x3 stem without bias, NO max-pool, four stages of two basic
//    blocks, AvgPool2d(4), Linear(512, classes), no dropout, PyTorch's default initialisation.
//  - MnistNet: the pseudo-labelling tutorial's `Net` (features / classifier Sequentials).
//  - Regressor: Linear(13, 50) -> ReLU -> Dropout(0.5) -> Linear(50, 1) -> ReLU.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "layers/layers.h"

namespace kiln {

// torchvision's BasicBlock: conv3x3(stride) -> bn -> relu -> conv3x3 -> bn, plus the identity
// or a 1x1-conv + bn downsample, then relu.
class BasicBlock final : public Module {
 public:
  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, bool batchnorm, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "BasicBlock"; }

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_;
  std::shared_ptr<Module> bn1_, bn2_;
  std::shared_ptr<Sequential> downsample_;  // null for the identity shortcut
};

struct ResNetOptions {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  bool batchnorm = true;  // false: every BatchNorm2d becomes Identity (no parameters)
  double dropout = 0.5;   // the Dropout2d before the classifier
  int64_t width = 64;     // channels of the first stage (64 in ResNet-18; smaller for tests)
};

class ResNet18 final : public Module {
 public:
  explicit ResNet18(const ResNetOptions& options = {}, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ResNet18"; }

 private:
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<Module> bn1_;
  std::shared_ptr<MaxPool2d> maxpool_;
  std::shared_ptr<Sequential> layer1_, layer2_, layer3_, layer4_;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool_;
  std::shared_ptr<Sequential> fc_;
};

// The author's basic block. Its module names are those of the PyTorch definition the golden
// fixture is built from (scripts/fixtures/make_golden_fixtures.py): conv_block =
// Sequential(conv3x3(stride, bias=False), BN, ReLU, conv3x3(bias=False), BN); downsample =
// Sequential(conv1x1(stride, bias=False), BN) when the stride or the width changes;
// out = relu(shortcut + conv_block(x)).
class CifarBasicBlock final : public Module {
 public:
  CifarBasicBlock(int64_t in_planes, int64_t planes, int64_t stride, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ResidualBlock"; }

 private:
  std::shared_ptr<Sequential> conv_block_;
  std::shared_ptr<Sequential> downsample_;  // null for the identity shortcut
};

struct CifarResNetOptions {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t width = 64;  // channels of the first stage (64 in ResNet-18; smaller for tests)
};

// base = Sequential(Conv2d(in, 64, 3, 1, 1, bias=False), BN, ReLU); layer1..layer4 (strides 1, 2,
// 2, 2); gap = AvgPool2d(4); fc = Linear(512, classes). A 32x32 (or 28x28) input reaches the
// pool as a 4x4 map, so the classifier sees 512 features.
class CifarResNet18 final : public Module {
 public:
  explicit CifarResNet18(const CifarResNetOptions& options = {}, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "CifarResNet18"; }

 private:
  std::shared_ptr<Sequential> base_;
  std::shared_ptr<Sequential> layer1_, layer2_, layer3_, layer4_;
  std::shared_ptr<AvgPool2d> gap_;
  std::shared_ptr<Linear> fc_;
};

// Input [N, 1, 28, 28] -> logits [N, 10].
class MnistNet final : public Module {
 public:
  explicit MnistNet(int64_t num_classes = 10, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Net"; }

 private:
  std::shared_ptr<Sequential> features_, classifier_;
};

class Regressor final : public Module {
 public:
  explicit Regressor(int64_t in_features = 13, int64_t hidden = 50, double dropout = 0.5,
                     Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Regressor"; }

 private:
  std::shared_ptr<Linear> fc1_, fc2_;
  std::shared_ptr<Dropout> dropout_;
};

}  // namespace kiln
