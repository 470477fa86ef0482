// conv2d: argument checks, device dispatch and backward (kernels/conv2d.h).
#include <atomic>
#include <type_traits>

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/nn.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "core/ops/conv2d_cpu.h"
#include "kernels/conv2d.h"

namespace kiln {

using namespace ops_detail;

namespace {
std::atomic<ConvMath> g_conv_math{ConvMath::TF32};

[[maybe_unused]] kernels::ConvPrecision cuda_precision() {
  return conv_math() == ConvMath::TF32 ? kernels::ConvPrecision::TF32 : kernels::ConvPrecision::FP32;
}

void check_cuda_float(const Tensor& t, const char* op) {
  KILN_CHECK(!t.is_cuda() || t.dtype() == DType::Float32, op,
             ": CUDA convolutions take float32 tensors, got ", dtype_name(t.dtype()));
}
}  // namespace

void set_conv_math(ConvMath math) { g_conv_math = math; }
ConvMath conv_math() { return g_conv_math; }

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, int64_t stride, int64_t padding) {
  check_same_device_dtype(x_in, w_in, "conv2d");
  check_floating(x_in, "conv2d");
  check_cuda_float(x_in, "conv2d");
  KILN_CHECK(x_in.dim() == 4, "conv2d: input must be [N, C, H, W], got ", shape_str(x_in.shape()));
  KILN_CHECK(w_in.dim() == 4, "conv2d: weight must be [K, C, R, S], got ", shape_str(w_in.shape()));
  KILN_CHECK(w_in.size(1) == x_in.size(1), "conv2d: input has ", x_in.size(1),
             " channels but weight expects ", w_in.size(1), " (weight ", shape_str(w_in.shape()), ")");
  KILN_CHECK(stride >= 1 && padding >= 0, "conv2d: stride must be >= 1 and padding >= 0, got ", stride,
             " and ", padding);
  if (b_in.defined()) {
    check_same_device_dtype(x_in, b_in, "conv2d");
    KILN_CHECK(b_in.dim() == 1 && b_in.size(0) == w_in.size(0), "conv2d: bias must be [", w_in.size(0),
               "], got ", shape_str(b_in.shape()));
  }
  kernels::Conv2dShape s;
  s.n = x_in.size(0);
  s.c = x_in.size(1);
  s.h = x_in.size(2);
  s.w = x_in.size(3);
  s.k = w_in.size(0);
  s.r = w_in.size(2);
  s.s = w_in.size(3);
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = padding;
  KILN_CHECK(s.h + 2 * padding >= s.r && s.w + 2 * padding >= s.s, "conv2d: kernel ", s.r, "x", s.s,
             " is larger than the padded input ", s.h + 2 * padding, "x", s.w + 2 * padding);
  const Tensor x = x_in.detach().contiguous(), w = w_in.detach().contiguous();
  const Tensor b = b_in.defined() ? b_in.detach().contiguous() : Tensor();
  Tensor y = Tensor::empty({s.n, s.k, s.p(), s.q()}, x.dtype(), x.device());
  if (y.numel() > 0) {
    dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
      const T* pb = b.defined() ? b.data<T>() : nullptr;
      if (x.is_cuda()) {
        if constexpr (std::is_same_v<T, float>)
          KILN_ON_CUDA(kernels::cuda::conv2d_forward(s, x.data<float>(), w.data<float>(), pb, y.data<float>(),
                                                     cuda_precision()));
      } else {
        conv2d_forward_cpu<T>(s, x.data<T>(), w.data<T>(), pb, y.data<T>());
      }
    });
  }
  const bool need_x = x_in.requires_grad(), need_w = w_in.requires_grad(),
             need_b = b_in.defined() && b_in.requires_grad();
  return record("conv2d", y, {x_in, w_in, b_in}, [s, x, w, need_x, need_w, need_b](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx, dw, db;
    if (need_x) dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (need_w) dw = Tensor::empty(w.shape(), w.dtype(), w.device());
    if (need_b) db = Tensor::empty({s.k}, w.dtype(), w.device());
    dispatch_floating(x.dtype(), "conv2d backward", [&]<typename T>() {
      T* pdb = db.defined() ? db.data<T>() : nullptr;
      if (x.is_cuda()) {
        if constexpr (std::is_same_v<T, float>) {
          if (need_x)
            KILN_ON_CUDA(kernels::cuda::conv2d_backward_input(s, g.data<float>(), w.data<float>(),
                                                              dx.data<float>(), cuda_precision()));
          if (need_w || need_b) {
            // The weight kernel always produces dweight; use a scratch buffer if only dbias is wanted.
            Tensor dw_buf = dw.defined() ? dw : Tensor::empty(w.shape(), w.dtype(), w.device());
            KILN_ON_CUDA(kernels::cuda::conv2d_backward_weight(s, x.data<float>(), g.data<float>(),
                                                               dw_buf.data<float>(), pdb, cuda_precision()));
          }
        }
      } else {
        if (need_x) conv2d_backward_input_cpu<T>(s, g.data<T>(), w.data<T>(), dx.data<T>());
        if (need_w || need_b) {
          Tensor dw_buf = dw.defined() ? dw : Tensor::empty(w.shape(), w.dtype(), w.device());
          conv2d_backward_weight_cpu<T>(s, x.data<T>(), g.data<T>(), dw_buf.data<T>(), pdb);
        }
      }
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace kiln
