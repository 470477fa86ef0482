// Convolution against a direct float64 loop over the definition (forward, input gradient,
// weight and bias gradients), through the gradient checker, and CUDA against the CPU at
// every layer shape of the source's models plus odd shapes. The CUDA kernels' operand
// gathers (kernels/conv2d_gemm_ops.h) are also run here on the host, as implicit GEMMs in
// float64, against the same direct loop: their index math is checked without a GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "core/nn.h"
#include "core/ops.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_gemm_ops.h"
#include "tests/support/conv2d_reference.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using kernels::Conv2dShape;
using testing::all_close;
using testing::ConvCase;
using testing::ConvReference;
using testing::direct_conv;
using testing::random_normal;
using testing::shape_of;

// Every convolution of the source's ResNet-18 at 32x32 input (after the 3x3/s2 max-pool the
// stages run at 16, 8, 4, 2), the MNIST Net, and shapes that stress edges.
const ConvCase kCases[] = {
    {"resnet_stem", 2, 3, 32, 32, 64, 3, 1, 1},          {"resnet_layer1", 2, 64, 16, 16, 64, 3, 1, 1},
    {"resnet_layer2_down", 2, 64, 16, 16, 128, 3, 2, 1}, {"resnet_layer2_1x1", 2, 64, 16, 16, 128, 1, 2, 0},
    {"resnet_layer2", 2, 128, 8, 8, 128, 3, 1, 1},       {"resnet_layer3_down", 2, 128, 8, 8, 256, 3, 2, 1},
    {"resnet_layer3_1x1", 2, 128, 8, 8, 256, 1, 2, 0},   {"resnet_layer3", 2, 256, 4, 4, 256, 3, 1, 1},
    {"resnet_layer4_down", 2, 256, 4, 4, 512, 3, 2, 1},  {"resnet_layer4_1x1", 2, 256, 4, 4, 512, 1, 2, 0},
    {"resnet_layer4", 2, 512, 2, 2, 512, 3, 1, 1},       {"mnist_conv1", 3, 1, 28, 28, 64, 3, 1, 0},
    {"mnist_conv2", 3, 64, 13, 13, 192, 3, 1, 1},        {"odd_channels", 3, 5, 7, 9, 11, 3, 2, 1},
    {"one_by_one_spatial", 4, 13, 1, 1, 7, 1, 1, 0},     {"batch_one_5x5", 1, 3, 11, 10, 6, 5, 1, 2},
    {"kernel_equals_input", 2, 4, 3, 3, 5, 3, 1, 0},
};

// Magnitude-aware tolerance for float32 sums of `terms` products of unit-variance values:
// the float rounding error of a dot product grows like sqrt(terms) * 2^-24 * |typical
// partial sum|; 2e-6 * terms covers blocked GEMM orders with a wide margin.
double fp32_atol(int64_t terms) { return 2e-6 * std::sqrt(static_cast<double>(terms)) * 4; }

class Conv2dCpu : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dCpu, MatchesDirectLoopInFloat32AndFloat64) {
  const Conv2dShape s = shape_of(GetParam());
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = random_normal({s.n, s.c, s.h, s.w}, 1, dt),
                 w = random_normal({s.k, s.c, s.r, s.s}, 2, dt);
    const Tensor b = random_normal({s.k}, 3, dt), dy = random_normal({s.n, s.k, s.p(), s.q()}, 4, dt);
    const ConvReference ref = direct_conv(s, x.to_vector<double>(), w.to_vector<double>(),
                                          b.to_vector<double>(), dy.to_vector<double>());
    const double tol_fwd = dt == DType::Float32 ? fp32_atol(s.c * s.r * s.s) : 1e-10;
    const double tol_w = dt == DType::Float32 ? fp32_atol(s.n * s.p() * s.q()) : 1e-10;
    const double tol_x = dt == DType::Float32 ? fp32_atol(s.k * s.r * s.s) : 1e-10;
    Tensor xg = x.clone().set_requires_grad(true), wg = w.clone().set_requires_grad(true),
           bg = b.clone().set_requires_grad(true);
    const Tensor y = conv2d(xg, wg, bg, s.stride_h, s.pad_h);
    ASSERT_EQ(y.shape(), (Shape{s.n, s.k, s.p(), s.q()}));
    EXPECT_TRUE(all_close(y, ref.y, tol_fwd, 1e-6)) << dtype_name(dt);
    y.backward(dy);
    EXPECT_TRUE(all_close(xg.grad(), ref.dx, tol_x, 1e-6)) << dtype_name(dt);
    EXPECT_TRUE(all_close(wg.grad(), ref.dw, tol_w, 1e-6)) << dtype_name(dt);
    EXPECT_TRUE(all_close(bg.grad(), ref.db, tol_w, 1e-6)) << dtype_name(dt);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2dCpu, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Conv2d, GradientCheckInFloat64) {
  const auto x = random_normal({2, 3, 5, 6}, 10).set_requires_grad(true);
  const auto w = random_normal({4, 3, 3, 3}, 11).set_requires_grad(true);
  const auto b = random_normal({4}, 12).set_requires_grad(true);
  for (int64_t stride : {1, 2})
    for (int64_t pad : {0, 1})
      EXPECT_TRUE(
          testing::gradcheck([&](const auto& v) { return conv2d(v[0], v[1], v[2], stride, pad); }, {x, w, b}))
          << "stride " << stride << " pad " << pad;
  EXPECT_TRUE(testing::gradcheck([](const auto& v) { return conv2d(v[0], v[1], Tensor(), 1, 0); }, {x, w}));
}

