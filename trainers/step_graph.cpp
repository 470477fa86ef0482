// Capture and replay of training and evaluation steps (see step_graph.h).
#include "trainers/step_graph.h"

#include <cstdio>
#include <cstring>

namespace kiln {

uint64_t frozen_value(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

void StepGraph::start_pass(Device device) {
  if (!loss_sum_.defined() || loss_sum_.device() != device) {
    const int64_t replays = replays_;
    *this = StepGraph();  // the old graph wrote the old sums and inputs: start afresh
    replays_ = replays;
    // Allocated outside any capture, so they are ordinary tensors that the graph writes.
    loss_sum_ = Tensor::zeros({}, DType::Float64, device);
    correct_ = Tensor::zeros({}, DType::Float64, device);
  } else {
    loss_sum_.zero_();
    correct_.zero_();
  }
}

bool StepGraph::same_shape(const Batch& batch) const {
  return batch.inputs.shape() == input_shape_ && batch.targets.shape() == target_shape_ &&
         batch.inputs.dtype() == input_dtype_ && batch.targets.dtype() == target_dtype_ &&
         batch.inputs.device() == device_;
}

bool StepGraph::run(const Batch& batch, const std::vector<uint64_t>& frozen, const Body& body) {
  KILN_CHECK(loss_sum_.defined(), "StepGraph: run() before start_pass()");
  if (disabled_ || !batch.inputs.is_cuda()) return false;
  if (!have_shape_) {
    input_shape_ = batch.inputs.shape();
    target_shape_ = batch.targets.shape();
    input_dtype_ = batch.inputs.dtype();
    target_dtype_ = batch.targets.dtype();
    device_ = batch.inputs.device();
    have_shape_ = true;
  }
  if (!same_shape(batch)) return false;
  if (!warmed_up_) {
    warmed_up_ = true;
    return false;  // this step runs eagerly: lazy initialisation must not happen during capture
  }
  if (graph_ && (frozen != frozen_ || !graph_->random_seeds_unchanged())) {
    // Frozen arguments no longer hold. Run this step eagerly (it also rebuilds what the
    // optimizer caches for new addresses, outside any capture) and capture the next one.
    graph_.reset();
    return false;
  }
  if (!graph_) {
    if (!inputs_.defined()) {
      inputs_ = Tensor::empty(input_shape_, input_dtype_, device_);
      targets_ = Tensor::empty(target_shape_, target_dtype_, device_);
    }
    try {
      graph_ = std::make_unique<CudaGraph>(device_);
      graph_->capture([&] { body(inputs_, targets_, loss_sum_, correct_); });
    } catch (const Error& e) {
      graph_.reset();
      disabled_ = true;
      std::fprintf(stderr, "note: a step could not be captured as a CUDA graph; running it eagerly (%s)\n",
                   e.what());
      return false;
    }
    frozen_ = frozen;
  }
  inputs_.copy_(batch.inputs);
  targets_.copy_(batch.targets);
  graph_->replay();
  ++replays_;
  return true;
}

}  // namespace kiln
