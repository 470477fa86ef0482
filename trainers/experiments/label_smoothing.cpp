// `kiln label-smoothing` (see label_smoothing.h). The tutorial shows the K=3 targets but trains
// nothing; this checks those targets against the loss used, then trains ResNet-18 with plain and
// smoothed cross-entropy from one initialisation and compares test accuracy and confidence.
#include "trainers/experiments/label_smoothing.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/autograd.h"
#include "core/generator.h"
#include "core/ops.h"
#include "losses/losses.h"
#include "samplers/sampler.h"
#include "trainers/checkpoint.h"
#include "trainers/csv_log.h"
#include "trainers/experiments/common.h"
#include "trainers/experiments/paired_runs.h"
#include "trainers/plot/plots.h"

namespace kiln {

LabelSmoothingOptions label_smoothing_defaults() {
  LabelSmoothingOptions o;
  o.common.epochs = 50;
  o.common.batch_size = 32;
  o.common.lr = 1e-3;
  return o;
}

namespace {

LabelSmoothing parse_convention(const std::string& name) {
  if (name == "tutorial") return LabelSmoothing::Tutorial;
  if (name == "pytorch") return LabelSmoothing::PyTorch;
  KILN_FAIL("--convention must be tutorial or pytorch, got '", name, "'");
}

struct Targets {
  double true_class = 0, other = 0;
};

// The target distribution the loss really trains towards, read back from its gradient: with
// all-zero logits softmax is uniform, and d(loss)/d(logits) = softmax - target for one sample.
Targets smoothed_targets(int64_t classes, double smoothing, LabelSmoothing convention) {
  Tensor logits = Tensor::zeros({1, classes}, DType::Float64);
  logits.set_requires_grad(true);
  CrossEntropyOptions ce;
  ce.label_smoothing = smoothing;
  ce.convention = convention;
  cross_entropy(logits, Tensor::from_vector(std::vector<int64_t>{0}, {1}), ce).backward();
  const std::vector<double> g = logits.grad().to_vector<double>();
  const double uniform = 1.0 / double(classes);
  return {uniform - g[0], classes > 1 ? uniform - g[1] : 0.0};
}

// Entropy of the smoothed target: the lowest value the smoothed loss can reach.
double target_entropy(int64_t classes, const Targets& t) {
  auto h = [](double p) { return p > 0 ? -p * std::log(p) : 0.0; };
  return h(t.true_class) + double(classes - 1) * h(t.other);
}

// Mean over the test set of the largest softmax probability, computed on the device:
// max_k softmax(z)_k = 1 / sum_k exp(z_k - max_j z_j).
double mean_confidence(Module& model, DataLoader& loader) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Tensor total = Tensor::zeros({}, DType::Float64, loader.dataset().inputs.device());
  int64_t n = 0;
  loader.start_epoch();
  Batch batch;
  while (loader.next(batch)) {
    const Tensor z = model(batch.inputs);
    const Tensor denominator = sum(exp(sub(z, max(z, 1, true))), {1});
    add_(total, sum(rdiv(1.0, denominator)).to(DType::Float64));
    n += batch.size();
  }
  model.train(was_training);
  return n ? total.item<double>() / double(n) : std::nan("");
}

}  // namespace

