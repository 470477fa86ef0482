// Samplers and index splits against independent expectations: exact orders and coverage,
// chi-square tests (p = 0.001) of the drawn frequencies against the probabilities the
// definitions give, reproducibility from (seed, offset), and every argument check.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "samplers/sampler.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

// Upper 0.1% points of the chi-square distribution, P(X > c) = 0.001, by degrees of freedom.
constexpr double kChi2Crit1 = 10.828;
constexpr double kChi2Crit3 = 16.266;
constexpr double kChi2Crit4 = 18.467;
constexpr double kChi2Crit9 = 27.877;
constexpr double kChi2Crit17 = 40.790;
constexpr double kChi2Crit23 = 49.728;

// Pearson's statistic for observed counts against expected probabilities (which sum to 1).
double chi_square(const std::vector<double>& counts, const std::vector<double>& probs) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  double chi2 = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    const double expected = total * probs[k];
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  return chi2;
}

bool is_permutation_of(std::vector<int64_t> got, std::vector<int64_t> want) {
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  return got == want;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

Tensor labels_tensor(const std::vector<int64_t>& labels) {
  return Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())});
}

// The tutorial's two-class folder: 4 lions (class 0, first in sorted folder order) and 14
// tigers (class 1), here in a fixed SHUFFLED order rather than class-sorted.
const std::vector<int64_t> kLionsTigersShuffled = {1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1};

// Runs `fn` and checks it throws kiln::Error whose message contains every fragment.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message;
    return;
  }
  ADD_FAILURE() << "no kiln::Error thrown (expected one mentioning \"" << fragments.front() << "\")";
}

// ---- SequentialSampler ----------------------------------------------------------------------

