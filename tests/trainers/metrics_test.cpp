// Metrics: the tutorial's confusion matrix counted by hand, accuracy, per-class accuracy, RMSE.
#include <gtest/gtest.h>

#include <cmath>

#include "trainers/metrics.h"

namespace kiln {
namespace {

TEST(ConfusionMatrix, TheTutorialsExample) {
  ConfusionMatrix cm(3);
  cm.add(std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2},
         std::vector<int64_t>{1, 2, 2, 0, 2, 2, 1, 2, 0, 1, 0, 2, 2, 2, 2, 2});
  // Rows = actual: class 0 (5 samples) predicted 0 once, 1 once, 2 three times; and so on.
  EXPECT_EQ(cm.rows(), (std::vector<std::vector<int64_t>>{{1, 1, 3}, {0, 1, 2}, {2, 1, 5}}));
  EXPECT_EQ(cm.total(), 16);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 7.0 / 16);
  const auto per_class = cm.per_class_accuracy();
  EXPECT_DOUBLE_EQ(per_class[0], 1.0 / 5);
  EXPECT_DOUBLE_EQ(per_class[1], 1.0 / 3);
  EXPECT_DOUBLE_EQ(per_class[2], 5.0 / 8);
  EXPECT_THROW(cm.add(std::vector<int64_t>{3}, std::vector<int64_t>{0}), Error);
}

TEST(Metrics, Rmse) {
  EXPECT_DOUBLE_EQ(
      rmse(Tensor::from_vector<double>({1, 2, 3}, {3}), Tensor::from_vector<double>({1, 4, 0}, {3})),
      std::sqrt(13.0 / 3));
  EXPECT_THROW(rmse(Tensor::zeros({2}), Tensor::zeros({3})), Error);
}

}  // namespace
}  // namespace kiln
