// Sharded passes, combined: each rank evaluates its ShardedBatchSampler shard and the sums
// behind its EpochStats are all-reduced, so every rank reports the numbers one process
// computes over the whole data (the same accuracy; the same mean batch loss up to the order
// of the float64 additions).
#pragma once

#include "trainers/distributed/process_group.h"
#include "trainers/loop.h"

namespace kiln {

// Sums every rank's batch losses, correct predictions, samples, batches and skipped steps
// and returns the statistics of them all; `seconds` stays this rank's. A regression pass
// (NaN accuracy on every rank) stays NaN. With one process, returns `local`.
EpochStats all_reduce_epoch_stats(ProcessGroup& group, const EpochStats& local);

// evaluate() over all of `loader` with the work shared among the ranks: each evaluates its
// ShardedBatchSampler shard (the loader's batches dealt in turn) and the statistics and the
// confusion matrix are summed over the ranks, so every rank gets what one process computes.
// The loader must visit its data in order (no sampler, or a SequentialSampler); the model
// must be the same on every rank, buffers included (broadcast_buffers). With one process,
// exactly evaluate(model, loader, ...).
EpochStats evaluate_data_parallel(ProcessGroup& group, Module& model, DataLoader& loader, const LossFn& loss,
                                  ConfusionMatrix* confusion = nullptr, StepGraph* graph = nullptr);

}  // namespace kiln