TEST(SequentialSampler, ExactOrderAndNoDraws) {
  Generator gen(3);
  SequentialSampler s(6);
  EXPECT_EQ(s.size(), 6);
  EXPECT_EQ(s.epoch_indices(gen), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(s.epoch_indices(gen), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(gen.offset(), 0u);  // a sequential loader leaves the random stream alone
  EXPECT_TRUE(SequentialSampler(0).epoch_indices(gen).empty());
}

// ---- RandomSampler / SubsetRandomSampler ----------------------------------------------------

TEST(RandomSampler, EachEpochIsAPermutationAndEpochsDiffer) {
  Generator gen(11);
  RandomSampler s(50);
  EXPECT_EQ(s.size(), 50);
  std::set<std::vector<int64_t>> seen;
  for (int epoch = 0; epoch < 20; ++epoch) {
    const auto order = s.epoch_indices(gen);
    ASSERT_EQ(order.size(), 50u);
    EXPECT_TRUE(is_permutation_of(order, iota(50))) << "epoch " << epoch;
    seen.insert(order);
  }
  EXPECT_EQ(seen.size(), 20u);   // 50! orders: twenty epochs never repeat by chance
  EXPECT_EQ(gen.offset(), 20u);  // one offset per epoch
}

TEST(RandomSampler, ReproducibleFromSeedAndOffset) {
  Generator a(42), b(42), c(43);
  RandomSampler s(30);
  const auto a0 = s.epoch_indices(a), a1 = s.epoch_indices(a), a2 = s.epoch_indices(a);
  EXPECT_EQ(s.epoch_indices(b), a0);
  EXPECT_EQ(s.epoch_indices(b), a1);
  EXPECT_NE(s.epoch_indices(c), a0);
  // Resuming from a checkpoint's (seed, offset) reproduces the epoch exactly.
  Generator resumed(42);
  resumed.set_offset(2);
  EXPECT_EQ(s.epoch_indices(resumed), a2);
}

TEST(RandomSampler, FirstPositionIsUniform) {
  Generator gen(5);
  const int64_t n = 10, epochs = 20000;
  RandomSampler s(n);
  std::vector<double> counts(n, 0.0);
  for (int64_t e = 0; e < epochs; ++e) counts[s.epoch_indices(gen)[0]] += 1;
  // 10 cells, 9 degrees of freedom: critical value 27.877 at p = 0.001.
  EXPECT_LT(chi_square(counts, std::vector<double>(n, 1.0 / n)), kChi2Crit9);
}

TEST(RandomSampler, AllPermutationsOfFourEquallyLikely) {
  // Fisher-Yates with unbiased integer draws gives each of the 4! = 24 orders probability 1/24.
  Generator gen(8);
  RandomSampler s(4);
  std::map<std::vector<int64_t>, double> counts;
  const int epochs = 24000;
  for (int e = 0; e < epochs; ++e) counts[s.epoch_indices(gen)] += 1;
  ASSERT_EQ(counts.size(), 24u);
  std::vector<double> observed;
  for (const auto& [order, count] : counts) observed.push_back(count);
  // 24 cells, 23 degrees of freedom: critical value 49.728 at p = 0.001.
  EXPECT_LT(chi_square(observed, std::vector<double>(24, 1.0 / 24)), kChi2Crit23);
}

TEST(SubsetRandomSampler, PermutesTheGivenIndicesUniformly) {
  const std::vector<int64_t> subset = {7, 3, 42, 9, 100};
  SubsetRandomSampler s(subset);
  EXPECT_EQ(s.size(), 5);
  Generator gen(17), twin(17);
  std::map<int64_t, double> first;
  std::set<std::vector<int64_t>> seen;
  const int epochs = 10000;
  for (int e = 0; e < epochs; ++e) {
    const auto order = s.epoch_indices(gen);
    ASSERT_TRUE(is_permutation_of(order, subset)) << "epoch " << e;
    ASSERT_EQ(s.epoch_indices(twin), order);  // same seed, same epochs
    first[order[0]] += 1;
    seen.insert(order);
  }
  EXPECT_EQ(seen.size(), 120u);  // every one of the 5! orders turns up
  std::vector<double> counts;
  for (int64_t index : subset) counts.push_back(first[index]);
  // 5 cells, 4 degrees of freedom: critical value 18.467 at p = 0.001.
  EXPECT_LT(chi_square(counts, std::vector<double>(5, 0.2)), kChi2Crit4);
}

// ---- WeightedRandomSampler with replacement -------------------------------------------------

TEST(WeightedRandomSampler, BalancesShuffledLionsAndTigers) {
  const auto weights = class_balanced_weights(labels_tensor(kLionsTigersShuffled), 2);
  const int64_t draws = 40000;
  WeightedRandomSampler s(weights, draws, /*replacement=*/true);
  EXPECT_EQ(s.size(), draws);
  Generator gen(21);
  const auto out = s.epoch_indices(gen);
  ASSERT_EQ(static_cast<int64_t>(out.size()), draws);
  std::vector<double> per_class(2, 0.0), per_index(18, 0.0);
  for (int64_t i : out) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, 18);
    per_class[kLionsTigersShuffled[i]] += 1;
    per_index[i] += 1;
  }
  // 2 classes, 1 degree of freedom: critical value 10.828 at p = 0.001.
  EXPECT_LT(chi_square(per_class, {0.5, 0.5}), kChi2Crit1) << "lion fraction " << per_class[0] / draws;
  // Within a class every sample is equally likely: lions 1/8 each, tigers 1/28 each.
  // 18 cells, 17 degrees of freedom: critical value 40.790 at p = 0.001.
  std::vector<double> probs;
  for (int64_t label : kLionsTigersShuffled) probs.push_back(label == 0 ? 1.0 / 8 : 1.0 / 28);
  EXPECT_LT(chi_square(per_index, probs), kChi2Crit17);
}

TEST(WeightedRandomSampler, PerIndexFrequenciesFollowTheWeights) {
  const std::vector<double> w = {0.5, 0.0, 2.0, 1.0, 0.0, 3.5, 1.0};  // sum 8
  WeightedRandomSampler s(w, 2000);
  Generator gen(4);
  std::vector<double> counts(w.size(), 0.0);
  for (int epoch = 0; epoch < 20; ++epoch)
    for (int64_t i : s.epoch_indices(gen)) counts[i] += 1;
  EXPECT_EQ(counts[1], 0.0);  // zero weight: never drawn
  EXPECT_EQ(counts[4], 0.0);
  const std::vector<double> observed = {counts[0], counts[2], counts[3], counts[5], counts[6]};
  const std::vector<double> probs = {0.5 / 8, 2.0 / 8, 1.0 / 8, 3.5 / 8, 1.0 / 8};
  // 5 positive-weight cells, 4 degrees of freedom: critical value 18.467 at p = 0.001.
  EXPECT_LT(chi_square(observed, probs), kChi2Crit4);
}

