// max_pool2d and adaptive_avg_pool2d: checks, dispatch and backward (kernels/pooling.h).
#include "kernels/pooling.h"
#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/nn.h"
#include "core/ops/common.h"

namespace kiln {

using namespace ops_detail;

Tensor max_pool2d(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  check_defined(x_in, "max_pool2d", "input");
  check_floating(x_in, "max_pool2d");
  KILN_CHECK(x_in.dim() == 4, "max_pool2d: input must be [N, C, H, W], got ", shape_str(x_in.shape()));
  if (stride == 0) stride = kernel;
  KILN_CHECK(kernel >= 1 && stride >= 1, "max_pool2d: kernel and stride must be >= 1, got ", kernel, " and ",
             stride);
  KILN_CHECK(padding >= 0 && 2 * padding <= kernel, "max_pool2d: padding must be in [0, kernel/2], got ",
             padding, " for kernel ", kernel);
  kernels::Pool2dShape s;
  s.planes = x_in.size(0) * x_in.size(1);
  s.h = x_in.size(2);
  s.w = x_in.size(3);
  s.kh = s.kw = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = padding;
  KILN_CHECK(s.h + 2 * padding >= kernel && s.w + 2 * padding >= kernel, "max_pool2d: window ", kernel,
             " larger than the padded input ", shape_str(x_in.shape()));
  const Tensor x = x_in.detach().contiguous();
  Tensor y = Tensor::empty({x.size(0), x.size(1), s.p(), s.q()}, x.dtype(), x.device());
  // Flat int32 argmax per output, kept for backward (kiln has no int32 dtype, so raw bytes).
  Tensor argmax = Tensor::empty({y.numel() * 4}, DType::UInt8, x.device());
  int32_t* pa = static_cast<int32_t*>(argmax.raw_data());
  if (y.numel() > 0)
    dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
      KILN_ON_DEVICE(x.device(), max_pool2d_forward<T>)(s, x.data<T>(), y.data<T>(), pa);
    });
  return record("max_pool2d", y, {x_in}, [s, argmax, in_shape = x.shape()](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty(in_shape, g.dtype(), g.device());
    const int32_t* pa = static_cast<const int32_t*>(argmax.raw_data());
    if (dx.numel() > 0)
      dispatch_floating(g.dtype(), "max_pool2d backward", [&]<typename T>() {
        KILN_ON_DEVICE(g.device(), max_pool2d_backward<T>)(s, g.data<T>(), pa, dx.data<T>());
      });
    return std::vector<Tensor>{dx};
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x_in, int64_t out_h, int64_t out_w) {
  check_defined(x_in, "adaptive_avg_pool2d", "input");
  check_floating(x_in, "adaptive_avg_pool2d");
  KILN_CHECK(x_in.dim() == 4, "adaptive_avg_pool2d: input must be [N, C, H, W], got ",
             shape_str(x_in.shape()));
  KILN_CHECK(out_h >= 1 && out_w >= 1, "adaptive_avg_pool2d: output size must be >= 1, got ", out_h, "x",
             out_w);
  KILN_CHECK(x_in.size(2) >= 1 && x_in.size(3) >= 1, "adaptive_avg_pool2d: empty spatial input ",
             shape_str(x_in.shape()));
  const Tensor x = x_in.detach().contiguous();
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  if (y.numel() > 0)
    dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&]<typename T>() {
      KILN_ON_DEVICE(x.device(), adaptive_avg_pool2d_forward<T>)
      (planes, h, w, out_h, out_w, x.data<T>(), y.data<T>());
    });
  return record("adaptive_avg_pool2d", y, {x_in},
                [planes, h, w, out_h, out_w, in_shape = x.shape()](const Tensor& g_in) {
                  const Tensor g = g_in.contiguous();
                  Tensor dx = Tensor::empty(in_shape, g.dtype(), g.device());
                  if (dx.numel() > 0)
                    dispatch_floating(g.dtype(), "adaptive_avg_pool2d backward", [&]<typename T>() {
                      KILN_ON_DEVICE(g.device(), adaptive_avg_pool2d_backward<T>)
                      (planes, h, w, out_h, out_w, g.data<T>(), dx.data<T>());
                    });
                  return std::vector<Tensor>{dx};
                });
}

}  // namespace kiln
