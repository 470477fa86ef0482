// The standard layers (see layers.h).
#include "layers/layers.h"

#include <algorithm>
#include <sstream>

#include "core/autograd.h"
#include "core/nn.h"
#include "core/ops.h"
#include "layers/init.h"

namespace kiln {

namespace {
std::string fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

Linear::Linear(int64_t in, int64_t out, Bias bias, Generator& gen)
    : in_(in),
      out_(out),
      weight_(register_parameter("weight",
                                 Tensor::empty({std::max<int64_t>(out, 0), std::max<int64_t>(in, 0)}))) {
  KILN_CHECK(in >= 1 && out >= 1, "Linear: sizes must be >= 1, got in=", in, " out=", out);
  if (bias == Bias::With) bias_ = &register_parameter("bias", Tensor::empty({out}));
  init::pytorch_default(weight_, bias_, gen);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight_, this->bias()); }
std::string Linear::describe() const {
  return "Linear(in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
         ", bias=" + (bias_ ? "True" : "False") + ")";
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, Bias bias, Generator& gen)
    : in_(in),
      out_(out),
      kernel_(k),
      stride_(stride),
      padding_(padding),
      weight_(
          register_parameter("weight", Tensor::empty({std::max<int64_t>(out, 0), std::max<int64_t>(in, 0),
                                                      std::max<int64_t>(k, 0), std::max<int64_t>(k, 0)}))) {
  KILN_CHECK(in >= 1 && out >= 1 && k >= 1 && stride >= 1 && padding >= 0,
             "Conv2d: invalid configuration in=", in, " out=", out, " kernel=", k, " stride=", stride,
             " padding=", padding);
  if (bias == Bias::With) bias_ = &register_parameter("bias", Tensor::empty({out}));
  init::pytorch_default(weight_, bias_, gen);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight_, this->bias(), stride_, padding_); }
std::string Conv2d::describe() const {
  return "Conv2d(" + std::to_string(in_) + ", " + std::to_string(out_) +
         ", kernel_size=" + std::to_string(kernel_) + ", stride=" + std::to_string(stride_) +
         ", padding=" + std::to_string(padding_) + (bias_ ? "" : ", bias=False") + ")";
}

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, double momentum)
    : channels_(channels),
      eps_(eps),
      momentum_(momentum),
      weight_(register_parameter("weight", Tensor::ones({std::max<int64_t>(channels, 0)}))),
      bias_(register_parameter("bias", Tensor::zeros({std::max<int64_t>(channels, 0)}))),
      running_mean_(register_buffer("running_mean", Tensor::zeros({std::max<int64_t>(channels, 0)}))),
      running_var_(register_buffer("running_var", Tensor::ones({std::max<int64_t>(channels, 0)}))),
      num_batches_tracked_(register_buffer("num_batches_tracked", Tensor::zeros({}, DType::Int64))) {
  KILN_CHECK(channels >= 1, "BatchNorm2d: channels must be >= 1, got ", channels);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (is_training()) {
    // Counted on the device without a host round trip (one tiny kernel).
    NoGradGuard no_grad;
    num_batches_tracked_.copy_(add(num_batches_tracked_.to(DType::Float64), 1.0));
  }
  return batch_norm(x, running_mean_, running_var_, weight_, bias_, phase(), momentum_, eps_);
}
std::string BatchNorm2d::describe() const {
  return "BatchNorm2d(" + std::to_string(channels_) + ", eps=" + fmt(eps_) + ", momentum=" + fmt(momentum_) +
         ")";
}

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Dropout::Dropout(double p, Generator& gen) : p_(p), gen_(gen) {
  KILN_CHECK(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, phase(), gen_); }
std::string Dropout::describe() const { return "Dropout(p=" + fmt(p_) + ")"; }

Dropout2d::Dropout2d(double p, Generator& gen) : p_(p), gen_(gen) {
  KILN_CHECK(p >= 0 && p < 1, "Dropout2d: p must be in [0, 1), got ", p);
}
Tensor Dropout2d::forward(const Tensor& x) { return dropout2d(x, p_, phase(), gen_); }
std::string Dropout2d::describe() const { return "Dropout2d(p=" + fmt(p_) + ")"; }

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride, int64_t padding)
    : kernel_(kernel), stride_(stride == 0 ? kernel : stride), padding_(padding) {}
Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_, stride_, padding_); }
std::string MaxPool2d::describe() const {
  return "MaxPool2d(kernel_size=" + std::to_string(kernel_) + ", stride=" + std::to_string(stride_) +
         ", padding=" + std::to_string(padding_) + ")";
}

AvgPool2d::AvgPool2d(int64_t kernel) : kernel_(kernel) {
  KILN_CHECK(kernel >= 1, "AvgPool2d: kernel_size must be >= 1, got ", kernel);
}
// Once the map is cut to whole windows, the adaptive pool's bins are exactly those windows,
// so the existing adaptive kernel (forward and backward) computes nn.AvgPool2d(k).
Tensor AvgPool2d::forward(const Tensor& x) {
  KILN_CHECK(x.dim() == 4, "AvgPool2d: expected input [N, C, H, W], got ", shape_str(x.shape()));
  const int64_t h = x.size(2) / kernel_, w = x.size(3) / kernel_;
  KILN_CHECK(h >= 1 && w >= 1, "AvgPool2d(", kernel_, "): input ", shape_str(x.shape()),
             " is smaller than one window");
  Tensor whole = x;
  if (h * kernel_ != x.size(2)) whole = whole.narrow(2, 0, h * kernel_);
  if (w * kernel_ != x.size(3)) whole = whole.narrow(3, 0, w * kernel_);
  return adaptive_avg_pool2d(whole, h, w);
}
std::string AvgPool2d::describe() const {
  return "AvgPool2d(kernel_size=" + std::to_string(kernel_) + ", stride=" + std::to_string(kernel_) +
         ", padding=0)";
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(int64_t out_h, int64_t out_w) : out_h_(out_h), out_w_(out_w) {}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, out_h_, out_w_); }
std::string AdaptiveAvgPool2d::describe() const {
  return "AdaptiveAvgPool2d(output_size=(" + std::to_string(out_h_) + ", " + std::to_string(out_w_) + "))";
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) add(std::move(m));
}

Sequential& Sequential::add(std::shared_ptr<Module> module) {
  register_module(std::to_string(children().size()), std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& [name, m] : children()) h = m->forward(h);
  return h;
}

}  // namespace kiln
