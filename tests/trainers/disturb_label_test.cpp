// `kiln disturb-label` end to end on tiny synthetic data: outputs, learning, both runs starting
// from identical weights (default) or chained (--protocol seed), exact resume of both runs,
// and rejected --alpha values.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "data/csv.h"
#include "layers/models.h"
#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "trainers/app/commands.h"
#include "trainers/checkpoint.h"
#include "trainers/experiments/disturb_label.h"

namespace kiln {
namespace {

// The first "NN.NN%" in `text`, as a fraction (NaN when there is none).
double first_percent(const std::string& text) {
  const size_t p = text.find('%');
  if (p == std::string::npos) return std::nan("");
  size_t b = p;
  while (b > 0 && (std::isdigit(static_cast<unsigned char>(text[b - 1])) || text[b - 1] == '.')) --b;
  return std::stod(text.substr(b, p - b)) / 100.0;
}

// Every tensor of `a` bit-equal to the same-named tensor of `b` (`prefix` + name in b).
::testing::AssertionResult same_weights(const TensorMap& a, const TensorMap& b,
                                        const std::string& prefix = "") {
  for (const auto& [name, t] : a) {
    const auto it = b.find(prefix + name);
    if (it == b.end()) return ::testing::AssertionFailure() << "missing " << prefix + name;
    const auto eq = testing::bit_equal(t, it->second);
    if (!eq) return ::testing::AssertionFailure() << name << ": " << eq.message();
  }
  return ::testing::AssertionSuccess();
}

class DisturbLabelCommand : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(data_.path(), 64, 40); }
  DisturbLabelOptions options(const std::string& out) const {
    DisturbLabelOptions o = disturb_label_defaults();
    o.common.dataset = "mnist";
    o.common.data_dir = data_.path();
    o.common.device = "cpu";
    o.common.epochs = 2;
    o.common.limit = 64;
    o.common.test_limit = 40;
    o.common.out = out;
    o.common.quiet = true;
    o.common.seed = 3;
    return o;
  }
  // The logs hold "nan" in the validation columns (no validation split).
  static Table log(const std::string& dir, const std::string& run) {
    return read_csv_table(dir + "/" + run + "_log.csv", /*allow_missing=*/true);
  }
  testing::TempDir data_, out_;
};

