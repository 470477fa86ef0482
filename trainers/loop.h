// The training and evaluation passes shared by every experiment. Per step the loss and the
// number of correct predictions are accumulated ON THE DEVICE; the host reads them once per
// epoch (and when the progress bar redraws), so a GPU step never waits for the CPU.
// Reported losses follow the tutorial: the mean over batches of each batch's mean loss.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "core/tensor.h"
#include "data/loader.h"
#include "layers/module.h"
#include "trainers/metrics.h"
#include "trainers/optim.h"
#include "trainers/progress.h"

namespace kiln {

struct EpochStats {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();  // classification only, in [0, 1]
  int64_t samples = 0;
  int64_t batches = 0;
  int64_t skipped = 0;  // steps skipped for a non-finite loss (TrainOptions::skip_nonfinite)
  double seconds = 0;
};

class StepGraph;
class GradientAverager;
class ProcessGroup;

// loss(model output, targets) -> scalar tensor.
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& targets)>;
// Rewrites a batch's targets before the loss (DisturbLabel, DisturbValue); accuracy is
// still measured against the original targets.
using TargetTransform = std::function<Tensor(const Tensor& targets)>;
// Extra loss terms computed after the main loss (pseudo-labelling); returns a scalar to add
// or an undefined tensor.
using ExtraLoss = std::function<Tensor(Module& model, int64_t step)>;

struct TrainOptions {
  TargetTransform target_transform;
  ExtraLoss extra_loss;
  double clip_grad_norm = 0.0;  // > 0: rescale gradients to this global L2 norm
  // Train with the model in evaluation mode: batch norm normalises with its running statistics
  // and leaves them alone, dropout is off. What a PyTorch loop does when it calls model.eval()
  // and never model.train() again (the tutorial's DisturbLabel run, --protocol seed).
  bool eval_mode = false;
  // Check each step's loss on the host (a synchronisation per step) and skip the update of a
  // step whose loss is NaN or Inf; such steps are counted, not averaged into the epoch loss.
  bool skip_nonfinite = false;
  // Called after each optimizer step (per-step evaluation in the tutorial's protocols).
  std::function<void(int64_t step)> after_step;
  // Have fit() replay full batches through captured CUDA graphs (trainers/step_graph.h) when
  // the model is on a GPU and the options allow it (can_capture_train_step). fit() keeps the
  // graphs across epochs, for training and for validation; validation is graphed even when
  // training cannot be, since evaluation never reads the host mid-step.
  bool cuda_graph = false;
  // Data-parallel training (fit() sets both when the run has several processes): backward
  // goes through `gradient_averager`, so every rank steps with the gradients averaged over all
  // ranks (trainers/distributed/gradients.h), and a step that one rank skips for a non-finite
  // loss is skipped by all of them (`group` carries that agreement), so the replicas stay
  // equal and their collectives in step.
  GradientAverager* gradient_averager = nullptr;
  ProcessGroup* group = nullptr;
};

// Whether a training step with these options never needs the host mid-step, so it can be
// captured: no --skip-nonfinite, --clip-grad or --detect-anomaly (each reads a value on the
// host), no extra loss (pseudo-labelling draws its own batches on the host).
bool can_capture_train_step(const TrainOptions& options);

// Adds a batch's loss and (classification) number of correct predictions to device-side
// sums, without reading anything on the host.
void add_batch_metrics(Tensor& loss_sum, Tensor& correct, const Tensor& loss, const Tensor& output,
                       const Tensor& targets);

// With `graph` (and options that allow capture), full batches replay a captured training
// step. A StepGraph belongs to one model, optimizer, loss and transform: it must not outlive
// them.
EpochStats train_epoch(Module& model, DataLoader& loader, Optimizer& optimizer, const LossFn& loss,
                       ProgressBar& progress, const std::string& label, const TrainOptions& options = {},
                       StepGraph* graph = nullptr);

// Evaluation mode, no autograd. Adds predictions to `confusion` when given (classification).
// With `graph` (and no confusion matrix, which reads predictions on the host), full batches
// replay a captured evaluation step.
EpochStats evaluate(Module& model, DataLoader& loader, const LossFn& loss,
                    ConfusionMatrix* confusion = nullptr, StepGraph* graph = nullptr);

// Rescales every gradient so their global L2 norm is at most max_norm; returns the norm
// before clipping. Throws when the norm is NaN or Inf (a diverged step must not be applied).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace kiln
