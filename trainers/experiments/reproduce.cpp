// `kiln reproduce` (see reproduce.h).
#include "trainers/experiments/reproduce.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>

#include "core/cpu_runtime.h"
#include "core/device.h"
#include "core/file_io.h"
#include "trainers/experiments/batchnorm.h"
#include "trainers/experiments/common_options.h"
#include "trainers/experiments/confusion_matrix.h"
#include "trainers/experiments/disturb_label.h"
#include "trainers/experiments/disturb_value.h"
#include "trainers/experiments/early_stopping.h"
#include "trainers/experiments/label_smoothing.h"
#include "trainers/experiments/pseudo_label.h"
#include "trainers/experiments/version.h"
#include "trainers/experiments/weighted_loss.h"
#include "trainers/experiments/weighted_sampling.h"
#include "trainers/progress.h"

namespace kiln {

namespace {

// The CPU quick-run shortening shared by the ResNet-18 experiments: a slice of the data
// and a few epochs; the test set is cut to keep evaluation proportionate.
struct Shortening {
  int64_t limit, test_limit, epochs;
};
constexpr Shortening kResNetQuick{1200, 2000, 3};

void apply_common(CommonOptions& c, const ReproduceOptions& r, const std::string& name,
                  const std::string& data_dir) {
  c.out = r.out + "/" + name;
  c.device = r.device;
  c.seed = r.seed;
  c.protocol = r.protocol;
  c.quiet = r.quiet;
  c.no_graph = r.no_graph;
  c.data_dir = data_dir;
  c.dataset = "auto";
}

void shorten(CommonOptions& c, const Shortening& s) {
  c.limit = s.limit;
  c.test_limit = s.test_limit;
  c.epochs = s.epochs;
}

std::string describe_shortening(const CommonOptions& c, int64_t full_epochs) {
  std::string s = "shortened for a CPU run: " + std::to_string(c.epochs) + " of " +
                  std::to_string(full_epochs) + " epochs";
  if (c.limit > 0) s += ", first " + std::to_string(c.limit) + " training samples";
  if (c.test_limit > 0) s += ", first " + std::to_string(c.test_limit) + " test samples";
  return s;
}

struct Entry {
  std::string name;
  std::function<std::vector<ExperimentResult>(const ReproduceOptions&)> run;
};

template <typename Options>
std::vector<ExperimentResult> one(const Options& o, ExperimentResult (*fn)(const Options&),
                                  const std::string& shortening) {
  ExperimentResult r = fn(o);
  if (!shortening.empty()) r.notes = shortening + "; " + r.notes;
  return {r};
}

std::vector<Entry> entries() {
  return {
      {"confusion-matrix",
       [](const ReproduceOptions& r) {
         auto o = confusion_matrix_defaults();
         apply_common(o.common, r, "confusion-matrix", "");
         return one(o, run_confusion_matrix, "");
       }},
      {"weighted-sampling",
       [](const ReproduceOptions& r) {
         auto o = weighted_sampling_defaults();
         apply_common(o.common, r, "weighted-sampling", "");
         return one(o, run_weighted_sampling, "");
       }},
      {"disturb-value",
       [](const ReproduceOptions& r) {
         auto o = disturb_value_defaults();  // the full protocol is cheap: 400 epochs of 404 rows
         apply_common(o.common, r, "disturb-value", "");
         return one(o, run_disturb_value, "");
       }},
      {"early-stopping",
       [](const ReproduceOptions& r) {
         auto o = early_stopping_defaults();
         apply_common(o.common, r, "early-stopping", r.cifar10_dir);
         std::string note;
         if (!r.full) {
           // Fewer images than the other ResNet experiments: without a max-pool the author's
           // CIFAR ResNet keeps full-size maps, about four times the work per image.
           shorten(o.common, {1000, kResNetQuick.test_limit, 4});
           o.patience = 2;
           note = describe_shortening(o.common, 51) + ", patience 2";
         }
         return one(o, run_early_stopping, note);
       }},
      {"batchnorm",
       [](const ReproduceOptions& r) {
         auto o = batchnorm_defaults();
         apply_common(o.common, r, "batchnorm", r.cifar10_dir);
         std::string note;
         if (!r.full) {
           shorten(o.common, kResNetQuick);
           note = describe_shortening(o.common, batchnorm_defaults().common.epochs);
         }
         return one(o, run_batchnorm, note);
       }},
      {"disturb-label",
       [](const ReproduceOptions& r) {
         auto o = disturb_label_defaults();
         apply_common(o.common, r, "disturb-label", r.cifar10_dir);
         std::string note;
         if (!r.full) {
           shorten(o.common, kResNetQuick);
           note = describe_shortening(o.common, 50);
         }
         return one(o, run_disturb_label, note);
       }},
      {"label-smoothing",
       [](const ReproduceOptions& r) {
         auto o = label_smoothing_defaults();
         apply_common(o.common, r, "label-smoothing", r.cifar10_dir);
         std::string note;
         if (!r.full) {
           shorten(o.common, kResNetQuick);
           note = describe_shortening(o.common, label_smoothing_defaults().common.epochs);
         }
         return one(o, run_label_smoothing, note);
       }},
      {"weighted-loss",
       [](const ReproduceOptions& r) {
         auto o = weighted_loss_defaults();
         apply_common(o.common, r, "weighted-loss", r.cifar10_dir);
         std::string note;
         if (!r.full) {
           o.common.test_limit = kResNetQuick.test_limit;
           o.common.epochs = kResNetQuick.epochs;
           note = describe_shortening(o.common, weighted_loss_defaults().common.epochs);
         }
         return one(o, run_weighted_loss, note);
       }},
      {"pseudo-label",
       [](const ReproduceOptions& r) {
         auto o = pseudo_label_defaults();
         apply_common(o.common, r, "pseudo-label", r.mnist_dir);
         std::string note;
         if (!r.full) {
           // The alpha schedule is compressed with the epochs: T1, T2 keep their proportions.
           o.common.epochs = 8;
           o.common.test_limit = kResNetQuick.test_limit;
           o.t1 = 2;
           o.t2 = 7;
           o.threshold_t1 = 1;
           o.unlabeled_limit = 8000;
           note = describe_shortening(o.common, 501) +
                  ", first 8000 unlabelled images, T1/T2 = 2/7 (online), 1/7 (threshold)";
         }
         auto rows = run_pseudo_label(o);
         for (auto& row : rows)
           if (!note.empty()) row.notes = note + "; " + row.notes;
         return rows;
       }},
  };
}

std::string escape_cell(std::string s) {
  for (char& c : s)
    if (c == '|' || c == '\n') c = c == '|' ? '/' : ' ';
  return s;
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

}  // namespace

std::string render_report(const std::vector<ExperimentResult>& rows, const ReproduceOptions& o,
                          double total_seconds) {
  std::string md = "# kiln reproduction report\n\n";
  md += "Generated by `kiln reproduce" + std::string(o.full ? " --full" : "") + "` on " + today() +
        " (kiln " + kiln_version() + ", " +
        (o.protocol == "seed" ? "--protocol seed: the tutorial's code as written"
                              : "default protocol: the tutorial's bugs corrected") +
        ", seed " + std::to_string(o.seed) + ", BLAS kernels " + blas_core_name() +
        (process_group().world_size() > 1
             ? ", data-parallel over " + std::to_string(process_group().world_size()) + " processes (" +
                   process_group().backend() + ")"
             : "") +
        ").\n";
  md += o.full ? "Full protocols, as in the tutorial.\n\n"
               : "Shortened protocols sized for a CPU-only machine; each row says how. Run `kiln reproduce "
                 "--full` "
                 "(on a GPU) for the tutorial's protocols.\n\n";
  md += "| experiment | the tutorial | kiln | dataset | device | wall time |\n|---|---|---|---|---|---|\n";
  for (const ExperimentResult& r : rows)
    md += "| " + escape_cell(r.experiment) + " | " + escape_cell(r.tutorial_figure) + " | " +
          escape_cell(r.kiln_figure) + " | " + escape_cell(r.dataset) + " | " + escape_cell(r.device) +
          " | " + format_duration(r.seconds) + " |\n";
  md += "\nTotal wall time: " + format_duration(total_seconds) + ".\n\n## Notes and figures\n";
  for (const ExperimentResult& r : rows) {
    md += "\n### " + r.experiment + "\n\n";
    if (!r.notes.empty()) md += r.notes + "\n\n";
    for (const std::string& p : r.plots) md += "![" + p + "](" + p + ")\n";
  }
  return md;
}

std::vector<ExperimentResult> run_reproduce(const ReproduceOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  // Under mpirun every experiment trains data-parallel; rank 0 alone writes the report.
  ProcessGroup& group = init_process_group();
  if (group.is_root()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    KILN_CHECK(!ec, "cannot create --out directory '", o.out, "': ", ec.message());
  }
  const auto all = entries();
  for (const std::string& name : o.only) {
    bool known = false;
    for (const Entry& e : all) known = known || e.name == name;
    KILN_CHECK(known, "reproduce --only: unknown experiment '", name, "'");
  }
  std::vector<ExperimentResult> rows;
  for (const Entry& e : all) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), e.name) == o.only.end()) continue;
    if (any_rank(group, interrupted())) throw Interrupted();
    std::printf("\n=== %s ===\n", e.name.c_str());
    std::fflush(stdout);
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<ExperimentResult> got = e.run(o);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    for (ExperimentResult& r : got) {
      if (r.seconds == 0) r.seconds = secs / static_cast<double>(got.size());
      // Plots live in the experiment's own directory; the report links them from the top.
      for (std::string& p : r.plots) p = e.name + "/" + p;
      rows.push_back(r);
    }
    // Rewrite the report after every experiment: an interrupted run still leaves one.
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (group.is_root()) write_file_atomic(o.out + "/REPORT.md", render_report(rows, o, total));
  }
  std::printf("\nwrote %s/REPORT.md\n", o.out.c_str());
  return rows;
}

}  // namespace kiln
