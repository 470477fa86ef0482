// The shared epoch loop (see fit.h).
#include "trainers/fit.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/file_io.h"
#include "core/generator.h"
#include "samplers/distributed.h"
#include "trainers/checkpoint.h"
#include "trainers/csv_log.h"
#include "trainers/distributed/gradients.h"
#include "trainers/distributed_evaluation.h"
#include "trainers/early_stopping.h"
#include "trainers/step_graph.h"

namespace kiln {

namespace {

// The model-selection state, whichever rule is active, in the form a checkpoint stores.
struct Selector {
  Selection rule;
  EarlyStopping early;
  FirstBelowThreshold first_below;
  double best_accuracy = -std::numeric_limits<double>::infinity();
  int64_t best_accuracy_epoch = 0;

  explicit Selector(const FitConfig& c)
      : rule(c.selection), early(c.patience, c.min_delta), first_below(c.threshold) {}

  SelectionDecision update(int64_t epoch, double val_loss, double val_accuracy) {
    switch (rule) {
      case Selection::LowestValLoss:
        return early.update(epoch, val_loss);
      case Selection::FirstBelow:
        return first_below.update(epoch, val_loss);
      case Selection::BestValAccuracy: {
        SelectionDecision d;
        if (std::isfinite(val_accuracy) && val_accuracy >= best_accuracy) {
          best_accuracy = val_accuracy;
          best_accuracy_epoch = epoch;
          d.select = true;
        }
        return d;
      }
      case Selection::Last:
        break;
    }
    return {};
  }
  int64_t selected_epoch() const {
    switch (rule) {
      case Selection::LowestValLoss:
        return early.best_epoch();
      case Selection::FirstBelow:
        return first_below.selected_epoch();
      case Selection::BestValAccuracy:
        return best_accuracy_epoch;
      case Selection::Last:
        break;
    }
    return 0;
  }
  double selected_metric() const {
    switch (rule) {
      case Selection::LowestValLoss:
        return early.best();
      case Selection::FirstBelow:
        return first_below.selected_metric();
      case Selection::BestValAccuracy:
        return best_accuracy;
      case Selection::Last:
        break;
    }
    return std::nan("");
  }
  void save(TrainingState& s) const {
    s.best_epoch = selected_epoch();
    s.best_metric = selected_metric();
    s.bad_epochs = rule == Selection::LowestValLoss ? early.epochs_without_improvement() : 0;
  }
  void restore(const TrainingState& s) {
    switch (rule) {
      case Selection::LowestValLoss:
        early.restore(s.best_metric, s.best_epoch, s.bad_epochs);
        break;
      case Selection::FirstBelow:
        first_below.restore(s.best_epoch, s.best_metric);
        break;
      case Selection::BestValAccuracy:
        best_accuracy = s.best_epoch > 0 ? s.best_metric : -std::numeric_limits<double>::infinity();
        best_accuracy_epoch = s.best_epoch;
        break;
      case Selection::Last:
        break;
    }
  }
};

std::vector<double> to_row(const EpochRecord& r) {
  std::vector<double> row = {double(r.epoch), r.train_loss,   r.train_accuracy,
                             r.val_loss,      r.val_accuracy, r.seconds};
  row.insert(row.end(), r.extra.begin(), r.extra.end());
  return row;
}

EpochRecord from_row(const std::vector<double>& row) {
  EpochRecord r;
  r.epoch = static_cast<int64_t>(row.at(0));
  r.train_loss = row.at(1);
  r.train_accuracy = row.at(2);
  r.val_loss = row.at(3);
  r.val_accuracy = row.at(4);
  r.seconds = row.at(5);
  r.extra.assign(row.begin() + 6, row.end());
  return r;
}

}  // namespace

FitResult fit(Module& model, Optimizer& optimizer, DataLoader& train, DataLoader* val, const LossFn& loss,
              RunContext& ctx, const FitConfig& c) {
  KILN_CHECK(c.selection == Selection::Last || val != nullptr, "fit: model selection needs a validation set");
  KILN_CHECK(!c.select_every_step || val != nullptr, "fit: per-step selection needs a validation set");
  KILN_CHECK(c.epochs >= 1, "fit: epochs must be >= 1, got ", c.epochs);
  const auto t0 = std::chrono::steady_clock::now();
  // Data-parallel runs (trainers/distributed/): every rank runs this function in step with the
  // others; `group` carries their host-side agreements and sums, `model_group` the model's
  // tensors. Only rank 0 (`writer`) writes files. With one process every collective below is
  // the identity and nothing changes.
  ProcessGroup& group = ctx.host_group();
  ProcessGroup& model_group = ctx.model_group();
  const bool parallel = group.world_size() > 1;
  const bool writer = group.is_root();
  FitResult result;
  result.log_path = ctx.path(c.name + "_log.csv");
  result.best_path = ctx.path(c.name + "_best.safetensors");
  result.last_path = ctx.path(c.name + "_last.ckpt");
  if (writer) {
    remove_stale_temporaries(result.best_path);
    remove_stale_temporaries(result.last_path);
  }

  std::vector<std::string> columns = {"epoch",    "train_loss",   "train_accuracy",
                                      "val_loss", "val_accuracy", "seconds"};
  columns.insert(columns.end(), c.extra_columns.begin(), c.extra_columns.end());
  CsvLog log(result.log_path, columns, /*write_now=*/writer);
  Selector selector(c);
  int64_t first_epoch = 1;

  if (!c.resume.empty()) {
    // Every rank reads rank 0's checkpoint (the path must be readable by all of them: one
    // machine, or a file system they share).
    const TrainingState s = load_checkpoint(c.resume, c.model_id, model, &optimizer);
    int64_t root_epoch = s.epoch;
    group.broadcast(&root_epoch, sizeof root_epoch, 0);
    KILN_CHECK(!any_rank(group, root_epoch != s.epoch), c.resume, ": the ranks read different checkpoints (",
               group.describe(), "'s holds ", s.epoch, " epochs, rank 0's ", root_epoch,
               "); every rank must resume from the same file");
    KILN_CHECK(s.epoch <= c.epochs, c.resume, " already holds ", s.epoch, " epochs; --epochs is ", c.epochs);
    default_generator().manual_seed(s.seed);
    default_generator().set_offset(s.rng_offset);
    selector.restore(s);
    for (const auto& row : s.history) result.history.push_back(from_row(row));
    log.reset(s.history, /*write_now=*/writer);
    first_epoch = s.epoch + 1;
    // The selected weights live beside the checkpoint; bring them into --out when resuming
    // from elsewhere, since the run ends by loading them from there.
    namespace fs = std::filesystem;
    const fs::path elsewhere = fs::path(c.resume).parent_path() / (c.name + "_best.safetensors");
    std::error_code ec;
    if (writer && fs::exists(elsewhere) && !fs::equivalent(elsewhere, result.best_path, ec))
      fs::copy_file(elsewhere, result.best_path, fs::copy_options::overwrite_existing);
    if (first_epoch > c.epochs)
      std::printf("%s: all %lld epochs already done (%s)\n", c.name.c_str(), static_cast<long long>(s.epoch),
                  c.resume.c_str());
    else
      std::printf("resumed from %s after epoch %lld\n", c.resume.c_str(), static_cast<long long>(s.epoch));
  }

  // Kept across epochs: the captured steps are replayed for the whole run.
  StepGraph train_graph, val_graph;

  // Data parallelism: every rank starts from rank 0's weights; each trains on its shard of every
  // epoch (DistributedSampler over the loader's own sampler, shuffled by seed and epoch, the
  // same on every rank); gradients are averaged over the ranks after backward; validation is
  // shared among the ranks and summed; and each rank draws its own dropout and augmentation
  // numbers, from its own stretch of the run's random stream.
  const uint64_t rank_stream = ctx.rank_stream();
  std::optional<DataLoader> train_shard;
  std::shared_ptr<DistributedSampler> shard_sampler;
  std::unique_ptr<GradientAverager> averager;
  if (parallel) {
    broadcast_module(group, model_group, model);
    shard_sampler = std::make_shared<DistributedSampler>(train.shared_sampler(), group.world_size(),
                                                         group.rank(), default_generator().seed());
    train_shard.emplace(train.with_sampler(shard_sampler));
    averager = std::make_unique<GradientAverager>(model_group, optimizer.params());
    default_generator().set_offset(default_generator().offset() + rank_stream);
  }
  DataLoader& train_loader = parallel ? *train_shard : train;
  auto validate = [&] {
    if (parallel) broadcast_buffers(group, model_group, model);
    return evaluate_data_parallel(group, model, *val, loss, nullptr,
                                  c.train.cuda_graph ? &val_graph : nullptr);
  };

  // The state of the last completed epoch, saved (throttled) as `last.ckpt`.
  auto last_save = std::chrono::steady_clock::now();
  bool unsaved = false;
  auto save_state = [&](int64_t epoch) {
    unsaved = false;
    last_save = std::chrono::steady_clock::now();
    if (!writer) return;
    TrainingState s;
    s.epoch = epoch;
    s.seed = default_generator().seed();
    s.rng_offset = default_generator().offset() - rank_stream;
    selector.save(s);
    for (const auto& h : result.history) s.history.push_back(to_row(h));
    log.write();
    save_checkpoint(result.last_path, c.model_id, model, &optimizer, s);
  };

  for (int64_t epoch = first_epoch; epoch <= c.epochs; ++epoch) {
    // Every rank stops at the same epoch, even when the signal reached them at different times.
    if (any_rank(group, interrupted())) {
      // Between epochs the model is consistent: keep the work done so far.
      if (unsaved) save_state(epoch - 1);
      throw Interrupted();
    }
    if (c.before_epoch) c.before_epoch(epoch);
    TrainOptions options = c.train;
    if (parallel) {
      options.gradient_averager = averager.get();
      options.group = &group;
      shard_sampler->set_epoch(epoch);
    }
    if (c.select_every_step) {
      options.after_step = [&, epoch](int64_t step) {
        const EpochStats v = validate();
        if (selector.update(epoch, v.loss, v.accuracy).select) {
          if (writer) model.save(result.best_path);
          ++result.step_selections;
          std::printf("[%lld:%lld] validation accuracy %.2f%% - saved the best model\n",
                      static_cast<long long>(epoch), static_cast<long long>(step), 100 * v.accuracy);
        }
        if (any_rank(group, interrupted())) throw Interrupted();
      };
    }
    char label[64];
    std::snprintf(label, sizeof label, "%s epoch %lld/%lld", c.name.c_str(), static_cast<long long>(epoch),
                  static_cast<long long>(c.epochs));
    const EpochStats tr =
        all_reduce_epoch_stats(group, train_epoch(model, train_loader, optimizer, loss, ctx.progress, label,
                                                  options, c.train.cuda_graph ? &train_graph : nullptr));
    KILN_CHECK(std::isfinite(tr.loss), "training diverged at epoch ", epoch, ": the mean training loss is ",
               tr.loss,
               " (try a lower --lr, --clip-grad or --skip-nonfinite; the best checkpoint so far is kept)");
    if (tr.skipped > 0)  // counted on every rank, which all skip the same steps
      std::printf("epoch %lld: skipped %lld of %lld steps with a non-finite loss\n",
                  static_cast<long long>(epoch), static_cast<long long>(tr.skipped / group.world_size()),
                  static_cast<long long>((tr.skipped + tr.batches) / group.world_size()));
    EpochRecord r;
    r.epoch = epoch;
    r.train_loss = tr.loss;
    r.train_accuracy = tr.accuracy;
    r.seconds = tr.seconds;
    if (val) {
      const EpochStats v = validate();
      r.val_loss = v.loss;
      r.val_accuracy = v.accuracy;
      r.seconds += v.seconds;
    }
    if (c.extra_values) r.extra = c.extra_values();
    KILN_CHECK(r.extra.size() == c.extra_columns.size(), "fit: ", r.extra.size(), " extra values for ",
               c.extra_columns.size(), " extra columns");
    SelectionDecision d;
    if (!c.select_every_step) d = selector.update(epoch, r.val_loss, r.val_accuracy);
    if (d.select && writer) model.save(result.best_path);
    result.history.push_back(r);
    log.append(to_row(r), /*write_now=*/false);
    unsaved = true;

    std::printf("[%lld] train loss: %.3f", static_cast<long long>(epoch), r.train_loss);
    if (std::isfinite(r.train_accuracy)) std::printf(", train acc: %.2f%%", 100 * r.train_accuracy);
    if (val) std::printf(", validation loss: %.3f, validation acc: %.2f%%", r.val_loss, 100 * r.val_accuracy);
    std::printf(" (%s)%s\n", format_duration(r.seconds).c_str(), d.select ? " - selected" : "");
    std::fflush(stdout);

    const double since_save =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count();
    if (epoch == c.epochs || d.stop || since_save >= c.checkpoint_interval_seconds) save_state(epoch);
    if (d.stop) {
      result.stopped_early = true;
      std::printf("early stopping after epoch %lld: no improvement of more than %g for %lld epochs\n",
                  static_cast<long long>(epoch), c.min_delta, static_cast<long long>(c.patience));
      break;
    }
  }
  result.selected_epoch = selector.selected_epoch();
  result.selected_metric = selector.selected_metric();
  if (c.selection != Selection::Last && (result.selected_epoch > 0 || result.step_selections > 0) && writer)
    model.load(result.best_path);
  if (parallel) {
    // Every rank leaves with rank 0's model (the selected weights, rank 0's batch-norm
    // statistics) and with rank 0's position in the random stream, as one process would.
    broadcast_module(group, model_group, model);
    default_generator().set_offset(default_generator().offset() - rank_stream);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // A resumed run reports the time of all its epochs, not just this process's.
  if (first_epoch > 1) {
    result.seconds = 0;
    for (const EpochRecord& r : result.history) result.seconds += r.seconds;
  }
  return result;
}

}  // namespace kiln
