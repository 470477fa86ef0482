// Cross-entropy against its formulas: plain, class-weighted (PyTorch's sum w_y l / sum w_y),
// label smoothing in PyTorch's ((1-a) y + a/K) and the tutorial's ((1-a), a/(K-1)) conventions,
// every reduction, the gradient checker, bad labels, and CUDA against the CPU.
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops.h"
#include "losses/losses.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::random_normal;

// Per-sample -sum_k q_k log softmax(z)_k for an explicit target distribution q.
double soft_ce(const std::vector<double>& z, const std::vector<double>& q) {
  double mx = z[0];
  for (double v : z) mx = std::max(mx, v);
  double se = 0;
  for (double v : z) se += std::exp(v - mx);
  const double lse = mx + std::log(se);
  double l = 0;
  for (size_t k = 0; k < z.size(); ++k) l -= q[k] * (z[k] - lse);
  return l;
}

std::vector<double> row(const std::vector<double>& m, int64_t i, int64_t c) {
  return {m.begin() + i * c, m.begin() + (i + 1) * c};
}

TEST(CrossEntropy, TutorialSmoothingTargetIsPointNineAndPointZeroFive) {
  // K = 3, alpha = 0.1: the tutorial's targets are 0.9 on the true class, 0.05 elsewhere.
  const Tensor z = Tensor::from_vector<double>({2.0, -1.0, 0.5}, {1, 3});
  const Tensor y = Tensor::from_vector<int64_t>({0}, {1});
  CrossEntropyOptions opt;
  opt.label_smoothing = 0.1;
  opt.convention = LabelSmoothing::Tutorial;
  EXPECT_NEAR(cross_entropy(z, y, opt).item<double>(), soft_ce({2.0, -1.0, 0.5}, {0.9, 0.05, 0.05}), 1e-14);
  opt.convention = LabelSmoothing::PyTorch;  // (1-a) + a/K = 0.9333..., a/K = 0.0333...
  EXPECT_NEAR(cross_entropy(z, y, opt).item<double>(),
              soft_ce({2.0, -1.0, 0.5}, {0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3}), 1e-14);
}

TEST(CrossEntropy, WeightedMeanFollowsPyTorch) {
  // The class weights of the tutorial's weighted-loss example: w_c = 1 - n_c / sum(n).
  const std::vector<double> counts = {40, 45, 30, 62, 70, 153, 395, 46, 75, 194};
  double total = 0;
  for (double c : counts) total += c;
  std::vector<double> w;
  for (double c : counts) w.push_back(1 - c / total);
  const int64_t n = 37, c = 10;
  const Tensor z = random_normal({n, c}, 1);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back((i * 7) % c);
  const Tensor y = Tensor::from_vector(labels, {n});
  const auto vz = z.to_vector<double>();
  for (double a : {0.0, 0.2}) {
    CrossEntropyOptions opt;
    opt.class_weights = Tensor::from_vector(w, {c});
    opt.label_smoothing = a;
    // PyTorch: (1-a) * nll_weighted + a/C * sum_k w_k (-logp_k), mean divides by sum w_y.
    double num = 0, den = 0;
    std::vector<double> per_sample;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<double> q(c, 0.0);
      for (int64_t k = 0; k < c; ++k) q[k] = a / c * w[k];
      q[labels[i]] += (1 - a) * w[labels[i]];
      const double l = soft_ce(row(vz, i, c), q);
      per_sample.push_back(l);
      num += l;
      den += w[labels[i]];
    }
    EXPECT_NEAR(cross_entropy(z, y, opt).item<double>(), num / den, 1e-12) << "a = " << a;
    opt.reduction = Reduction::Sum;
    EXPECT_NEAR(cross_entropy(z, y, opt).item<double>(), num, 1e-11);
    opt.reduction = Reduction::None;
    EXPECT_TRUE(all_close(cross_entropy(z, y, opt), per_sample, 1e-12, 0));
  }
}

