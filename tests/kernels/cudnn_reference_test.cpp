// kiln's CUDA convolution and batch norm against cuDNN's, on the same data: the convolution's
// forward, input and weight (and bias) gradients in exact FP32 (cuDNN held to FMA kernels) and
// in TF32, and batch norm's training forward, evaluation forward and backward, over shapes
// drawn from a fixed seed (strides 1 and 2, padding 0-2, odd and non-square sizes, 1x1, 3x3,
// 5x3 kernels, channel counts that are not multiples of 8, batch 1 and more). Built when
// cuDNN's headers are found; the GPU tests skip without a GPU and fail if cuDNN cannot load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <sstream>

#include "bench/cudnn_baseline.h"
#include "core/tensor.h"
#include "kernels/batchnorm.h"
#include "kernels/conv2d.h"
#include "tests/support/helpers.h"

namespace kiln::kernels {
// How gtest prints a shape parameter (instead of its bytes).
static void PrintTo(const Conv2dShape& s, std::ostream* out) {
  *out << "x [" << s.n << ", " << s.c << ", " << s.h << ", " << s.w << "], weight [" << s.k << ", " << s.c
       << ", " << s.r << ", " << s.s << "], stride " << s.stride_h << "x" << s.stride_w << ", padding "
       << s.pad_h << "x" << s.pad_w;
}
}  // namespace kiln::kernels