TEST(WeightedRandomSampler, ZeroWeightsAtTheEndsAreNeverDrawn) {
  // Zero weights first and last exercise both ends of the prefix-sum search, and tiny
  // weights next to huge ones still come out.
  const std::vector<double> w = {0.0, 1e-3, 0.0, 1.0, 0.0};
  WeightedRandomSampler s(w, 50000);
  Generator gen(9);
  int64_t tiny = 0;
  for (int64_t i : s.epoch_indices(gen)) {
    ASSERT_TRUE(i == 1 || i == 3) << "drew zero-weight index " << i;
    tiny += i == 1;
  }
  EXPECT_GT(tiny, 0);
  // Expected 50000 / 1001 ~ 50; a 5-sigma band.
  EXPECT_NEAR(static_cast<double>(tiny), 50000.0 / 1001, 5 * std::sqrt(50000.0 / 1001));
}

TEST(WeightedRandomSampler, ReproducibleAndAdvancesOneOffsetPerEpoch) {
  WeightedRandomSampler s({1, 2, 3, 4}, 100);
  Generator a(77), b(77);
  const auto first = s.epoch_indices(a);
  EXPECT_EQ(a.offset(), 1u);
  EXPECT_EQ(s.epoch_indices(b), first);
  EXPECT_NE(s.epoch_indices(a), first);
}

// ---- WeightedRandomSampler without replacement ----------------------------------------------

TEST(WeightedRandomSamplerNoReplacement, NoRepeatsAndFullDrawIsAPermutation) {
  std::vector<double> w(40);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25 + static_cast<double>(i % 7);
  Generator gen(31);
  WeightedRandomSampler full(w, 40, /*replacement=*/false);
  WeightedRandomSampler part(w, 15, /*replacement=*/false);
  EXPECT_EQ(full.name(), "weighted-random-no-replacement");
  for (int epoch = 0; epoch < 50; ++epoch) {
    EXPECT_TRUE(is_permutation_of(full.epoch_indices(gen), iota(40)));
    const auto some = part.epoch_indices(gen);
    ASSERT_EQ(some.size(), 15u);
    EXPECT_EQ(std::set<int64_t>(some.begin(), some.end()).size(), 15u) << "repeated index";
    for (int64_t i : some) {
      EXPECT_GE(i, 0);
      EXPECT_LT(i, 40);
    }
  }
}

TEST(WeightedRandomSamplerNoReplacement, FirstAndSecondDrawsAreSequentialWeightedDraws) {
  // Sequential weighted draws without replacement: P(first = i) = w_i / W and
  // P(second = j) = sum_{i != j} (w_i / W) * w_j / (W - w_i). Index 2 has weight zero.
  const std::vector<double> w = {1.0, 2.0, 0.0, 3.0, 4.0};
  const double W = 10.0;
  WeightedRandomSampler s(w, 4, /*replacement=*/false);  // all four positive weights
  Generator gen(12);
  std::vector<double> first(5, 0.0), second(5, 0.0);
  const int epochs = 20000;
  for (int e = 0; e < epochs; ++e) {
    const auto order = s.epoch_indices(gen);
    ASSERT_TRUE(is_permutation_of(order, {0, 1, 3, 4})) << "zero-weight index drawn or one missing";
    first[order[0]] += 1;
    second[order[1]] += 1;
  }
  const std::vector<int> positive = {0, 1, 3, 4};
  std::vector<double> f_obs, f_prob, s_obs, s_prob;
  for (int j : positive) {
    f_obs.push_back(first[j]);
    f_prob.push_back(w[j] / W);
    double p = 0;
    for (int i : positive)
      if (i != j) p += (w[i] / W) * w[j] / (W - w[i]);
    s_obs.push_back(second[j]);
    s_prob.push_back(p);
  }
  // 4 cells, 3 degrees of freedom: critical value 16.266 at p = 0.001 (each test).
  EXPECT_LT(chi_square(f_obs, f_prob), kChi2Crit3);
  EXPECT_LT(chi_square(s_obs, s_prob), kChi2Crit3);
}

