// `kiln disturb-value` end to end on a small table the test writes (y a linear function of
// three features plus noise): outputs, learning against the training-mean baseline, the
// default protocol's exact noise count, the tutorial's protocol, and CSV errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <sstream>
#include <string>

#include "core/file_io.h"
#include "core/generator.h"
#include "core/safetensors.h"
#include "data/image_folder.h"
#include "samplers/sampler.h"
#include "tests/support/helpers.h"
#include "trainers/experiments/disturb_value.h"

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
      if (header)
        log.columns.push_back(field);
      else
        row.push_back(std::strtod(field.c_str(), nullptr));
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
  for (const char* f : {"clean_log.csv", "disturb_value_log.csv", "clean_last.ckpt",
                        "disturb_value_last.ckpt", "loss_curves.png", "test_rmse.png"})
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
  EXPECT_EQ(r.tutorial_figure, "training-loss curves only (no test number)");
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

// The share of a full batch of b that keeps the tutorial's noise: each of int(b (1 - alpha))
// draws with replacement misses a given sample with probability 1 - 1/b.
double kept_noise_share(int64_t b, double alpha) {
  return std::pow(1.0 - 1.0 / double(b), std::floor(double(b) * (1.0 - alpha)));
}

TEST(DisturbValueTutorialNoiseNote, PrintsTheShareThatKeepsItsNoise) {
  for (const auto& [b, alpha] : {std::pair<int64_t, double>{32, 0.3}, {8, 0.5}, {10, 0.3}, {64, 0.9}}) {
    const std::string note = disturb_value_tutorial_noise_note(b, alpha);
    EXPECT_NEAR(number_after(note, "so about "), 100 * kept_noise_share(b, alpha), 0.005) << note;
    EXPECT_NEAR(number_after(note, "keeps its noise ("), 100 * (1 - kept_noise_share(b, alpha)), 0.005)
        << note;
  }
}

// The bracketed list of numbers after `label` in `text`.
std::vector<double> list_after(const std::string& text, const std::string& label) {
  std::vector<double> v;
  const size_t at = text.find(label);
  EXPECT_NE(at, std::string::npos) << label << " not in: " << text;
  if (at == std::string::npos) return v;
  const size_t open = text.find('[', at), close = text.find(']', at);
  std::istringstream in(text.substr(open + 1, close - open - 1));
  for (std::string field; std::getline(in, field, ',');) v.push_back(std::stod(field));
  return v;
}

// Runs the command, returning what it printed.
std::string printed_by(const DisturbValueOptions& o, ExperimentResult& r) {
  ::testing::internal::CaptureStdout();
  r = run_disturb_value(o);
  std::fflush(stdout);
  return ::testing::internal::GetCapturedStdout();
}

// Whether every value is (y_i - lo) / (hi - lo) for some row i of `rows`, to the 4 printed decimals.
::testing::AssertionResult scaled_from(const std::vector<double>& values, const std::vector<double>& y,
                                       const std::vector<int64_t>& rows, double lo, double hi) {
  for (double v : values) {
    bool found = false;
    for (int64_t i : rows) found = found || std::fabs(v - (y[i] - lo) / (hi - lo)) <= 5.1e-5;
    if (!found) return ::testing::AssertionFailure() << v << " is no scaled training target";
  }
  return ::testing::AssertionSuccess();
}

std::pair<double, double> min_max(const std::vector<double>& y, const std::vector<int64_t>& rows) {
  double lo = y[rows[0]], hi = y[rows[0]];
  for (int64_t i : rows) lo = std::min(lo, y[i]), hi = std::max(hi, y[i]);
  return {lo, hi};
}

TEST_F(DisturbValueCommand, DefaultProtocolShowsOneBatchAndScalesOnTheTrainingSplit) {
  ExperimentResult r;
  const std::string out = printed_by(options(dir_.file("demo")), r);
  // The tutorial's demonstration: a batch of 32 targets before and after; exactly
  // round(0.3 * 32) = 10 of them get noise (sigma 0.05: a float target never survives it).
  const std::vector<double> before = list_after(out, "targets:"), after = list_after(out, "disturbed:");
  const std::vector<double> diff = list_after(out, "disturbed - targets:");
  ASSERT_EQ(before.size(), 32u);
  ASSERT_EQ(after.size(), 32u);
  ASSERT_EQ(diff.size(), 32u);
  EXPECT_EQ(std::count_if(diff.begin(), diff.end(), [](double d) { return d != 0; }), 10);
  EXPECT_NE(out.find("changed: 10 of 32 targets"), std::string::npos) << out;
  EXPECT_NE(r.notes.find("one-batch demonstration: 10 of 32 targets changed"), std::string::npos) << r.notes;
  // The batch is training targets min-max scaled with the training split's range (48 / 12 rows).
  Generator split_gen(3 ^ 0x5eed5011ULL);
  const Split split = random_split(kRows, 12, split_gen);
  const auto [lo, hi] = min_max(y_, split.first);
  EXPECT_TRUE(scaled_from(before, y_, split.first, lo, hi));
}