ExperimentResult run_label_smoothing(const LabelSmoothingOptions& o) {
  KILN_CHECK(std::isfinite(o.smoothing) && o.smoothing >= 0 && o.smoothing < 1,
             "--smoothing must be in [0, 1), got ", o.smoothing);
  const LabelSmoothing convention = parse_convention(o.convention);
  RunContext ctx = make_run_context(o.common, "label-smoothing");
  const std::string unchanged = protocol_unchanged_note(ctx, kLabelSmoothingProtocolUnchanged);
  const std::vector<std::string> names = {"plain_ce", "label_smoothing"};
  const std::string resume_dir = resume_directory(o.common.resume, names, "label-smoothing");

  // The tutorial's worked example, K = 3 and alpha = 0.1, in both conventions.
  const Targets source3 = smoothed_targets(3, 0.1, LabelSmoothing::Tutorial);
  const Targets torch3 = smoothed_targets(3, 0.1, LabelSmoothing::PyTorch);
  std::printf("formula check (K=3, alpha=0.1), targets read from the loss's gradient:\n");
  std::printf(
      "  source  (1-a on the true class, a/(K-1) elsewhere): %.4f / %.4f (the tutorial: 0.9 / 0.05)\n",
      source3.true_class, source3.other);
  std::printf(
      "  pytorch ((1-a)*y + a/K):                            %.4f / %.4f (expected 0.9333 / 0.0333)\n",
      torch3.true_class, torch3.other);

  ClassificationData data = load_classification(o.common, ctx, "cifar10", 0.0);
  const int64_t classes = static_cast<int64_t>(data.class_names.size());
  KILN_CHECK(classes >= 2, "label smoothing needs at least two classes");
  const Targets used = smoothed_targets(classes, o.smoothing, convention);
  const double floor = target_entropy(classes, used);
  std::printf(
      "label-smoothing: %s on %s; smoothing %g, %s convention: targets %.4f / %.4f (K=%lld), "
      "lowest reachable smoothed loss %.4f\n",
      data.description.c_str(), ctx.device.str().c_str(), o.smoothing, o.convention.c_str(), used.true_class,
      used.other, static_cast<long long>(classes), floor);

  const ImageTransform tf = tutorial_normalize(data.channels);
  DataLoader train(*data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train->size()),
                   false, tf);
  DataLoader test(*data.test, kEvalBatchSize, nullptr, false, tf);
  auto model = make_resnet(data, ctx);
  PairedRuns runs(o.common, ctx, data, train, test, resume_dir, resnet_id(data, true));
  runs.snapshot(*model);
  struct Outcome : RunOutcome {
    double confidence = 0;
  };
  auto run = [&](const std::string& name, const LossFn& loss, const std::string& title) {
    runs.restore(*model);
    auto opt = make_adam(model->parameters(), o.common.lr);
    Outcome out;
    static_cast<RunOutcome&>(out) = runs.train_and_test(*model, *opt, runs.config(name), loss, title, title);
    out.confidence = mean_confidence(*model, test);
    std::printf("%s: test accuracy %s, mean confidence (max softmax) %s\n", title.c_str(),
                percent(out.test.accuracy).c_str(), percent(out.confidence).c_str());
    return out;
  };
  const Outcome plain = run(
      names[0], [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); },
      "Plain cross-entropy");
  CrossEntropyOptions smooth;
  smooth.label_smoothing = o.smoothing;
  smooth.convention = convention;
  const Outcome smoothed = run(
      names[1], [smooth](const Tensor& out, const Tensor& y) { return cross_entropy(out, y, smooth); },
      "Label smoothing");

  char smooth_label[96];
  std::snprintf(smooth_label, sizeof smooth_label, "label smoothing %g (%s convention)", o.smoothing,
                o.convention.c_str());
  LinePlot plot = paired_loss_plot("Training loss: plain cross-entropy vs label smoothing", "mean train loss",
                                   "plain cross-entropy", plain, smooth_label, smoothed);
  // The smoothed loss's floor as a flat line, so its curve is read against what it can reach.
  if (!smoothed.fit.history.empty()) {
    Series floor_line{"smoothed-loss floor (target entropy)", {}, {}};
    for (double x : {double(smoothed.fit.history.front().epoch), double(smoothed.fit.history.back().epoch)}) {
      if (!floor_line.x.empty() && x <= floor_line.x.back()) continue;
      floor_line.x.push_back(x);
      floor_line.y.push_back(floor);
    }
    plot.series.push_back(floor_line);
  }
  if (ctx.writes_files()) write_line_plot_png(ctx.path("loss_curves.png"), plot);

  ExperimentResult r = runs.result(plain, smoothed);
  r.experiment = "Label smoothing (" + o.convention + " convention, alpha = " + fixed(o.smoothing, 2) + ")";
  r.tutorial_figure = "formula only: K=3, alpha=0.1 gives targets 0.9 / 0.05 (no accuracy reported)";
  r.kiln_figure = "targets " + fixed(source3.true_class, 4) + " / " + fixed(source3.other, 4) +
                  " (source), " + fixed(torch3.true_class, 4) + " / " + fixed(torch3.other, 4) +
                  " (PyTorch); test accuracy " + percent(plain.test.accuracy) + " (plain) vs " +
                  percent(smoothed.test.accuracy) + " (smoothed), mean confidence " +
                  percent(plain.confidence) + " vs " + percent(smoothed.confidence);
  r.notes = std::string(kSameStartNote) + "; K=3 targets read from the loss's gradient; training targets " +
            fixed(used.true_class, 4) + " / " + fixed(used.other, 4) + " (K=" + std::to_string(classes) +
            "), so the smoothed loss cannot go below " + fixed(floor, 3) + "; confidence minus accuracy " +
            fixed(100 * (plain.confidence - plain.test.accuracy), 1) + " points (plain) vs " +
            fixed(100 * (smoothed.confidence - smoothed.test.accuracy), 1) + " points (smoothed)";
  finish_report(r, unchanged);
  return r;
}

}  // namespace kiln
