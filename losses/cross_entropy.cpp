// cross_entropy: the fused kernel gives per-sample losses and gradients; the reduction and
// the upstream scaling stay on the device (no host synchronisation in a training step).
#include "kernels/cross_entropy.h"
#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "losses/losses.h"

namespace kiln {

Tensor cross_entropy(const Tensor& logits_in, const Tensor& labels_in, const CrossEntropyOptions& opt) {
  KILN_CHECK(logits_in.defined() && labels_in.defined(), "cross_entropy: undefined logits or labels");
  KILN_CHECK(logits_in.dim() == 2, "cross_entropy: logits must be [N, C], got ",
             shape_str(logits_in.shape()));
  KILN_CHECK(
      labels_in.dtype() == DType::Int64 && labels_in.dim() == 1 && labels_in.size(0) == logits_in.size(0),
      "cross_entropy: labels must be int64 [", logits_in.size(0), "], got ", dtype_name(labels_in.dtype()),
      " ", shape_str(labels_in.shape()));
  KILN_CHECK(labels_in.device() == logits_in.device(), "cross_entropy: logits on ", logits_in.device().str(),
             ", labels on ", labels_in.device().str());
  KILN_CHECK(opt.label_smoothing >= 0 && opt.label_smoothing <= 1,
             "cross_entropy: label_smoothing must be in [0, 1], got ", opt.label_smoothing);
  const int64_t n = logits_in.size(0), c = logits_in.size(1);
  KILN_CHECK(c >= 1, "cross_entropy: need at least one class");
  KILN_CHECK(n >= 1 || opt.reduction != Reduction::Mean, "cross_entropy: mean over an empty batch");
  const Tensor logits = logits_in.detach().contiguous();
  const Tensor labels = labels_in.contiguous();
  Tensor weights;
  if (opt.class_weights.defined()) {
    weights = opt.class_weights.detach().contiguous();
    KILN_CHECK(weights.dim() == 1 && weights.size(0) == c && weights.dtype() == logits.dtype() &&
                   weights.device() == logits.device(),
               "cross_entropy: class weights must be ", dtype_name(logits.dtype()), " [", c, "] on ",
               logits.device().str(), ", got ", dtype_name(weights.dtype()), " ", shape_str(weights.shape()));
  }
  kernels::CrossEntropyArgs a;
  a.n = n;
  a.c = c;
  a.smoothing = opt.label_smoothing;
  a.convention = opt.convention == LabelSmoothing::PyTorch ? kernels::SmoothingConvention::PyTorch
                                                           : kernels::SmoothingConvention::Tutorial;
  Tensor loss = Tensor::empty({n}, logits.dtype(), logits.device());
  Tensor row_weight = Tensor::empty({n}, logits.dtype(), logits.device());
  const bool need_grad = logits_in.requires_grad();
  Tensor dlogits = need_grad ? Tensor::empty({n, c}, logits.dtype(), logits.device()) : Tensor();
  if (n > 0)
    dispatch_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
      const T* pw = weights.defined() ? weights.data<T>() : nullptr;
      T* pd = dlogits.defined() ? dlogits.data<T>() : nullptr;
      KILN_ON_DEVICE(logits.device(), cross_entropy_forward<T>)
      (a, logits.data<T>(), labels.data<int64_t>(), pw, loss.data<T>(), pd, row_weight.data<T>());
    });

  Tensor out, scale_den;
  {
    NoGradGuard no_grad;
    switch (opt.reduction) {
      case Reduction::None:
        out = loss;
        break;
      case Reduction::Sum:
        out = sum(loss);
        break;
      case Reduction::Mean:
        scale_den = sum(row_weight);
        out = div(sum(loss), scale_den);
        break;
    }
  }
  const Reduction reduction = opt.reduction;
  return record("cross_entropy", out, {logits_in}, [dlogits, scale_den, reduction](const Tensor& g) {
    // d loss / d logits = per-row gradient * upstream (/ sum of row weights for the mean).
    Tensor factor = g;
    if (reduction == Reduction::Mean) factor = div(g, scale_den);
    if (reduction == Reduction::None) factor = g.unsqueeze(1);
    return std::vector<Tensor>{mul(dlogits, factor)};
  });
}

}  // namespace kiln