// ---- class_balanced_weights -----------------------------------------------------------------

// The tutorial's make_weights, transcribed: for each class in turn, append 1/count once per
// member of that class. Entry i is then right only if sample i is the i-th in class order.
std::vector<double> tutorial_make_weights(const std::vector<int64_t>& labels, int64_t nclasses) {
  std::vector<double> weight_list;
  for (int64_t cls = 0; cls < nclasses; ++cls) {
    const auto count = std::count(labels.begin(), labels.end(), cls);
    weight_list.insert(weight_list.end(), static_cast<size_t>(count), 1.0 / static_cast<double>(count));
  }
  return weight_list;
}

TEST(ClassBalancedWeights, ExactValuesForShuffledLabels) {
  const auto w = class_balanced_weights(labels_tensor(kLionsTigersShuffled), 2);
  ASSERT_EQ(w.size(), kLionsTigersShuffled.size());
  double lion_sum = 0, tiger_sum = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(w[i], kLionsTigersShuffled[i] == 0 ? 1.0 / 4 : 1.0 / 14) << "sample " << i;
    (kLionsTigersShuffled[i] == 0 ? lion_sum : tiger_sum) += w[i];
  }
  EXPECT_NEAR(lion_sum, 1.0, 1e-12);
  EXPECT_NEAR(tiger_sum, 1.0, 1e-12);
}

TEST(ClassBalancedWeights, TutorialVersionIsWrongForShuffledLabelsKilnIsNot) {
  const auto kiln_w = class_balanced_weights(labels_tensor(kLionsTigersShuffled), 2);
  const auto tutorial_w = tutorial_make_weights(kLionsTigersShuffled, 2);
  ASSERT_EQ(tutorial_w.size(), kLionsTigersShuffled.size());
  int tutorial_wrong = 0, kiln_wrong = 0;
  double tutorial_lion_mass = 0, kiln_lion_mass = 0;
  for (size_t i = 0; i < kLionsTigersShuffled.size(); ++i) {
    const double correct = kLionsTigersShuffled[i] == 0 ? 1.0 / 4 : 1.0 / 14;
    tutorial_wrong += tutorial_w[i] != correct;
    kiln_wrong += kiln_w[i] != correct;
    if (kLionsTigersShuffled[i] == 0) {
      tutorial_lion_mass += tutorial_w[i];
      kiln_lion_mass += kiln_w[i];
    }
  }
  // The tutorial gives 1/4 to samples 0-3 (three tigers, one lion) and 1/14 to the rest
  // (three lions among them): 6 wrong weights, and the lions' share of the sampling mass is
  // (1/4 + 3/14) / 2 = 0.232 instead of 0.5.
  EXPECT_EQ(tutorial_wrong, 6);
  EXPECT_EQ(kiln_wrong, 0);
  EXPECT_NEAR(tutorial_lion_mass / 2.0, (1.0 / 4 + 3.0 / 14) / 2, 1e-12);
  EXPECT_NEAR(kiln_lion_mass / 2.0, 0.5, 1e-12);

  // On class-sorted labels (the tutorial's ImageFolder order) the two agree.
  std::vector<int64_t> sorted = kLionsTigersShuffled;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(class_balanced_weights(labels_tensor(sorted), 2), tutorial_make_weights(sorted, 2));
}