TEST(Conv2d, KernelsAssignTheirOutputs) {
  // Output and gradient buffers pre-filled with NaN: an accumulating kernel would keep NaN.
  const Conv2dShape s = shape_of(kCases[13]);
  const auto x = random_normal({s.n, s.c, s.h, s.w}, 20, DType::Float32).to_vector<float>();
  const auto w = random_normal({s.k, s.c, s.r, s.s}, 21, DType::Float32).to_vector<float>();
  const auto dy = random_normal({s.n, s.k, s.p(), s.q()}, 22, DType::Float32).to_vector<float>();
  const float nan = std::nanf("");
  std::vector<float> y(s.n * s.k * s.p() * s.q(), nan), dx(x.size(), nan), dw(w.size(), nan), db(s.k, nan);
  kernels::cpu::conv2d_forward<float>(s, x.data(), w.data(), nullptr, y.data());
  kernels::cpu::conv2d_backward_input<float>(s, dy.data(), w.data(), dx.data());
  kernels::cpu::conv2d_backward_weight<float>(s, x.data(), dy.data(), dw.data(), db.data());
  for (float v : y) ASSERT_TRUE(std::isfinite(v));
  for (float v : dx) ASSERT_TRUE(std::isfinite(v));
  for (float v : dw) ASSERT_TRUE(std::isfinite(v));
  for (float v : db) ASSERT_TRUE(std::isfinite(v));
}

TEST(Conv2d, EmptyBatchGivesZeroWeightGradient) {
  // An empty batch contributes nothing: dweight and dbias are assigned zeros (and a GEMM with
  // an empty reduction must not divide by its size).
  Conv2dShape s = shape_of(kCases[13]);
  s.n = 0;
  std::vector<float> dw(s.k * s.c * s.r * s.s, std::nanf("")), db(s.k, std::nanf(""));
  kernels::cpu::conv2d_backward_weight<float>(s, nullptr, nullptr, dw.data(), db.data());
  for (float v : dw) ASSERT_EQ(v, 0.0f);
  for (float v : db) ASSERT_EQ(v, 0.0f);
#if KILN_HAS_CUDA
  if (cuda_available()) {
    Tensor gw = Tensor::full({s.k, s.c, s.r, s.s}, std::nan(""), DType::Float32, Device::cuda());
    Tensor gb = Tensor::full({s.k}, std::nan(""), DType::Float32, Device::cuda());
    const Tensor none = Tensor::empty({0}, DType::Float32, Device::cuda());
    kernels::cuda::conv2d_backward_weight(s, none.data<float>(), none.data<float>(), gw.data<float>(),
                                          gb.data<float>(), kernels::ConvPrecision::TF32);
    EXPECT_TRUE(testing::all_close(gw, std::vector<double>(gw.numel(), 0.0), 0, 0));
    EXPECT_TRUE(testing::all_close(gb, std::vector<double>(gb.numel(), 0.0), 0, 0));
  }
#endif
}

TEST(Conv2d, BadArgumentsAreErrors) {
  const Tensor x = Tensor::zeros({1, 3, 8, 8}), w = Tensor::zeros({4, 3, 3, 3});
  EXPECT_THROW(conv2d(x, Tensor::zeros({4, 2, 3, 3}), Tensor()), Error);  // channel mismatch
  EXPECT_THROW(conv2d(x.reshape({3, 8, 8}), w, Tensor()), Error);         // not 4-d
  EXPECT_THROW(conv2d(x, w, Tensor::zeros({5})), Error);                  // bias size
  EXPECT_THROW(conv2d(x, w, Tensor(), 0), Error);                         // stride 0
  EXPECT_THROW(conv2d(Tensor::zeros({1, 3, 2, 2}), w, Tensor()), Error);  // kernel > input
}

