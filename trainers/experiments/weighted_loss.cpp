// `kiln weighted-loss` (see weighted_loss.h). The tutorial only builds the criterion; this trains
// ResNet-18 with plain and class-weighted cross-entropy on a set with the tutorial's class counts,
// from one initialisation, and compares per-class recall (rare classes are where it should matter).
#include "trainers/experiments/weighted_loss.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <type_traits>

#include "core/autograd.h"
#include "core/generator.h"
#include "losses/losses.h"
#include "samplers/sampler.h"
#include "trainers/checkpoint.h"
#include "trainers/csv_log.h"
#include "trainers/experiments/common.h"
#include "trainers/experiments/paired_runs.h"
#include "trainers/plot/plots.h"

namespace kiln {

WeightedLossOptions weighted_loss_defaults() {
  WeightedLossOptions o;
  o.common.epochs = 50;
  o.common.batch_size = 32;
  o.common.lr = 1e-3;
  return o;
}

namespace {

// The tutorial's num_ins: images per class of its (hypothetical) imbalanced data set.
const std::vector<int64_t> kTutorialCounts = {40, 45, 30, 62, 70, 153, 395, 46, 75, 194};

std::string recall_text(double r) { return std::isfinite(r) ? percent(r) : "n/a"; }

template <typename T>
std::string list(const std::vector<T>& v, int digits = -1) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    s += i ? ", " : "";
    if constexpr (std::is_integral_v<T>) {
      s += std::to_string(v[i]);
    } else {
      s += fixed(v[i], digits);
    }
  }
  return s + "]";
}

// The tutorial's counts, or with 0 < limit < their sum, the counts scaled to about `limit`
// samples in all (at least one per class).
std::vector<int64_t> class_counts(int64_t limit) {
  const int64_t total = std::accumulate(kTutorialCounts.begin(), kTutorialCounts.end(), int64_t(0));
  if (limit <= 0 || limit >= total) return kTutorialCounts;
  std::vector<int64_t> n;
  for (int64_t c : kTutorialCounts)
    n.push_back(std::max<int64_t>(1, std::llround(double(c) * double(limit) / double(total))));
  return n;
}

// Indices of an imbalanced draw: for each class, `counts[c]` of its samples chosen uniformly
// (seeded), class after class. The training sampler shuffles them each epoch.
std::vector<int64_t> imbalanced_draw(const std::vector<int64_t>& labels, const std::vector<int64_t>& counts,
                                     const std::vector<std::string>& class_names, uint64_t seed) {
  const int64_t classes = static_cast<int64_t>(counts.size());
  std::vector<std::vector<int64_t>> by_class(counts.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    KILN_CHECK(labels[i] >= 0 && labels[i] < classes, "label ", labels[i], " of training sample ", i,
               " is outside [0, ", classes, ")");
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }
  for (int64_t c = 0; c < classes; ++c)
    KILN_CHECK(static_cast<int64_t>(by_class[c].size()) >= counts[c], "class ", c, " (", class_names[c],
               ") has only ", by_class[c].size(), " training samples; the imbalanced set needs ", counts[c],
               " (--limit scales the tutorial's counts down)");
  Generator gen(seed ^ 0x1b4a1ULL);
  std::vector<int64_t> chosen;
  for (int64_t c = 0; c < classes; ++c) {
    const std::vector<int64_t> shuffled = SubsetRandomSampler(by_class[c]).epoch_indices(gen);
    chosen.insert(chosen.end(), shuffled.begin(), shuffled.begin() + counts[c]);
  }
  return chosen;
}