TEST_F(DisturbLabelCommand, BothRunsStartAlikeLearnAndResumeExactly) {
  const std::string dir = out_.file("full");
  const ExperimentResult r = run_disturb_label(options(dir));
  for (const char* f :
       {"true_labels_log.csv", "disturb_label_log.csv", "true_labels_last.ckpt", "disturb_label_last.ckpt",
        "true_labels_initial.safetensors", "disturb_label_initial.safetensors", "loss_curves.png",
        "true_labels_confusion_matrix.png", "disturb_label_confusion_matrix.png"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  for (const std::string& p : r.plots) EXPECT_TRUE(std::filesystem::exists(dir + "/" + p)) << p;

  // Default protocol: the DisturbLabel run started from exactly the true-label run's start.
  const TensorMap init1 = load_safetensors(dir + "/true_labels_initial.safetensors").tensors;
  const TensorMap init2 = load_safetensors(dir + "/disturb_label_initial.safetensors").tensors;
  ASSERT_EQ(init1.size(), init2.size());
  EXPECT_TRUE(same_weights(init1, init2));

  const Table t1 = log(dir, "true_labels"), t2 = log(dir, "disturb_label");
  ASSERT_EQ(t1.rows(), 2);
  ASSERT_EQ(t2.rows(), 2);
  const size_t width = t1.columns.size();
  const size_t loss = t1.column_index("train_loss"), acc = t1.column_index("train_accuracy");
  EXPECT_TRUE(std::isnan(t1.values[t1.column_index("val_loss")]));  // no validation split
  // Same start, same data order: only the label noise differs, so the losses do.
  EXPECT_NE(t1.values[loss], t2.values[loss]);
  // The bars are trivially separable: the true-label model is far above chance (10%).
  EXPECT_GT(t1.values[width + acc], 0.3);
  EXPECT_GT(first_percent(r.kiln_figure), 0.3) << r.kiln_figure;
  EXPECT_NE(r.kiln_figure.find("(true labels) vs"), std::string::npos) << r.kiln_figure;
  EXPECT_NE(r.notes.find("default protocol"), std::string::npos) << r.notes;
  EXPECT_NE(r.notes.find("one-batch check kept"), std::string::npos) << r.notes;
  EXPECT_NE(r.dataset.find("mnist"), std::string::npos);

  // One epoch, then --resume to two: both logs equal the uninterrupted run's.
  const std::string part = out_.file("part");
  DisturbLabelOptions first = options(part);
  first.common.epochs = 1;
  run_disturb_label(first);
  DisturbLabelOptions rest = options(part);
  rest.common.resume = part + "/disturb_label_last.ckpt";
  const ExperimentResult resumed = run_disturb_label(rest);
  const size_t seconds = t1.column_index("seconds");
  for (const char* run : {"true_labels", "disturb_label"}) {
    const Table a = log(dir, run), b = log(part, run);
    ASSERT_EQ(b.rows(), 2) << run;
    for (size_t i = 0; i < a.values.size(); ++i) {
      if (i % width == seconds || std::isnan(a.values[i])) continue;
      EXPECT_EQ(a.values[i], b.values[i]) << run << " row " << i / width << " " << a.columns[i % width];
    }
  }
  EXPECT_EQ(resumed.kiln_figure, r.kiln_figure);

  // Resuming once more finds both runs complete: nothing is trained, the results stand.
  const ExperimentResult again = run_disturb_label(rest);
  EXPECT_EQ(again.kiln_figure, r.kiln_figure);
  EXPECT_EQ(log(part, "disturb_label").rows(), 2);
}

TEST_F(DisturbLabelCommand, TutorialProtocolContinuesFromTheFirstRun) {
  DisturbLabelOptions o = options(out_.file("seed"));
  o.common.protocol = "seed";
  o.common.epochs = 1;
  o.common.limit = 64;
  o.common.test_limit = 20;
  const ExperimentResult r = run_disturb_label(o);
  const std::string dir = out_.file("seed");
  const TensorMap init1 = load_safetensors(dir + "/true_labels_initial.safetensors").tensors;
  const TensorMap init2 = load_safetensors(dir + "/disturb_label_initial.safetensors").tensors;
  const TensorMap final1 = load_safetensors(dir + "/true_labels_last.ckpt").tensors;
  // Run 2 began where run 1 ended, not from run 1's initialisation.
  EXPECT_TRUE(same_weights(init2, final1, "model."));
  EXPECT_FALSE(same_weights(init1, init2));
  EXPECT_NE(r.notes.find("--protocol seed"), std::string::npos) << r.notes;

  // ...and trained in evaluation mode, as the tutorial's did after its resnet.eval(): every
  // batch-norm running statistic and batch count is still run 1's final value...
  const TensorMap final2 = load_safetensors(dir + "/disturb_label_last.ckpt").tensors;
  int frozen = 0;
  for (const auto& [key, t] : final1) {
    if (key.find("running_") == std::string::npos && key.find("num_batches_tracked") == std::string::npos)
      continue;
    EXPECT_EQ(t.to(DType::Float64).to_vector<double>(), final2.at(key).to(DType::Float64).to_vector<double>())
        << key;
    ++frozen;
  }
  EXPECT_EQ(frozen, 3 * 20);  // mean, variance and count of torchvision ResNet-18's 20 BatchNorm2d
  // ...while the weights did train...
  EXPECT_FALSE(same_weights({{"fc.1.weight", final1.at("model.fc.1.weight")}}, final2, "model."));
  // ...with no dropout: every random op takes one offset of the default generator, and run 2's
  // only one there is each epoch's shuffle (DisturbLabel draws from its own generator), so the
  // offset moved by one per epoch. In train mode Dropout2d would take one more per step.
  ResNetOptions ro;
  ro.in_channels = 1;
  ResNet18 model(ro);
  const uint64_t after1 =
      load_checkpoint(dir + "/true_labels_last.ckpt", "ResNet18(in=1, classes=10)", model, nullptr)
          .rng_offset;
  const uint64_t after2 =
      load_checkpoint(dir + "/disturb_label_last.ckpt", "ResNet18(in=1, classes=10)", model, nullptr)
          .rng_offset;
  EXPECT_EQ(after2 - after1, static_cast<uint64_t>(o.common.epochs));
  EXPECT_TRUE(testing::mentions(r.notes, {"eval mode", "never updated", "Dropout2d was off"}));
}

TEST_F(DisturbLabelCommand, DefaultProtocolTrainsBothRunsInTrainMode) {
  DisturbLabelOptions o = options(out_.file("default"));
  o.common.epochs = 1;
  run_disturb_label(o);
  const std::string dir = out_.file("default");
  const TensorMap init2 = load_safetensors(dir + "/disturb_label_initial.safetensors").tensors;
  const TensorMap final2 = load_safetensors(dir + "/disturb_label_last.ckpt").tensors;
  // Run 2's batch norm moved from its fresh statistics (mean 0, variance 1, no batches)...
  EXPECT_NE(final2.at("model.bn1.running_mean").to(DType::Float64).to_vector<double>(),
            init2.at("bn1.running_mean").to(DType::Float64).to_vector<double>());
  EXPECT_EQ(final2.at("model.bn1.num_batches_tracked").to(DType::Float64).item<double>(),
            2.0);  // 64 / 32 steps
  // ...and both runs drew the same dropout masks from the same generator position.
  ResNetOptions ro;
  ro.in_channels = 1;
  ResNet18 model(ro);
  EXPECT_EQ(load_checkpoint(dir + "/true_labels_last.ckpt", "ResNet18(in=1, classes=10)", model, nullptr)
                .rng_offset,
            load_checkpoint(dir + "/disturb_label_last.ckpt", "ResNet18(in=1, classes=10)", model, nullptr)
                .rng_offset);
}

TEST_F(DisturbLabelCommand, RejectsBadAlphaAndResumeFiles) {
  DisturbLabelOptions o = options(out_.file("bad"));
  o.alpha = 120;
  EXPECT_THROW(run_disturb_label(o), Error);
  o.alpha = -1;
  EXPECT_THROW(run_disturb_label(o), Error);
  o.alpha = 30;
  o.common.resume = out_.file("nonexistent/disturb_label_last.ckpt");
  EXPECT_THROW(run_disturb_label(o), Error);

  CLI::App app;
  add_disturb_label_command(app);
  EXPECT_THROW(app.parse(std::vector<std::string>{"120", "--alpha", "disturb-label"}), CLI::ValidationError);
}

}  // namespace
}  // namespace kiln
