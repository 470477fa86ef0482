// `kiln reproduce`: runs every experiment and writes REPORT.md (one table: experiment, the
// tutorial's figure, kiln's figure, dataset, device, wall time; links to the plots). The
// default is a shortened protocol sized for a CPU-only machine (about 10 minutes on two
// cores; every shortening is stated in the report); --full runs the tutorial's protocols
// (meant for a GPU). CIFAR-10 and MNIST are used when their directories are given;
// otherwise Fashion-MNIST (Debian's dataset-fashion-mnist) stands in and the report says so.
#pragma once

#include <string>
#include <vector>

#include "trainers/experiments/experiment.h"

namespace kiln {

struct ReproduceOptions {
  bool full = false;
  std::string out = "runs/reproduce";
  std::string device = "auto";
  std::string cifar10_dir;  // CIFAR-10 binary batches, for the ResNet-18 experiments
  std::string mnist_dir;    // MNIST IDX files, for pseudo-labelling
  std::string protocol = "default";
  uint64_t seed = 0;
  std::vector<std::string> only;  // run only these experiments (names as subcommands)
  bool quiet = false;
  bool no_graph = false;  // run every training and validation step eagerly on CUDA
};

// Runs the experiments and writes <out>/REPORT.md; returns the rows.
std::vector<ExperimentResult> run_reproduce(const ReproduceOptions& options);
// The Markdown report for `rows` (exposed for tests).
std::string render_report(const std::vector<ExperimentResult>& rows, const ReproduceOptions& options,
                          double total_seconds);

}  // namespace kiln
