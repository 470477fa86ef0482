// `kiln weighted-loss` end to end on tiny synthetic data: the imbalanced training set holds the
// tutorial's class counts scaled by --limit, the printed weights are 1 - n_c/sum(n), both
// runs start alike and learn; too few samples of a class is an error naming the class.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "data/csv.h"
#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "tests/support/training_log.h"
#include "trainers/experiments/weighted_loss.h"

namespace kiln {
namespace {

using testing::training_log_rows;

// The bracketed list of numbers following `label` in `text`.
std::vector<double> list_after(const std::string& text, const std::string& label) {
  std::vector<double> v;
  const size_t at = text.find(label);
  if (at == std::string::npos) return v;
  const size_t open = text.find('[', at), close = text.find(']', at);
  std::istringstream in(text.substr(open + 1, close - open - 1));
  std::string field;
  while (std::getline(in, field, ',')) v.push_back(std::stod(field));
  return v;
}

WeightedLossOptions options(const std::string& data_dir, const std::string& out) {
  WeightedLossOptions o = weighted_loss_defaults();
  o.common.dataset = "mnist";
  o.common.data_dir = data_dir;
  o.common.device = "cpu";
  o.common.epochs = 2;
  o.common.test_limit = 50;
  o.common.out = out;
  o.common.quiet = true;
  o.common.seed = 4;
  return o;
}

TEST(WeightedLossCommand, TrainsOnTheTutorialsCountsWithItsWeights) {
  testing::TempDir data, out;
  testing::write_synthetic_mnist(data.path(), 400, 50);  // 40 per class
  WeightedLossOptions o = options(data.path(), out.path());
  o.common.limit = 100;
  ::testing::internal::CaptureStdout();
  const ExperimentResult r = run_weighted_loss(o);
  std::fflush(stdout);
  const std::string printed = ::testing::internal::GetCapturedStdout();

  // The tutorial's counts scaled to about 100 samples: round(n_c * 100 / 1110), at least 1.
  const std::vector<double> tutorial = {40, 45, 30, 62, 70, 153, 395, 46, 75, 194};
  std::vector<double> expected;
  double total = 0;
  for (double n : tutorial) {
    expected.push_back(std::max(1.0, std::round(n * 100 / 1110)));
    total += expected.back();
  }
  EXPECT_EQ(expected, (std::vector<double>{4, 4, 3, 6, 6, 14, 36, 4, 7, 17}));
  // The counts are those of the labels in the training set the runs used.
  EXPECT_EQ(list_after(printed, "class counts n (num_ins): "), expected) << printed;
  const std::vector<double> weights = list_after(printed, "class weights w_c = 1 - n_c/sum(n): ");
  ASSERT_EQ(weights.size(), 10u) << printed;
  for (size_t c = 0; c < 10; ++c) EXPECT_NEAR(weights[c], 1 - expected[c] / total, 1e-6) << c;
  EXPECT_NE(r.dataset.find("101 train drawn with the tutorial's class counts scaled to --limit 100"),
            std::string::npos)
      << r.dataset;
  EXPECT_NE(r.notes.find("scaled down by --limit 100"), std::string::npos) << r.notes;

  for (const char* f : {"plain_ce_log.csv", "weighted_ce_log.csv", "plain_ce_last.ckpt",
                        "weighted_ce_last.ckpt", "plain_ce_confusion_matrix.png",
                        "weighted_ce_confusion_matrix.png", "per_class_recall.png", "loss_curves.png"})
    EXPECT_TRUE(std::filesystem::exists(out.file(f))) << f;
  for (const std::string& p : r.plots) EXPECT_TRUE(std::filesystem::exists(out.file(p))) << p;
  const auto plain_log = training_log_rows(out.file("plain_ce_log.csv"));
  const auto weighted_log = training_log_rows(out.file("weighted_ce_log.csv"));
  ASSERT_EQ(plain_log.size(), 2u);
  ASSERT_EQ(weighted_log.size(), 2u);
  EXPECT_NE(plain_log[0][1], weighted_log[0][1]);  // the weights change the loss

  const TensorMap a = load_safetensors(out.file("plain_ce_initial.safetensors")).tensors;
  const TensorMap b = load_safetensors(out.file("weighted_ce_initial.safetensors")).tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(testing::bit_equal(t, b.at(name))) << name;

  // Learned (chance is 10%), and the rare-vs-common recall comparison names classes 2, 0, 6.
  const size_t acc = r.kiln_figure.find("test accuracy ");
  ASSERT_NE(acc, std::string::npos) << r.kiln_figure;
  EXPECT_GT(std::stod(r.kiln_figure.substr(acc + 14)), 30.0) << r.kiln_figure;
  EXPECT_NE(r.kiln_figure.find("rarest class 2 (2, n=3)"), std::string::npos) << r.kiln_figure;
  EXPECT_NE(r.kiln_figure.find("most common class 6 (6, n=36)"), std::string::npos) << r.kiln_figure;
}

TEST(WeightedLossCommand, TooFewSamplesOfAClassIsAnError) {
  testing::TempDir data, out;
  testing::write_synthetic_mnist(data.path(), 500, 20);  // 50 per class; class 3 needs 62
  WeightedLossOptions o = options(data.path(), out.path());
  try {
    run_weighted_loss(o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("class 3"), std::string::npos) << m;
    EXPECT_NE(m.find("needs 62"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace kiln
