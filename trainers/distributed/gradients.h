// What data-parallel training adds to a step, on top of a process group: every rank starts
// from rank 0's weights (broadcast_module), and after backward each rank's gradients are
// replaced by their average over the ranks (GradientAverager), so every rank applies the
// same update and the replicas stay equal. With per-rank batches of B and a mean-reduced
// loss, the averaged gradient is the gradient of the mean loss over all world_size * B
// samples: the step of one process with batch world_size * B.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"
#include "trainers/distributed/process_group.h"

namespace kiln {

// Copies rank `root`'s parameters and buffers (batch-norm statistics) into every rank's
// `module`; the modules must have the same structure (checked: names, shapes, dtypes). The
// check travels over `host` (host memory) and the tensors over `tensors`: on GPUs the NCCL
// group, which carries device memory only. One group when it carries both (MPI on the CPU).
void broadcast_module(ProcessGroup& host, ProcessGroup& tensors, Module& module, int root = 0);
inline void broadcast_module(ProcessGroup& group, Module& module, int root = 0) {
  broadcast_module(group, group, module, root);
}
// Only the buffers. The parameters of data-parallel replicas stay equal by construction, but
// each rank's batch-norm running statistics follow its own batches; evaluation (and what is
// saved) uses rank 0's, as PyTorch's DDP does when it broadcasts buffers from rank 0.
void broadcast_buffers(ProcessGroup& host, ProcessGroup& tensors, Module& module, int root = 0);

// Averages the gradients of a fixed list of parameters (an optimizer's). Gradients are
// packed into buckets of about `bucket_bytes` (PyTorch DDP's default is 25 MiB), in reverse
// parameter order, the order backward produces them; each bucket is one all-reduce. Buckets
// are allocated once and keep their addresses, so the reduction can be part of a captured
// step (NCCL). With one process, nothing is exchanged.
// Two ways to use it, with the same result bit for bit:
//   loss.backward(); averager.average();   all buckets reduced after backward
//   averager.backward(loss);               each bucket's reduction started as soon as backward
//                                          has produced its gradients (DDP's overlap)
class GradientAverager {
 public:
  static constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;

  GradientAverager(ProcessGroup& group, std::vector<Tensor> params,
                   int64_t bucket_bytes = kDefaultBucketBytes);
  GradientAverager(const GradientAverager&) = delete;
  GradientAverager& operator=(const GradientAverager&) = delete;

  // After backward, before the optimizer's step. Every parameter must have its gradient.
  void average();
  // loss.backward() with the buckets' all-reduces started during it: a bucket starts once
  // backward has produced every gradient in it and every bucket before it has started (all
  // ranks must start collectives in the same order). Buckets holding parameters backward did
  // not reach start at the end. Returns with the gradients averaged.
  void backward(const Tensor& loss);
  size_t num_buckets() const { return buckets_.size(); }
  // How many buckets the last backward() started while gradients were still to come.
  size_t buckets_started_early() const { return started_early_; }

 private:
  struct Bucket {
    Tensor flat;                   // contiguous, of the parameters' dtype and device
    std::vector<size_t> members;   // indices into params_
    std::vector<int64_t> offsets;  // element offset of each member in flat
    size_t pending = 0;            // gradients backward has still to produce (backward())
    std::unique_ptr<CollectiveWork> work;
  };
  void start(Bucket& bucket);
  void finish(Bucket& bucket);
  void gradient_ready(const TensorImpl* leaf);

  ProcessGroup& group_;
  std::vector<Tensor> params_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const TensorImpl*, std::pair<size_t, size_t>> slot_;  // parameter -> (bucket, index)
  std::vector<bool> produced_;                                             // per parameter, during backward()
  size_t next_bucket_ = 0;  // the next bucket to start, during backward()
  size_t gradients_pending_ = 0;
  size_t started_early_ = 0;
};

}  // namespace kiln
