// Every command run on its own ends like a row of REPORT.md: its last two lines are
// "kiln: <the figure it measured>" and "the tutorial: <the tutorial's figure>", and the
// tutorial's line carries the tutorial's own numbers. Each command runs once, as small as
// it goes (a few synthetic images, one epoch).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "data/image_folder.h"
#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "trainers/experiments/batchnorm.h"
#include "trainers/experiments/confusion_matrix.h"
#include "trainers/experiments/disturb_label.h"
#include "trainers/experiments/disturb_value.h"
#include "trainers/experiments/early_stopping.h"
#include "trainers/experiments/label_smoothing.h"
#include "trainers/experiments/pseudo_label.h"
#include "trainers/experiments/weighted_loss.h"
#include "trainers/experiments/weighted_sampling.h"

namespace kiln {
namespace {

struct Captured {
  std::vector<ExperimentResult> rows;
  std::vector<std::string> lines;  // everything the command printed
};

Captured capture(const std::function<std::vector<ExperimentResult>()>& run) {
  ::testing::internal::CaptureStdout();
  Captured c;
  try {
    c.rows = run();
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  std::fflush(stdout);
  std::istringstream in(::testing::internal::GetCapturedStdout());
  for (std::string line; std::getline(in, line);) c.lines.push_back(line);
  return c;
}

// The last 2 * rows lines: each row's "kiln: ..." and "the tutorial: ..." (with pseudo-label's
// several rows, each pair follows a line naming the row's experiment).
::testing::AssertionResult ends_with_headlines(const Captured& c,
                                               const std::vector<std::string>& tutorial_numbers) {
  const size_t per_row = c.rows.size() > 1 ? 3 : 2;
  if (c.rows.empty() || c.lines.size() < per_row * c.rows.size())
    return ::testing::AssertionFailure()
           << c.lines.size() << " lines printed for " << c.rows.size() << " rows";
  size_t at = c.lines.size() - per_row * c.rows.size();
  for (const ExperimentResult& r : c.rows) {
    if (per_row == 3 && c.lines[at++] != r.experiment)
      return ::testing::AssertionFailure()
             << "expected '" << r.experiment << "', got '" << c.lines[at - 1] << "'";
    if (c.lines[at++] != "kiln: " + r.kiln_figure)
      return ::testing::AssertionFailure()
             << "expected 'kiln: " << r.kiln_figure << "', got '" << c.lines[at - 1] << "'";
    if (c.lines[at++] != "the tutorial: " + r.tutorial_figure)
      return ::testing::AssertionFailure()
             << "expected 'the tutorial: " << r.tutorial_figure << "', got '" << c.lines[at - 1] << "'";
  }
  std::string tutorial_lines;
  for (const ExperimentResult& r : c.rows) tutorial_lines += r.tutorial_figure + "\n";
  return testing::mentions(tutorial_lines, tutorial_numbers);
}

class Headline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new testing::TempDir;
    testing::write_synthetic_mnist(data_->path(), 400, 20);  // 40 per class: weighted-loss draws from them
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  // The flags every image command shares here: the synthetic set, one epoch, few samples.
  static void tiny(CommonOptions& c, const std::string& out) {
    testing::tiny_mnist_run(c, data_->path(), out, 2);
  }
  static testing::TempDir* data_;
  testing::TempDir out_;
};
testing::TempDir* Headline::data_ = nullptr;

TEST_F(Headline, EarlyStopping) {
  EarlyStoppingOptions o = early_stopping_defaults();
  tiny(o.common, out_.path());
  o.val_fraction = 0.25;
  EXPECT_TRUE(
      ends_with_headlines(capture([&] { return std::vector{run_early_stopping(o)}; }), {"epoch 3", "0.768"}));
}

TEST_F(Headline, DisturbLabel) {
  DisturbLabelOptions o = disturb_label_defaults();
  tiny(o.common, out_.path());
  EXPECT_TRUE(
      ends_with_headlines(capture([&] { return std::vector{run_disturb_label(o)}; }), {"81.34%", "82.46%"}));
}

TEST_F(Headline, BatchNormLabelSmoothingAndWeightedLoss) {
  BatchNormOptions b = batchnorm_defaults();
  tiny(b.common, out_.file("bn"));
  EXPECT_TRUE(
      ends_with_headlines(capture([&] { return std::vector{run_batchnorm(b)}; }), {"described only"}));
  LabelSmoothingOptions l = label_smoothing_defaults();
  tiny(l.common, out_.file("ls"));
  EXPECT_TRUE(
      ends_with_headlines(capture([&] { return std::vector{run_label_smoothing(l)}; }), {"0.9 / 0.05"}));
  WeightedLossOptions w = weighted_loss_defaults();
  tiny(w.common, out_.file("wl"));
  w.common.limit = 60;  // the tutorial's counts scaled to about 60 samples
  EXPECT_TRUE(
      ends_with_headlines(capture([&] { return std::vector{run_weighted_loss(w)}; }), {"1 - n_c/sum(n)"}));
}

TEST_F(Headline, PseudoLabelEveryMethod) {
  PseudoLabelOptions o = pseudo_label_defaults();
  tiny(o.common, out_.path());
  o.common.limit = 0;
  o.common.batch_size = 10;
  o.labeled = 40;
  o.unlabeled_limit = 40;
  o.unlabeled_batch = 10;
  o.t1 = 0;
  o.t2 = 1;
  o.threshold_t1 = 0;
  o.threshold = 0.1;
  EXPECT_TRUE(
      ends_with_headlines(capture([&] { return run_pseudo_label(o); }), {"69.65%", "79.52%", "78.48%"}));
}

TEST_F(Headline, DisturbValue) {
  // y = x1 + 2 x2 over 40 rows.
  std::string table = "x1,x2,y\n";
  for (int i = 0; i < 40; ++i)
    table += std::to_string(i % 7) + "," + std::to_string(i % 5) + "," + std::to_string(i % 7 + 2 * (i % 5)) +
             "\n";
  write_file_atomic(out_.file("table.csv"), table);
  DisturbValueOptions o = disturb_value_defaults();
  o.csv = out_.file("table.csv");
  o.common.device = "cpu";
  o.common.epochs = 2;
  o.common.out = out_.file("dv");
  o.common.quiet = true;
  EXPECT_TRUE(ends_with_headlines(capture([&] { return std::vector{run_disturb_value(o)}; }),
                                  {"training-loss curves only"}));
}

TEST_F(Headline, WeightedSamplingAndConfusionMatrix) {
  const std::string folder = out_.file("folder");
  for (const auto& [name, count] : {std::pair<std::string, int>{"lion", 4}, {"tiger", 14}}) {
    std::filesystem::create_directories(folder + "/" + name);
    for (int i = 0; i < count; ++i) {
      std::vector<uint8_t> px(3 * 8 * 8, static_cast<uint8_t>(10 * i));
      write_png_rgb(folder + "/" + name + "/" + std::to_string(i) + ".png", px.data(), 8, 8);
    }
  }
  WeightedSamplingOptions w = weighted_sampling_defaults();
  w.common.data_dir = folder;
  w.common.device = "cpu";
  w.common.out = out_.file("ws");
  w.count_epochs = 10;
  EXPECT_TRUE(ends_with_headlines(capture([&] { return std::vector{run_weighted_sampling(w)}; }),
                                  {"roughly balanced"}));
  ConfusionMatrixOptions c = confusion_matrix_defaults();
  c.common.out = out_.file("cm");
  EXPECT_TRUE(ends_with_headlines(capture([&] { return std::vector{run_confusion_matrix(c)}; }),
                                  {"[[1,1,3],[0,1,2],[2,1,5]]"}));
}

}  // namespace
}  // namespace kiln
