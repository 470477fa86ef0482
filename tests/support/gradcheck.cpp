// The generic float64 gradient checker (see gradcheck.h).
#include "tests/support/gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "tests/support/helpers.h"

namespace kiln::testing {

namespace {
// <f(inputs), v> in float64 without recording.
double projected(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& v) {
  NoGradGuard no_grad;
  const Tensor out = f(inputs);
  const auto o = out.to_vector<double>();
  const auto w = v.to_vector<double>();
  double acc = 0;
  for (size_t i = 0; i < o.size(); ++i) acc += o[i] * w[i];
  return acc;
}
}  // namespace

::testing::AssertionResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs_in,
                                     const GradcheckOptions& opt) {
  for (const Tensor& t : inputs_in)
    if (t.defined() && t.requires_grad() && (t.dtype() != DType::Float64 || !t.device().is_cpu()))
      return ::testing::AssertionFailure() << "gradcheck needs float64 CPU inputs";
  // Fresh leaves so earlier .grad values cannot leak in.
  std::vector<Tensor> inputs;
  for (const Tensor& t : inputs_in) {
    if (!t.defined()) {
      inputs.push_back(t);
      continue;
    }
    Tensor leaf = t.detach().clone();
    if (t.requires_grad()) leaf.set_requires_grad(true);
    inputs.push_back(leaf);
  }

  const Tensor out = f(inputs);
  if (!out.requires_grad()) return ::testing::AssertionFailure() << "output does not require grad";
  const Tensor v = random_normal(out.shape(), opt.seed, DType::Float64);
  out.backward(v);

  std::ostringstream failures;
  int bad = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    if (!x.grad().defined()) return ::testing::AssertionFailure() << "input " << k << " received no gradient";
    const auto analytic = x.grad().to_vector<double>();
    double* px = x.data<double>();
    if (!x.is_contiguous()) return ::testing::AssertionFailure() << "input " << k << " must be contiguous";
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double orig = px[j];
      if (opt.kink && std::fabs(orig - *opt.kink) < opt.kink_range) continue;
      px[j] = orig + opt.eps;
      const double plus = projected(f, inputs, v);
      px[j] = orig - opt.eps;
      const double minus = projected(f, inputs, v);
      px[j] = orig;
      const double numeric = (plus - minus) / (2 * opt.eps);
      const double err = std::fabs(numeric - analytic[j]);
      if (!(err <= opt.atol + opt.rtol * std::fabs(numeric))) {
        if (bad < 5)
          failures << "\n  input " << k << " element " << j << ": numeric " << numeric << ", analytic "
                   << analytic[j];
        ++bad;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " gradient element(s) disagree" << failures.str();
}

}  // namespace kiln::testing