TEST(CrossEntropy, GradientCheckEveryConvention) {
  const auto z = random_normal({5, 4}, 2).set_requires_grad(true);
  const Tensor y = Tensor::from_vector<int64_t>({0, 3, 1, 3, 2}, {5});
  const Tensor w = Tensor::from_vector<double>({0.5, 1.0, 2.0, 0.25}, {4});
  for (LabelSmoothing conv : {LabelSmoothing::PyTorch, LabelSmoothing::Tutorial})
    for (Reduction red : {Reduction::Mean, Reduction::Sum, Reduction::None})
      for (bool weighted : {false, true}) {
        CrossEntropyOptions opt;
        opt.label_smoothing = 0.15;
        opt.convention = conv;
        opt.reduction = red;
        if (weighted) opt.class_weights = w;
        EXPECT_TRUE(testing::gradcheck([&](const auto& v) { return cross_entropy(v[0], y, opt); }, {z}))
            << int(conv) << " " << int(red) << " " << weighted;
      }
}

TEST(CrossEntropy, ExtremeLogitsStayFinite) {
  const Tensor z = Tensor::from_vector<float>({1000.f, -1000.f, 0.f, 88.f, 89.f, -5000.f}, {2, 3});
  const Tensor y = Tensor::from_vector<int64_t>({1, 0}, {2});
  const double l = cross_entropy(z, y).item<double>();
  EXPECT_TRUE(std::isfinite(l));
  EXPECT_NEAR(l, (2000.0 + (std::log(1 + std::exp(1.0)) + 0.0)) / 2, 1e-3);
}

TEST(CrossEntropy, LabelOutOfRangeIsAnError) {
  const Tensor z = Tensor::zeros({2, 3});
  EXPECT_THROW(cross_entropy(z, Tensor::from_vector<int64_t>({0, 3}, {2})), Error);
  EXPECT_THROW(cross_entropy(z, Tensor::from_vector<int64_t>({-1, 0}, {2})), Error);
  EXPECT_THROW(cross_entropy(z, Tensor::from_vector<int64_t>({0}, {1})), Error);  // count mismatch
  CrossEntropyOptions opt;
  opt.class_weights = Tensor::ones({4});
  EXPECT_THROW(cross_entropy(z, Tensor::from_vector<int64_t>({0, 1}, {2}), opt), Error);
}

TEST(CrossEntropy, CudaMatchesCpu) {
  KILN_REQUIRE_CUDA();
  for (int64_t c : {10, 1000}) {  // thread-per-row and wider-row kernels
    const int64_t n = 777;
    const Tensor z = random_normal({n, c}, 3, DType::Float32);
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < n; ++i) labels.push_back((i * 31) % c);
    const Tensor y = Tensor::from_vector(labels, {n});
    CrossEntropyOptions opt;
    opt.label_smoothing = 0.1;
    opt.class_weights = testing::random_uniform({c}, 4, 0.5, 2.0, DType::Float32);
    for (LabelSmoothing conv : {LabelSmoothing::PyTorch, LabelSmoothing::Tutorial}) {
      opt.convention = conv;
      Tensor zc = z.clone().set_requires_grad(true);
      const Tensor lc = cross_entropy(zc, y, opt);
      lc.backward();
      CrossEntropyOptions og = opt;
      og.class_weights = opt.class_weights.to(Device::cuda());
      Tensor zg = z.to(Device::cuda()).set_requires_grad(true);
      const Tensor lg = cross_entropy(zg, y.to(Device::cuda()), og);
      lg.backward();
      // float32 log-sum-exp over C terms: ~1e-6 relative per row; the mean over rows adds
      // a tree-order difference of the same size.
      EXPECT_TRUE(all_close(lg, lc, 1e-5, 1e-5));
      EXPECT_TRUE(all_close(zg.grad(), zc.grad(), 1e-7, 1e-4));
    }
  }
}

}  // namespace
}  // namespace kiln
