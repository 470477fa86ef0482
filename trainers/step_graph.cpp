// Capture and replay of the training step (see step_graph.h).
#include "trainers/step_graph.h"

#include <cstdio>

#include "core/autograd.h"
#include "core/ops.h"
#include "trainers/loop.h"

namespace kiln {

bool TrainStepGraph::supports(const TrainOptions& options) {
  return !options.skip_nonfinite && options.clip_grad_norm <= 0 && !options.extra_loss && !detect_anomaly();
}

void TrainStepGraph::start_epoch(Device device) {
  if (!loss_sum_.defined() || loss_sum_.device() != device) {
    const int64_t replays = replays_;
    *this = TrainStepGraph();  // the old graph wrote the old sums and inputs: start afresh
    replays_ = replays;
    // Allocated outside any capture, so they are ordinary tensors that the graph writes.
    loss_sum_ = Tensor::zeros({}, DType::Float64, device);
    correct_ = Tensor::zeros({}, DType::Float64, device);
  } else {
    loss_sum_.zero_();
    correct_.zero_();
  }
}

bool TrainStepGraph::same_shape(const Batch& batch) const {
  return batch.inputs.shape() == input_shape_ && batch.targets.shape() == target_shape_ &&
         batch.inputs.dtype() == input_dtype_ && batch.targets.dtype() == target_dtype_;
}

std::vector<const void*> TrainStepGraph::addresses(const Optimizer& optimizer) const {
  std::vector<const void*> a;
  for (const Tensor& p : optimizer.params()) {
    a.push_back(p.raw_data());
    a.push_back(p.grad().defined() ? p.grad().raw_data() : nullptr);
  }
  return a;
}

void TrainStepGraph::capture(Module& model, Optimizer& optimizer, const LossFn& loss_fn, const TrainOptions& options) {
  const Device device = batch_device_;
  graph_ = std::make_unique<CudaGraph>(device);
  graph_->capture([&] {
    optimizer.zero_grad();
    const Tensor output = model(inputs_);
    const Tensor targets = options.target_transform ? options.target_transform(targets_) : targets_;
    const Tensor loss = loss_fn(output, targets);
    add_batch_metrics(loss_sum_, correct_, loss, output, targets_);
    loss.backward();
    optimizer.step();
  });
  captured_addresses_ = addresses(optimizer);
  captured_lr_ = optimizer.lr();
}

bool TrainStepGraph::run(Module& model, Optimizer& optimizer, const LossFn& loss_fn, const TrainOptions& options,
                         const Batch& batch) {
  if (disabled_ || !batch.inputs.is_cuda()) return false;
  if (!have_shape_) {
    input_shape_ = batch.inputs.shape();
    target_shape_ = batch.targets.shape();
    input_dtype_ = batch.inputs.dtype();
    target_dtype_ = batch.targets.dtype();
    batch_device_ = batch.inputs.device();
    have_shape_ = true;
  }
  if (!same_shape(batch) || batch.inputs.device() != batch_device_) return false;
  if (!warmed_up_) {
    warmed_up_ = true;
    return false;  // this step runs eagerly: lazy initialisation must not happen during capture
  }
  const bool stale = graph_ && (addresses(optimizer) != captured_addresses_ || optimizer.lr() != captured_lr_ ||
                                 !graph_->random_seeds_unchanged());
  if (stale) {
    // Frozen arguments no longer hold. Run this step eagerly (it also rebuilds what the
    // optimizer caches for the new addresses, outside any capture) and capture the next one.
    graph_.reset();
    return false;
  }
  if (!graph_) {
    if (!inputs_.defined()) {
      inputs_ = Tensor::empty(input_shape_, input_dtype_, batch_device_);
      targets_ = Tensor::empty(target_shape_, target_dtype_, batch_device_);
    }
    try {
      capture(model, optimizer, loss_fn, options);
    } catch (const Error& e) {
      graph_.reset();
      disabled_ = true;
      std::fprintf(stderr, "note: the training step could not be captured as a CUDA graph; running it eagerly (%s)\n",
                   e.what());
      return false;
    }
  }
  inputs_.copy_(batch.inputs);
  targets_.copy_(batch.targets);
  graph_->replay();
  ++replays_;
  return true;
}

}  // namespace kiln
