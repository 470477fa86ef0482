// `kiln batchnorm` (see batchnorm.h). The tutorial only describes batch normalisation; this
// command measures it: the same ResNet-18 with and without BatchNorm2d, the shared layers
// initialised identically (same seed), the same data order, one plot of both loss curves.
#include "trainers/experiments/batchnorm.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/generator.h"
#include "losses/losses.h"
#include "samplers/sampler.h"
#include "trainers/checkpoint.h"
#include "trainers/csv_log.h"
#include "trainers/experiments/common.h"
#include "trainers/experiments/paired_runs.h"
#include "trainers/plot/plots.h"

namespace kiln {

BatchNormOptions batchnorm_defaults() {
  BatchNormOptions o;
  o.common.epochs = 50;
  o.common.batch_size = 32;
  o.common.lr = 1e-3;
  return o;
}

namespace {

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

}  // namespace

ExperimentResult run_batchnorm(const BatchNormOptions& o) {
  RunContext ctx = make_run_context(o.common, "batchnorm");
  const std::string unchanged = protocol_unchanged_note(ctx, kBatchNormProtocolUnchanged);
  const std::vector<std::string> names = {"batchnorm", "no_batchnorm"};
  const std::string resume_dir = resume_directory(o.common.resume, names, "batchnorm");
  ClassificationData data = load_classification(o.common, ctx, "cifar10", 0.0);
  std::printf("batchnorm: %s on %s\n", data.description.c_str(), ctx.device.str().c_str());
  const ImageTransform tf = tutorial_normalize(data.channels);
  DataLoader train(*data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train->size()),
                   false, tf);
  DataLoader test(*data.test, kEvalBatchSize, nullptr, false, tf);

  // The parameter sets differ (no norm layers), so "the same initialisation" means the same
  // seed for each build: the batch-norm layers draw nothing, so every convolution and the
  // classifier get the same values in both models.
  manual_seed(o.common.seed);
  auto with_bn = make_resnet(data, ctx, true);
  const uint64_t offset_bn = default_generator().offset();
  manual_seed(o.common.seed);
  auto without_bn = make_resnet(data, ctx, false);
  // Training then starts from one generator position in both runs: the same data order.
  const uint64_t start_offset = std::max(offset_bn, default_generator().offset());
  std::printf("ResNet-18: %s parameters with batch norm, %s without\n",
              with_commas(with_bn->num_parameters()).c_str(),
              with_commas(without_bn->num_parameters()).c_str());

  PairedRuns runs(o.common, ctx, data, train, test, resume_dir, "");
  runs.set_start_offset(start_offset);
  const LossFn ce = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
  auto run = [&](ResNet18& model, const std::string& name, bool batchnorm, const std::string& title) {
    auto opt = make_adam(model.parameters(), o.common.lr);
    runs.restore_generator();
    FitConfig c = runs.config(name);
    c.model_id = resnet_id(data, batchnorm);
    const RunOutcome out = runs.train_and_test(model, *opt, c, ce, title, title);
    std::printf("%s: test accuracy %s\n", title.c_str(), percent(out.test.accuracy).c_str());
    return out;
  };
  const RunOutcome bn = run(*with_bn, names[0], true, "With batch norm");
  const RunOutcome plain = run(*without_bn, names[1], false, "Without batch norm");

  if (ctx.writes_files())
    write_line_plot_png(
        ctx.path("loss_curves.png"),
        paired_loss_plot("ResNet-18 training loss with and without batch normalisation", "mean train loss",
                         "with BatchNorm2d", bn, "without (Identity)", plain));

  auto loss_at = [](const FitResult& f, size_t i) {
    return f.history.size() > i ? f.history[i].train_loss : std::nan("");
  };
  const size_t last = static_cast<size_t>(o.common.epochs - 1);
  ExperimentResult r = runs.result(bn, plain);
  r.experiment = "Batch normalisation (ResNet-18 with vs without)";
  r.tutorial_figure = "described only (no numbers)";
  r.kiln_figure = "test accuracy " + percent(bn.test.accuracy) + " with batch norm vs " +
                  percent(plain.test.accuracy) + " without";
  r.notes =
      "same seed for both builds (identical convolution and classifier weights), same data order and dropout "
      "draws; train loss after epoch 1: " +
      fixed(loss_at(bn.fit, 0), 3) + " with vs " + fixed(loss_at(plain.fit, 0), 3) +
      " without, after epoch " + std::to_string(o.common.epochs) + ": " + fixed(loss_at(bn.fit, last), 3) +
      " vs " + fixed(loss_at(plain.fit, last), 3) + "; batch norm is evaluated with its running statistics";
  finish_report(r, unchanged);
  return r;
}

}  // namespace kiln
