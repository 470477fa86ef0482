// batch_norm: checks, dispatch, running-statistics update and backward (kernels/batchnorm.h).
#include "kernels/batchnorm.h"
#include <type_traits>
#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/nn.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "core/ops/cpu_variants.h"
#include "kernels/cpu/batchnorm_fast.h"

namespace kiln {

using namespace ops_detail;

namespace {
template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

void check_channel_vector(const Tensor& t, const Tensor& x, int64_t c, const char* name) {
  if (!t.defined()) return;
  check_same_device_dtype(x, t, "batch_norm");
  KILN_CHECK(t.dim() == 1 && t.size(0) == c && t.is_contiguous(), "batch_norm: ", name,
             " must be a contiguous [", c, "] tensor, got ", shape_str(t.shape()));
}
}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, Phase phase, double momentum, double eps) {
  const bool training = phase == Phase::Train;
  check_defined(x_in, "batch_norm", "input");
  check_floating(x_in, "batch_norm");
  KILN_CHECK(x_in.dim() == 2 || x_in.dim() == 4, "batch_norm: input must be [N, C] or [N, C, H, W], got ",
             shape_str(x_in.shape()));
  const int64_t c = x_in.size(1);
  check_channel_vector(running_mean, x_in, c, "running_mean");
  check_channel_vector(running_var, x_in, c, "running_var");
  check_channel_vector(weight, x_in, c, "weight");
  check_channel_vector(bias, x_in, c, "bias");
  KILN_CHECK(eps > 0, "batch_norm: eps must be > 0, got ", eps);
  KILN_CHECK(training || (running_mean.defined() && running_var.defined()),
             "batch_norm: evaluation needs running_mean and running_var");
  kernels::BatchNormShape s;
  s.n = x_in.size(0);
  s.c = c;
  s.hw = x_in.dim() == 4 ? x_in.size(2) * x_in.size(3) : 1;
  KILN_CHECK(!training || s.n * s.hw > 1,
             "batch_norm: training needs more than one value per channel, got input ",
             shape_str(x_in.shape()));
  const Tensor x = x_in.detach().contiguous();
  const Tensor w = weight.defined() ? weight.detach() : Tensor();
  const Tensor b = bias.defined() ? bias.detach() : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (!training) {
    dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
      KILN_ON_DEVICE(x.device(), batchnorm_forward_eval<T>)
      (s, x.data<T>(), ptr_or_null<T>(w), ptr_or_null<T>(b), running_mean.data<T>(), running_var.data<T>(),
       eps, y.data<T>());
    });
    // Evaluation mode is an affine map per channel: dx = g * gamma * invstd_running.
    return record(
        "batch_norm_eval", y, {x_in, weight, bias},
        [x, w, running_mean = running_mean.detach(), running_var = running_var.detach(),
         eps](const Tensor& g) {
          const Shape bshape = x.dim() == 4 ? Shape{1, x.size(1), 1, 1} : Shape{1, x.size(1)};
          const Tensor invstd = rdiv(1.0, sqrt(add(running_var, eps))).reshape(bshape);
          const Tensor xhat = mul(sub(x, running_mean.reshape(bshape)), invstd);
          const Tensor scale = w.defined() ? mul(w.reshape(bshape), invstd) : invstd;
          std::vector<int64_t> dims = x.dim() == 4 ? std::vector<int64_t>{0, 2, 3} : std::vector<int64_t>{0};
          return std::vector<Tensor>{mul(g, scale), w.defined() ? sum(mul(g, xhat), dims) : Tensor(),
                                     sum(g, dims)};
        });
  }
  Tensor save_mean = Tensor::empty({c}, x.dtype(), x.device());
  Tensor save_invstd = Tensor::empty({c}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>)
      if (!x.is_cuda() && cpu_fast_kernels_enabled())
        return kernels::cpu::batchnorm_forward_train_fast(
            s, x.data<T>(), ptr_or_null<T>(w), ptr_or_null<T>(b), eps, momentum, y.data<T>(),
            save_mean.data<T>(), save_invstd.data<T>(), ptr_or_null<T>(running_mean),
            ptr_or_null<T>(running_var));
    KILN_ON_DEVICE(x.device(), batchnorm_forward_train<T>)
    (s, x.data<T>(), ptr_or_null<T>(w), ptr_or_null<T>(b), eps, momentum, y.data<T>(), save_mean.data<T>(),
     save_invstd.data<T>(), ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var));
  });
  const bool need_x = x_in.requires_grad();
  const bool need_wb =
      (weight.defined() && weight.requires_grad()) || (bias.defined() && bias.requires_grad());
  return record("batch_norm", y, {x_in, weight, bias},
                [s, x, w, save_mean, save_invstd, need_x, need_wb](const Tensor& g_in) {
                  const Tensor g = g_in.contiguous();
                  Tensor dx, dw, db;
                  if (need_x) dx = Tensor::empty(x.shape(), x.dtype(), x.device());
                  if (need_wb) {
                    dw = Tensor::empty({s.c}, x.dtype(), x.device());
                    db = Tensor::empty({s.c}, x.dtype(), x.device());
                  }
                  dispatch_floating(x.dtype(), "batch_norm backward", [&]<typename T>() {
                    if constexpr (std::is_same_v<T, float>)
                      if (!x.is_cuda() && cpu_fast_kernels_enabled())
                        return kernels::cpu::batchnorm_backward_fast(
                            s, g.data<T>(), x.data<T>(), ptr_or_null<T>(w), save_mean.data<T>(),
                            save_invstd.data<T>(), ptr_or_null<T>(dx), ptr_or_null<T>(dw),
                            ptr_or_null<T>(db));
                    KILN_ON_DEVICE(x.device(), batchnorm_backward<T>)
                    (s, g.data<T>(), x.data<T>(), ptr_or_null<T>(w), save_mean.data<T>(),
                     save_invstd.data<T>(), ptr_or_null<T>(dx), ptr_or_null<T>(dw), ptr_or_null<T>(db));
                  });
                  return std::vector<Tensor>{dx, w.defined() ? dw : Tensor(), db};
                });
}

}  // namespace kiln
