// The fused optimizer updates against PyTorch's published update rules, evaluated by hand in
// float64 over several steps (torch.optim.SGD / Adam / AdamW documentation), on CPU and CUDA.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/optimizer.h"
#include "tests/support/helpers.h"
#include "tests/support/optimizer_reference.h"
#if KILN_HAS_CUDA
#include <cuda_runtime.h>
#endif

namespace kiln {
namespace {

using kernels::OptimizerHyper;
using kernels::OptimizerKind;
using kernels::ParamSlot;
using testing::Expected;
using testing::reference;

std::vector<OptimizerHyper> configurations() {
  std::vector<OptimizerHyper> out;
  OptimizerHyper adam;  // the source's Adam(lr=1e-3) and its regressor's weight_decay=1e-7
  out.push_back(adam);
  adam.weight_decay = 1e-2;
  out.push_back(adam);
  OptimizerHyper adamw = adam;
  adamw.kind = OptimizerKind::AdamW;
  out.push_back(adamw);
  OptimizerHyper sgd;
  sgd.kind = OptimizerKind::SGD;
  sgd.lr = 0.1;
  out.push_back(sgd);
  sgd.momentum = 0.9;
  sgd.dampening = 0.1;
  sgd.weight_decay = 1e-3;
  out.push_back(sgd);
  sgd.nesterov = true;
  sgd.dampening = 0;
  out.push_back(sgd);
  return out;
}

const int kSteps = 5;

std::vector<std::vector<double>> gradient_sequence(size_t n) {
  std::vector<std::vector<double>> grads;
  for (int t = 0; t < kSteps; ++t)
    grads.push_back(testing::random_normal({int64_t(n)}, 100 + t).to_vector<double>());
  return grads;
}

TEST(Optimizer, CpuMatchesPublishedRules) {
  const auto p0 = testing::random_normal({257}, 1).to_vector<double>();
  const auto q0 = testing::random_normal({3}, 2).to_vector<double>();
  const auto grads_p = gradient_sequence(257), grads_q = gradient_sequence(3);
  for (const OptimizerHyper& h : configurations()) {
    std::vector<double> p = p0, q = q0, m1(257, 0), v1(257, 0), m2(3, 0), v2(3, 0), gp(257), gq(3);
    std::vector<ParamSlot<double>> slots = {{p.data(), gp.data(), m1.data(), v1.data(), 257},
                                            {q.data(), gq.data(), m2.data(), v2.data(), 3}};
    int64_t step = 0;
    for (int t = 0; t < kSteps; ++t) {
      gp = grads_p[t];
      gq = grads_q[t];
      kernels::cpu::optimizer_step(h, slots, &step);
    }
    EXPECT_EQ(step, kSteps);
    const Expected ep = reference(h, p0, grads_p), eq = reference(h, q0, grads_q);
    EXPECT_TRUE(testing::all_close(p, ep.p, 1e-14, 1e-12)) << int(h.kind);
    EXPECT_TRUE(testing::all_close(q, eq.p, 1e-14, 1e-12)) << int(h.kind);
    EXPECT_TRUE(testing::all_close(m1, ep.s0, 1e-14, 1e-12)) << int(h.kind);
    if (h.kind != OptimizerKind::SGD) {
      EXPECT_TRUE(testing::all_close(v1, ep.s1, 1e-14, 1e-12));
    }
  }
}

#if KILN_HAS_CUDA
TEST(Optimizer, CudaFusedUpdateMatchesPublishedRules) {
  KILN_REQUIRE_CUDA();
  // Sizes straddling the 4096-element chunk, so chunk boundaries are exercised.
  const std::vector<int64_t> sizes = {1, 4095, 4096, 4097, 10000};
  for (const OptimizerHyper& h : configurations()) {
    std::vector<Tensor> params, grads, s0, s1;
    std::vector<std::vector<double>> p0;
    std::vector<std::vector<std::vector<double>>> seqs;
    std::vector<ParamSlot<float>> slots;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const Tensor p = testing::random_normal({sizes[i]}, 10 + i, DType::Float32);
      p0.push_back(p.to_vector<double>());
      seqs.push_back(gradient_sequence(sizes[i]));
      params.push_back(p.to(Device::cuda()));
      grads.push_back(Tensor::zeros({sizes[i]}, DType::Float32, Device::cuda()));
      s0.push_back(Tensor::zeros({sizes[i]}, DType::Float32, Device::cuda()));
      s1.push_back(Tensor::zeros({sizes[i]}, DType::Float32, Device::cuda()));
      slots.push_back({params[i].data<float>(), grads[i].data<float>(), s0[i].data<float>(),
                       s1[i].data<float>(), sizes[i]});
    }
    kernels::cuda::MultiTensorTable table(slots);
    Tensor step = Tensor::zeros({1}, DType::Int64, Device::cuda());
    for (int t = 0; t < kSteps; ++t) {
      for (size_t i = 0; i < sizes.size(); ++i)
        grads[i].copy_(Tensor::from_vector(seqs[i][t], {sizes[i]}).to(DType::Float32));
      kernels::cuda::optimizer_step(h, table, step.data<int64_t>());
    }
    EXPECT_EQ(step.item<int64_t>(), kSteps);
    for (size_t i = 0; i < sizes.size(); ++i) {
      // Reference from the float32-rounded start and gradients, in float64: float32 state
      // updates differ by a few ulps per step (and FMA contraction on the GPU).
      std::vector<std::vector<double>> g32;
      for (const auto& g : seqs[i])
        g32.push_back(Tensor::from_vector(g, {sizes[i]}).to(DType::Float32).to_vector<double>());
      const Expected e = reference(h, p0[i], g32);
      EXPECT_TRUE(testing::all_close(params[i], e.p, 1e-6, 1e-5)) << int(h.kind) << " size " << sizes[i];
    }
  }
}
#endif

}  // namespace
}  // namespace kiln
