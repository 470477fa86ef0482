// The tutorial's networks (see models.h).
#include "layers/models.h"

#include "core/ops.h"
#include "layers/init.h"

namespace kiln {

namespace {
std::shared_ptr<Module> norm(int64_t channels, bool batchnorm) {
  if (batchnorm) return std::make_shared<BatchNorm2d>(channels);
  return std::make_shared<Identity>();
}

// torchvision re-initialises every convolution of its ResNet with kaiming_normal(fan_out).
void torchvision_conv_init(Conv2d& conv, Generator& gen) {
  init::kaiming_normal_fan_out_relu(conv.weight(), gen);
}
}  // namespace

BasicBlock::BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, bool batchnorm, Generator& gen) {
  conv1_ =
      register_module("conv1", std::make_shared<Conv2d>(in_planes, planes, 3, stride, 1, Bias::Without, gen));
  bn1_ = register_module("bn1", norm(planes, batchnorm));
  conv2_ = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, 1, 1, Bias::Without, gen));
  bn2_ = register_module("bn2", norm(planes, batchnorm));
  torchvision_conv_init(*conv1_, gen);
  torchvision_conv_init(*conv2_, gen);
  if (stride != 1 || in_planes != planes) {
    auto down_conv = std::make_shared<Conv2d>(in_planes, planes, 1, stride, 0, Bias::Without, gen);
    torchvision_conv_init(*down_conv, gen);
    downsample_ =
        register_module("downsample", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                          down_conv, norm(planes, batchnorm)}));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = relu(bn1_->forward(conv1_->forward(x)));
  out = bn2_->forward(conv2_->forward(out));
  const Tensor identity = downsample_ ? downsample_->forward(x) : x;
  return relu(add(out, identity));
}

ResNet18::ResNet18(const ResNetOptions& o, Generator& gen) {
  KILN_CHECK(o.in_channels >= 1 && o.num_classes >= 1, "ResNet18: in_channels and num_classes must be >= 1");
  // The tutorial's replacement stem: a fresh nn.Conv2d(in, 64, 3, 1, 1) with PyTorch's default
  // initialisation and a bias (torchvision's own stem is a 7x7/s2 conv without bias).
  KILN_CHECK(o.width >= 1, "ResNet18: width must be >= 1, got ", o.width);
  const int64_t w = o.width;
  conv1_ = register_module("conv1", std::make_shared<Conv2d>(o.in_channels, w, 3, 1, 1, Bias::With, gen));
  bn1_ = register_module("bn1", norm(w, o.batchnorm));
  maxpool_ = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));
  auto stage = [&](int64_t in_planes, int64_t planes, int64_t stride) {
    return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
        std::make_shared<BasicBlock>(in_planes, planes, stride, o.batchnorm, gen),
        std::make_shared<BasicBlock>(planes, planes, 1, o.batchnorm, gen)});
  };
  layer1_ = register_module("layer1", stage(w, w, 1));
  layer2_ = register_module("layer2", stage(w, 2 * w, 2));
  layer3_ = register_module("layer3", stage(2 * w, 4 * w, 2));
  layer4_ = register_module("layer4", stage(4 * w, 8 * w, 2));
  avgpool_ = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(1, 1));
  fc_ = register_module("fc", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                  std::make_shared<Dropout2d>(o.dropout),
                                  std::make_shared<Linear>(8 * w, o.num_classes, Bias::With, gen)}));
}

Tensor ResNet18::forward(const Tensor& x) {
  Tensor h = maxpool_->forward(relu(bn1_->forward(conv1_->forward(x))));
  h = layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(h))));
  return fc_->forward(avgpool_->forward(h).flatten(1));
}