TEST(ClassBalancedWeights, EmptyClassesAndStridedLabels) {
  // Class 1 of 4 and class 3 have no samples: they simply contribute no entries.
  const std::vector<int64_t> labels = {2, 0, 2, 2, 0};
  EXPECT_EQ(class_balanced_weights(labels_tensor(labels), 4),
            (std::vector<double>{1.0 / 3, 0.5, 1.0 / 3, 1.0 / 3, 0.5}));
  // A non-contiguous column of a [5, 2] tensor is read in logical order.
  const Tensor table = Tensor::from_vector<int64_t>({2, 9, 0, 9, 2, 9, 2, 9, 0, 9}, {5, 2});
  const Tensor column = table.select(1, 0);
  ASSERT_FALSE(column.is_contiguous());
  EXPECT_EQ(class_balanced_weights(column, 4), (std::vector<double>{1.0 / 3, 0.5, 1.0 / 3, 1.0 / 3, 0.5}));
}

TEST(ClassBalancedWeights, LabelsOnCuda) {
  KILN_REQUIRE_CUDA();
  const Tensor labels = labels_tensor(kLionsTigersShuffled);
  EXPECT_EQ(class_balanced_weights(labels.to(Device::cuda()), 2), class_balanced_weights(labels, 2));
  Generator a(1), b(1);
  const Split on_gpu = balanced_subset(labels.to(Device::cuda()), 2, 3, a);
  const Split on_cpu = balanced_subset(labels, 2, 3, b);
  EXPECT_EQ(on_gpu.first, on_cpu.first);
  EXPECT_EQ(on_gpu.second, on_cpu.second);
}

// ---- random_split ---------------------------------------------------------------------------

TEST(RandomSplit, DisjointCoveringSizedAndReproducible) {
  Generator gen(100), twin(100), other(101);
  const Split s = random_split(103, 20, gen);
  EXPECT_EQ(s.first.size(), 83u);
  EXPECT_EQ(s.second.size(), 20u);
  std::vector<int64_t> all = s.first;
  all.insert(all.end(), s.second.begin(), s.second.end());
  EXPECT_TRUE(is_permutation_of(all, iota(103)));  // disjoint and covering at once
  const Split again = random_split(103, 20, twin);
  EXPECT_EQ(again.first, s.first);
  EXPECT_EQ(again.second, s.second);
  EXPECT_NE(random_split(103, 20, other).second, s.second);
  EXPECT_NE(random_split(103, 20, gen).second, s.second);  // the next call draws afresh

  const Split none = random_split(7, 0, gen), whole = random_split(7, 7, gen);
  EXPECT_EQ(none.first.size(), 7u);
  EXPECT_TRUE(none.second.empty());
  EXPECT_TRUE(whole.first.empty());
  EXPECT_TRUE(is_permutation_of(whole.second, iota(7)));
}

TEST(RandomSplit, EverySubsetOfTheValidationSizeEquallyLikely) {
  // Splitting 5 into 3 + 2: each of the C(5,2) = 10 validation pairs has probability 1/10.
  Generator gen(55);
  std::map<std::set<int64_t>, double> counts;
  for (int t = 0; t < 10000; ++t) {
    const Split s = random_split(5, 2, gen);
    counts[std::set<int64_t>(s.second.begin(), s.second.end())] += 1;
  }
  ASSERT_EQ(counts.size(), 10u);
  std::vector<double> observed;
  for (const auto& [pair, count] : counts) observed.push_back(count);
  // 10 cells, 9 degrees of freedom: critical value 27.877 at p = 0.001.
  EXPECT_LT(chi_square(observed, std::vector<double>(10, 0.1)), kChi2Crit9);
}

// ---- balanced_subset ------------------------------------------------------------------------

// Checks that `s` takes exactly per_class of each class into `first` in class order, puts
// the rest in `second`, and that together they are 0..N-1 once each.
void expect_balanced(const Split& s, const std::vector<int64_t>& labels, int64_t num_classes,
                     int64_t per_class) {
  ASSERT_EQ(static_cast<int64_t>(s.first.size()), per_class * num_classes);
  std::vector<int64_t> taken(num_classes, 0);
  for (size_t k = 0; k < s.first.size(); ++k) {
    const int64_t label = labels[s.first[k]];
    EXPECT_EQ(label, static_cast<int64_t>(k) / per_class) << "first is not in class order at " << k;
    ++taken[label];
  }
  for (int64_t c = 0; c < num_classes; ++c) EXPECT_EQ(taken[c], per_class) << "class " << c;
  for (size_t k = 1; k < s.second.size(); ++k) EXPECT_LE(labels[s.second[k - 1]], labels[s.second[k]]);
  std::vector<int64_t> all = s.first;
  all.insert(all.end(), s.second.begin(), s.second.end());
  EXPECT_TRUE(is_permutation_of(all, iota(static_cast<int64_t>(labels.size()))));
}

