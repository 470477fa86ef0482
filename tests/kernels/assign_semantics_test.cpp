// Kernels that produce gradients or outputs ASSIGN them (their contracts say so): output
// buffers pre-filled with NaN must come back finite and equal to a run on zero-filled
// buffers. An accumulating kernel would keep the NaN (or add to the zeros), so this proves
// the contract for batch norm, pooling, cross-entropy and dropout on every device.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "core/device_dispatch.h"
#include "core/ops.h"
#include "kernels/batchnorm.h"
#include "kernels/cross_entropy.h"
#include "kernels/dropout.h"
#include "kernels/pooling.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

class AssignSemantics : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override { KILN_SKIP_UNLESS_DEVICE(GetParam()); }
  Tensor normal(const Shape& s, uint64_t seed) const {
    return testing::random_normal(s, seed, DType::Float32, GetParam());
  }
  Tensor filled(const Shape& s, double v) const { return Tensor::full(s, v, DType::Float32, GetParam()); }
  // Runs `kernel` writing into buffers of `shapes`, once pre-filled with NaN and once with 0,
  // and checks both runs give the same finite values.
  void expect_assigns(const std::vector<Shape>& shapes,
                      const std::function<void(std::vector<Tensor>&)>& kernel) {
    std::vector<Tensor> a, b;
    for (const Shape& s : shapes) {
      a.push_back(filled(s, std::numeric_limits<double>::quiet_NaN()));
      b.push_back(filled(s, 0.0));
    }
    kernel(a);
    kernel(b);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(all_finite(a[i])) << "output " << i << " kept a NaN: the kernel does not assign it";
      EXPECT_TRUE(testing::bit_equal(a[i], b[i])) << "output " << i;
    }
  }
};

float* f(const Tensor& t) { return t.data<float>(); }

TEST_P(AssignSemantics, BatchNorm) {
  const kernels::BatchNormShape s{4, 3, 10};
  const Tensor x = normal({4, 3, 10}, 1), dy = normal({4, 3, 10}, 2), g = normal({3}, 3), b = normal({3}, 4);
  expect_assigns({{4, 3, 10}, {3}, {3}, {4, 3, 10}, {3}, {3}}, [&](std::vector<Tensor>& o) {
    // forward: y, mean, invstd; backward: dx, dgamma, dbeta
    KILN_ON_DEVICE(GetParam(), batchnorm_forward_train<float>)
    (s, f(x), f(g), f(b), 1e-5, 0.1, f(o[0]), f(o[1]), f(o[2]), nullptr, nullptr);
    KILN_ON_DEVICE(GetParam(), batchnorm_backward<float>)
    (s, f(dy), f(x), f(g), f(o[1]), f(o[2]), f(o[3]), f(o[4]), f(o[5]));
  });
}

TEST_P(AssignSemantics, Pooling) {
  kernels::Pool2dShape s;
  s.planes = 6;
  s.h = 7;
  s.w = 7;
  s.kh = s.kw = 3;
  s.stride_h = s.stride_w = 2;
  s.pad_h = s.pad_w = 1;
  const Tensor x = normal({6, 7, 7}, 5), dy = normal({6, 4, 4}, 6), dpool = normal({6, 2, 3}, 7);
  Tensor argmax = Tensor::empty({6 * 16 * 4}, DType::UInt8, GetParam());
  int32_t* pa = static_cast<int32_t*>(argmax.raw_data());
  expect_assigns({{6, 4, 4}, {6, 7, 7}, {6, 2, 3}, {6, 7, 7}}, [&](std::vector<Tensor>& o) {
    KILN_ON_DEVICE(GetParam(), max_pool2d_forward<float>)(s, f(x), f(o[0]), pa);
    KILN_ON_DEVICE(GetParam(), max_pool2d_backward<float>)(s, f(dy), pa, f(o[1]));
    KILN_ON_DEVICE(GetParam(), adaptive_avg_pool2d_forward<float>)(6, 7, 7, 2, 3, f(x), f(o[2]));
    KILN_ON_DEVICE(GetParam(), adaptive_avg_pool2d_backward<float>)(6, 7, 7, 2, 3, f(dpool), f(o[3]));
  });
}

TEST_P(AssignSemantics, CrossEntropyAndDropout) {
  kernels::CrossEntropyArgs a;
  a.n = 9;
  a.c = 5;
  a.smoothing = 0.1;
  const Tensor z = normal({9, 5}, 8);
  const Tensor labels = Tensor::from_vector<int64_t>({0, 1, 2, 3, 4, 0, 1, 2, 3}, {9}, GetParam());
  kernels::DropoutArgs d;
  d.numel = 45;
  d.p = 0.3;
  d.seed = 1;
  expect_assigns({{9}, {9, 5}, {9}, {9, 5}}, [&](std::vector<Tensor>& o) {
    const int64_t* pl = labels.data<int64_t>();
    KILN_ON_DEVICE(GetParam(), cross_entropy_forward<float>)(a, f(z), pl, nullptr, f(o[0]), f(o[1]), f(o[2]));
    KILN_ON_DEVICE(GetParam(), dropout_apply<float>)(d, f(z), f(o[3]));
  });
}

INSTANTIATE_TEST_SUITE_P(AllDevices, AssignSemantics, ::testing::Values(Device::cpu(), Device::cuda()),
                         [](const auto& info) { return info.param.is_cpu() ? "cpu" : "cuda"; });

}  // namespace
}  // namespace kiln
