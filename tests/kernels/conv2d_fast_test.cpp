// The CPU convolution kernels called directly — the reference (kernels/cpu/conv2d.cpp) and the
// faster variants the ops choose (kernels/cpu/conv2d_fast.h, conv2d_winograd.h) — against a direct float64
// loop over the definition, in float32 and float64, with every output pre-filled with NaN (the kernels
// assign). The variant's row-segment bounds are stressed by strides, paddings wider than some taps' reach,
// and a batch large enough to be split into chunks; its reused buffers by calls with shapes that shrink and
// grow in turn.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_fast.h"
#include "kernels/cpu/conv2d_winograd.h"
#include "tests/support/conv2d_reference.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

using kernels::Conv2dShape;
using testing::ConvCase;
using testing::ConvReference;
using testing::direct_conv;
using testing::shape_of;

const ConvCase kCases[] = {
    {"resnet_layer1", 2, 64, 16, 16, 64, 3, 1, 1},
    {"resnet_layer2_down", 2, 64, 16, 16, 128, 3, 2, 1},
    {"resnet_1x1_s2", 2, 64, 16, 16, 32, 1, 2, 0},
    {"resnet_layer4", 2, 64, 2, 2, 32, 3, 1, 1},
    {"mnist_conv1", 3, 1, 28, 28, 16, 3, 1, 0},
    {"odd_s2", 3, 5, 7, 9, 11, 3, 2, 1},
    {"wide_pad_s2", 2, 3, 4, 5, 4, 3, 2, 2},
    {"pad_wider_than_input", 2, 2, 1, 1, 3, 5, 1, 2},
    {"stride3_5x5", 2, 3, 11, 10, 6, 5, 3, 2},
    // 576 * 1024 column elements per sample: the 16M-element buffer holds 28, so 30 samples
    // take two chunks (and the weight gradient accumulates across them).
    {"chunked", 30, 64, 32, 32, 4, 3, 1, 1},
};

template <typename T>
struct Kernels {
  std::function<void(const Conv2dShape&, const T*, const T*, const T*, T*)> forward;
  std::function<void(const Conv2dShape&, const T*, const T*, T*)> backward_input;
  std::function<void(const Conv2dShape&, const T*, const T*, T*, T*)> backward_weight;
};

template <typename T>
Kernels<T> reference_kernels() {
  return {kernels::cpu::conv2d_forward<T>, kernels::cpu::conv2d_backward_input<T>,
          kernels::cpu::conv2d_backward_weight<T>};
}
template <typename T>
Kernels<T> fast_kernels() {
  return {kernels::cpu::conv2d_forward_fast<T>, kernels::cpu::conv2d_backward_input_fast<T>,
          kernels::cpu::conv2d_backward_weight_fast<T>};
}

template <typename T>
Kernels<T> winograd_kernels() {
  return {kernels::cpu::conv2d_forward_winograd<T>, kernels::cpu::conv2d_backward_input_winograd<T>,
          kernels::cpu::conv2d_backward_weight_winograd<T>};
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// Runs the three kernels on NaN-filled outputs and compares with the float64 definition.
// float32: sums of `terms` products of unit-variance values round like sqrt(terms) * 2^-24
// relative to the partial sums; 8e-6 * sqrt(terms) covers any blocked GEMM order.
template <typename T>
void check(const ConvCase& t, const Kernels<T>& kern, uint64_t seed) {
  const Conv2dShape s = shape_of(t);
  const auto x = testing::random_normal({s.n, s.c, s.h, s.w}, seed).to_vector<double>();
  const auto w = testing::random_normal({s.k, s.c, s.r, s.s}, seed + 1).to_vector<double>();
  const auto b = testing::random_normal({s.k}, seed + 2).to_vector<double>();
  const auto dy = testing::random_normal({s.n, s.k, s.p(), s.q()}, seed + 3).to_vector<double>();
  // The kernels see the inputs rounded to T; so does the definition.
  const auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b), dyt = cast<T>(dy);
  const ConvReference ref =
      direct_conv(s, std::vector<double>(xt.begin(), xt.end()), std::vector<double>(wt.begin(), wt.end()),
                  std::vector<double>(bt.begin(), bt.end()), std::vector<double>(dyt.begin(), dyt.end()));
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y(ref.y.size(), nan), dx(x.size(), nan), dw(w.size(), nan), db(s.k, nan);
  kern.forward(s, xt.data(), wt.data(), bt.data(), y.data());
  kern.backward_input(s, dyt.data(), wt.data(), dx.data());
  kern.backward_weight(s, xt.data(), dyt.data(), dw.data(), db.data());
  const bool f32 = sizeof(T) == 4;
  const auto tol = [&](int64_t terms) { return f32 ? 8e-6 * std::sqrt(double(terms)) : 1e-11; };
  const auto as_double = [](const std::vector<T>& v) { return std::vector<double>(v.begin(), v.end()); };
  EXPECT_TRUE(testing::all_close(as_double(y), ref.y, tol(s.c * s.r * s.s), 1e-6)) << t.name << " forward";
  EXPECT_TRUE(testing::all_close(as_double(dx), ref.dx, tol(s.k * s.r * s.s), 1e-6)) << t.name << " dx";
  EXPECT_TRUE(testing::all_close(as_double(dw), ref.dw, tol(s.n * s.p() * s.q()), 1e-6)) << t.name << " dw";
  EXPECT_TRUE(testing::all_close(as_double(db), ref.db, tol(s.n * s.p() * s.q()), 1e-6)) << t.name << " db";
}

