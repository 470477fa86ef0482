// "Two runs from one starting state, then compare": the shape of batchnorm, disturb-label,
// label-smoothing and weighted-loss. The helper records the starting state (weights and the
// generator position after the model was built), returns to it before each run, trains and
// tests one run, and fills the report fields every such experiment shares, so each
// experiment keeps only what makes its two runs differ.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "data/loader.h"
#include "layers/module.h"
#include "trainers/experiments/common.h"
#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"
#include "trainers/fit.h"
#include "trainers/optim.h"
#include "trainers/plot/plots.h"

namespace kiln {

// The note of experiments whose two runs share their start.
inline constexpr const char* kSameStartNote =
    "both runs from the same initialisation, data order and dropout draws";

struct RunOutcome {
  FitResult fit;
  TestReport test;
};

class PairedRuns {
 public:
  // `train` and `test` are the loaders both runs use; `model_id` guards their checkpoints.
  PairedRuns(const CommonOptions& options, RunContext& ctx, const ClassificationData& data, DataLoader& train,
             DataLoader& test, std::string resume_dir, const std::string& model_id);

  // Records `model`'s weights and the generator position reached after building it.
  void snapshot(Module& model);
  // Records only where the generator starts (runs whose models differ, each built from the seed).
  void set_start_offset(uint64_t offset) { start_offset_ = offset; }

  // Puts the default generator back at the start: the same data order and dropout draws.
  void restore_generator() const;
  // ...and the snapshot's weights into `model` too.
  void restore(Module& model) const;

  // The configuration both runs share (epochs, model id, the final weights kept, the step
  // flags), named `name`; files are `<name>_log.csv`, ...
  FitConfig config(const std::string& name) const;

  // Prints `heading`, trains (or resumes) the run and tests it; the confusion matrix is
  // `<config.name>_confusion_matrix.png`, titled "<title>: test confusion matrix".
  RunOutcome train_and_test(Module& model, Optimizer& optimizer, const FitConfig& config, const LossFn& loss,
                            const std::string& heading, const std::string& title);

  // The report fields both runs fill alike: dataset, device, the time of both runs, and the
  // plots (loss_curves.png, then each run's confusion matrix).
  ExperimentResult result(const RunOutcome& first, const RunOutcome& second) const;

 private:
  const CommonOptions& options_;
  RunContext& ctx_;
  const ClassificationData& data_;
  DataLoader& train_;
  DataLoader& test_;
  std::string resume_dir_;
  FitConfig base_;
  TensorMap initial_;
  uint64_t start_offset_ = 0;
};

// Both runs' training loss per epoch on one chart (for loss_curves.png).
LinePlot paired_loss_plot(const std::string& title, const std::string& y_label, const std::string& first_name,
                          const RunOutcome& first, const std::string& second_name, const RunOutcome& second);

// Closes a report: the --protocol note (when not empty) goes first in the notes, which are
// printed, then the headline.
void finish_report(ExperimentResult& r, const std::string& protocol_note);

}  // namespace kiln