namespace kiln {
namespace {

using kernels::BatchNormShape;
using kernels::Conv2dShape;
using kernels::ConvPrecision;

// On a GPU, cuDNN must be there: a test that cannot load its reference fails, naming why.
#define KILN_REQUIRE_CUDNN()                                   \
  do {                                                         \
    KILN_REQUIRE_CUDA();                                       \
    const std::string kiln_why_ = cudnn::unavailable_reason(); \
    ASSERT_TRUE(kiln_why_.empty()) << kiln_why_;               \
  } while (0)

const char* precision_name(ConvPrecision p) { return p == ConvPrecision::TF32 ? "tf32" : "fp32"; }

Tensor nan_filled(const Shape& shape) {
  return Tensor::full(shape, std::nan(""), DType::Float32, Device::cuda());
}

std::vector<double> squares(const std::vector<double>& v) {
  std::vector<double> s(v.size());
  for (size_t i = 0; i < v.size(); ++i) s[i] = v[i] * v[i];
  return s;
}

// |actual - reference| <= tol[i] for every element (NaN never passes), and the reference is
// not all zeros, so a comparison of two untouched outputs cannot pass.
::testing::AssertionResult within(const Tensor& actual, const Tensor& reference,
                                  const std::vector<double>& tol) {
  const std::vector<double> a = actual.to_vector<double>(), r = reference.to_vector<double>();
  if (a.size() != r.size() || a.size() != tol.size())
    return ::testing::AssertionFailure() << "sizes differ: " << a.size() << " vs " << r.size();
  size_t bad = 0, first = 0;
  double largest = 0, worst_ratio = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::fabs(a[i] - r[i]);
    if (!(err <= tol[i])) {
      if (bad++ == 0) first = i;
      worst_ratio = std::isnan(err) ? NAN : std::max(worst_ratio, err / tol[i]);
    }
    if (std::fabs(r[i]) > largest) largest = std::fabs(r[i]);
  }
  if (bad > 0)
    return ::testing::AssertionFailure()
           << bad << " of " << a.size() << " elements outside tolerance; first at " << first << ": kiln "
           << a[first] << ", cuDNN " << r[first] << ", tolerance " << tol[first]
           << "; worst error / tolerance " << worst_ratio;
  if (!(largest > 0)) return ::testing::AssertionFailure() << "the cuDNN reference is all zeros";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult within(const Tensor& actual, const Tensor& reference, double atol, double rtol) {
  const std::vector<double> r = reference.to_vector<double>();
  std::vector<double> tol(r.size());
  for (size_t i = 0; i < r.size(); ++i) tol[i] = atol + rtol * std::fabs(r[i]);
  return within(actual, reference, tol);
}

// ---- convolution -----------------------------------------------------------------------

// Tolerance of each output element of a sum of `terms` products whose squares sum to sq[i]
// (the same convolution applied to the squared operands, computed in float64):
//  - FP32 on both sides: only the order of fp32 additions differs. A sum's rounding error
//    has a standard deviation of at most about u sqrt(terms sq / 2) (u = 2^-24, a sequential
//    sum; blocked sums do better); 16 u sqrt(terms sq) is over 10 of them, plus u |ref| for
//    the final rounding of each side.
//  - TF32: each operand is rounded to a 10-bit mantissa, to nearest by kiln (error up to
//    2^-11), possibly by truncation in cuDNN's tensor-core kernels (up to 2^-10). The
//    products' random errors then differ between the sides by about 1.8 * 2^-11 sqrt(sq) =
//    9e-4 sqrt(sq); 5e-3 sqrt(sq) is over 5 of those. Truncation also shrinks every product
//    by 2^-10 on average, which sums to 1e-3 |ref|: hence 2e-3 |ref|.
// A real defect (a dropped or misplaced tap, a wrong padding) moves many elements by about one
// term, |x w| ~ sqrt(sq / terms): at the largest shapes here (terms ~ 1000) that is 4 times the
// TF32 bound and about 1000 times the FP32 one.
std::vector<double> conv_tolerance(const std::vector<double>& sq, int64_t terms, const Tensor& reference,
                                   ConvPrecision precision) {
  constexpr double u = 1.0 / (1 << 24);
  const std::vector<double> r = reference.to_vector<double>();
  std::vector<double> tol(sq.size());
  for (size_t i = 0; i < sq.size(); ++i) {
    tol[i] = 16 * u * std::sqrt(double(terms) * sq[i]) + u * std::fabs(r[i]) + 1e-30;
    if (precision == ConvPrecision::TF32) tol[i] += 5e-3 * std::sqrt(sq[i]) + 2e-3 * std::fabs(r[i]);
  }
  return tol;
}

std::string conv_name(const Conv2dShape& s) {
  std::ostringstream o;
  o << "n" << s.n << "_c" << s.c << "_" << s.h << "x" << s.w << "_k" << s.k << "_r" << s.r << "x" << s.s
    << "_stride" << s.stride_h << "x" << s.stride_w << "_pad" << s.pad_h << "x" << s.pad_w;
  return o.str();
}

// Hand-picked edge cases, then shapes drawn from a fixed seed (a failure names its shape, and
// the same shape comes back on the next run).
std::vector<Conv2dShape> conv_shapes() {
  std::vector<Conv2dShape> shapes;
  auto add = [&](int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s, int64_t sh,
                 int64_t sw, int64_t ph, int64_t pw) {
    Conv2dShape x;
    x.n = n, x.c = c, x.h = h, x.w = w, x.k = k, x.r = r, x.s = s;
    x.stride_h = sh, x.stride_w = sw, x.pad_h = ph, x.pad_w = pw;
    shapes.push_back(x);
  };
  add(1, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1);    // odd 7x5 input, batch 1
  add(2, 5, 7, 5, 11, 5, 3, 2, 1, 2, 1);   // 5x3 kernel, different strides and padding per axis
  add(3, 13, 9, 9, 7, 1, 1, 2, 2, 0, 0);   // 1x1 stride-2 downsample
  add(2, 17, 6, 6, 9, 3, 3, 2, 2, 2, 2);   // padding 2 around a 3x3 kernel
  add(1, 6, 5, 7, 3, 3, 5, 1, 2, 0, 2);    // 3x5 kernel, stride only along the width
  add(4, 9, 1, 1, 10, 1, 1, 1, 1, 0, 0);   // 1x1 image
  add(2, 3, 4, 4, 5, 3, 3, 1, 1, 0, 0);    // kernel nearly the whole image
  add(2, 64, 8, 8, 72, 3, 3, 1, 1, 1, 1);  // channels in multiples of 8 (the full-tile path)
  std::mt19937 rng(6011);
  auto draw = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  const int64_t kernels[][2] = {{1, 1}, {3, 3}, {5, 3}, {3, 5}, {5, 5}, {2, 2}};
  for (int i = 0; i < 16; ++i) {
    const auto& ks = kernels[draw(0, 5)];
    const int64_t ph = draw(0, 2), pw = draw(0, 2);
    add(draw(1, 4), draw(1, 40), draw(std::max<int64_t>(1, ks[0] - 2 * ph), 13),
        draw(std::max<int64_t>(1, ks[1] - 2 * pw), 13), draw(1, 40), ks[0], ks[1], draw(1, 2), draw(1, 2), ph,
        pw);
  }
  return shapes;
}

class CudnnConvCuda : public ::testing::TestWithParam<Conv2dShape> {
 protected:
  void SetUp() override {
    KILN_REQUIRE_CUDNN();
    const Conv2dShape& s = GetParam();
    x_ = testing::random_normal({s.n, s.c, s.h, s.w}, 50, DType::Float32);
    w_ = testing::random_normal({s.k, s.c, s.r, s.s}, 51, DType::Float32);
    b_ = testing::random_normal({s.k}, 52, DType::Float32);
    dy_ = testing::random_normal({s.n, s.k, s.p(), s.q()}, 53, DType::Float32);
    x2_ = squares(x_.to_vector<double>());
    w2_ = squares(w_.to_vector<double>());
    dy2_ = squares(dy_.to_vector<double>());
    x_ = x_.to(Device::cuda()), w_ = w_.to(Device::cuda()), b_ = b_.to(Device::cuda()),
    dy_ = dy_.to(Device::cuda());
  }
  Tensor x_, w_, b_, dy_;
  std::vector<double> x2_, w2_, dy2_;  // squared values on the host, for the tolerances
};

TEST_P(CudnnConvCuda, Forward) {
  const Conv2dShape& s = GetParam();
  std::vector<double> sq(s.n * s.k * s.p() * s.q());
  kernels::cpu::conv2d_forward<double>(s, x2_.data(), w2_.data(), nullptr, sq.data());
  for (ConvPrecision precision : {ConvPrecision::FP32, ConvPrecision::TF32}) {
    cudnn::Conv2d ref(s, precision, cudnn::AlgoChoice::Reference);
    Tensor y = nan_filled(dy_.shape()), y_ref = nan_filled(dy_.shape());
    kernels::cuda::conv2d_forward(s, x_.data<float>(), w_.data<float>(), b_.data<float>(), y.data<float>(),
                                  precision);
    ref.forward(x_.data<float>(), w_.data<float>(), b_.data<float>(), y_ref.data<float>());
    EXPECT_TRUE(within(y, y_ref, conv_tolerance(sq, s.c * s.r * s.s, y_ref, precision)))
        << precision_name(precision) << " y, cuDNN " << ref.forward_algo();
  }
}

TEST_P(CudnnConvCuda, BackwardInput) {
  const Conv2dShape& s = GetParam();
  std::vector<double> sq(s.n * s.c * s.h * s.w);
  kernels::cpu::conv2d_backward_input<double>(s, dy2_.data(), w2_.data(), sq.data());
  for (ConvPrecision precision : {ConvPrecision::FP32, ConvPrecision::TF32}) {
    cudnn::Conv2d ref(s, precision, cudnn::AlgoChoice::Reference);
    Tensor dx = nan_filled(x_.shape()), dx_ref = nan_filled(x_.shape());
    kernels::cuda::conv2d_backward_input(s, dy_.data<float>(), w_.data<float>(), dx.data<float>(), precision);
    ref.backward_input(dy_.data<float>(), w_.data<float>(), dx_ref.data<float>());
    // At most K * R * S products reach one input element.
    EXPECT_TRUE(within(dx, dx_ref, conv_tolerance(sq, s.k * s.r * s.s, dx_ref, precision)))
        << precision_name(precision) << " dx, cuDNN " << ref.backward_input_algo();
  }
}

TEST_P(CudnnConvCuda, BackwardWeight) {
  const Conv2dShape& s = GetParam();
  std::vector<double> sq(s.k * s.c * s.r * s.s), sq_bias(s.k);
  kernels::cpu::conv2d_backward_weight<double>(s, x2_.data(), dy2_.data(), sq.data(), sq_bias.data());
  for (ConvPrecision precision : {ConvPrecision::FP32, ConvPrecision::TF32}) {
    cudnn::Conv2d ref(s, precision, cudnn::AlgoChoice::Reference);
    Tensor dw = nan_filled(w_.shape()), dw_ref = nan_filled(w_.shape());
    Tensor db = nan_filled({s.k}), db_ref = nan_filled({s.k});
    kernels::cuda::conv2d_backward_weight(s, x_.data<float>(), dy_.data<float>(), dw.data<float>(),
                                          db.data<float>(), precision);
    ref.backward_weight(x_.data<float>(), dy_.data<float>(), dw_ref.data<float>(), db_ref.data<float>());
    const int64_t terms = s.n * s.p() * s.q();
    EXPECT_TRUE(within(dw, dw_ref, conv_tolerance(sq, terms, dw_ref, precision)))
        << precision_name(precision) << " dweight, cuDNN " << ref.backward_weight_algo();
    // The bias gradient is a plain fp32 sum of dy on both sides, in either mode.
    EXPECT_TRUE(within(db, db_ref, conv_tolerance(sq_bias, terms, db_ref, ConvPrecision::FP32)))
        << precision_name(precision) << " dbias";
  }
}

// The index keeps names unique should two drawn shapes coincide.
INSTANTIATE_TEST_SUITE_P(Shapes, CudnnConvCuda, ::testing::ValuesIn(conv_shapes()), [](const auto& info) {
  return conv_name(info.param) + "_" + std::to_string(info.index);
});

// ---- batch norm -----------------------------------------------------------------------

struct BnCase {
  int64_t n, c, h, w;
};
void PrintTo(const BnCase& t, std::ostream* out) {
  *out << "x [" << t.n << ", " << t.c << ", " << t.h << ", " << t.w << "]";
}

std::vector<BnCase> bn_cases() {
  // At least two values per channel: with one, the unbiased variance that updates the running
  // variance is undefined (PyTorch refuses such a batch in training).
  std::vector<BnCase> cases = {{2, 3, 7, 5}, {1, 5, 7, 5}, {4, 13, 1, 1}, {3, 17, 4, 4},
                               {1, 1, 9, 3}, {8, 6, 3, 3}, {2, 64, 8, 8}, {5, 10, 2, 3}};
  std::mt19937 rng(6012);
  auto draw = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int i = 0; i < 6; ++i) cases.push_back({draw(2, 6), draw(1, 40), draw(1, 12), draw(1, 12)});
  return cases;
}

class CudnnBatchNormCuda : public ::testing::TestWithParam<BnCase> {
 protected:
  static constexpr double kEps = 1e-5, kMomentum = 0.1;

