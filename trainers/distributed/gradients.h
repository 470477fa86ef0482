// What data-parallel training adds to a step, on top of a process group: every rank starts
// from rank 0's weights (broadcast_module), and after backward each rank's gradients are
// replaced by their average over the ranks (GradientAverager), so every rank applies the
// same update and the replicas stay equal. With per-rank batches of B and a mean-reduced
// loss, the averaged gradient is the gradient of the mean loss over all world_size * B
// samples: the step of one process with batch world_size * B.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"
#include "trainers/distributed/process_group.h"

namespace kiln {

// Copies rank `root`'s parameters and buffers (batch-norm statistics) into every rank's
// `module`; the modules must have the same structure (checked: names, shapes, dtypes).
void broadcast_module(ProcessGroup& group, Module& module, int root = 0);

// Averages the gradients of a fixed list of parameters (an optimizer's). Gradients are
// packed into buckets of about `bucket_bytes` (PyTorch DDP's default is 25 MiB), in reverse
// parameter order, the order backward produces them; each bucket is one all-reduce. Buckets
// are allocated once and keep their addresses, so the reduction can be part of a captured
// step (NCCL). With one process, average() does nothing.
class GradientAverager {
 public:
  static constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;

  GradientAverager(ProcessGroup& group, std::vector<Tensor> params,
                   int64_t bucket_bytes = kDefaultBucketBytes);
  // After backward, before the optimizer's step. Every parameter must have its gradient.
  void average();
  size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    Tensor flat;                   // contiguous, of the parameters' dtype and device
    std::vector<size_t> members;   // indices into params_
    std::vector<int64_t> offsets;  // element offset of each member in flat
  };
  ProcessGroup& group_;
  std::vector<Tensor> params_;
  std::vector<Bucket> buckets_;
};

}  // namespace kiln