// Prints each class's test recall next to its share of the training set and draws them as
// per_class_recall.png (classes absent from the test set are left out of the chart). Returns
// the plots written: the chart, when drawn, then both confusion matrices.
std::vector<std::string> report_per_class_recall(const ClassificationData& data, RunContext& ctx,
                                                 const std::vector<int64_t>& counts,
                                                 const std::vector<double>& weights, const TestReport& plain,
                                                 const TestReport& weighted) {
  const int64_t classes = static_cast<int64_t>(counts.size());
  std::printf("per-class test recall:\n  %-3s %-16s %6s %8s %9s %9s\n", "c", "class", "n_c", "w_c", "plain",
              "weighted");
  for (int64_t c = 0; c < classes; ++c)
    std::printf("  %-3lld %-16s %6lld %8.4f %9s %9s\n", static_cast<long long>(c),
                data.class_names[c].c_str(), static_cast<long long>(counts[c]), weights[c],
                recall_text(plain.per_class[c]).c_str(), recall_text(weighted.per_class[c]).c_str());
  std::vector<std::string> categories;
  BarSeries plain_bars{"plain cross-entropy", {}}, weighted_bars{"weighted cross-entropy", {}};
  for (int64_t c = 0; c < classes; ++c) {
    if (!std::isfinite(plain.per_class[c]) || !std::isfinite(weighted.per_class[c]))
      continue;  // not in the test set
    categories.push_back(data.class_names[c] + " (n=" + std::to_string(counts[c]) + ")");
    plain_bars.values.push_back(std::round(1000 * plain.per_class[c]) / 10);
    weighted_bars.values.push_back(std::round(1000 * weighted.per_class[c]) / 10);
  }
  std::vector<std::string> plots = {plain.confusion_png, weighted.confusion_png};
  if (!categories.empty()) {
    if (ctx.writes_files())
      write_bar_chart_png(ctx.path("per_class_recall.png"),
                          "Per-class test recall (%); n = training samples of the class", "recall (%)",
                          categories, {plain_bars, weighted_bars});
    plots.insert(plots.begin(), "per_class_recall.png");
  }
  return plots;
}

}  // namespace

