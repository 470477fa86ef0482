// The autograd tape and engine (see autograd.h).
#include "core/autograd.h"

#include <atomic>
#include <unordered_map>
#include <unordered_set>

#include "core/ops.h"

namespace kiln {

namespace {
thread_local bool t_grad_enabled = true;
thread_local GradReadyHook t_grad_ready_hook;
std::atomic<bool> g_detect_anomaly{false};
std::atomic<uint64_t> g_next_sequence_nr{0};

// The gradient sink of a leaf, created on first use and shared afterwards.
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  TensorImpl* impl = leaf.impl();
  if (auto existing = impl->grad_accumulator.lock()) return existing;
  auto node = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  impl->grad_accumulator = node;
  return node;
}

Edge edge_for(const Tensor& input) {
  if (!input.defined() || !input.requires_grad()) return Edge{};
  if (input.grad_fn()) return Edge{input.grad_fn()};
  return Edge{grad_accumulator(input)};
}

void check_finite(const Tensor& t, const std::string& what) {
  if (t.defined() && is_floating(t.dtype()) && !all_finite(t))
    KILN_FAIL("anomaly detected: ", what, " contains NaN or Inf");
}
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }
GradModeGuard::GradModeGuard(bool enabled) : previous_(t_grad_enabled) { t_grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { t_grad_enabled = previous_; }

void set_detect_anomaly(bool on) { g_detect_anomaly = on; }
bool detect_anomaly() { return g_detect_anomaly; }

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

std::vector<Tensor> FunctionNode::apply(const Tensor& grad_output) {
  KILN_CHECK(fn_ != nullptr, "backward through the graph a second time (", name_,
             "): its saved tensors were freed; pass retain_graph=true to the first backward");
  return fn_(grad_output);
}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& incoming) {
  std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!leaf) return {};  // the parameter no longer exists; nothing to accumulate into
  Tensor& grad = leaf->grad;
  if (!grad.defined()) {
    // A fresh buffer of our own: the incoming tensor may be shared with other nodes, and
    // later backward passes accumulate into .grad in place.
    grad = incoming.detach().clone();
  } else {
    add_(grad, incoming);
  }
  if (t_grad_ready_hook) t_grad_ready_hook(leaf.get());
  return {};
}

GradReadyHook set_grad_ready_hook(GradReadyHook hook) {
  std::swap(hook, t_grad_ready_hook);
  return hook;
}

Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!t_grad_enabled) return output;
  bool needed = false;
  for (const Tensor& t : inputs) needed = needed || (t.defined() && t.requires_grad());
  if (!needed) return output;
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  node->sequence_nr = g_next_sequence_nr++;
  node->next_edges.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    node->next_edges.push_back(edge_for(t));
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  if (g_detect_anomaly) check_finite(output, std::string("output of ") + name);
  TensorImpl* impl = output.impl();
  impl->grad_fn = std::move(node);
  impl->requires_grad = true;
  return output;
}

Tensor record(const char* name, Tensor output, std::initializer_list<Tensor> inputs, BackwardFn backward) {
  return record(name, std::move(output), std::vector<Tensor>(inputs), std::move(backward));
}

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  NoGradGuard no_grad;  // backward computes plain tensors (no higher-order gradients)
  std::shared_ptr<Node> root_node = root.grad_fn();
  if (!root_node) {
    // A leaf: the gradient goes straight into .grad.
    grad_accumulator(root)->apply(grad);
    return;
  }

  // Count, for every reachable node, how many edges point at it; a node runs once all its
  // consumers have contributed their gradient.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack{root_node.get()};
  std::unordered_set<Node*> seen{root_node.get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->next_edges) {
      if (!e.valid()) continue;
      ++dependencies[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }

  // Nodes run in dependency order. A node no gradient reached (every input undefined)
  // still runs through the queue, so the counts of the nodes after it drop to zero.
  std::unordered_map<Node*, Tensor> pending;  // summed gradient waiting at each node
  std::vector<std::shared_ptr<Node>> ready{root_node};
  pending[root_node.get()] = grad;
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    Tensor grad_output;
    if (auto it = pending.find(node.get()); it != pending.end()) {
      grad_output = std::move(it->second);
      pending.erase(it);
    }
    std::vector<Tensor> grads;
    if (grad_output.defined()) grads = node->apply(grad_output);
    if (!retain_graph) node->release();
    KILN_CHECK(grads.empty() || grads.size() == node->next_edges.size(), "autograd: ", node->name(),
               " returned ", grads.size(), " gradients for ", node->next_edges.size(), " inputs");
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      Node* next = e.node.get();
      if (i < grads.size() && grads[i].defined()) {
        KILN_CHECK(node->input_shapes.empty() || grads[i].shape() == node->input_shapes[i],
                   "autograd: ", node->name(), " returned a gradient of shape ", shape_str(grads[i].shape()),
                   " for input ", i, " of shape ", shape_str(node->input_shapes[i]));
        if (g_detect_anomaly) check_finite(grads[i], "gradient computed by " + node->name());
        Tensor& slot = pending[next];
        slot = slot.defined() ? add(slot, grads[i]) : grads[i];
      }
      if (--dependencies[next] == 0) ready.push_back(e.node);
    }
  }
}

}  // namespace kiln
