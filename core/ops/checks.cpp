// Finite-value checks and comparisons used by anomaly detection, trainers and tests.
#include <cmath>

#include "core/device_dispatch.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"
#include "kernels/reduce.h"

namespace kiln {

bool all_finite(const Tensor& a_in) {
  ops_detail::check_defined(a_in, "all_finite", "input");
  if (a_in.dtype() != DType::Float32 && a_in.dtype() != DType::Float64) return true;
  const Tensor a = a_in.detach().contiguous();
  int64_t bad = 0;
  dispatch_floating(a.dtype(), "all_finite", [&]<typename T>() {
    bad = KILN_ON_DEVICE(a.device(), count_nonfinite<T>)(a.data<T>(), a.numel());
  });
  return bad == 0;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  KILN_CHECK(a.shape() == b.shape(), "max_abs_diff: shapes differ: ", shape_str(a.shape()), " vs ",
             shape_str(b.shape()));
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double d = std::fabs(va[i] - vb[i]);
    if (std::isnan(d)) return d;
    worst = std::max(worst, d);
  }
  return worst;
}

}  // namespace kiln
