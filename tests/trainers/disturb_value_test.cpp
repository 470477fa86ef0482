// `kiln disturb-value` end to end on a small table the test writes (y a linear function of
// three features plus noise): outputs, learning against the training-mean baseline, the
// default protocol's exact noise count, the tutorial's protocol, and CSV errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

#include "core/file_io.h"
#include "core/generator.h"
#include "data/image_folder.h"
#include "samplers/sampler.h"
#include "trainers/experiments/disturb_value.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

constexpr int64_t kRows = 60;

// y = 2a - b + 0.5c + N(0, 0.25^2), features uniform in [0, 10): a model that learns does far
// better than any constant. Values come from a fixed Philox seed.
void write_table(const std::string& path, std::vector<double>& y) {
  const std::vector<double> x = testing::random_uniform({kRows, 3}, 11, 0.0, 10.0).to_vector<double>();
  const std::vector<double> e = testing::random_normal({kRows}, 12).to_vector<double>();
  std::string text = "a,b,c,y\n";
  y.clear();
  for (int64_t i = 0; i < kRows; ++i) {
    const double a = x[i * 3], b = x[i * 3 + 1], c = x[i * 3 + 2];
    y.push_back(2 * a - b + 0.5 * c + 0.25 * e[i]);
    char line[160];
    std::snprintf(line, sizeof line, "%.17g,%.17g,%.17g,%.17g\n", a, b, c, y.back());
    text += line;
  }
  write_file_atomic(path, text);
}

// A training log: header, then one row per epoch. The regression logs hold "nan" in the
// accuracy and validation columns, which the strict read_csv_table rejects, so they are read
// here with strtod.
struct Log {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
};

Log read_log(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  Log log;
  std::string line, field;
  for (bool header = true; std::getline(in, line); header = false) {
    std::istringstream fields(line);
    std::vector<double> row;
    while (std::getline(fields, field, ',')) {
      if (header) log.columns.push_back(field);
      else row.push_back(std::strtod(field.c_str(), nullptr));
    }
    if (!header) {
      EXPECT_EQ(row.size(), log.columns.size()) << path << ": " << line;
      log.rows.push_back(row);
    }
  }
  return log;
}

std::vector<double> column(const Log& log, const std::string& name) {
  const auto it = std::find(log.columns.begin(), log.columns.end(), name);
  EXPECT_NE(it, log.columns.end()) << "no column " << name;
  std::vector<double> out;
  if (it == log.columns.end()) return out;
  const size_t c = static_cast<size_t>(it - log.columns.begin());
  for (const auto& row : log.rows) out.push_back(row.at(c));
  return out;
}

// A number printed in `text` right after `label`.
double number_after(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  EXPECT_NE(at, std::string::npos) << label << " not in: " << text;
  return at == std::string::npos ? std::nan("") : std::stod(text.substr(at + label.size()));
}

class DisturbValueCommand : public ::testing::Test {
 protected:
  void SetUp() override { write_table(csv_, y_); }
  DisturbValueOptions options(const std::string& out) const {
    DisturbValueOptions o = disturb_value_defaults();
    o.csv = csv_;
    o.common.device = "cpu";
    o.common.epochs = 40;
    o.common.lr = 1e-2;  // a few dozen epochs of 2 batches must be enough to learn
    o.common.out = out;
    o.common.quiet = true;
    o.common.seed = 3;
    return o;
  }
  testing::TempDir dir_;
  std::string csv_ = dir_.file("table.csv");
  std::vector<double> y_;
};

TEST_F(DisturbValueCommand, DefaultsAreTheTutorialsProtocol) {
  const DisturbValueOptions o = disturb_value_defaults();
  EXPECT_EQ(o.common.epochs, 400);
  EXPECT_EQ(o.common.batch_size, 32);
  EXPECT_DOUBLE_EQ(o.common.lr, 1e-3);
  EXPECT_DOUBLE_EQ(o.weight_decay, 1e-7);
  EXPECT_DOUBLE_EQ(o.alpha, 0.3);
}