ExperimentResult run_weighted_loss(const WeightedLossOptions& o) {
  RunContext ctx = make_run_context(o.common, "weighted-loss");
  const std::string unchanged = protocol_unchanged_note(ctx, kWeightedLossProtocolUnchanged);
  const std::vector<std::string> names = {"plain_ce", "weighted_ce"};
  const std::string resume_dir = resume_directory(o.common.resume, names, "weighted-loss");

  // The draw needs the whole training set (395 samples of class 6 are not among the first few
  // hundred); --limit scales the class counts instead of cutting the data.
  CommonOptions full = o.common;
  full.limit = 0;
  ClassificationData data = load_classification(full, ctx, "cifar10", 0.0);
  const int64_t classes = static_cast<int64_t>(data.class_names.size());
  KILN_CHECK(classes == static_cast<int64_t>(kTutorialCounts.size()), "the tutorial's class counts are for ",
             kTutorialCounts.size(), " classes; ", data.name, " has ", classes);
  const std::vector<int64_t> wanted = class_counts(o.common.limit);
  const bool scaled = wanted != kTutorialCounts;
  const int64_t pool = data.train->size();
  const std::vector<int64_t> chosen =
      imbalanced_draw(data.train->targets.to_vector<int64_t>(), wanted, data.class_names, o.common.seed);
  *data.train = data.train->subset(chosen);

  // Counts and weights from the labels actually in the training set.
  std::vector<int64_t> counts(classes, 0);
  for (int64_t y : data.train->targets.to_vector<int64_t>()) ++counts[y];
  const int64_t total = data.train->size();
  std::vector<double> weights;
  for (int64_t n : counts) weights.push_back(1.0 - double(n) / double(total));

  const std::string pool_text = "(" + std::to_string(pool) + " train";
  const std::string drawn =
      std::string(scaled ? "the tutorial's class counts scaled to --limit " + std::to_string(o.common.limit)
                         : "the tutorial's class counts");
  const size_t at = data.description.find(pool_text);
  if (at != std::string::npos)
    data.description.replace(
        at, pool_text.size(),
        "(" + std::to_string(total) + " train drawn with " + drawn + " from " + std::to_string(pool));
  else
    data.description += "; " + std::to_string(total) + " training samples drawn with " + drawn;
  std::printf("weighted-loss: %s on %s\n", data.description.c_str(), ctx.device.str().c_str());
  std::printf("class counts n (num_ins): %s, sum %lld%s\n", list(counts).c_str(),
              static_cast<long long>(total), scaled ? " (the tutorial's scaled down by --limit)" : "");
  std::printf("class weights w_c = 1 - n_c/sum(n): %s\n", list(weights, 6).c_str());

  const ImageTransform tf = tutorial_normalize(data.channels);
  DataLoader train(*data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train->size()),
                   false, tf);
  DataLoader test(*data.test, kEvalBatchSize, nullptr, false, tf);
  auto model = make_resnet(data, ctx);
  PairedRuns runs(o.common, ctx, data, train, test, resume_dir, resnet_id(data, true));
  runs.snapshot(*model);
  auto run = [&](const std::string& name, const LossFn& loss, const std::string& title) {
    runs.restore(*model);
    auto opt = make_adam(model->parameters(), o.common.lr);
    const RunOutcome out = runs.train_and_test(*model, *opt, runs.config(name), loss, title, title);
    std::printf("%s: test accuracy %s\n", title.c_str(), percent(out.test.accuracy).c_str());
    return out;
  };
  const RunOutcome plain = run(
      names[0], [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); },
      "Plain cross-entropy");
  CrossEntropyOptions weighted;
  weighted.class_weights =
      Tensor::from_vector(std::vector<float>(weights.begin(), weights.end()), {classes}, ctx.device);
  const RunOutcome wce = run(
      names[1], [weighted](const Tensor& out, const Tensor& y) { return cross_entropy(out, y, weighted); },
      "Weighted cross-entropy");

  std::vector<std::string> plots = report_per_class_recall(data, ctx, counts, weights, plain.test, wce.test);
  if (ctx.writes_files())
    write_line_plot_png(ctx.path("loss_curves.png"),
                        paired_loss_plot("Training loss: plain vs class-weighted cross-entropy",
                                         "mean train loss", "plain", plain, "weighted", wce));
  plots.push_back("loss_curves.png");

  // The two rarest classes and the most common one (2, 0 and 6 with the tutorial's counts).
  std::vector<int64_t> order(classes);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return counts[a] < counts[b]; });
  auto recall_pair = [&](int64_t c) {
    return "class " + std::to_string(c) + " (" + data.class_names[c] + ", n=" + std::to_string(counts[c]) +
           ") " + recall_text(plain.test.per_class[c]) + " -> " + recall_text(wce.test.per_class[c]);
  };
  const std::string rare_vs_common = "recall plain -> weighted: rarest " + recall_pair(order[0]) + ", " +
                                     recall_pair(order[1]) + "; most common " +
                                     recall_pair(order[classes - 1]);

  ExperimentResult r = runs.result(plain, wce);
  r.experiment = "Class-weighted loss (w_c = 1 - n_c/sum(n))";
  r.tutorial_figure = "criterion only (weights 1 - n_c/sum(n); no training reported)";
  r.kiln_figure = "test accuracy " + percent(plain.test.accuracy) + " (plain) vs " +
                  percent(wce.test.accuracy) + " (weighted); " + rare_vs_common;
  r.plots = plots;
  r.notes =
      "training set of " + std::to_string(total) + " samples with class counts " + list(counts) +
      (scaled ? " (the tutorial's " + list(kTutorialCounts) + " scaled down by --limit " +
                    std::to_string(o.common.limit) + ")"
              : std::string(" (the tutorial's") + (o.common.limit > 0
                                                       ? "; --limit " + std::to_string(o.common.limit) +
                                                             " is not below their sum, so they are kept)"
                                                       : ")")) +
      "; weights " + list(weights, 4) + "; " + kSameStartNote + "; the test set keeps its own class balance";
  finish_report(r, unchanged);
  return r;
}

}  // namespace kiln
