// Parameter initialisation (see init.h).
#include "layers/init.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"

namespace kiln::init {

int64_t fan_in(const Tensor& weight) {
  KILN_CHECK(weight.dim() >= 2, "init: weight needs at least 2 dimensions, got ", shape_str(weight.shape()));
  return weight.numel() / weight.size(0);
}

int64_t fan_out(const Tensor& weight) {
  KILN_CHECK(weight.dim() >= 2, "init: weight needs at least 2 dimensions, got ", shape_str(weight.shape()));
  return weight.numel() / weight.size(1);
}

void uniform(Tensor& t, double low, double high, Generator& gen) {
  NoGradGuard no_grad;
  uniform_(t, gen, low, high);
}

void kaiming_uniform(Tensor& weight, double a, Generator& gen) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan_in(weight)));
  uniform(weight, -bound, bound, gen);
}

void kaiming_normal_fan_out_relu(Tensor& weight, Generator& gen) {
  NoGradGuard no_grad;
  normal_(weight, gen, 0.0, std::sqrt(2.0 / static_cast<double>(fan_out(weight))));
}

void pytorch_default(Tensor& weight, Tensor* bias, Generator& gen) {
  kaiming_uniform(weight, std::sqrt(5.0), gen);
  if (bias && bias->defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
    uniform(*bias, -bound, bound, gen);
  }
}

}  // namespace kiln::init
