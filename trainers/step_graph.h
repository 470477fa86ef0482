// Training and evaluation steps as CUDA graphs (core/cuda_graph.h). At the tutorial's batch size
// of 32 a training step is hundreds of small kernels whose launch overhead exceeds their run
// time; replaying a captured step launches them all at once.
//
// A StepGraph serves one loop (the training pass, or evaluation on one loader). For every
// batch of the captured shape the batch is copied into the graph's static input tensors and
// the graph is replayed. The first batch of that shape runs eagerly (it warms up the allocator
// and the libraries' handles, as capture requires), the second is captured and replayed, and
// from then on every full batch is a replay. Batches of another shape (the last, partial one)
// run eagerly. The step adds its loss and correct predictions to device-side sums that the
// eager steps of the same pass share, in step order, so a pass's loss is bit-identical to an
// all-eager pass: the kernels are the same and random ops draw the same numbers
// (core/random_capture.h).
//
// What is frozen at capture — buffer addresses, the learning rate, generator seeds — is
// checked before every replay (the caller's "frozen" values plus the seeds); if anything
// changed, that step runs eagerly and the next one is captured again. Host-side values that
// the step's closures compute (a counter incremented in a target transform) would be frozen
// too: such state must live in device tensors. A step is captured only when nothing in it
// needs the host mid-step (see can_capture_train_step). If capture fails the run says so once
// and continues eagerly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/cuda_graph.h"
#include "core/tensor.h"
#include "data/loader.h"

namespace kiln {

class StepGraph {
 public:
  // The work of one step on the static batch: it must add the batch's loss and correct
  // predictions to `loss_sum` and `correct` (trainers/loop.h: add_batch_metrics).
  using Body =
      std::function<void(const Tensor& inputs, const Tensor& targets, Tensor& loss_sum, Tensor& correct)>;

  // Device-side sums for a pass on `device`, zeroed. A pass's eager steps add to these too.
  void start_pass(Device device);
  Tensor& loss_sum() { return loss_sum_; }
  Tensor& correct() { return correct_; }

  // Runs `body` on `batch` by replaying the captured graph and returns true; returns false
  // when the caller must run this step eagerly (warm-up, another shape, a frozen value
  // changed, capture failed). `frozen` lists what the graph's kernels have baked in.
  bool run(const Batch& batch, const std::vector<uint64_t>& frozen, const Body& body);

  int64_t replays() const { return replays_; }  // in total, over all passes
  bool captured() const { return graph_ && graph_->captured(); }

 private:
  bool same_shape(const Batch& batch) const;

  std::unique_ptr<CudaGraph> graph_;
  Shape input_shape_, target_shape_;
  DType input_dtype_ = DType::Float32, target_dtype_ = DType::Int64;
  Device device_;
  bool have_shape_ = false, warmed_up_ = false, disabled_ = false;
  Tensor inputs_, targets_;    // the captured step reads its batch here
  Tensor loss_sum_, correct_;  // ... and adds its loss and hits here
  std::vector<uint64_t> frozen_;
  int64_t replays_ = 0;
};

// Addresses (and other raw values) as entries of StepGraph's `frozen` list.
inline uint64_t frozen_value(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }
uint64_t frozen_value(double v);

}  // namespace kiln
