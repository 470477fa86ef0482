// dropout / dropout2d: the mask is a pure function of (seed, offset, index), so backward
// recomputes it instead of storing it (kernels/dropout.h).
#include "kernels/dropout.h"
#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/nn.h"
#include "core/ops/common.h"

namespace kiln {

using namespace ops_detail;

namespace {

void apply(const kernels::DropoutArgs& a, const Tensor& x, const Tensor& y) {
  dispatch_floating(x.dtype(), "dropout", [&]<typename T>() {
    KILN_ON_DEVICE(x.device(), dropout_apply<T>)(a, x.data<T>(), y.data<T>());
  });
}

Tensor dropout_impl(const Tensor& x_in, double p, Phase phase, Generator& gen, int64_t group,
                    const char* name) {
  check_defined(x_in, name, "input");
  check_floating(x_in, name);
  KILN_CHECK(p >= 0 && p < 1, name, ": p must be in [0, 1), got ", p);
  if (phase == Phase::Eval || p == 0) return x_in;
  const Tensor x = x_in.detach().contiguous();
  kernels::DropoutArgs a;
  a.numel = x.numel();
  a.group = group;
  a.p = p;
  a.seed = gen.seed();
  a.offset = gen.reserve(x.device());
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (a.numel > 0) apply(a, x, y);
  return record(name, y, {x_in}, [a](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    if (a.numel > 0) apply(a, g, dx);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Tensor dropout(const Tensor& x, double p, Phase phase, Generator& gen) {
  return dropout_impl(x, p, phase, gen, 1, "dropout");
}

Tensor dropout2d(const Tensor& x, double p, Phase phase, Generator& gen) {
  check_defined(x, "dropout2d", "input");
  KILN_CHECK(x.dim() == 2 || x.dim() == 4, "dropout2d: input must be [N, C] or [N, C, H, W], got ",
             shape_str(x.shape()));
  const int64_t group = x.dim() == 4 ? x.size(2) * x.size(3) : 1;
  return dropout_impl(x, p, phase, gen, std::max<int64_t>(group, 1), "dropout2d");
}

}  // namespace kiln
