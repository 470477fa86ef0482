// The epoch loop every experiment runs: train, optionally validate, select a model, log,
// checkpoint, resume. Selection rules:
//   LowestValLoss   kiln's early stopping (patience, min-delta, restore best)
//   FirstBelow      the tutorial's rule: first epoch with validation loss < threshold
//   BestValAccuracy keep the weights with the best validation accuracy (ties: the later
//                   epoch, as the tutorial's `val_acc >= best_acc`)
//   Last            no selection: the final weights
// Each epoch appends a row to the CSV log and atomically rewrites `last.ckpt` (model,
// optimizer, generator, selection state, history) — at most every
// `checkpoint_interval_seconds`, always after the last epoch, when stopping early and when
// interrupted between epochs; the selected model is saved to `best.safetensors` whenever
// it changes. --resume continues from `last.ckpt` bit for bit on the CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "data/loader.h"
#include "layers/module.h"
#include "trainers/loop.h"
#include "trainers/optim.h"
#include "trainers/run_context.h"

namespace kiln {

enum class Selection { LowestValLoss, FirstBelow, BestValAccuracy, Last };

struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  double train_accuracy = std::numeric_limits<double>::quiet_NaN();
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;
  std::vector<double> extra;  // experiment-specific columns (FitConfig::extra_columns)
};

struct FitConfig {
  std::string name;  // log prefix, e.g. "baseline"; files are <name>_log.csv, <name>_last.ckpt, ...
  int64_t epochs = 1;
  Selection selection = Selection::Last;
  int64_t patience = 10;   // LowestValLoss
  double min_delta = 0.0;  // LowestValLoss
  double threshold = 1.0;  // FirstBelow
  std::string model_id;    // checkpoint compatibility check
  std::string resume;      // path of a checkpoint to continue from
  TrainOptions train;      // target transforms, extra losses, clipping
  // Called before each epoch (1-based), e.g. to update a loss weight schedule.
  std::function<void(int64_t epoch)> before_epoch;
  // Extra per-epoch values for the log (names here, values from extra_values).
  std::vector<std::string> extra_columns;
  std::function<std::vector<double>()> extra_values;
  // Evaluate and select after every optimizer step instead of every epoch (the tutorial's
  // pseudo-labelling loop, --protocol seed). Needs a validation loader.
  bool select_every_step = false;
  // Minimum time between two saves of the log and `last.ckpt` (each save is fsync'ed; a
  // tiny model trains hundreds of epochs per second). 0 saves after every epoch.
  double checkpoint_interval_seconds = 10.0;
};

struct FitResult {
  std::vector<EpochRecord> history;
  int64_t selected_epoch = 0;  // 0: nothing selected (the final weights are kept)
  double selected_metric = std::numeric_limits<double>::quiet_NaN();
  bool stopped_early = false;
  int64_t step_selections = 0;  // select_every_step: how many times a step was selected
  double seconds = 0;
  std::string log_path, best_path, last_path;
};

// Trains `model`; at the end the model holds the selected weights (or the final ones).
// `val` may be null (no validation; Selection must be Last).
FitResult fit(Module& model, Optimizer& optimizer, DataLoader& train, DataLoader* val, const LossFn& loss,
              RunContext& ctx, const FitConfig& config);

}  // namespace kiln
