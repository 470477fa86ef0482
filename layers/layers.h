// The standard layers (torch.nn equivalents). Each holds its parameters and hyper-parameters
// and calls the functional op in core/nn.h; initialisation follows PyTorch's defaults.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/generator.h"
#include "layers/module.h"

namespace kiln {

// Whether a Linear or Conv2d layer has a bias (PyTorch's bias=True / bias=False).
enum class Bias : uint8_t { With, Without };

// y = x W^T + b; weight [out, in], bias [out].
class Linear final : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Bias bias = Bias::With,
         Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor& weight() { return weight_; }
  Tensor bias() const { return bias_ ? *bias_ : Tensor(); }

 private:
  int64_t in_, out_;
  Tensor& weight_;
  Tensor* bias_ = nullptr;  // null without a bias
};

// 2-D convolution, square kernel, NCHW; weight [out, in, k, k], bias [out] (optional).
class Conv2d final : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
         int64_t padding = 0, Bias bias = Bias::With, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor& weight() { return weight_; }
  Tensor bias() const { return bias_ ? *bias_ : Tensor(); }

 private:
  int64_t in_, out_, kernel_, stride_, padding_;
  Tensor& weight_;
  Tensor* bias_ = nullptr;  // null without a bias
};

// Batch normalisation over channels of [N, C, H, W] (or [N, C]): learnable weight (1) and
// bias (0), buffers running_mean (0), running_var (1) and num_batches_tracked (int64), as
// PyTorch's BatchNorm2d (momentum 0.1, eps 1e-5).
class BatchNorm2d final : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int64_t channels_;
  double eps_, momentum_;
  Tensor& weight_;
  Tensor& bias_;
  Tensor& running_mean_;
  Tensor& running_var_;
  Tensor& num_batches_tracked_;
};

class ReLU final : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU()"; }
};

// Element dropout (p in [0, 1)); identity in evaluation mode.
class Dropout final : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  double p_;
  Generator& gen_;
};

// Channel dropout (whole feature maps of [N, C, H, W]; elements of [N, C]).
class Dropout2d final : public Module {
 public:
  explicit Dropout2d(double p = 0.5, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  double p_;
  Generator& gen_;
};

class MaxPool2d final : public Module {
 public:
  explicit MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int64_t kernel_, stride_, padding_;
};

// Average over kernel x kernel windows with stride = kernel and no padding, as nn.AvgPool2d(k):
// rows and columns past the last whole window are dropped (PyTorch's floor mode).
class AvgPool2d final : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int64_t kernel_;
};

class AdaptiveAvgPool2d final : public Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int64_t out_h_, out_w_;
};

// [N, ...] -> [N, prod(...)].
class Flatten final : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x.flatten(1); }
  std::string describe() const override { return "Flatten()"; }
};

class Identity final : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string describe() const override { return "Identity()"; }
};

// Children named "0", "1", ... applied in order.
class Sequential final : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  Sequential& add(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sequential"; }
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) { return *children().at(i).second; }
};

}  // namespace kiln