  void SetUp() override {
    KILN_REQUIRE_CUDNN();
    const BnCase& t = GetParam();
    s_.n = t.n, s_.c = t.c, s_.hw = t.h * t.w;
    // Each channel has its own offset and spread, so the statistics matter per channel.
    std::vector<double> x = testing::random_normal({t.n, t.c, t.h * t.w}, 60).to_vector<double>();
    const std::vector<double> offset = testing::random_uniform({t.c}, 61, -3, 3).to_vector<double>();
    const std::vector<double> spread = testing::random_uniform({t.c}, 62, 0.3, 3).to_vector<double>();
    for (int64_t n = 0; n < t.n; ++n)
      for (int64_t c = 0; c < t.c; ++c)
        for (int64_t i = 0; i < s_.hw; ++i) {
          double& v = x[(n * t.c + c) * s_.hw + i];
          v = offset[c] + spread[c] * v;
        }
    const Device cuda = Device::cuda();
    x_ = Tensor::from_vector(x, {t.n, t.c, t.h, t.w}).to(DType::Float32).to(cuda);
    dy_ = testing::random_normal({t.n, t.c, t.h, t.w}, 63, DType::Float32, cuda);
    gamma_ = testing::random_uniform({t.c}, 64, 0.5, 1.5, DType::Float32, cuda);
    beta_ = testing::random_uniform({t.c}, 65, -1, 1, DType::Float32, cuda);
    running_mean_ = testing::random_uniform({t.c}, 66, -1, 1, DType::Float32, cuda);
    running_var_ = testing::random_uniform({t.c}, 67, 0.5, 2, DType::Float32, cuda);
  }

