// Model selection: both rules on scripted validation-loss sequences, and `kiln
// early-stopping` end to end on tiny synthetic data (outputs, learning, resume).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/generator.h"
#include "core/safetensors.h"
#include "data/csv.h"
#include "layers/models.h"
#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "trainers/early_stopping.h"
#include "trainers/experiments/early_stopping.h"

namespace kiln {
namespace {

TEST(EarlyStoppingRule, PicksTheLowestLossAndStopsAfterPatience) {
  // Validation losses per epoch 1..8; improvements need to beat best - 0.01.
  const double losses[] = {1.2, 0.9, 0.95, 0.895, 0.97, 0.99, 1.1, 0.5};
  EarlyStopping rule(3, 0.01);
  std::vector<int64_t> selected;
  int64_t stopped_at = 0;
  for (int64_t e = 1; e <= 8; ++e) {
    const SelectionDecision d = rule.update(e, losses[e - 1]);
    if (d.select) selected.push_back(e);
    if (d.stop) {
      stopped_at = e;
      break;
    }
  }
  // Epoch 4 (0.895) is not 0.01 better than 0.9, so epochs 3..5 are three bad epochs.
  EXPECT_EQ(selected, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(stopped_at, 5);
  EXPECT_EQ(rule.best_epoch(), 2);
  EXPECT_DOUBLE_EQ(rule.best(), 0.9);
}

TEST(EarlyStoppingRule, NonFiniteLossIsNeverBest) {
  EarlyStopping rule(2, 0.0);
  EXPECT_TRUE(rule.update(1, 1.0).select);
  EXPECT_FALSE(rule.update(2, std::nan("")).select);
  EXPECT_TRUE(rule.update(3, -INFINITY).stop);
  EXPECT_EQ(rule.best_epoch(), 1);
}

TEST(FirstBelowThresholdRule, TheTutorialsRuleKeepsTheFirstEpochBelowOne) {
  // The tutorial's log: 1.233, 1.024, 0.768, ... ; later better epochs are ignored.
  const double losses[] = {1.233, 1.024, 0.768, 0.70, 0.65, 0.9};
  FirstBelowThreshold rule(1.0);
  std::vector<int64_t> selected;
  for (int64_t e = 1; e <= 6; ++e) {
    const SelectionDecision d = rule.update(e, losses[e - 1]);
    EXPECT_FALSE(d.stop);  // never stops training
    if (d.select) selected.push_back(e);
  }
  EXPECT_EQ(selected, (std::vector<int64_t>{3}));
  EXPECT_DOUBLE_EQ(rule.selected_metric(), 0.768);
}

class EarlyStoppingCommand : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_mnist(data_.path(), 240, 60); }
  EarlyStoppingOptions options(const std::string& out) const {
    EarlyStoppingOptions o = early_stopping_defaults();
    o.common.dataset = "mnist";
    o.common.data_dir = data_.path();
    o.common.device = "cpu";
    o.common.epochs = 3;
    o.common.out = out;
    o.common.quiet = true;
    o.common.seed = 5;
    return o;
  }
  testing::TempDir data_, out_;
};

TEST_F(EarlyStoppingCommand, LearnsWritesItsOutputsAndResumesExactly) {
  EarlyStoppingOptions o = options(out_.file("full"));
  const ExperimentResult r = run_early_stopping(o);
  for (const char* f : {"early_stopping_log.csv", "early_stopping_best.safetensors",
                        "early_stopping_last.ckpt", "loss_curves.png", "confusion_matrix.png"})
    EXPECT_TRUE(std::filesystem::exists(out_.file("full") + "/" + f)) << f;
  const Table log = read_csv_table(out_.file("full") + "/early_stopping_log.csv");
  ASSERT_EQ(log.rows(), 3);
  // The bars are trivially separable: well above the 10% of chance after three epochs.
  const int64_t val_acc = log.column_index("val_accuracy");
  EXPECT_GT(log.values[2 * log.columns.size() + val_acc], 0.5);
  EXPECT_NE(r.kiln_figure.find("test accuracy"), std::string::npos);
  // The network is the author's CIFAR ResNet-18, parameter for parameter (not the torchvision-style
  // model of the other experiments: no max-pool, no dropout, a bias-free stem).
  const TensorMap saved = load_safetensors(out_.file("full") + "/early_stopping_best.safetensors").tensors;
  CifarResNetOptions co;
  co.in_channels = 1;
  const TensorMap expected = CifarResNet18(co).state_dict();
  ASSERT_EQ(saved.size(), expected.size());
  for (const auto& [name, t] : expected) {
    ASSERT_TRUE(saved.count(name)) << name;
    EXPECT_EQ(saved.at(name).shape(), t.shape()) << name;
  }
  EXPECT_TRUE(saved.count("fc.weight") && !saved.count("conv1.bias"));

  // Two epochs, then resume for the third: the log must equal the uninterrupted run's.
  EarlyStoppingOptions first = options(out_.file("part"));
  first.common.epochs = 2;
  run_early_stopping(first);
  EarlyStoppingOptions rest = options(out_.file("part"));
  rest.common.resume = out_.file("part") + "/early_stopping_last.ckpt";
  run_early_stopping(rest);
  const Table resumed = read_csv_table(out_.file("part") + "/early_stopping_log.csv");
  ASSERT_EQ(resumed.rows(), 3);
  const int64_t seconds = log.column_index("seconds");
  for (int64_t i = 0; i < log.rows(); ++i)
    for (int64_t c = 0; c < static_cast<int64_t>(log.columns.size()); ++c) {
      if (c == seconds) continue;
      EXPECT_EQ(resumed.values[i * log.columns.size() + c], log.values[i * log.columns.size() + c])
          << "row " << i << " column " << log.columns[c];
    }
}

TEST_F(EarlyStoppingCommand, TutorialProtocolUsesTheFirstBelowRule) {
  EarlyStoppingOptions o = options(out_.file("seed"));
  o.common.protocol = "seed";
  o.common.limit = 60;  // nothing is learnt here: keep the full-size CIFAR ResNet's epochs short
  o.threshold = 100.0;  // every epoch is below: the first one must be chosen
  const ExperimentResult r = run_early_stopping(o);
  EXPECT_NE(r.kiln_figure.find("epoch 1:"), std::string::npos) << r.kiln_figure;
  EXPECT_NE(r.notes.find("tutorial rule"), std::string::npos) << r.notes;
}

}  // namespace
}  // namespace kiln