TEST_F(DisturbValueCommand, LearnsBeatsTheMeanAndWritesItsOutputs) {
  const std::string out = dir_.file("run");
  const ExperimentResult r = run_disturb_value(options(out));
  for (const char* f : {"clean_log.csv", "disturb_value_log.csv", "clean_last.ckpt", "disturb_value_last.ckpt",
                        "loss_curves.png", "test_rmse.png"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  for (const std::string& png : r.plots) {
    const std::vector<uint8_t> bytes = read_file_bytes(out + "/" + png);
    EXPECT_GT(decode_image(bytes.data(), bytes.size(), png).width, 0) << png;
  }
  const Log clean = read_log(out + "/clean_log.csv");
  const Log noisy = read_log(out + "/disturb_value_log.csv");
  ASSERT_EQ(clean.rows.size(), 40u);
  ASSERT_EQ(noisy.rows.size(), 40u);

  // The baseline, computed here: the command splits with random_split on a generator seeded
  // seed ^ 0x5eed5011 (as load_classification does) and rounds the test share up (12 of 60).
  Generator split_gen(3 ^ 0x5eed5011ULL);
  const Split split = random_split(kRows, 12, split_gen);
  double mean = 0;
  for (int64_t i : split.first) mean += y_[i];
  mean /= double(split.first.size());
  double se = 0;
  for (int64_t i : split.second) se += (y_[i] - mean) * (y_[i] - mean);
  const double baseline = std::sqrt(se / double(split.second.size()));
  EXPECT_NEAR(number_after(r.notes, "predicting the training mean gives test RMSE "), baseline, 1e-3);

  // Selection is Last, so the last logged test RMSE is the reported one.
  const double clean_rmse = column(clean, "test_rmse").back();
  EXPECT_NEAR(number_after(r.kiln_figure, "clean "), clean_rmse, 1e-3) << r.kiln_figure;
  EXPECT_LT(clean_rmse, 0.5 * baseline) << "the clean model did not learn";
  EXPECT_LT(column(clean, "train_loss").back(), column(clean, "train_loss").front());

  // Same start, same batches: the logs differ only through the noise, and they do differ.
  EXPECT_NE(column(clean, "train_loss"), column(noisy, "train_loss"));
  // Exactly round(0.3 * N) per batch: batches of 32 and 16 (48 training rows) get 10 and 5.
  EXPECT_NE(r.notes.find("31.25% of the targets changed"), std::string::npos) << r.notes;
  EXPECT_NE(r.dataset.find("48 train / 12 test"), std::string::npos) << r.dataset;
  EXPECT_EQ(r.source_figure, "training-loss curves only (no test number)");
}

TEST_F(DisturbValueCommand, SameSeedSameRun) {
  DisturbValueOptions o = options(dir_.file("a"));
  o.common.epochs = 3;
  run_disturb_value(o);
  o.common.out = dir_.file("b");
  run_disturb_value(o);
  for (const char* f : {"clean_log.csv", "disturb_value_log.csv"}) {
    const Log a = read_log(dir_.file("a") + "/" + f), b = read_log(dir_.file("b") + "/" + f);
    EXPECT_EQ(column(a, "train_loss"), column(b, "train_loss")) << f;
    EXPECT_EQ(column(a, "test_rmse"), column(b, "test_rmse")) << f;
  }
}

TEST_F(DisturbValueCommand, SourceProtocolIsTheTutorialsNoise) {
  DisturbValueOptions o = options(dir_.file("seed"));
  o.common.protocol = "seed";
  const ExperimentResult r = run_disturb_value(o);
  EXPECT_NE(r.notes.find("--protocol seed"), std::string::npos) << r.notes;
  EXPECT_NE(r.notes.find("WITH replacement"), std::string::npos) << r.notes;
  EXPECT_NE(r.notes.find("std 1e-8 is effectively no noise"), std::string::npos) << r.notes;
  // With 1e-8 noise the two runs' losses stay within rounding of each other.
  const Log clean = read_log(dir_.file("seed") + "/clean_log.csv");
  const Log noisy = read_log(dir_.file("seed") + "/disturb_value_log.csv");
  const auto a = column(clean, "train_loss"), b = column(noisy, "train_loss");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * a[i]) << "epoch " << i + 1;
}

TEST_F(DisturbValueCommand, CsvErrorsNameTheFile) {
  const std::string bad = dir_.file("ragged.csv");
  write_file_atomic(bad, std::string("a,b,y\n1,2,3\n4,5\n"));
  DisturbValueOptions o = options(dir_.file("bad"));
  o.csv = bad;
  try {
    run_disturb_value(o);
    ADD_FAILURE() << "a ragged row was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  o.csv = dir_.file("missing.csv");
  EXPECT_THROW(run_disturb_value(o), Error);
  o.csv = csv_;
  o.target = "no_such_column";
  EXPECT_THROW(run_disturb_value(o), Error);
  o.target = "";
  o.common.resume = dir_.file("x.ckpt");
  EXPECT_THROW(run_disturb_value(o), Error);
}

}  // namespace
}  // namespace kiln
