// `kiln confusion-matrix` (see confusion_matrix.h): the tutorial's sklearn + seaborn example,
// counted by kiln's ConfusionMatrix and drawn by kiln's own heatmap, so the figure every
// classification trainer writes can be checked against numbers known in advance.
#include "trainers/experiments/confusion_matrix.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "trainers/experiments/common.h"
#include "trainers/metrics.h"
#include "trainers/plot/plots.h"

namespace kiln {

namespace {

// What sklearn.metrics.confusion_matrix returns for the tutorial's two lists (the post shows
// only the heatmap drawn from it).
constexpr const char* kTutorialMatrix = "[[1,1,3],[0,1,2],[2,1,5]]";

std::string matrix_text(const std::vector<std::vector<int64_t>>& rows) {
  std::string out = "[";
  for (size_t r = 0; r < rows.size(); ++r) {
    out += r ? ",[" : "[";
    for (size_t c = 0; c < rows[r].size(); ++c) {
      if (c) out += ',';
      out += std::to_string(rows[r][c]);
    }
    out += "]";
  }
  return out + "]";
}

}  // namespace

ConfusionMatrixOptions confusion_matrix_defaults() {
  ConfusionMatrixOptions o;
  o.common.device = "cpu";  // nothing runs on a device
  return o;
}

ExperimentResult run_confusion_matrix(const ConfusionMatrixOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  KILN_CHECK(!o.actual.empty(), "--actual is empty: give at least one label");
  KILN_CHECK(o.actual.size() == o.predicted.size(), "--actual has ", o.actual.size(),
             " labels but --predicted has ", o.predicted.size(), ": they must pair up one to one");
  int64_t max_label = 0;
  for (const auto* list : {&o.actual, &o.predicted})
    for (int64_t v : *list) {
      KILN_CHECK(v >= 0, "labels must be >= 0, got ", v);
      max_label = std::max(max_label, v);
    }
  KILN_CHECK(max_label < kConfusionMatrixMaxClasses, "labels must be below ", kConfusionMatrixMaxClasses,
             " (a readable heatmap), got ", max_label);
  RunContext ctx = make_run_context(o.common, "confusion-matrix");
  // Nothing here trains: under mpirun rank 0 does it all and the other ranks have no share.
  if (!ctx.writes_files()) return {};

  // Classes 0..max label, so a class that never occurs still gets its row and column
  // (sklearn would leave out a label absent from both lists).
  const int64_t k = max_label + 1;
  ConfusionMatrix cm(k);
  cm.add(o.actual, o.predicted);
  std::vector<std::string> names;
  for (int64_t c = 0; c < k; ++c) names.push_back(std::to_string(c));
  const auto rows = cm.rows();
  const bool tutorial =
      o.actual == confusion_matrix_defaults().actual && o.predicted == confusion_matrix_defaults().predicted;
  write_confusion_matrix_png(ctx.path("confusion_matrix.png"), rows, names,
                             tutorial ? "Confusion matrix: the tutorial's example" : "Confusion matrix");

  // The tutorial's point: the matrix shows predictions drifting to one class.
  std::vector<int64_t> predicted_count(static_cast<size_t>(k), 0), actual_count(static_cast<size_t>(k), 0);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t p = 0; p < k; ++p) {
      predicted_count[p] += cm.count(a, p);
      actual_count[a] += cm.count(a, p);
    }
  const auto most =
      std::max_element(predicted_count.begin(), predicted_count.end()) - predicted_count.begin();
  std::string recalls;
  const std::vector<double> per_class = cm.per_class_accuracy();
  for (int64_t c = 0; c < k; ++c) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%s%lld: %s", c ? ", " : "", static_cast<long long>(c),
                  actual_count[c] ? percent(per_class[c]).c_str() : "n/a");
    recalls += buf;
  }

  ExperimentResult r;
  r.experiment = "Confusion matrix";
  r.tutorial_figure = tutorial
                          ? std::string(kTutorialMatrix) + " (sklearn's counts behind the tutorial's heatmap)"
                          : "n/a (--actual/--predicted replace the tutorial's lists)";
  r.kiln_figure = matrix_text(rows);
  r.dataset = tutorial
                  ? "the tutorial's 16 (actual, predicted) pairs"
                  : std::to_string(o.actual.size()) + " (actual, predicted) pairs from --actual/--predicted";
  r.device = "cpu";
  r.plots = {"confusion_matrix.png"};
  char notes[256];
  std::snprintf(
      notes, sizeof notes,
      "rows = actual, columns = predicted; accuracy %s; recall per class %s; class %lld takes %lld of %lld "
      "predictions (it is %lld of %lld actual labels)",
      percent(cm.accuracy()).c_str(), recalls.c_str(), static_cast<long long>(most),
      static_cast<long long>(predicted_count[most]), static_cast<long long>(cm.total()),
      static_cast<long long>(actual_count[most]), static_cast<long long>(cm.total()));
  r.notes = notes;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("confusion-matrix: %s\n%s%s\nwrote %s\n", r.dataset.c_str(), cm.to_text(names).c_str(),
              r.notes.c_str(), ctx.path("confusion_matrix.png").c_str());
  print_headline(r);
  return r;
}

}  // namespace kiln
