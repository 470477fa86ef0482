// Define-by-run reverse-mode autodiff. Each differentiable op that sees an input requiring
// grad records one Node: its backward function and an edge to the Node of every input.
// backward() walks that graph from the output in dependency order and sums the gradients
// flowing into each Node; leaves receive theirs through an AccumulateGrad node, which adds
// into the leaf's .grad in place (so parameter gradients keep one buffer for the whole run).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
  bool valid() const { return node != nullptr; }
};

class Node {
 public:
  virtual ~Node() = default;
  virtual std::string name() const = 0;
  // Given d(loss)/d(output), returns d(loss)/d(input_i) for each next edge (an undefined
  // tensor where the input needs none).
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  // Frees what the backward function saved; called after backward unless retain_graph.
  virtual void release() {}

  std::vector<Edge> next_edges;
  std::vector<Shape> input_shapes;  // to check every gradient a backward returns
  uint64_t sequence_nr = 0;         // creation order, to make traversal deterministic
};

// The backward of one op, as a closure over what it saved.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  std::vector<Tensor> apply(const Tensor& grad_output) override;
  void release() override { fn_ = nullptr; }

 private:
  std::string name_;
  BackwardFn fn_;
};

// Adds incoming gradients into a leaf's .grad.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(const Tensor& grad_output) override;

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// Grad mode: off inside a NoGradGuard (evaluation, optimizer updates, backward itself).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Sets grad mode for a scope (torch.set_grad_enabled), e.g. to time a backward pass inside
// code that otherwise runs without autograd.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

// True when an op on these inputs must be recorded.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);

// Records `output = op(inputs)` on the tape when grad mode is on and an input requires
// grad: `output` gets a FunctionNode whose edges point at the inputs, in order. The
// backward closure must return one gradient per input, shaped like that input (or an
// undefined tensor). Returns `output` for chaining.
Tensor record(const char* name, Tensor output, std::initializer_list<Tensor> inputs, BackwardFn backward);
Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward);

// Runs the backward pass from `root` seeded with `grad` (same shape as root).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

// Called on the backward's thread each time AccumulateGrad has added a pass's gradient into a
// leaf's .grad, with that leaf. The engine sums every path into a node before running it, so
// the leaf's gradient for this pass is then complete: data-parallel training starts reducing
// a bucket of gradients here while backward computes the rest. One hook per thread; returns
// the previous one (restore it when done).
using GradReadyHook = std::function<void(const TensorImpl* leaf)>;
GradReadyHook set_grad_ready_hook(GradReadyHook hook);

// Called by the backward of every op when anomaly detection is on: names the first op
// whose gradient holds a NaN or Inf. (Off by default: the check reads results to the host.)
void set_detect_anomaly(bool on);
bool detect_anomaly();

}  // namespace kiln
