// The AVX-512 Adam / AdamW variant (kernels/cpu/optimizer_vectorized.h) against the published
// update rules evaluated in float64, and against the reference loop bit for bit (it promises
// the reference's float operations in the reference's order). Skipped on CPUs without AVX-512F.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/optimizer_vectorized.h"
#include "tests/support/helpers.h"
#include "tests/support/optimizer_reference.h"

namespace kiln {
namespace {

using kernels::OptimizerHyper;
using kernels::OptimizerKind;
using kernels::ParamSlot;

std::vector<OptimizerHyper> adam_configurations() {
  OptimizerHyper adam;
  OptimizerHyper adam_wd = adam;
  adam_wd.weight_decay = 1e-2;
  OptimizerHyper adamw = adam_wd;
  adamw.kind = OptimizerKind::AdamW;
  return {adam, adam_wd, adamw};
}

// Sizes around the 16-lane vectors and the 16K-element chunks the variant splits work into.
const std::vector<int64_t> kSizes = {1, 15, 16, 17, 16383, 16384, 16385, 40001};
const int kSteps = 4;

struct Params {
  std::vector<std::vector<float>> p, g, m, v;
  std::vector<ParamSlot<float>> slots() {
    std::vector<ParamSlot<float>> out;
    for (size_t i = 0; i < p.size(); ++i)
      out.push_back({p[i].data(), g[i].data(), m[i].data(), v[i].data(), int64_t(p[i].size())});
    return out;
  }
};

std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

Params start() {
  Params s;
  for (size_t i = 0; i < kSizes.size(); ++i) {
    s.p.push_back(to_float(testing::random_normal({kSizes[i]}, 10 + i).to_vector<double>()));
    s.g.emplace_back(kSizes[i]);
    s.m.emplace_back(kSizes[i], 0.0f);
    s.v.emplace_back(kSizes[i], 0.0f);
  }
  return s;
}

// Gradients of very different scales per step (1e-4 .. 1e2), so v spans many binades.
std::vector<float> gradient(size_t i, int t) {
  auto g = to_float(testing::random_normal({kSizes[i]}, 100 + 10 * i + t).to_vector<double>());
  const float scale = std::pow(10.0f, float(t % 4) * 2 - 4);
  for (float& x : g) x *= scale;
  return g;
}

TEST(OptimizerVectorized, SupportsOnlyAdamFamily) {
  OptimizerHyper sgd;
  sgd.kind = OptimizerKind::SGD;
  EXPECT_FALSE(kernels::cpu::optimizer_vectorized_supports(sgd));
}

TEST(OptimizerVectorized, MatchesPublishedRulesInFloat64) {
  for (const OptimizerHyper& h : adam_configurations()) {
    if (!kernels::cpu::optimizer_vectorized_supports(h)) GTEST_SKIP() << "no AVX-512F on this CPU";
    Params s = start();
    std::vector<std::vector<double>> p0;
    std::vector<std::vector<std::vector<double>>> seqs(kSizes.size());
    for (size_t i = 0; i < kSizes.size(); ++i) p0.emplace_back(s.p[i].begin(), s.p[i].end());
    int64_t step = 0;
    const auto slots = s.slots();
    for (int t = 0; t < kSteps; ++t) {
      for (size_t i = 0; i < kSizes.size(); ++i) {
        const std::vector<float> g = gradient(i, t);
        std::copy(g.begin(), g.end(), s.g[i].begin());  // in place: the slots point into s.g
        seqs[i].emplace_back(g.begin(), g.end());
      }
      kernels::cpu::optimizer_step_vectorized(h, slots, &step);
    }
    EXPECT_EQ(step, kSteps);
    for (size_t i = 0; i < kSizes.size(); ++i) {
      // float32 state, a few roundings per step: ~1e-6 relative to the float64 rule.
      const std::vector<double> got(s.p[i].begin(), s.p[i].end());
      EXPECT_TRUE(testing::all_close(got, testing::reference(h, p0[i], seqs[i]).p, 1e-6, 1e-5))
          << int(h.kind) << " size " << kSizes[i];
    }
  }
}

TEST(OptimizerVectorized, EqualsReferenceLoopBitForBit) {
  for (const OptimizerHyper& h : adam_configurations()) {
    if (!kernels::cpu::optimizer_vectorized_supports(h)) GTEST_SKIP() << "no AVX-512F on this CPU";
    Params a = start(), b = start();
    int64_t step_a = 0, step_b = 0;
    const auto slots_a = a.slots(), slots_b = b.slots();
    for (int t = 0; t < kSteps; ++t) {
      for (size_t i = 0; i < kSizes.size(); ++i) {
        const std::vector<float> g = gradient(i, t);
        std::copy(g.begin(), g.end(), a.g[i].begin());  // in place: the slots point into a.g, b.g
        std::copy(g.begin(), g.end(), b.g[i].begin());
      }
      kernels::cpu::optimizer_step_vectorized(h, slots_a, &step_a);
      kernels::cpu::optimizer_step<float>(h, slots_b, &step_b);
    }
    EXPECT_EQ(step_a, step_b);
    for (size_t i = 0; i < kSizes.size(); ++i) {
      EXPECT_EQ(0, std::memcmp(a.p[i].data(), b.p[i].data(), a.p[i].size() * sizeof(float))) << kSizes[i];
      EXPECT_EQ(0, std::memcmp(a.m[i].data(), b.m[i].data(), a.m[i].size() * sizeof(float))) << kSizes[i];
      EXPECT_EQ(0, std::memcmp(a.v[i].data(), b.v[i].data(), a.v[i].size() * sizeof(float))) << kSizes[i];
    }
  }
}

}  // namespace
}  // namespace kiln
