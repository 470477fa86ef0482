// Training and evaluation passes (see loop.h).
#include "trainers/loop.h"

#include <chrono>
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "trainers/distributed/gradients.h"
#include "trainers/step_graph.h"

namespace kiln {

namespace {

// Device-side running sums of loss and correct predictions for one pass.
struct Accumulator {
  Tensor loss_sum, correct;
  int64_t batches = 0, samples = 0;

  explicit Accumulator(Device device)
      : loss_sum(Tensor::zeros({}, DType::Float64, device)),
        correct(Tensor::zeros({}, DType::Float64, device)) {}

  void add(const Tensor& loss, const Tensor& output, const Tensor& targets) {
    add_batch_metrics(loss_sum, correct, loss, output, targets);
    ++batches;
    samples += output.size(0);
  }
  double mean_loss() const { return batches ? loss_sum.item<double>() / double(batches) : std::nan(""); }
  double accuracy(bool classification) const {
    return classification && samples ? correct.item<double>() / double(samples) : std::nan("");
  }
};

// What a captured training step bakes in: the optimizer (its state buffers), where parameters
// and gradients live, and the learning rate (a kernel argument of the update).
std::vector<uint64_t> train_frozen(const Optimizer& optimizer) {
  std::vector<uint64_t> v{frozen_value(&optimizer), frozen_value(optimizer.lr())};
  for (const Tensor& p : optimizer.params()) {
    v.push_back(frozen_value(p.raw_data()));
    v.push_back(frozen_value(p.grad().defined() ? p.grad().raw_data() : nullptr));
  }
  return v;
}

// What a captured evaluation step bakes in: where parameters and buffers (running statistics) live.
std::vector<uint64_t> eval_frozen(const Module& model) {
  std::vector<uint64_t> v;
  for (const Tensor& p : model.parameters()) v.push_back(frozen_value(p.raw_data()));
  for (const auto& [name, b] : model.named_buffers()) v.push_back(frozen_value(b.raw_data()));
  return v;
}

// Makes `acc` add into the graph's device sums, so eager and replayed steps share them.
void share_sums(Accumulator& acc, StepGraph& graph) {
  graph.start_pass(acc.loss_sum.device());
  acc.loss_sum = graph.loss_sum();
  acc.correct = graph.correct();
}

// loss.backward(), with the gradients averaged over the ranks of a data-parallel run.
void backward(const Tensor& loss, const TrainOptions& options) {
  if (options.gradient_averager)
    options.gradient_averager->backward(loss);
  else
    loss.backward();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void add_batch_metrics(Tensor& loss_sum, Tensor& correct, const Tensor& loss, const Tensor& output,
                       const Tensor& targets) {
  NoGradGuard no_grad;
  add_(loss_sum, loss.detach().to(DType::Float64));
  if (targets.dtype() == DType::Int64 && output.dim() == 2) {
    const Tensor hits = eq(argmax(output.detach(), 1).to(DType::Float64), targets.to(DType::Float64));
    add_(correct, sum(hits));
  }
}

bool can_capture_train_step(const TrainOptions& options) {
  return !options.skip_nonfinite && options.clip_grad_norm <= 0 && !options.extra_loss && !detect_anomaly();
}

EpochStats train_epoch(Module& model, DataLoader& loader, Optimizer& optimizer, const LossFn& loss_fn,
                       ProgressBar& progress, const std::string& label, const TrainOptions& options,
                       StepGraph* step_graph) {
  const auto t0 = std::chrono::steady_clock::now();
  model.train(!options.eval_mode);
  Accumulator acc(loader.dataset().inputs.device());
  const bool classification = loader.dataset().is_classification();
  progress.start(label, loader.num_batches());
  loader.start_epoch();
  StepGraph* graph = step_graph && can_capture_train_step(options) ? step_graph : nullptr;
  // Replayed and eager steps add to the same device sums, in step order, so the epoch's loss
  // is bit-identical to an all-eager epoch.
  if (graph) share_sums(acc, *graph);
  const StepGraph::Body train_step = [&](const Tensor& inputs, const Tensor& targets, Tensor& loss_sum,
                                         Tensor& correct) {
    optimizer.zero_grad();
    const Tensor output = model(inputs);
    const Tensor loss =
        loss_fn(output, options.target_transform ? options.target_transform(targets) : targets);
    add_batch_metrics(loss_sum, correct, loss, output, targets);
    backward(loss, options);
    optimizer.step();
  };
  // Whether to skip a step that this rank would skip: in a data-parallel run, when any rank would.
  auto skip = [&](bool here) { return options.group ? any_rank(*options.group, here) : here; };
  // The running mean for the progress bar (read only when it redraws).
  auto running_loss = [&] { return acc.batches ? acc.loss_sum.item<double>() / double(acc.batches) : 0.0; };
  Batch batch;
  int64_t step = 0, skipped = 0;
  while (loader.next(batch)) {
    if (graph && graph->run(batch, train_frozen(optimizer), train_step)) {
      ++acc.batches;
      acc.samples += batch.size();
      if (options.after_step) options.after_step(step);
      ++step;
      progress.step(batch.size(), running_loss);
      continue;
    }
    optimizer.zero_grad();
    const Tensor output = model(batch.inputs);
    const Tensor targets = options.target_transform ? options.target_transform(batch.targets) : batch.targets;
    Tensor loss = loss_fn(output, targets);
    if (options.skip_nonfinite && skip(!std::isfinite(loss.item<double>()))) {
      ++skipped;
      progress.step(batch.size(), running_loss);
      continue;
    }
    acc.add(loss, output, batch.targets);
    if (options.extra_loss) {
      const Tensor extra = options.extra_loss(model, step);
      if (extra.defined()) loss = add(loss, extra);
    }
    backward(loss, options);
    if (options.clip_grad_norm > 0) clip_grad_norm(optimizer.params(), options.clip_grad_norm);
    optimizer.step();
    if (options.after_step) options.after_step(step);
    ++step;
    progress.step(batch.size(), running_loss);
  }
  progress.finish();
  // Invalid labels or indices met on the GPU during the pass surface here, as on the CPU.
  check_device_errors(loader.dataset().inputs.device());
  EpochStats s;
  s.loss = acc.mean_loss();
  s.accuracy = acc.accuracy(classification);
  s.samples = acc.samples;
  s.batches = acc.batches;
  s.skipped = skipped;
  s.seconds = seconds_since(t0);
  return s;
}

EpochStats evaluate(Module& model, DataLoader& loader, const LossFn& loss_fn, ConfusionMatrix* confusion,
                    StepGraph* graph) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Accumulator acc(loader.dataset().inputs.device());
  const bool classification = loader.dataset().is_classification();
  if (confusion || detect_anomaly()) graph = nullptr;  // both read values on the host
  if (graph) share_sums(acc, *graph);
  const StepGraph::Body eval_step = [&](const Tensor& inputs, const Tensor& targets, Tensor& loss_sum,
                                        Tensor& correct) {
    const Tensor output = model(inputs);
    add_batch_metrics(loss_sum, correct, loss_fn(output, targets), output, targets);
  };
  const std::vector<uint64_t> frozen = graph ? eval_frozen(model) : std::vector<uint64_t>{};
  loader.start_epoch();
  Batch batch;
  while (loader.next(batch)) {
    if (graph && graph->run(batch, frozen, eval_step)) {
      ++acc.batches;
      acc.samples += batch.size();
      continue;
    }
    const Tensor output = model(batch.inputs);
    acc.add(loss_fn(output, batch.targets), output, batch.targets);
    if (confusion && classification) confusion->add(batch.targets, argmax(output, 1));
  }
  model.train(was_training);
  check_device_errors(loader.dataset().inputs.device());
  EpochStats s;
  s.loss = acc.mean_loss();
  s.accuracy = acc.accuracy(classification);
  s.samples = acc.samples;
  s.batches = acc.batches;
  s.seconds = seconds_since(t0);
  return s;
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  KILN_CHECK(max_norm > 0, "clip_grad_norm: max_norm must be > 0, got ", max_norm);
  NoGradGuard no_grad;
  Tensor total;
  for (const Tensor& p : params) {
    if (!p.grad().defined()) continue;
    const Tensor sq = sum(square(p.grad().to(DType::Float64)));
    total = total.defined() ? add(total, sq) : sq;
  }
  if (!total.defined()) return 0.0;
  const double norm = std::sqrt(total.item<double>());
  KILN_CHECK(std::isfinite(norm), "clip_grad_norm: the gradient norm is ", norm,
             " (a NaN or Inf gradient); the step is not applied");
  if (norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.copy_(mul(g, scale));
    }
  }
  return norm;
}

}  // namespace kiln
