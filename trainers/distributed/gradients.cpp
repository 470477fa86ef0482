// Start-of-training broadcast and bucketed gradient averaging (see gradients.h).
#include "trainers/distributed/gradients.h"

#include <string>
#include <utility>

#include "core/autograd.h"
#include "core/error.h"

namespace kiln {

namespace {

// Copies rank `root`'s `tensors` into every rank's; `kind` names them in the error message.
void broadcast_tensors(ProcessGroup& host, ProcessGroup& group, const NamedTensors& tensors, const char* kind,
                       int root) {
  // The layout first, so ranks with different models fail with a message instead of
  // exchanging mismatched bytes.
  std::string layout;
  for (const auto& [name, t] : tensors) layout += name + shape_str(t.shape()) + dtype_name(t.dtype()) + ";";
  int64_t root_length = static_cast<int64_t>(layout.size());
  host.broadcast(&root_length, sizeof root_length, root);
  std::string root_layout(static_cast<size_t>(root_length), '\0');
  if (host.rank() == root) root_layout = layout;
  host.broadcast(root_layout.data(), root_length, root);
  KILN_CHECK(root_layout == layout, "broadcast_module: the ", kind, " of rank ", host.rank(),
             " differ from those of rank ", root,
             " (names, shapes or dtypes); every rank must build the same model");
  for (const auto& [name, t] : tensors) {
    Tensor target = t;
    if (target.is_contiguous() && group.carries(target.device())) {
      group.broadcast(target, root);
    } else {
      // A view: through a contiguous copy, on the device when `group` carries it, else on
      // the host over `host`.
      const bool on_device = group.carries(target.device());
      Tensor staged = target.contiguous().to(on_device ? target.device() : Device::cpu()).clone();
      (on_device ? group : host).broadcast(staged, root);
      target.copy_(staged);
    }
  }
}

}  // namespace

void broadcast_module(ProcessGroup& host, ProcessGroup& tensors, Module& module, int root) {
  KILN_CHECK(host.world_size() == tensors.world_size() && host.rank() == tensors.rank(),
             "broadcast_module: the host group (", host.describe(), ") and the tensor group (",
             tensors.describe(), ") must hold the same processes");
  if (host.world_size() == 1) return;
  NoGradGuard no_grad;
  broadcast_tensors(host, tensors, module.named_parameters(), "parameters", root);
  broadcast_tensors(host, tensors, module.named_buffers(), "buffers", root);
}

void broadcast_buffers(ProcessGroup& host, ProcessGroup& tensors, Module& module, int root) {
  if (host.world_size() == 1) return;
  NoGradGuard no_grad;
  broadcast_tensors(host, tensors, module.named_buffers(), "buffers", root);
}

GradientAverager::GradientAverager(ProcessGroup& group, std::vector<Tensor> params, int64_t bucket_bytes)
    : group_(group), params_(std::move(params)) {
  KILN_CHECK(bucket_bytes > 0, "GradientAverager: bucket_bytes must be > 0, got ", bucket_bytes);
  if (group_.world_size() == 1) return;
  // Walk the parameters backwards; a bucket closes when it is full or the dtype or device changes.
  Bucket current;
  int64_t elements = 0;
  auto close = [&] {
    if (current.members.empty()) return;
    const Tensor& first = params_[current.members.front()];
    current.flat = Tensor::zeros({elements}, first.dtype(), first.device());
    KILN_CHECK(group_.carries(first.device()), "GradientAverager: the ", group_.backend(),
               " process group does not carry ", first.device().str(), " gradients");
    buckets_.push_back(std::move(current));
    current = Bucket{};
    elements = 0;
  };
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    KILN_CHECK(p.defined(), "GradientAverager: parameter ", k, " is undefined");
    KILN_CHECK(p.dtype() == DType::Float32 || p.dtype() == DType::Float64, "GradientAverager: parameter ", k,
               " is ", dtype_name(p.dtype()), "; gradients are averaged in float32 or float64");
    if (!current.members.empty()) {
      const Tensor& first = params_[current.members.front()];
      const int64_t bytes = (elements + p.numel()) * static_cast<int64_t>(dtype_size(p.dtype()));
      if (first.dtype() != p.dtype() || first.device() != p.device() || bytes > bucket_bytes) close();
    }
    KILN_CHECK(slot_.count(p.impl()) == 0, "GradientAverager: parameter ", k, " is listed twice");
    slot_[p.impl()] = {buckets_.size(), current.members.size()};
    current.members.push_back(k);
    current.offsets.push_back(elements);
    elements += p.numel();
  }
  close();
}

void GradientAverager::start(Bucket& bucket) {
  NoGradGuard no_grad;
  for (size_t j = 0; j < bucket.members.size(); ++j) {
    const Tensor& p = params_[bucket.members[j]];
    const Tensor g = p.grad();
    KILN_CHECK(g.defined(), "GradientAverager: parameter ", bucket.members[j],
               " has no gradient; every rank must produce every gradient before they are averaged");
    bucket.flat.narrow(0, bucket.offsets[j], p.numel()).view(p.shape()).copy_(g);
  }
  bucket.work = group_.all_reduce_async(bucket.flat.raw_data(), bucket.flat.numel(), bucket.flat.dtype(),
                                        ReduceOp::Average);
}

void GradientAverager::finish(Bucket& bucket) {
  NoGradGuard no_grad;
  bucket.work->wait();
  bucket.work.reset();
  for (size_t j = 0; j < bucket.members.size(); ++j) {
    const Tensor& p = params_[bucket.members[j]];
    Tensor g = p.grad();
    g.copy_(bucket.flat.narrow(0, bucket.offsets[j], p.numel()).view(p.shape()));
  }
}

void GradientAverager::average() {
  if (group_.world_size() == 1) return;
  for (Bucket& bucket : buckets_) start(bucket);
  for (Bucket& bucket : buckets_) finish(bucket);
}

void GradientAverager::gradient_ready(const TensorImpl* leaf) {
  const auto it = slot_.find(leaf);
  if (it == slot_.end()) return;  // a leaf that is not one of these parameters
  const auto [b, j] = it->second;
  const size_t k = buckets_[b].members[j];
  KILN_CHECK(!produced_[k], "GradientAverager: backward produced the gradient of parameter ", k,
             " twice; average each backward pass before the next");
  produced_[k] = true;
  --gradients_pending_;
  --buckets_[b].pending;
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    start(buckets_[next_bucket_++]);
    if (gradients_pending_ > 0) ++started_early_;
  }
  // MPI moves a non-blocking collective forward only inside MPI calls: one per gradient.
  for (size_t i = 0; i < next_bucket_; ++i) {
    if (buckets_[i].work) buckets_[i].work->test();
  }
}

void GradientAverager::backward(const Tensor& loss) {
  if (group_.world_size() == 1) {
    loss.backward();
    return;
  }
  for (Bucket& bucket : buckets_) bucket.pending = bucket.members.size();
  produced_.assign(params_.size(), false);
  gradients_pending_ = params_.size();
  next_bucket_ = 0;
  started_early_ = 0;
  struct RestoreHook {
    GradReadyHook previous;
    ~RestoreHook() { set_grad_ready_hook(std::move(previous)); }
  } restore{set_grad_ready_hook([this](const TensorImpl* leaf) { gradient_ready(leaf); })};
  loss.backward();
  while (next_bucket_ < buckets_.size()) start(buckets_[next_bucket_++]);
  for (Bucket& bucket : buckets_) finish(bucket);
}

}  // namespace kiln
