// DisturbLabel and DisturbValue: fresh Philox draws per call, identical on CPU and CUDA.
#include "kernels/label_noise.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "losses/losses.h"

namespace kiln {

Tensor disturb_label(const Tensor& labels_in, int64_t num_classes, double alpha_percent, Generator& gen) {
  KILN_CHECK(labels_in.defined() && labels_in.dtype() == DType::Int64 && labels_in.dim() == 1,
             "disturb_label: labels must be a 1-d int64 tensor");
  KILN_CHECK(num_classes >= 1, "disturb_label: num_classes must be >= 1, got ", num_classes);
  KILN_CHECK(alpha_percent >= 0 && alpha_percent <= 100,
             "disturb_label: alpha must be in [0, 100] percent, got ", alpha_percent);
  const Tensor labels = labels_in.contiguous();
  kernels::DisturbLabelArgs a;
  a.n = labels.numel();
  a.num_classes = num_classes;
  a.alpha = alpha_percent / 100.0;
  a.seed = gen.seed();
  a.offset = gen.reserve(labels.device());
  Tensor out = Tensor::empty(labels.shape(), DType::Int64, labels.device());
  if (a.n > 0) KILN_ON_DEVICE(labels.device(), disturb_label)(a, labels.data<int64_t>(), out.data<int64_t>());
  return out;
}

Tensor disturb_value(const Tensor& targets_in, double alpha, double sigma, Generator& gen,
                     kernels::DisturbValueSelection selection) {
  KILN_CHECK(targets_in.defined() && (targets_in.dim() == 1 || targets_in.dim() == 2),
             "disturb_value: targets must be [N] or [N, T]");
  KILN_CHECK(alpha >= 0 && alpha <= 1, "disturb_value: alpha must be a fraction in [0, 1], got ", alpha);
  KILN_CHECK(sigma >= 0, "disturb_value: sigma must be >= 0, got ", sigma);
  const Tensor t = targets_in.detach().contiguous();
  kernels::DisturbValueArgs a;
  a.n = t.size(0);
  a.width = t.dim() == 2 ? t.size(1) : 1;
  a.alpha = alpha;
  a.sigma = sigma;
  a.selection = selection;
  a.seed = gen.seed();
  a.offset = gen.reserve(t.device());
  gen.reserve(t.device());  // the noise draws use offset + 1
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  if (t.numel() > 0)
    dispatch_floating(t.dtype(), "disturb_value", [&]<typename T>() {
      KILN_ON_DEVICE(t.device(), disturb_value<T>)(a, t.data<T>(), out.data<T>());
    });
  return out;
}

}  // namespace kiln
