// Parameter initialisation with PyTorch's default rules, drawn from a kiln Generator.
//  - kaiming_uniform(a): U(-b, b), b = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2));
//    nn.Linear and nn.Conv2d use a = sqrt(5) on fan_in, i.e. b = 1/sqrt(fan_in), and
//    their bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
//  - kaiming_normal(fan_out, relu): N(0, 2 / fan_out), torchvision's ResNet convolutions.
#pragma once

#include <cstdint>

#include "core/generator.h"
#include "core/tensor.h"

namespace kiln::init {

// fan_in and fan_out of a [out, in, ...] weight: in * receptive field, out * receptive field.
int64_t fan_in(const Tensor& weight);
int64_t fan_out(const Tensor& weight);

void uniform(Tensor& t, double low, double high, Generator& gen);
void kaiming_uniform(Tensor& weight, double a, Generator& gen);  // on fan_in
void kaiming_normal_fan_out_relu(Tensor& weight, Generator& gen);
// nn.Linear / nn.Conv2d reset_parameters(): kaiming_uniform(a = sqrt(5)) and the bias rule.
void pytorch_default(Tensor& weight, Tensor* bias, Generator& gen);

}  // namespace kiln::init