CifarBasicBlock::CifarBasicBlock(int64_t in_planes, int64_t planes, int64_t stride, Generator& gen) {
  conv_block_ = register_module(
      "conv_block", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                        std::make_shared<Conv2d>(in_planes, planes, 3, stride, 1, Bias::Without, gen),
                        std::make_shared<BatchNorm2d>(planes), std::make_shared<ReLU>(),
                        std::make_shared<Conv2d>(planes, planes, 3, 1, 1, Bias::Without, gen),
                        std::make_shared<BatchNorm2d>(planes)}));
  if (stride != 1 || in_planes != planes) {
    downsample_ = register_module(
        "downsample", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                          std::make_shared<Conv2d>(in_planes, planes, 1, stride, 0, Bias::Without, gen),
                          std::make_shared<BatchNorm2d>(planes)}));
  }
}

Tensor CifarBasicBlock::forward(const Tensor& x) {
  const Tensor out = conv_block_->forward(x);
  return relu(add(downsample_ ? downsample_->forward(x) : x, out));
}

CifarResNet18::CifarResNet18(const CifarResNetOptions& o, Generator& gen) {
  KILN_CHECK(o.in_channels >= 1 && o.num_classes >= 1,
             "CifarResNet18: in_channels and num_classes must be >= 1");
  KILN_CHECK(o.width >= 1, "CifarResNet18: width must be >= 1, got ", o.width);
  const int64_t w = o.width;
  base_ = register_module("base", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                      std::make_shared<Conv2d>(o.in_channels, w, 3, 1, 1, Bias::Without, gen),
                                      std::make_shared<BatchNorm2d>(w), std::make_shared<ReLU>()}));
  auto stage = [&](int64_t in_planes, int64_t planes, int64_t stride) {
    return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
        std::make_shared<CifarBasicBlock>(in_planes, planes, stride, gen),
        std::make_shared<CifarBasicBlock>(planes, planes, 1, gen)});
  };
  layer1_ = register_module("layer1", stage(w, w, 1));
  layer2_ = register_module("layer2", stage(w, 2 * w, 2));
  layer3_ = register_module("layer3", stage(2 * w, 4 * w, 2));
  layer4_ = register_module("layer4", stage(4 * w, 8 * w, 2));
  gap_ = register_module("gap", std::make_shared<AvgPool2d>(4));
  fc_ = register_module("fc", std::make_shared<Linear>(8 * w, o.num_classes, Bias::With, gen));
}

Tensor CifarResNet18::forward(const Tensor& x) {
  Tensor h = base_->forward(x);
  h = layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(h))));
  return fc_->forward(gap_->forward(h).flatten(1));
}

MnistNet::MnistNet(int64_t num_classes, Generator& gen) {
  features_ = register_module("features", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                              std::make_shared<Conv2d>(1, 64, 3, 1, 0, Bias::With, gen),
                                              std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2, 2),
                                              std::make_shared<Conv2d>(64, 192, 3, 1, 1, Bias::With, gen),
                                              std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2, 2)}));
  classifier_ = register_module(
      "classifier",
      std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
          std::make_shared<Dropout>(0.5), std::make_shared<Linear>(192 * 6 * 6, 1024, Bias::With, gen),
          std::make_shared<ReLU>(), std::make_shared<Dropout>(0.5),
          std::make_shared<Linear>(1024, 512, Bias::With, gen), std::make_shared<ReLU>(),
          std::make_shared<Linear>(512, num_classes, Bias::With, gen)}));
}

Tensor MnistNet::forward(const Tensor& x) {
  KILN_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
             "Net: expected input [N, 1, 28, 28], got ", shape_str(x.shape()));
  return classifier_->forward(features_->forward(x).flatten(1));
}

Regressor::Regressor(int64_t in_features, int64_t hidden, double p, Generator& gen) {
  fc1_ = register_module("fc1", std::make_shared<Linear>(in_features, hidden, Bias::With, gen));
  fc2_ = register_module("fc2", std::make_shared<Linear>(hidden, 1, Bias::With, gen));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(p));
}

Tensor Regressor::forward(const Tensor& x) {
  const Tensor h = dropout_->forward(relu(fc1_->forward(x)));
  return relu(fc2_->forward(h));
}

}  // namespace kiln
