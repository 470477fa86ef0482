// `kiln pseudo-label`: the tutorial's balanced_subset indexing against a hand-worked example,
// the alpha schedule and its three update timings, option checks, and the command end to end
// on tiny synthetic MNIST (outputs, learning, the alpha column, pseudo-label counts, resume).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/generator.h"
#include "data/csv.h"
#include "tests/support/helpers.h"
#include "tests/support/synthetic_data.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/pseudo_label.h"

namespace kiln {
namespace {

// ---- the tutorial's indexing -----------------------------------------------------------------

TEST(PseudoLabelTutorialSubset, UsesPositionsWithinAClassAsDatasetIndices) {
  // position:                     0  1  2  3  4  5  6  7  8  9
  const std::vector<int64_t> labels{1, 0, 1, 2, 0, 1, 2, 2, 0, 1};
  // Class 0 sits at 1, 4, 8; class 1 at 0, 2, 5, 9; class 2 at 3, 6, 7. The tutorial shuffles
  // range(len(idx)) and indexes the DATA with it: data[shuffled_idx[:2]].
  const std::vector<std::vector<int64_t>> perms{{2, 0, 1}, {3, 1, 0, 2}, {1, 2, 0}};
  const Split s = tutorial_balanced_subset(labels, 3, 2, perms);
  EXPECT_EQ(s.first, (std::vector<int64_t>{2, 0, 3, 1, 1, 2}));
  EXPECT_EQ(s.second, (std::vector<int64_t>{1, 0, 2, 0}));
  // So "class 0's" two images are positions 2 and 0, both labelled 1; positions 1 and 2 are
  // picked twice; and position 0 is both labelled (class 0's pick) and unlabelled (class 2's rest).
  EXPECT_EQ(labels[s.first[0]], 1);
  EXPECT_EQ(labels[s.first[1]], 1);
  // The correct indexing (idx[shuffled_idx]) would have taken 8, 1 / 9, 2 / 6, 7.
}

TEST(PseudoLabelTutorialSubset, ShortClassesAndBadPermutations) {
  const std::vector<int64_t> labels{0, 1, 1};
  // per_class beyond a class's size takes all of it, as a Python slice does.
  const Split s = tutorial_balanced_subset(labels, 2, 5, {{0}, {1, 0}});
  EXPECT_EQ(s.first, (std::vector<int64_t>{0, 1, 0}));
  EXPECT_TRUE(s.second.empty());
  EXPECT_THROW(tutorial_balanced_subset(labels, 2, 1, {{0}, {1, 1}}), Error);  // not a permutation
  EXPECT_THROW(tutorial_balanced_subset(labels, 2, 1, {{0}, {0}}), Error);     // wrong length
  EXPECT_THROW(tutorial_balanced_subset({0, 3}, 2, 1, {{0}, {}}), Error);      // label out of range
}

TEST(PseudoLabelTutorialSubset, DrawnPermutationsAreReproducible) {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 60; ++i) labels.push_back((i * 7) % 10 < 4 ? 0 : ((i * 7) % 10 < 7 ? 1 : 2));
  std::vector<int64_t> counts(3, 0);
  for (int64_t l : labels) ++counts[l];
  Generator g1(11), g2(11);
  const Split a = tutorial_balanced_subset(labels, 3, 4, g1);
  const Split b = tutorial_balanced_subset(labels, 3, 4, g2);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_EQ(g1.offset(), 3u);  // one offset per class
  // Class c's block (4 picks, then its rest) is a permutation of 0..count_c-1.
  size_t at_first = 0, at_second = 0;
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<int64_t> block(a.first.begin() + at_first, a.first.begin() + at_first + 4);
    block.insert(block.end(), a.second.begin() + at_second, a.second.begin() + at_second + (counts[c] - 4));
    at_first += 4;
    at_second += counts[c] - 4;
    std::sort(block.begin(), block.end());
    for (int64_t i = 0; i < counts[c]; ++i) EXPECT_EQ(block[i], i) << "class " << c;
  }
}

// ---- the alpha schedule ------------------------------------------------------------------------

