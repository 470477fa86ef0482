// Loss functions and target-noise regularisers: cross-entropy with class weights and label
// smoothing in both conventions (PyTorch's and the tutorial's), mean squared error, and
// DisturbLabel / DisturbValue. Losses stay on the device: the returned scalar is a tensor,
// read by the host only when a trainer logs it.
#pragma once

#include <cstdint>

#include "core/generator.h"
#include "core/tensor.h"
#include "kernels/label_noise.h"

namespace kiln {

enum class Reduction : uint8_t { Mean, Sum, None };

enum class LabelSmoothing : uint8_t {
  // torch.nn.CrossEntropyLoss(label_smoothing=a): target (1-a)*onehot + a/K.
  PyTorch,
  // The tutorial's LabelSmoothingLoss: 1-a on the true class, a/(K-1) on every other class.
  Tutorial,
};

struct CrossEntropyOptions {
  Tensor class_weights;  // [C] or undefined; PyTorch's semantics: mean = sum w_y l / sum w_y
  double label_smoothing = 0.0;
  LabelSmoothing convention = LabelSmoothing::PyTorch;
  Reduction reduction = Reduction::Mean;
};

// logits [N, C] (float), labels int64 [N] -> scalar (or [N] for Reduction::None).
// One fused kernel computes the per-sample loss and its gradient.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& options = {});

// Mean (or sum) of (prediction - target)^2 over all elements; shapes must match.
Tensor mse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::Mean);

// DisturbLabel (Xie et al. 2016): a copy of int64 `labels` where each label is replaced,
// with probability alpha_percent/100, by a class drawn uniformly from all `num_classes`
// (so it keeps its class with p_c = 1 - (C-1)/C * alpha/100). Fresh draws each call.
Tensor disturb_label(const Tensor& labels, int64_t num_classes, double alpha_percent,
                     Generator& gen = default_generator());

// DisturbValue (Kim et al. 2021): a copy of float `targets` [N] or [N, T] in which exactly
// round(alpha * N) distinct samples get N(0, sigma^2) noise; with TutorialZeroing, the
// tutorial's draw instead: noise for all, then int(N*(1-alpha)) samples drawn with
// replacement get their noise zeroed (kernels/label_noise.h).
Tensor disturb_value(const Tensor& targets, double alpha, double sigma, Generator& gen = default_generator(),
                     kernels::DisturbValueSelection selection = kernels::DisturbValueSelection::ExactCount);

}  // namespace kiln
