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

}  // namespace kiln