// The tutorial's update, written out again here: alpha_t * (e - T1) / (T2 - T1) strictly
// between T1 and T2, alpha_t from T2 on, 0 before (and before any update, e < 0).
double expected_alpha(int64_t e, int64_t t1, int64_t t2, double alpha_t) {
  if (e < 0 || e <= t1) return 0.0;
  if (e < t2) return alpha_t * double(e - t1) / double(t2 - t1);
  return alpha_t;
}

TEST(PseudoLabelAlpha, FollowsTheTutorialsScheduleAndUpdateTimings) {
  const int64_t t1 = 2, t2 = 6;
  const double at = 1e-4;
  for (int64_t e = -2; e <= 9; ++e)
    EXPECT_DOUBLE_EQ(tutorial_alpha(e, t1, t2, at), expected_alpha(e, t1, t2, at)) << e;
  EXPECT_DOUBLE_EQ(tutorial_alpha(4, t1, t2, at), 0.5e-4);
  for (int64_t k = 1; k <= 9; ++k) {  // kiln's 1-based epochs
    for (int64_t step : {0, 1, 5}) {
      EXPECT_DOUBLE_EQ(alpha_in_effect(k, step, AlphaUpdate::EpochStart, t1, t2, at),
                       expected_alpha(k - 1, t1, t2, at));
      EXPECT_DOUBLE_EQ(alpha_in_effect(k, step, AlphaUpdate::AfterEpoch, t1, t2, at),
                       expected_alpha(k - 2, t1, t2, at));
      EXPECT_DOUBLE_EQ(alpha_in_effect(k, step, AlphaUpdate::AfterEachStep, t1, t2, at),
                       expected_alpha(step == 0 ? k - 2 : k - 1, t1, t2, at));
    }
  }
}

// ---- options -------------------------------------------------------------------------------------

TEST(PseudoLabelOptionsCheck, BadValuesAreErrors) {
  const auto bad = [](auto edit) {
    PseudoLabelOptions o = pseudo_label_defaults();
    edit(o);
    EXPECT_THROW(validate_pseudo_label_options(o), Error);
    EXPECT_THROW(run_pseudo_label(o), Error);  // before any data is read or written
  };
  bad([](PseudoLabelOptions& o) { o.threshold = 1.5; });
  bad([](PseudoLabelOptions& o) { o.threshold = 0; });
  bad([](PseudoLabelOptions& o) { o.method = "foo"; });
  bad([](PseudoLabelOptions& o) { o.t2 = o.t1; });
  bad([](PseudoLabelOptions& o) { o.threshold_t1 = o.t2; });
  bad([](PseudoLabelOptions& o) { o.labeled = 21; });
  bad([](PseudoLabelOptions& o) { o.labeled = 18; });
  bad([](PseudoLabelOptions& o) { o.unlabeled_batch = 0; });
  bad([](PseudoLabelOptions& o) { o.alpha_t = -1; });
  EXPECT_NO_THROW(validate_pseudo_label_options(pseudo_label_defaults()));
  const PseudoLabelOptions d = pseudo_label_defaults();
  EXPECT_EQ(d.common.epochs, 501);
  EXPECT_EQ(d.common.batch_size, 128);
  EXPECT_DOUBLE_EQ(d.common.lr, 1e-3);
}

TEST(PseudoLabelOptionsCheck, BadFlagsAreParseErrors) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--threshold", "1.5"},
                                             {"--threshold", "0"},
                                             {"--method", "foo"},
                                             {"--labeled", "21"},
                                             {"--labeled", "10"},
                                             {"--unlabeled-batch", "0"},
                                             {"--alpha-t", "-1"},
                                             {"--t1", "-1"}}) {
    CLI::App app;
    add_pseudo_label_command(app);
    const std::string line = "pseudo-label " + args[0] + " " + args[1];
    EXPECT_THROW(app.parse(line, false), CLI::ParseError) << line;
  }
}

// ---- end to end --------------------------------------------------------------------------------

double figure_percent(const std::string& text, const std::string& after) {
  const size_t at = text.find(after);
  if (at == std::string::npos) return -1;
  double v = -1;
  std::sscanf(text.c_str() + at + after.size(), "%lf", &v);
  return v;
}

class PseudoLabelCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new testing::TempDir;
    testing::write_synthetic_mnist(data_->path(), 600, 60);
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  PseudoLabelOptions options(const std::string& out) const {
    PseudoLabelOptions o = pseudo_label_defaults();
    o.common.dataset = "mnist";
    o.common.data_dir = data_->path();
    o.common.device = "cpu";
    o.common.epochs = 3;
    o.common.batch_size = 6;  // 30 training images: 5 steps per epoch
    o.common.out = out;
    o.common.quiet = true;
    o.common.seed = 3;
    o.labeled = 60;
    o.unlabeled_limit = 200;
    o.unlabeled_batch = 6;
    o.t1 = 0;  // tutorial epochs 0, 1, 2: alpha 0, alpha_t / 2, alpha_t
    o.t2 = 2;
    o.threshold_t1 = 0;
    o.alpha_t = 0.05;   // large enough to matter in a few steps, small enough not to derail them
    o.threshold = 0.5;  // the few-step model is not yet confident enough for 0.99
    return o;
  }
  static Table log(const std::string& dir, const std::string& name) {
    return read_csv_table(dir + "/" + name + "_log.csv");
  }
  static double at(const Table& t, int64_t row, const std::string& column) {
    return t.values[row * t.columns.size() + t.column_index(column)];
  }
  static testing::TempDir* data_;
  testing::TempDir out_;
};
testing::TempDir* PseudoLabelCommand::data_ = nullptr;