TEST(BalancedSubset, TutorialMnistSplit) {
  // MNIST's training-set class counts (sum 60,000), in an order shuffled independently of kiln.
  const std::vector<int64_t> counts = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < 10; ++c) labels.insert(labels.end(), counts[c], c);
  ASSERT_EQ(labels.size(), 60000u);
  std::mt19937_64 shuffler(2024);
  std::shuffle(labels.begin(), labels.end(), shuffler);

  Generator gen(0);
  // 2,000 labelled (200 per class) and 58,000 unlabelled.
  const Split labelled = balanced_subset(labels_tensor(labels), 10, 200, gen);
  expect_balanced(labelled, labels, 10, 200);
  EXPECT_EQ(labelled.second.size(), 58000u);

  // Then 1,000 train / 1,000 validation out of the 2,000 (indices into the labelled list).
  std::vector<int64_t> sub_labels;
  for (int64_t i : labelled.first) sub_labels.push_back(labels[i]);
  const Split tv = balanced_subset(labels_tensor(sub_labels), 10, 100, gen);
  expect_balanced(tv, sub_labels, 10, 100);
  EXPECT_EQ(tv.first.size(), 1000u);
  EXPECT_EQ(tv.second.size(), 1000u);
  // Mapped back to MNIST indices: train and validation are disjoint labelled samples.
  std::set<int64_t> train, val;
  for (int64_t k : tv.first) train.insert(labelled.first[k]);
  for (int64_t k : tv.second) val.insert(labelled.first[k]);
  EXPECT_EQ(train.size(), 1000u);
  EXPECT_EQ(val.size(), 1000u);
  for (int64_t i : train) EXPECT_EQ(val.count(i), 0u);
  const std::set<int64_t> unlabelled(labelled.second.begin(), labelled.second.end());
  for (int64_t i : train) EXPECT_EQ(unlabelled.count(i), 0u);

  Generator twin(0);
  EXPECT_EQ(balanced_subset(labels_tensor(labels), 10, 200, twin).first, labelled.first);
}

TEST(BalancedSubset, SmallShuffledCaseAndUniformChoiceWithinAClass) {
  // Class 0 has 5 members; the 2 taken should be any of the C(5,2) = 10 pairs equally often.
  const std::vector<int64_t> labels = {1, 0, 2, 0, 1, 0, 2, 0, 1, 0};
  Generator gen(6);
  expect_balanced(balanced_subset(labels_tensor(labels), 3, 2, gen), labels, 3, 2);
  const Split zero = balanced_subset(labels_tensor(labels), 3, 0, gen);
  EXPECT_TRUE(zero.first.empty());
  EXPECT_TRUE(is_permutation_of(zero.second, iota(10)));

  std::map<std::set<int64_t>, double> pairs;
  for (int t = 0; t < 10000; ++t) {
    const Split s = balanced_subset(labels_tensor(labels), 3, 2, gen);
    pairs[std::set<int64_t>(s.first.begin(), s.first.begin() + 2)] += 1;
  }
  ASSERT_EQ(pairs.size(), 10u);
  std::vector<double> observed;
  for (const auto& [pair, count] : pairs) observed.push_back(count);
  // 10 cells, 9 degrees of freedom: critical value 27.877 at p = 0.001.
  EXPECT_LT(chi_square(observed, std::vector<double>(10, 0.1)), kChi2Crit9);
}

// ---- argument checks ------------------------------------------------------------------------