// The implicit GEMM C[m][n] = sum_k A[m][k] B[k][n] in float64, with A and B gathered by the
// CUDA kernels' operand functions exactly as the kernel calls them (row/column context once,
// tap per k), then written by the op's epilogue.
template <class Op>
void host_implicit_gemm(const Op& op) {
  std::vector<typename Op::Col> cols;
  for (int64_t n = 0; n < op.N; ++n) cols.push_back(op.b_col(static_cast<uint32_t>(n)));
  for (int64_t m = 0; m < op.M; ++m) {
    const typename Op::Row row = op.a_row(static_cast<uint32_t>(m));
    std::vector<double> acc(op.N, 0.0);
    for (int64_t k = 0; k < op.K; ++k) {
      const double a = op.a(row, op.a_tap(static_cast<uint32_t>(k)));
      if (a == 0.0) continue;
      const typename Op::BTap tap = op.b_tap(static_cast<uint32_t>(k));
      for (int64_t n = 0; n < op.N; ++n) acc[n] += a * op.b(cols[n], tap);
    }
    for (int64_t n = 0; n < op.N; ++n)
      op.store(static_cast<uint32_t>(m), static_cast<uint32_t>(n), static_cast<float>(acc[n]));
  }
}

// Beyond kCases: unequal strides, paddings and kernel sides, where swapped indices show.
std::vector<Conv2dShape> gemm_index_shapes() {
  std::vector<Conv2dShape> shapes;
  for (const ConvCase& c : kCases) shapes.push_back(shape_of(c));
  auto add = [&](int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s, int64_t sh,
                 int64_t sw, int64_t ph, int64_t pw) {
    Conv2dShape g;
    g.n = n, g.c = c, g.h = h, g.w = w, g.k = k, g.r = r, g.s = s;
    g.stride_h = sh, g.stride_w = sw, g.pad_h = ph, g.pad_w = pw;
    shapes.push_back(g);
  };
  add(2, 3, 7, 5, 4, 3, 2, 2, 1, 1, 0);
  add(3, 2, 9, 11, 5, 5, 3, 1, 3, 2, 1);
  add(1, 4, 6, 13, 3, 2, 5, 3, 2, 0, 2);
  add(2, 1, 5, 5, 2, 1, 1, 2, 2, 0, 0);
  return shapes;
}

TEST(Conv2dGemmOps, IndexMathMatchesDirectConvolution) {
  for (const Conv2dShape& s : gemm_index_shapes()) {
    SCOPED_TRACE(::testing::Message() << "N=" << s.n << " C=" << s.c << " H=" << s.h << " W=" << s.w << " K="
                                      << s.k << " R=" << s.r << " S=" << s.s << " stride=" << s.stride_h
                                      << "x" << s.stride_w << " pad=" << s.pad_h << "x" << s.pad_w);
    ASSERT_TRUE(kernels::conv_gemm::Geometry::fits(s));
    const auto x = random_normal({s.n, s.c, s.h, s.w}, 50, DType::Float32).to_vector<float>();
    const auto w = random_normal({s.k, s.c, s.r, s.s}, 51, DType::Float32).to_vector<float>();
    const auto b = random_normal({s.k}, 52, DType::Float32).to_vector<float>();
    const auto dy = random_normal({s.n, s.k, s.p(), s.q()}, 53, DType::Float32).to_vector<float>();
    const auto widen = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
    const ConvReference ref = direct_conv(s, widen(x), widen(w), widen(b), widen(dy));
    const float nan = std::nanf("");
    std::vector<float> y(ref.y.size(), nan), dx(x.size(), nan), dw(w.size(), nan);
    host_implicit_gemm(kernels::conv_gemm::forward_op(s, x.data(), w.data(), b.data(), y.data()));
    host_implicit_gemm(kernels::conv_gemm::backward_input_op(s, dy.data(), w.data(), dx.data()));
    host_implicit_gemm(kernels::conv_gemm::backward_weight_op(s, x.data(), dy.data(), dw.data()));
    // Sums in float64 from the same float inputs: only the final rounding to float differs.
    auto expect_close = [](const std::vector<float>& got, const std::vector<double>& want, const char* what) {
      ASSERT_EQ(got.size(), want.size()) << what;
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << what << " element " << i;
    };
    expect_close(y, ref.y, "y");
    expect_close(dx, ref.dx, "dx");
    expect_close(dw, ref.dw, "dw");
  }
}

