// `kiln batchnorm` end to end on tiny synthetic data: outputs, learning with batch norm, the
// no-BN model holding no norm parameters, and the shared layers starting from equal weights.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "data/csv.h"
#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "tests/support/training_log.h"
#include "trainers/experiments/batchnorm.h"

namespace kiln {
namespace {

using testing::training_log_rows;

bool is_norm_entry(const std::string& name) {
  return name.find("bn") != std::string::npos || name.find("downsample.1.") != std::string::npos;
}

TEST(BatchNormCommand, TrainsBothModelsFromTheSameSeed) {
  testing::TempDir data, out;
  testing::write_synthetic_mnist(data.path(), 64, 40);
  BatchNormOptions o = batchnorm_defaults();
  o.common.dataset = "mnist";
  o.common.data_dir = data.path();
  o.common.device = "cpu";
  o.common.epochs = 2;
  o.common.limit = 64;
  o.common.test_limit = 40;
  o.common.out = out.path();
  o.common.quiet = true;
  o.common.seed = 2;
  const ExperimentResult r = run_batchnorm(o);

  for (const char* f :
       {"batchnorm_log.csv", "no_batchnorm_log.csv", "batchnorm_last.ckpt", "no_batchnorm_last.ckpt",
        "loss_curves.png", "batchnorm_confusion_matrix.png", "no_batchnorm_confusion_matrix.png"})
    EXPECT_TRUE(std::filesystem::exists(out.file(f))) << f;
  for (const std::string& p : r.plots) EXPECT_TRUE(std::filesystem::exists(out.file(p))) << p;
  const auto bn_log = training_log_rows(out.file("batchnorm_log.csv"));
  const auto plain_log = training_log_rows(out.file("no_batchnorm_log.csv"));
  ASSERT_EQ(bn_log.size(), 2u);
  ASSERT_EQ(plain_log.size(), 2u);
  EXPECT_GT(bn_log[1][2], 0.3);  // train accuracy, epoch 2; chance is 0.1
  EXPECT_TRUE(std::isfinite(plain_log[1][1]));
  EXPECT_NE(bn_log[0][1], plain_log[0][1]);  // different models, different losses
  const size_t acc = r.kiln_figure.find("test accuracy ");
  ASSERT_NE(acc, std::string::npos) << r.kiln_figure;
  EXPECT_GT(std::stod(r.kiln_figure.substr(acc + 14)), 30.0) << r.kiln_figure;

  // The no-BN model has no norm parameters or buffers; every tensor it has exists in the BN
  // model with exactly the same initial values (the norm layers draw nothing).
  const TensorMap with = load_safetensors(out.file("batchnorm_initial.safetensors")).tensors;
  const TensorMap without = load_safetensors(out.file("no_batchnorm_initial.safetensors")).tensors;
  int64_t norm_entries = 0;
  for (const auto& [name, t] : with) norm_entries += is_norm_entry(name);
  // bn1 + 8 blocks x 2 + 3 downsample norms, 5 tensors each (weight, bias, running mean/var, count).
  EXPECT_EQ(norm_entries, 20 * 5);
  EXPECT_EQ(with.size(), without.size() + static_cast<size_t>(norm_entries));
  for (const auto& [name, t] : without) {
    EXPECT_FALSE(is_norm_entry(name)) << name;
    ASSERT_TRUE(with.count(name)) << name;
    EXPECT_TRUE(testing::bit_equal(t, with.at(name))) << name;
  }
}

}  // namespace
}  // namespace kiln
