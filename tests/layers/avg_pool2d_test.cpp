// AvgPool2d(k) (the author's CIFAR ResNet ends with one): the mean of each whole k x k window,
// rows and columns past the last whole window dropped as PyTorch's floor mode does, checked
// against a float64 loop written from that definition and by the gradient checker.
#include <gtest/gtest.h>

#include "layers/layers.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

// out[n, c, i, j] = mean of x[n, c, k*i + a, k*j + b] over a, b in [0, k).
std::vector<double> reference(const Tensor& x, int64_t k) {
  const std::vector<double> v = x.to_vector<double>();
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3), oh = h / k, ow = w / k;
  std::vector<double> out;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double s = 0;
        for (int64_t a = 0; a < k; ++a)
          for (int64_t b = 0; b < k; ++b) s += v[static_cast<size_t>((p * h + k * i + a) * w + k * j + b)];
        out.push_back(s / double(k * k));
      }
  return out;
}

TEST(AvgPool2d, MeansOfWholeWindowsWithTheRemainderDropped) {
  AvgPool2d pool(4);
  // 4x4 (the ResNet's last map), a multiple of the window, and sizes with rows and columns left over.
  for (const Shape& shape : {Shape{2, 3, 4, 4}, Shape{1, 2, 8, 12}, Shape{2, 1, 9, 10}, Shape{1, 1, 7, 4}}) {
    const Tensor x = testing::random_normal(shape, 5);
    const Tensor y = pool(x);
    EXPECT_EQ(y.shape(), (Shape{shape[0], shape[1], shape[2] / 4, shape[3] / 4})) << shape_str(shape);
    EXPECT_TRUE(testing::all_close(y, reference(x, 4), 1e-14, 1e-14)) << shape_str(shape);
  }
}

TEST(AvgPool2d, GradientMatchesFiniteDifferences) {
  AvgPool2d pool(3);
  Tensor x = testing::random_normal({2, 2, 7, 8}, 6).set_requires_grad(true);
  EXPECT_TRUE(testing::gradcheck([&](const auto& in) { return pool(in[0]); }, {x}));
}

TEST(AvgPool2d, RejectsInputsSmallerThanOneWindow) {
  AvgPool2d pool(4);
  EXPECT_TRUE(testing::mentions(testing::error_of([&] {
                                  pool(testing::random_normal({1, 1, 3, 8}, 7));
                                }),
                                {"AvgPool2d(4)", "smaller than one window"}));
  EXPECT_TRUE(testing::mentions(testing::error_of([&] {
                                  pool(testing::random_normal({4, 8}, 7));
                                }),
                                {"AvgPool2d", "[N, C, H, W]"}));
  EXPECT_THROW(AvgPool2d(0), Error);
}

}  // namespace
}  // namespace kiln