  BatchNormShape s_;
  Tensor x_, dy_, gamma_, beta_, running_mean_, running_var_;
};

// Tolerances: one normalisation is a few fp32 roundings of values up to ~30 here, after
// statistics summed over M = N*H*W values in a different order on each side; the sums
// (dgamma, dbeta) carry up to 16 u sqrt(M * sum of squared terms) ~ 1e-6 M like the
// convolution's. A defect (biased variance in the normalisation, a missing term of the
// backward formula, a channel mix-up) moves values by 1e-3 to 1, far above them.
TEST_P(CudnnBatchNormCuda, ForwardTrain) {
  const int64_t c = s_.c;
  Tensor y = nan_filled(x_.shape()), mean = nan_filled({c}), invstd = nan_filled({c});
  Tensor rm = running_mean_.clone(), rv = running_var_.clone();
  kernels::cuda::batchnorm_forward_train<float>(
      s_, x_.data<float>(), gamma_.data<float>(), beta_.data<float>(), kEps, kMomentum, y.data<float>(),
      mean.data<float>(), invstd.data<float>(), rm.data<float>(), rv.data<float>());
  Tensor y_ref = nan_filled(x_.shape()), mean_ref = nan_filled({c}), invstd_ref = nan_filled({c});
  Tensor rm_ref = running_mean_.clone(), rv_ref = running_var_.clone();
  cudnn::BatchNorm2d ref(s_);
  ref.forward_train(x_.data<float>(), gamma_.data<float>(), beta_.data<float>(), kEps, kMomentum,
                    y_ref.data<float>(), mean_ref.data<float>(), invstd_ref.data<float>(),
                    rm_ref.data<float>(), rv_ref.data<float>());
  EXPECT_TRUE(within(y, y_ref, 5e-5, 2e-5)) << "y";
  EXPECT_TRUE(within(mean, mean_ref, 1e-5, 1e-5)) << "saved mean";
  EXPECT_TRUE(within(invstd, invstd_ref, 1e-6, 2e-5)) << "saved 1/sqrt(var + eps)";
  EXPECT_TRUE(within(rm, rm_ref, 1e-6, 1e-5)) << "running mean";
  EXPECT_TRUE(within(rv, rv_ref, 1e-6, 2e-5))
      << "running variance (updated with the unbiased batch variance)";
}

TEST_P(CudnnBatchNormCuda, ForwardEval) {
  Tensor y = nan_filled(x_.shape()), y_ref = nan_filled(x_.shape());
  kernels::cuda::batchnorm_forward_eval<float>(s_, x_.data<float>(), gamma_.data<float>(),
                                               beta_.data<float>(), running_mean_.data<float>(),
                                               running_var_.data<float>(), kEps, y.data<float>());
  cudnn::BatchNorm2d ref(s_);
  ref.forward_eval(x_.data<float>(), gamma_.data<float>(), beta_.data<float>(), running_mean_.data<float>(),
                   running_var_.data<float>(), kEps, y_ref.data<float>());
  EXPECT_TRUE(within(y, y_ref, 2e-5, 2e-5)) << "y";
}

TEST_P(CudnnBatchNormCuda, Backward) {
  const int64_t c = s_.c, m = s_.n * s_.hw;
  // Both sides differentiate at cuDNN's saved statistics, so a forward difference cannot
  // surface here.
  cudnn::BatchNorm2d ref(s_);
  Tensor y = nan_filled(x_.shape()), mean = nan_filled({c}), invstd = nan_filled({c});
  ref.forward_train(x_.data<float>(), gamma_.data<float>(), beta_.data<float>(), kEps, kMomentum,
                    y.data<float>(), mean.data<float>(), invstd.data<float>(), nullptr, nullptr);
  Tensor dx = nan_filled(x_.shape()), dgamma = nan_filled({c}), dbeta = nan_filled({c});
  kernels::cuda::batchnorm_backward<float>(s_, dy_.data<float>(), x_.data<float>(), gamma_.data<float>(),
                                           mean.data<float>(), invstd.data<float>(), dx.data<float>(),
                                           dgamma.data<float>(), dbeta.data<float>());
  Tensor dx_ref = nan_filled(x_.shape()), dgamma_ref = nan_filled({c}), dbeta_ref = nan_filled({c});
  ref.backward(dy_.data<float>(), x_.data<float>(), gamma_.data<float>(), mean.data<float>(),
               invstd.data<float>(), kEps, dx_ref.data<float>(), dgamma_ref.data<float>(),
               dbeta_ref.data<float>());
  EXPECT_TRUE(within(dx, dx_ref, 1e-4, 2e-5)) << "dx";
  EXPECT_TRUE(within(dgamma, dgamma_ref, 1e-6 * double(m) + 1e-6, 1e-5)) << "dgamma";
  EXPECT_TRUE(within(dbeta, dbeta_ref, 1e-6 * double(m) + 1e-6, 1e-5)) << "dbeta";
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudnnBatchNormCuda, ::testing::ValuesIn(bn_cases()), [](const auto& info) {
  const BnCase& t = info.param;
  std::ostringstream o;
  o << "n" << t.n << "_c" << t.c << "_" << t.h << "x" << t.w << "_" << info.index;
  return o.str();
});

// Runs without a GPU: the library this build expects can be opened and is the major version
// its headers describe (a GPU machine's first check that the reference will be there).
TEST(CudnnReference, LibraryLoads) {
  const std::string why = cudnn::unavailable_reason();
  ASSERT_TRUE(why.empty()) << why;
  std::cout << "cuDNN " << cudnn::version() << " from " << cudnn::library_path() << "\n";
}

}  // namespace
}  // namespace kiln