TEST(SamplerErrors, EveryBadArgumentIsNamed) {
  expect_error([] { SequentialSampler(-1); }, {"SequentialSampler", "n must be >= 0", "-1"});
  expect_error([] { RandomSampler(-3); }, {"RandomSampler", "n must be >= 0", "-3"});
  expect_error([] { SubsetRandomSampler({0, -2}); }, {"SubsetRandomSampler", "-2", ">= 0"});

  expect_error([] { WeightedRandomSampler({}, 1); }, {"WeightedRandomSampler", "empty"});
  expect_error([] { WeightedRandomSampler({1, -0.5}, 1); }, {"WeightedRandomSampler", "weight 1", ">= 0"});
  expect_error([] { WeightedRandomSampler({1, NAN}, 1); }, {"WeightedRandomSampler", "weight 1", "finite"});
  expect_error([] { WeightedRandomSampler({INFINITY}, 1); }, {"WeightedRandomSampler", "finite"});
  expect_error([] { WeightedRandomSampler({1e308, 1e308}, 1); }, {"WeightedRandomSampler", "sum", "finite"});
  expect_error([] { WeightedRandomSampler({0, 0, 0}, 1); }, {"WeightedRandomSampler", "zero"});
  expect_error(
      [] {
        WeightedRandomSampler({1, 2}, 0);
      },
      {"WeightedRandomSampler", "num_samples must be > 0"});
  expect_error(
      [] {
        WeightedRandomSampler({1, 2}, -4);
      },
      {"WeightedRandomSampler", "num_samples must be > 0"});
  expect_error(
      [] {
        WeightedRandomSampler({1, 0, 2}, 3, false);
      },
      {"WeightedRandomSampler", "num_samples 3", "2 positive weights", "without replacement"});
  EXPECT_NO_THROW(WeightedRandomSampler({1, 0, 2}, 3, true));  // with replacement it is fine

  const Tensor good = labels_tensor({0, 1, 1});
  expect_error(
      [&] {
        class_balanced_weights(labels_tensor({0, 2, 1}), 2);
      },
      {"class_balanced_weights", "label 2", "index 1", "[0, 2)"});
  expect_error(
      [&] {
        class_balanced_weights(labels_tensor({0, -1}), 2);
      },
      {"class_balanced_weights", "label -1"});
  expect_error([&] { class_balanced_weights(good.to(DType::Float32), 2); },
               {"class_balanced_weights", "int64"});
  expect_error(
      [&] {
        class_balanced_weights(Tensor::zeros({2, 2}, DType::Int64), 2);
      },
      {"class_balanced_weights", "1-d"});
  expect_error([&] { class_balanced_weights(Tensor(), 2); }, {"class_balanced_weights", "undefined"});
  expect_error([&] { class_balanced_weights(good, 0); },
               {"class_balanced_weights", "num_classes must be > 0"});

  Generator gen(1);
  expect_error([&] { random_split(-1, 0, gen); }, {"random_split", "n must be >= 0"});
  expect_error([&] { random_split(10, 11, gen); }, {"random_split", "validation_count", "[0, 10]", "11"});
  expect_error([&] { random_split(10, -1, gen); }, {"random_split", "validation_count", "-1"});

  expect_error(
      [&] {
        balanced_subset(labels_tensor({0, 0, 0, 1, 2, 2}), 3, 2, gen);
      },
      {"balanced_subset", "class 1 has 1 samples", "per_class = 2"});
  expect_error([&] { balanced_subset(good, 3, 1, gen); }, {"balanced_subset", "class 2 has 0 samples"});
  expect_error([&] { balanced_subset(good, 2, -1, gen); }, {"balanced_subset", "per_class must be >= 0"});
  expect_error([&] { balanced_subset(labels_tensor({0, 5}), 2, 1, gen); }, {"balanced_subset", "label 5"});
  expect_error([&] { balanced_subset(good.to(DType::UInt8), 2, 1, gen); }, {"balanced_subset", "int64"});
  // Failed calls validate before drawing, so they leave the stream where it was.
  EXPECT_EQ(gen.offset(), 0u);
}

}  // namespace
}  // namespace kiln
