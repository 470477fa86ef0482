// `kiln label-smoothing` end to end on tiny synthetic data: outputs, learning, the same start
// for both runs, the tutorial's K=3 targets in both conventions, lower confidence with
// smoothing (recomputed here from the saved weights), and rejected flag values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "data/csv.h"
#include "data/loader.h"
#include "layers/models.h"
#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "tests/support/training_log.h"
#include "trainers/app/commands.h"
#include "trainers/checkpoint.h"
#include "trainers/experiments/datasets.h"
#include "trainers/experiments/label_smoothing.h"

namespace kiln {
namespace {

using testing::training_log_rows;

// The number after `label` in `text`, read as a percentage and returned as a fraction.
double percent_after(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  return at == std::string::npos ? std::nan("") : std::stod(text.substr(at + label.size())) / 100.0;
}

// Test accuracy and mean max-softmax of the weights in `ckpt`, computed on the host, on the
// first `n` synthetic test images.
struct Measured {
  double accuracy = 0, confidence = 0;
};
Measured measure(const std::string& ckpt, const std::string& data_dir, int64_t n) {
  ResNetOptions ro;
  ro.in_channels = 1;
  ResNet18 model(ro);
  load_checkpoint(ckpt, "ResNet18(in=1, classes=10)", model, nullptr);
  model.eval();
  const Dataset test = load_image_data("mnist", data_dir, "mnist", 0).test.head(n);
  ImageTransform tf;
  tf.mean = {0.5f};
  tf.std = {0.5f};
  DataLoader loader(test, 1000, nullptr, false, tf);
  Batch b;
  loader.start_epoch();
  EXPECT_TRUE(loader.next(b));
  const std::vector<float> z = model(b.inputs).to_vector<float>();
  const std::vector<int64_t> y = b.targets.to_vector<int64_t>();
  Measured m;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = z.data() + i * 10;
    const int64_t best = std::max_element(row, row + 10) - row;
    double denominator = 0;
    for (int k = 0; k < 10; ++k) denominator += std::exp(double(row[k]) - double(row[best]));
    m.confidence += 1.0 / denominator / double(n);
    m.accuracy += (best == y[i]) / double(n);
  }
  return m;
}

class LabelSmoothingCommand : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(data_.path(), 96, 40); }
  LabelSmoothingOptions options(const std::string& out) const {
    LabelSmoothingOptions o = label_smoothing_defaults();
    o.common.dataset = "mnist";
    o.common.data_dir = data_.path();
    o.common.device = "cpu";
    o.common.epochs = 2;
    o.common.limit = 96;
    o.common.test_limit = 40;
    o.common.out = out;
    o.common.quiet = true;
    o.common.seed = 11;
    return o;
  }
  testing::TempDir data_, out_;
};

TEST_F(LabelSmoothingCommand, SmoothingLowersConfidenceFromTheSameStart) {
  const std::string dir = out_.file("run");
  LabelSmoothingOptions o = options(dir);
  o.smoothing = 0.3;
  o.convention = "pytorch";
  ::testing::internal::CaptureStdout();
  const ExperimentResult r = run_label_smoothing(o);
  std::fflush(stdout);
  const std::string printed = ::testing::internal::GetCapturedStdout();

  for (const char* f :
       {"plain_ce_log.csv", "label_smoothing_log.csv", "plain_ce_last.ckpt", "label_smoothing_last.ckpt",
        "loss_curves.png", "plain_ce_confusion_matrix.png", "label_smoothing_confusion_matrix.png"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  for (const std::string& p : r.plots) EXPECT_TRUE(std::filesystem::exists(dir + "/" + p)) << p;
  const auto plain_log = training_log_rows(dir + "/plain_ce_log.csv");
  const auto smooth_log = training_log_rows(dir + "/label_smoothing_log.csv");
  ASSERT_EQ(plain_log.size(), 2u);
  ASSERT_EQ(smooth_log.size(), 2u);

  // Both runs started from the same weights.
  const TensorMap a = load_safetensors(dir + "/plain_ce_initial.safetensors").tensors;
  const TensorMap b = load_safetensors(dir + "/label_smoothing_initial.safetensors").tensors;
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(testing::bit_equal(t, b.at(name))) << name;

  // The tutorial's worked example (K=3, alpha=0.1) in both conventions, and the targets
  // trained on here: PyTorch's (1-a) + a/K = 0.73 and a/K = 0.03 for a=0.3, K=10.
  EXPECT_NE(printed.find("0.9000 / 0.0500"), std::string::npos) << printed;
  EXPECT_NE(printed.find("0.9333 / 0.0333"), std::string::npos) << printed;
  EXPECT_NE(r.kiln_figure.find("0.9000 / 0.0500 (source), 0.9333 / 0.0333 (PyTorch)"), std::string::npos)
      << r.kiln_figure;
  EXPECT_NE(r.notes.find("training targets 0.7300 / 0.0300 (K=10)"), std::string::npos) << r.notes;
  // The smoothed loss has a floor: the entropy of (0.73, 9 x 0.03).
  const double floor = -0.73 * std::log(0.73) - 9 * 0.03 * std::log(0.03);
  EXPECT_GT(smooth_log[1][1], floor);

  // Confidence and accuracy recomputed on the host from the saved final weights.
  const Measured plain = measure(dir + "/plain_ce_last.ckpt", data_.path(), 40);
  const Measured smooth = measure(dir + "/label_smoothing_last.ckpt", data_.path(), 40);
  EXPECT_GT(plain.accuracy, 0.3);  // chance is 0.1
  EXPECT_GT(smooth.accuracy, 0.3);
  EXPECT_LT(smooth.confidence, plain.confidence);
  EXPECT_NEAR(percent_after(r.kiln_figure, "mean confidence "), plain.confidence, 1e-4) << r.kiln_figure;
  EXPECT_NEAR(percent_after(r.kiln_figure, "test accuracy "), plain.accuracy, 1e-4) << r.kiln_figure;
  EXPECT_NEAR(percent_after(r.kiln_figure, "(plain) vs "), smooth.accuracy, 1e-4) << r.kiln_figure;
  const size_t vs = r.kiln_figure.rfind(" vs ");
  EXPECT_NEAR(std::stod(r.kiln_figure.substr(vs + 4)) / 100, smooth.confidence, 1e-4) << r.kiln_figure;
}

TEST_F(LabelSmoothingCommand, RejectsBadSmoothingAndConvention) {
  LabelSmoothingOptions o = options(out_.file("bad"));
  for (double s : {1.0, 1.5, -0.1, std::nan("")}) {
    o.smoothing = s;
    EXPECT_THROW(run_label_smoothing(o), Error) << s;
  }
  o.smoothing = 0.1;
  o.convention = "keras";
  EXPECT_THROW(run_label_smoothing(o), Error);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"1.5", "--smoothing", "label-smoothing"},
        std::vector<std::string>{"1", "--smoothing", "label-smoothing"},
        std::vector<std::string>{"keras", "--convention", "label-smoothing"}}) {
    CLI::App app;
    add_label_smoothing_command(app);
    std::vector<std::string> reversed = args;  // CLI11 takes the vector form last argument first
    EXPECT_THROW(app.parse(reversed), CLI::ParseError) << args[0];
  }
}

}  // namespace
}  // namespace kiln
