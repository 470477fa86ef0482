// The training step as one CUDA graph (core/cuda_graph.h). At the source's batch size of 32
// a step is hundreds of small kernels whose launch overhead exceeds their run time; replaying
// a captured step launches them all at once.
//
// For every batch of the captured shape, the batch is copied into the graph's static input
// tensors and the graph is replayed: zero_grad, forward, target transform (DisturbLabel, ...),
// loss, the device-side loss and accuracy sums, backward and the optimizer update. The first
// batch of that shape runs eagerly (it warms up the allocator and the libraries' handles, as
// capture requires), the second is captured and replayed, and from then on every full batch
// is a replay. Batches of another shape (the last, partial one) run eagerly. Same seeds, same
// results as the eager path: the kernels are the same and random ops draw the same numbers
// (core/random_capture.h).
//
// A step is captured only when nothing in it needs the host mid-step: no --skip-nonfinite,
// --clip-grad or --detect-anomaly (each reads a value on the host), no extra loss that draws
// its own batches (pseudo-labelling). If capture fails the run says so once and continues
// eagerly. The graph is recaptured (after one eager step) if the parameters or gradients move
// (Module::to, loading a checkpoint into new tensors), the learning rate changes or a
// generator the step draws from is reseeded. Host-side values that the step's closures
// compute (a counter incremented in a target transform) would be frozen too: such state must
// live in device tensors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/cuda_graph.h"
#include "core/tensor.h"
#include "data/loader.h"
#include "layers/module.h"
#include "trainers/optim.h"

namespace kiln {

struct TrainOptions;
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& targets)>;

class TrainStepGraph {
 public:
  TrainStepGraph() = default;
  TrainStepGraph(TrainStepGraph&&) = default;
  TrainStepGraph& operator=(TrainStepGraph&&) = default;

  // Whether a step with these options can be captured at all.
  static bool supports(const TrainOptions& options);

  // Zeroes the device-side sums at the start of an epoch.
  void start_epoch(Device device);
  // Runs the step on `batch` by replaying the captured graph and returns true; returns false
  // when the caller must run this step eagerly (warm-up, another shape, capture failed).
  bool run(Module& model, Optimizer& optimizer, const LossFn& loss, const TrainOptions& options, const Batch& batch);
  // Device-side sums over the replayed steps of this epoch (undefined before start_epoch).
  const Tensor& loss_sum() const { return loss_sum_; }
  const Tensor& correct() const { return correct_; }
  int64_t replays() const { return replays_; }  // in total
  bool captured() const { return graph_ && graph_->captured(); }

 private:
  bool same_shape(const Batch& batch) const;
  std::vector<const void*> addresses(const Optimizer& optimizer) const;
  void capture(Module& model, Optimizer& optimizer, const LossFn& loss, const TrainOptions& options);

  std::unique_ptr<CudaGraph> graph_;
  Shape input_shape_, target_shape_;
  DType input_dtype_ = DType::Float32, target_dtype_ = DType::Int64;
  Device batch_device_;
  bool have_shape_ = false, warmed_up_ = false, disabled_ = false;
  Tensor inputs_, targets_;       // the captured step reads its batch here
  Tensor loss_sum_, correct_;     // ... and adds its loss and hits here
  std::vector<const void*> captured_addresses_;
  double captured_lr_ = 0;
  int64_t replays_ = 0;
};

}  // namespace kiln
