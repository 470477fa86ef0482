// Pieces the experiments share: loading and splitting the image data, uploading it once to
// the device, the tutorial's loaders (Normalize(0.5, 0.5), batch 32), its two ResNet-18s,
// test evaluation with a confusion-matrix figure, loss-curve figures, and the closing lines
// every command prints (its headline number beside the tutorial's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/loader.h"
#include "layers/models.h"
#include "trainers/experiments/common_options.h"
#include "trainers/experiments/datasets.h"
#include "trainers/experiments/experiment.h"
#include "trainers/fit.h"
#include "trainers/plot/plots.h"

namespace kiln {

struct ClassificationData {
  std::string name;         // dataset name, e.g. "cifar10"
  std::string description;  // for reports: name, sizes, substitution, --limit
  std::vector<std::string> class_names;
  int64_t channels = 0;
  // On the run's device; stable addresses (loaders refer to them).
  std::unique_ptr<Dataset> train, val, test;
};

// Loads `preferred` (or its stand-in, see datasets.h), keeps the first --limit training
// samples, and holds out `val_fraction` of them (random, seeded) for validation.
ClassificationData load_classification(const CommonOptions& o, const RunContext& ctx,
                                       const std::string& preferred, double val_fraction);

// The step flags every experiment shares: --clip-grad, --skip-nonfinite, --no-graph.
void apply_train_flags(const CommonOptions& o, TrainOptions& train);

// The tutorial's transform: ToTensor + Normalize(0.5, ..., 0.5).
ImageTransform tutorial_normalize(int64_t channels);

// The torchvision-style ResNet-18 of the DisturbLabel section (used by disturb-label,
// label-smoothing, batchnorm and weighted-loss), for this data, on the run's device.
std::unique_ptr<ResNet18> make_resnet(const ClassificationData& data, const RunContext& ctx,
                                      bool batchnorm = true);
std::string resnet_id(const ClassificationData& data, bool batchnorm);

// The author's own CIFAR ResNet-18 (`modeltype('resnet18')`, used by early-stopping).
std::unique_ptr<CifarResNet18> make_cifar_resnet(const ClassificationData& data, const RunContext& ctx);
std::string cifar_resnet_id(const ClassificationData& data);

struct TestReport {
  double accuracy = 0;
  std::vector<double> per_class;
  std::string confusion_png;  // file name inside the output directory
};

// Accuracy on the test set, per-class accuracy, and `<prefix>confusion_matrix.png`.
TestReport evaluate_test(Module& model, DataLoader& test, const ClassificationData& data, RunContext& ctx,
                         const std::string& prefix, const std::string& title);

// Train (and validation, when present) loss per epoch -> PNG; marker at `marker_epoch` > 0.
void plot_loss_curves(const std::string& path, const std::string& title,
                      const std::vector<EpochRecord>& history, int64_t marker_epoch = 0,
                      const std::string& marker_label = "");

// "12.34%" and fixed-point text.
std::string percent(double fraction);
std::string fixed(double value, int digits);

// Evaluation batch size: eval-mode results do not depend on it, and larger batches run faster
// (the tutorial evaluates with 32, 100 or 128).
inline constexpr int64_t kEvalBatchSize = 256;

// --resume for a command that trains several runs into one directory: the file given must be
// one of the runs' `<name>_last.ckpt`; each run then continues from its own checkpoint in that
// directory. Returns the directory, or "" when not resuming.
std::string resume_directory(const std::string& resume, const std::vector<std::string>& run_names,
                             const std::string& command);

// fit() for one run of such a command: continues from `<resume_dir>/<name>_last.ckpt` when it
// exists (a finished run is only loaded); otherwise saves the starting weights as
// `<name>_initial.safetensors` — the record that runs meant to start alike really did — and
// trains from them.
FitResult fit_run(Module& model, Optimizer& optimizer, DataLoader& train, DataLoader* val, const LossFn& loss,
                  RunContext& ctx, FitConfig config, const std::string& resume_dir);

// The last lines a command prints, so a run on its own ends like a row of REPORT.md:
//   kiln: <kiln_figure>
//   the tutorial: <tutorial_figure>
void print_headline(const ExperimentResult& r);

// For a command whose tutorial code has nothing that --protocol seed could reproduce
// differently (its --protocol help says `why`: trainers/app/cli_options.h): when the run asked
// for --protocol seed, says so in its output and notes (empty otherwise).
std::string protocol_unchanged_note(const RunContext& ctx, const std::string& why);

// Train loss per epoch as a plot series.
Series train_loss_series(const std::string& name, const std::vector<EpochRecord>& history);

}  // namespace kiln
