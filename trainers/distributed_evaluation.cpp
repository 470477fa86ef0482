// Combining the statistics of a sharded pass (see evaluation.h).
#include "trainers/distributed_evaluation.h"

#include <cmath>
#include <memory>
#include <vector>

#include "samplers/distributed.h"

namespace kiln {

EpochStats all_reduce_epoch_stats(ProcessGroup& group, const EpochStats& local) {
  if (group.world_size() == 1) return local;
  // EpochStats keeps means; the sums come back as mean * count (the loss to within an ulp,
  // the correct count exactly after rounding, being an integer). A rank without batches
  // contributes nothing.
  const bool has_accuracy = local.samples > 0 && !std::isnan(local.accuracy);
  double sums[6] = {
      local.batches > 0 ? local.loss * static_cast<double>(local.batches) : 0.0,
      has_accuracy ? std::round(local.accuracy * static_cast<double>(local.samples)) : 0.0,
      static_cast<double>(local.samples),
      static_cast<double>(local.batches),
      static_cast<double>(local.skipped),
      has_accuracy ? 1.0 : 0.0,
  };
  group.all_reduce(sums, 6, DType::Float64, ReduceOp::Sum);
  EpochStats out = local;
  out.samples = static_cast<int64_t>(sums[2]);
  out.batches = static_cast<int64_t>(sums[3]);
  out.skipped = static_cast<int64_t>(sums[4]);
  out.loss = out.batches > 0 ? sums[0] / sums[3] : std::nan("");
  out.accuracy = sums[5] > 0 && out.samples > 0 ? sums[1] / sums[2] : std::nan("");
  return out;
}

EpochStats evaluate_data_parallel(ProcessGroup& group, Module& model, DataLoader& loader, const LossFn& loss,
                                  ConfusionMatrix* confusion, StepGraph* graph) {
  if (group.world_size() == 1) return evaluate(model, loader, loss, confusion, graph);
  KILN_CHECK(loader.sampler().name() == "sequential", "evaluation shared among ", group.world_size(),
             " processes needs a loader that visits its data in order, got a ", loader.sampler().name(),
             " sampler");
  DataLoader shard = loader.with_sampler(std::make_shared<ShardedBatchSampler>(
      loader.dataset().size(), loader.batch_size(), group.world_size(), group.rank()));
  std::unique_ptr<ConfusionMatrix> local;
  if (confusion) local = std::make_unique<ConfusionMatrix>(confusion->num_classes());
  const EpochStats stats = all_reduce_epoch_stats(group, evaluate(model, shard, loss, local.get(), graph));
  if (confusion) {
    std::vector<int64_t> counts = local->counts();
    group.all_reduce(counts.data(), static_cast<int64_t>(counts.size()), DType::Int64, ReduceOp::Sum);
    confusion->add_counts(counts);
  }
  return stats;
}

}  // namespace kiln