TEST(Conv2dCpuKernels, ReferenceMatchesDefinition) {
  for (const ConvCase& t : kCases) {
    check<float>(t, reference_kernels<float>(), 1);
    check<double>(t, reference_kernels<double>(), 1);
  }
}

TEST(Conv2dCpuKernels, FastVariantMatchesDefinition) {
  for (const ConvCase& t : kCases) {
    check<float>(t, fast_kernels<float>(), 1);
    check<double>(t, fast_kernels<double>(), 1);
  }
}

TEST(Conv2dCpuKernels, FastVariantReusesBuffersAcrossShapes) {
  // Large, small, large again, small again: a stale column or staging buffer from the previous
  // call (with other paddings in other places) would show up as wrong outputs.
  const ConvCase order[] = {kCases[0], kCases[7], kCases[6], kCases[0], kCases[5], kCases[8]};
  uint64_t seed = 50;
  for (const ConvCase& t : order) {
    check<float>(t, fast_kernels<float>(), seed);
    seed += 10;
  }
}

// 3x3 / stride 1 / pad 1 shapes: even and odd sizes (a last tile half outside the image),
// non-square maps, 1x1 and 2x2 maps (one tile, mostly padding), and a batch split into chunks.
const ConvCase kWinogradCases[] = {
    {"resnet_layer1", 2, 64, 16, 16, 64, 3, 1, 1},
    {"resnet_layer4", 3, 32, 2, 2, 48, 3, 1, 1},
    {"mnist_conv2", 2, 64, 13, 13, 96, 3, 1, 1},
    {"non_square_odd", 2, 16, 7, 10, 20, 3, 1, 1},
    {"one_pixel", 2, 17, 1, 1, 16, 3, 1, 1},
    // 16 * (16 + 16) * 31 * 31 transformed elements per sample: 34 fit the 16M-element
    // buffers, so 35 samples take two chunks.
    {"chunked", 35, 16, 62, 62, 16, 3, 1, 1},
};

TEST(Conv2dCpuKernels, WinogradAppliesOnlyTo3x3Stride1Pad1) {
  for (const ConvCase& t : kWinogradCases)
    EXPECT_TRUE(kernels::cpu::conv2d_winograd_applies(shape_of(t))) << t.name;
  EXPECT_FALSE(kernels::cpu::conv2d_winograd_applies(shape_of({"s2", 2, 64, 16, 16, 64, 3, 2, 1})));
  EXPECT_FALSE(kernels::cpu::conv2d_winograd_applies(shape_of({"pad0", 2, 64, 16, 16, 64, 3, 1, 0})));
  EXPECT_FALSE(kernels::cpu::conv2d_winograd_applies(shape_of({"1x1", 2, 64, 16, 16, 64, 1, 1, 0})));
  EXPECT_FALSE(kernels::cpu::conv2d_winograd_applies(shape_of({"stem", 2, 3, 32, 32, 64, 3, 1, 1})));
}

TEST(Conv2dCpuKernels, WinogradMatchesDefinition) {
  // float32: the same tolerance as im2col's; the transforms' few additions and halvings per
  // element stay well inside its margin.
  for (const ConvCase& t : kWinogradCases) {
    check<float>(t, winograd_kernels<float>(), 7);
    check<double>(t, winograd_kernels<double>(), 7);
  }
}

TEST(Conv2dCpuKernels, WinogradReusesBuffersAcrossShapes) {
  const ConvCase order[] = {kWinogradCases[0], kWinogradCases[4], kWinogradCases[2], kWinogradCases[0],
                            kWinogradCases[3]};
  uint64_t seed = 90;
  for (const ConvCase& t : order) {
    check<float>(t, winograd_kernels<float>(), seed);
    seed += 10;
  }
}

}  // namespace
}  // namespace kiln