TEST_F(PseudoLabelCommand, AllMethodsLearnLogAlphaAndCountPseudoLabels) {
  const PseudoLabelOptions o = options(out_.file("all"));
  const std::vector<ExperimentResult> rows = run_pseudo_label(o);
  ASSERT_EQ(rows.size(), 3u);
  const std::string dir = out_.file("all");
  for (const char* m : {"supervised", "online", "threshold"}) {
    for (const char* suffix : {"_log.csv", "_best.safetensors", "_last.ckpt", "_loss_curves.png",
                               "_accuracy_curves.png", "_confusion_matrix.png"})
      EXPECT_TRUE(std::filesystem::exists(dir + "/" + m + suffix)) << m << suffix;
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/online_alpha.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/threshold_alpha.png"));
  EXPECT_NE(rows[0].tutorial_figure.find("69.65%"), std::string::npos);
  EXPECT_NE(rows[1].tutorial_figure.find("79.52%"), std::string::npos);
  EXPECT_NE(rows[2].tutorial_figure.find("78.48%"), std::string::npos);
  for (const ExperimentResult& r : rows) {
    // Ten classes: chance is 10%. The bars are trivially separable.
    EXPECT_GT(figure_percent(r.kiln_figure, "test accuracy "), 30.0) << r.experiment << ": " << r.kiln_figure;
    for (const std::string& p : r.plots) EXPECT_TRUE(std::filesystem::exists(dir + "/" + p)) << p;
  }
  // The default split: 60 distinct labelled images, disjoint from the unlabelled pool.
  EXPECT_NE(rows[0].notes.find("the 60 labelled entries are 60 distinct images (0 repeats)"),
            std::string::npos)
      << rows[0].notes;
  EXPECT_NE(rows[0].notes.find("0 images in both"), std::string::npos);
  EXPECT_NE(rows[0].notes.find("0 of them also labelled"), std::string::npos);

  const Table sup = log(dir, "supervised"), online = log(dir, "online"), thr = log(dir, "threshold");
  ASSERT_EQ(sup.rows(), 3);
  ASSERT_EQ(online.rows(), 3);
  ASSERT_EQ(thr.rows(), 3);
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t k = i + 1;  // kiln epoch; the tutorial's is k - 1
    EXPECT_EQ(at(sup, i, "alpha"), 0.0);
    EXPECT_EQ(at(sup, i, "pseudo_labels"), 0.0);
    const double a_online = expected_alpha(k - 1, o.t1, o.t2, o.alpha_t);
    const double a_thr = expected_alpha(k - 1, o.threshold_t1, o.t2, o.alpha_t);
    EXPECT_NEAR(at(online, i, "alpha"), a_online, 1e-9) << "epoch " << k;
    EXPECT_NEAR(at(thr, i, "alpha"), a_thr, 1e-9) << "epoch " << k;
    // Online: every step with alpha > 0 labels one unlabelled batch (5 steps x 6).
    EXPECT_EQ(at(online, i, "pseudo_labels"), a_online > 0 ? 30.0 : 0.0) << "epoch " << k;
    EXPECT_LE(at(online, i, "pseudo_correct"), at(online, i, "pseudo_labels"));
    EXPECT_LE(at(thr, i, "pseudo_correct"), at(thr, i, "pseudo_labels"));
    EXPECT_EQ(at(thr, i, "pseudo_labels") > 0, a_thr > 0) << "epoch " << k;
  }
  // alpha = 0 draws nothing and every method starts from the same seed, so the online run's
  // first epoch repeats the baseline's exactly.
  for (int64_t i = 0; i < 1; ++i)
    for (const char* c : {"train_loss", "val_loss", "val_accuracy"})
      EXPECT_EQ(at(online, i, c), at(sup, i, c)) << c;

  // Threshold: "N of 200 pseudo-labels kept (...), K right".
  long long kept = -1, total = -1, right = -1;
  const std::string& f = rows[2].kiln_figure;
  const size_t p = f.find("; ");
  ASSERT_NE(p, std::string::npos) << f;
  ASSERT_EQ(std::sscanf(f.c_str() + p + 2, "%lld of %lld pseudo-labels kept", &kept, &total), 2) << f;
  const size_t q = f.find("), ", p);
  ASSERT_NE(q, std::string::npos) << f;
  ASSERT_EQ(std::sscanf(f.c_str() + q + 3, "%lld right", &right), 1) << f;
  EXPECT_EQ(total, 200);
  EXPECT_GE(kept, 0);
  EXPECT_LE(kept, total);
  EXPECT_LE(right, kept);

  // Each method's gain is stated against the supervised run of the same seed, in points.
  const double base = figure_percent(rows[0].kiln_figure, "test accuracy ");
  for (size_t m : {1u, 2u}) {
    const double acc = figure_percent(rows[m].kiln_figure, "test accuracy ");
    const std::string& notes = rows[m].notes;
    EXPECT_TRUE(testing::mentions(notes, {"alpha_t = 0.05 (Lee 2013 used alpha_f = 3)"}))
        << rows[m].experiment;
    const std::string label = "same-seed supervised baseline: ";
    const size_t at = notes.find(label);
    ASSERT_NE(at, std::string::npos) << notes;
    double from = -1, to = -1, points = -1;
    ASSERT_EQ(
        std::sscanf(notes.c_str() + at + label.size(), "%lf%% -> %lf%% (%lf points)", &from, &to, &points), 3)
        << notes;
    EXPECT_EQ(from, base);
    EXPECT_EQ(to, acc);
    EXPECT_NEAR(points, acc - base, 0.011);  // each printed to 0.01
  }
}

TEST(PseudoLabelGainNote, SaysASmallAlphaMakesTheTermTinyAndMeasuresTheGain) {
  // The tutorial's alpha_t and its two accuracies: 79.52 - 69.65 = +9.87 points.
  const std::string tutorial = pseudo_label_gain_note(1e-4, 0.6965, 0.7952);
  EXPECT_TRUE(testing::mentions(
      tutorial,
      {"alpha_t = 0.0001 makes the pseudo-label term tiny", "at most 0.0001 against 1 for the labelled loss",
       "Lee 2013 used alpha_f = 3", "same-seed supervised baseline", "69.65% -> 79.52% (+9.87 points)"}))
      << tutorial;
  const std::string worse = pseudo_label_gain_note(1e-4, 0.80, 0.7875);
  EXPECT_TRUE(testing::mentions(worse, {"80.00% -> 78.75% (-1.25 points)"})) << worse;
  const std::string lee = pseudo_label_gain_note(3, 0.5, 0.5);
  EXPECT_EQ(lee.find("tiny"), std::string::npos) << lee;
  EXPECT_TRUE(testing::mentions(lee, {"alpha_t = 3 (Lee 2013 used alpha_f = 3)", "(+0.00 points)"})) << lee;
  EXPECT_TRUE(testing::mentions(pseudo_label_gain_note(1e-4, std::nan(""), 0.7), {"run --method all"}));
}