TEST(Conv2dGemmOps, ShapesBeyond32BitIndexingAreRefused) {
  Conv2dShape s;
  s.n = 1, s.c = 1 << 16, s.h = 1 << 8, s.w = 1 << 8, s.k = 1,
  s.r = s.s = 1;  // 2^32 input elements per image
  EXPECT_FALSE(kernels::conv_gemm::Geometry::fits(s));
  s.c = 1 << 14;  // 2^30: fits
  EXPECT_TRUE(kernels::conv_gemm::Geometry::fits(s));
}

class Conv2dCuda : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dCuda, MatchesCpuInExactAndTf32Modes) {
  KILN_REQUIRE_CUDA();
  const Conv2dShape s = shape_of(GetParam());
  const Tensor x = random_normal({s.n, s.c, s.h, s.w}, 30, DType::Float32);
  const Tensor w = random_normal({s.k, s.c, s.r, s.s}, 31, DType::Float32);
  const Tensor b = random_normal({s.k}, 32, DType::Float32);
  const Tensor dy = random_normal({s.n, s.k, s.p(), s.q()}, 33, DType::Float32);
  auto run = [&](Device dev) {
    Tensor xg = x.to(dev).set_requires_grad(true), wg = w.to(dev).set_requires_grad(true),
           bg = b.to(dev).set_requires_grad(true);
    Tensor y = conv2d(xg, wg, bg, s.stride_h, s.pad_h);
    y.backward(dy.to(dev));
    return std::vector<Tensor>{y, xg.grad(), wg.grad(), bg.grad()};
  };
  const auto cpu = run(Device::cpu());
  for (ConvMath math : {ConvMath::FP32, ConvMath::TF32}) {
    set_conv_math(math);
    const auto gpu = run(Device::cuda());
    set_conv_math(ConvMath::TF32);
    // FP32: only summation order differs (fp32_atol). TF32 rounds operands to 10-bit
    // mantissas (relative error 2^-11 each), so a K-term dot product of unit values is off by
    // about sqrt(K) * 2^-11 ~ 5e-4 * sqrt(K): 2e-3 * sqrt(K) bounds it.
    const int64_t terms[] = {s.c * s.r * s.s, s.k * s.r * s.s, s.n * s.p() * s.q(), s.n * s.p() * s.q()};
    const char* what[] = {"y", "dx", "dw", "db"};
    for (int i = 0; i < 4; ++i) {
      const double atol =
          math == ConvMath::FP32 || i == 3 ? fp32_atol(terms[i]) : 2e-3 * std::sqrt(double(terms[i]));
      EXPECT_TRUE(all_close(gpu[i], cpu[i], atol, 1e-5))
          << what[i] << (math == ConvMath::FP32 ? " fp32" : " tf32");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2dCuda, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kiln

#if KILN_HAS_CUDA
namespace kiln {
namespace {
TEST(Conv2dCudaKernels, AssignTheirOutputs) {
  KILN_REQUIRE_CUDA();
  const Conv2dShape s = shape_of(kCases[13]);
  const Tensor x = testing::random_normal({s.n, s.c, s.h, s.w}, 40, DType::Float32, Device::cuda());
  const Tensor w = testing::random_normal({s.k, s.c, s.r, s.s}, 41, DType::Float32, Device::cuda());
  const Tensor dy = testing::random_normal({s.n, s.k, s.p(), s.q()}, 42, DType::Float32, Device::cuda());
  const double nan = std::nan("");
  for (auto precision : {kernels::ConvPrecision::FP32, kernels::ConvPrecision::TF32}) {
    Tensor y = Tensor::full({s.n, s.k, s.p(), s.q()}, nan, DType::Float32, Device::cuda());
    Tensor dx = Tensor::full(x.shape(), nan, DType::Float32, Device::cuda());
    Tensor dw = Tensor::full(w.shape(), nan, DType::Float32, Device::cuda());
    Tensor db = Tensor::full({s.k}, nan, DType::Float32, Device::cuda());
    kernels::cuda::conv2d_forward(s, x.data<float>(), w.data<float>(), nullptr, y.data<float>(), precision);
    kernels::cuda::conv2d_backward_input(s, dy.data<float>(), w.data<float>(), dx.data<float>(), precision);
    kernels::cuda::conv2d_backward_weight(s, x.data<float>(), dy.data<float>(), dw.data<float>(),
                                          db.data<float>(), precision);
    EXPECT_TRUE(all_finite(y));
    EXPECT_TRUE(all_finite(dx));
    EXPECT_TRUE(all_finite(dw));
    EXPECT_TRUE(all_finite(db));
  }
}
}  // namespace
}  // namespace kiln
#endif
