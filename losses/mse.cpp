// mse_loss: a fused sum-of-squares kernel forward, and a backward that reads the upstream
// gradient on the device.
#include "kernels/mse.h"
#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "losses/losses.h"

namespace kiln {

Tensor mse_loss(const Tensor& pred_in, const Tensor& target_in, Reduction reduction) {
  KILN_CHECK(pred_in.defined() && target_in.defined(), "mse_loss: undefined prediction or target");
  KILN_CHECK(pred_in.shape() == target_in.shape(), "mse_loss: prediction ", shape_str(pred_in.shape()),
             " and target ", shape_str(target_in.shape()), " must have the same shape");
  KILN_CHECK(pred_in.dtype() == target_in.dtype() && pred_in.device() == target_in.device(),
             "mse_loss: prediction and target differ in dtype or device");
  KILN_CHECK(reduction != Reduction::None,
             "mse_loss: reduction None is not supported; use square(sub(a, b))");
  const int64_t n = pred_in.numel();
  KILN_CHECK(n > 0 || reduction == Reduction::Sum, "mse_loss: mean over an empty tensor");
  const Tensor x = pred_in.detach().contiguous(), y = target_in.detach().contiguous();
  Tensor total = Tensor::empty({}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), "mse_loss", [&]<typename T>() {
    KILN_ON_DEVICE(x.device(), mse_forward<T>)(n, x.data<T>(), y.data<T>(), total.data<T>());
  });
  const double inv_n = reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
  Tensor out = total;
  if (reduction == Reduction::Mean) {
    NoGradGuard no_grad;
    out = mul(total, inv_n);
  }
  const bool need_target = target_in.requires_grad();
  return record("mse_loss", out, {pred_in, target_in}, [x, y, n, inv_n, need_target](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), "mse_loss backward", [&]<typename T>() {
      KILN_ON_DEVICE(x.device(), mse_backward<T>)
      (n, x.data<T>(), y.data<T>(), g.data<T>(), 2.0 * inv_n, dx.data<T>());
    });
    return std::vector<Tensor>{dx, need_target ? neg(dx) : Tensor()};
  });
}

}  // namespace kiln