TEST_F(PseudoLabelCommand, TutorialProtocolReproducesTheTutorialsLoopAndSplit) {
  PseudoLabelOptions o = options(out_.file("seed"));
  o.common.protocol = "seed";
  const std::vector<ExperimentResult> rows = run_pseudo_label(o);
  ASSERT_EQ(rows.size(), 3u);
  // The tutorial's indexing repeats images and mixes the pools.
  EXPECT_NE(rows[0].notes.find("the tutorial's balanced_subset indexing"), std::string::npos)
      << rows[0].notes;
  EXPECT_EQ(rows[0].notes.find("(0 repeats)"), std::string::npos) << rows[0].notes;
  EXPECT_NE(rows[1].notes.find("steps selected"), std::string::npos) << rows[1].notes;
  const std::string dir = out_.file("seed");
  const Table online = log(dir, "online"), thr = log(dir, "threshold");
  ASSERT_EQ(online.rows(), 3);
  ASSERT_EQ(thr.rows(), 3);
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t k = i + 1;
    // Online: alpha updated after every step, so step 0 still trains with the previous
    // epoch's value and steps 1..4 with this epoch's.
    EXPECT_NEAR(at(online, i, "alpha"), expected_alpha(k - 1, o.t1, o.t2, o.alpha_t), 1e-9) << "epoch " << k;
    const double used = (expected_alpha(k - 2, o.t1, o.t2, o.alpha_t) > 0 ? 6.0 : 0.0) +
                        (expected_alpha(k - 1, o.t1, o.t2, o.alpha_t) > 0 ? 24.0 : 0.0);
    EXPECT_EQ(at(online, i, "pseudo_labels"), used) << "epoch " << k;
    if (k == 2) {
      EXPECT_EQ(used, 24.0);  // step 0 at the old alpha (0), steps 1..4 at the new one
    }
    // Threshold: updated after each epoch, so epoch k trains with the value set after k - 1.
    EXPECT_NEAR(at(thr, i, "alpha"), expected_alpha(k - 2, o.threshold_t1, o.t2, o.alpha_t), 1e-9)
        << "epoch " << k;
  }
}

TEST_F(PseudoLabelCommand, ResumedOnlineRunMatchesTheUninterruptedOne) {
  PseudoLabelOptions full = options(out_.file("full"));
  full.method = "online";
  full.common.epochs = 2;
  run_pseudo_label(full);
  PseudoLabelOptions first = options(out_.file("part"));
  first.method = "online";
  first.common.epochs = 1;
  run_pseudo_label(first);
  PseudoLabelOptions rest = first;
  rest.common.epochs = 2;
  rest.common.resume = out_.file("part") + "/online_last.ckpt";
  const std::vector<ExperimentResult> rows = run_pseudo_label(rest);
  ASSERT_EQ(rows.size(), 1u);
  const Table a = log(out_.file("full"), "online"), b = log(out_.file("part"), "online");
  ASSERT_EQ(a.rows(), 2);
  ASSERT_EQ(b.rows(), 2);
  EXPECT_GT(at(a, 1, "pseudo_labels"), 0.0);  // the resumed epoch draws unlabelled batches
  const int64_t seconds = a.column_index("seconds");
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t c = 0; c < static_cast<int64_t>(a.columns.size()); ++c)
      if (c != seconds) {
        EXPECT_EQ(b.values[i * a.columns.size() + c], a.values[i * a.columns.size() + c])
            << i << " " << a.columns[c];
      }
  // A wrong file name is refused.
  PseudoLabelOptions wrong = rest;
  wrong.common.resume = out_.file("part") + "/online_log.csv";
  EXPECT_THROW(run_pseudo_label(wrong), Error);
}

}  // namespace
}  // namespace kiln