TEST_F(DisturbValueCommand, TutorialProtocolUsesTheTutorialsNoise) {
  DisturbValueOptions o = options(dir_.file("seed"));
  o.common.protocol = "seed";
  ExperimentResult r;
  const std::string out = printed_by(o, r);
  EXPECT_NE(r.notes.find("--protocol seed"), std::string::npos) << r.notes;
  EXPECT_NE(r.notes.find("WITH replacement"), std::string::npos) << r.notes;
  EXPECT_NE(r.notes.find("std 1e-8 is effectively no noise"), std::string::npos) << r.notes;
  // Batches of 32: 22 draws, so (31/32)^22 = 49.73% of a full batch keeps its noise.
  EXPECT_NEAR(number_after(r.notes, "so about "), 100 * kept_noise_share(32, 0.3), 0.005) << r.notes;

  // The demonstration: 1e-8 noise, so whatever changed changed by a hair.
  const std::vector<double> diff = list_after(out, "disturbed - targets:");
  ASSERT_EQ(diff.size(), 30u);  // 30 training rows: one batch
  const auto changed = std::count_if(diff.begin(), diff.end(), [](double d) { return d != 0; });
  for (double d : diff) EXPECT_LT(std::fabs(d), 1e-6);
  EXPECT_NE(out.find("changed: " + std::to_string(changed) + " of 30 targets"), std::string::npos) << out;

  // The author's data preparation: min-max over the WHOLE table, then a 50:50 split.
  EXPECT_NE(r.dataset.find("30 train / 30 test"), std::string::npos) << r.dataset;
  Generator split_gen(3 ^ 0x5eed5011ULL);
  const Split split = random_split(kRows, 30, split_gen);
  std::vector<int64_t> every(kRows);
  std::iota(every.begin(), every.end(), 0);
  const auto [lo, hi] = min_max(y_, every);
  ASSERT_NE(min_max(y_, split.first), std::make_pair(lo, hi))
      << "the split keeps the table's range: no check";
  EXPECT_TRUE(scaled_from(list_after(out, "targets:"), y_, split.first, lo, hi));

  // One Regressor and one Adam: the noisy run starts from the clean run's final weights, and
  // its Adam step counter carries on (one step per epoch: 30 rows in batches of 32).
  const std::string dir = dir_.file("seed");
  const TensorMap start2 = load_safetensors(dir + "/disturb_value_initial.safetensors").tensors;
  const TensorMap end1 = load_safetensors(dir + "/clean_last.ckpt").tensors;
  const TensorMap end2 = load_safetensors(dir + "/disturb_value_last.ckpt").tensors;
  ASSERT_EQ(start2.size(), 4u);
  for (const auto& [name, t] : start2) EXPECT_TRUE(testing::bit_equal(t, end1.at("model." + name))) << name;
  EXPECT_EQ(end1.at("optim.step").to(DType::Float64).item<double>(), 40.0);
  EXPECT_EQ(end2.at("optim.step").to(DType::Float64).item<double>(), 80.0);
  // So the noisy run's first epoch starts far below the clean run's first.
  const Log clean = read_log(dir + "/clean_log.csv");
  const Log noisy = read_log(dir + "/disturb_value_log.csv");
  const auto a = column(clean, "train_loss"), b = column(noisy, "train_loss");
  ASSERT_EQ(a.size(), 40u);
  ASSERT_EQ(b.size(), 40u);
  EXPECT_LT(b.front(), 0.5 * a.front());
}

TEST_F(DisturbValueCommand, DefaultProtocolStartsBothRunsAlike) {
  DisturbValueOptions o = options(dir_.file("alike"));
  o.common.epochs = 3;
  run_disturb_value(o);
  const std::string dir = dir_.file("alike");
  const TensorMap start1 = load_safetensors(dir + "/clean_initial.safetensors").tensors;
  const TensorMap start2 = load_safetensors(dir + "/disturb_value_initial.safetensors").tensors;
  ASSERT_EQ(start1.size(), 4u);
  for (const auto& [name, t] : start1) EXPECT_TRUE(testing::bit_equal(t, start2.at(name))) << name;
  const TensorMap end2 = load_safetensors(dir + "/disturb_value_last.ckpt").tensors;
  EXPECT_EQ(end2.at("optim.step").to(DType::Float64).item<double>(),
            6.0);  // a fresh Adam: 3 epochs of 2 steps
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
