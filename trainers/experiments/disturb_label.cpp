// `kiln disturb-label` (see disturb_label.h): the tutorial's one-batch check, then ResNet-18 with
// true labels and with DisturbLabel. The runs differ only in the label noise (same weights, data
// order and dropout draws; the noise has its own generator) unless --protocol seed chains them
// the way the tutorial's code did (same model and optimizer, the second run in eval mode).
#include "trainers/experiments/disturb_label.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/autograd.h"
#include "core/generator.h"
#include "losses/losses.h"
#include "samplers/sampler.h"
#include "trainers/checkpoint.h"
#include "trainers/csv_log.h"
#include "trainers/experiments/common.h"
#include "trainers/experiments/paired_runs.h"
#include "trainers/plot/plots.h"

namespace kiln {

DisturbLabelOptions disturb_label_defaults() {
  DisturbLabelOptions o;
  o.common.epochs = 50;
  o.common.batch_size = 32;
  o.common.lr = 1e-3;
  return o;
}

namespace {

std::string join(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// The tutorial's check: DisturbLabel on the first shuffled training batch, labels before and
// after, and the fraction kept. Its own generator, so the training runs do not depend on it.
double one_batch_check(const ClassificationData& data, const DisturbLabelOptions& o,
                       const ImageTransform& tf) {
  Generator gen(o.common.seed ^ 0xc4ec4ULL);
  const int64_t classes = static_cast<int64_t>(data.class_names.size());
  DataLoader loader(*data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train->size()),
                    false, tf, gen);
  loader.start_epoch();
  Batch batch;
  KILN_CHECK(loader.next(batch), "disturb-label: the training set is empty");
  const std::vector<int64_t> before = batch.targets.to_vector<int64_t>();
  const std::vector<int64_t> after = disturb_label(batch.targets, classes, o.alpha, gen).to_vector<int64_t>();
  int64_t kept = 0;
  for (size_t i = 0; i < before.size(); ++i) kept += before[i] == after[i];
  const double fraction = double(kept) / double(before.size());
  const double p_c = 1.0 - double(classes - 1) / double(classes) * o.alpha / 100.0;
  std::printf("one-batch check: DisturbLabel(alpha=%g%%, C=%lld) on one training batch of %zu\n", o.alpha,
              static_cast<long long>(classes), before.size());
  std::printf("  labels:    %s\n  disturbed: %s\n", join(before).c_str(), join(after).c_str());
  std::printf("  kept %lld/%zu = %s (expected p_c = 1 - %lld/%lld * %g/100 = %s; the tutorial got 0.78125)\n",
              static_cast<long long>(kept), before.size(), fixed(fraction, 5).c_str(),
              static_cast<long long>(classes - 1), static_cast<long long>(classes), o.alpha,
              fixed(p_c, 4).c_str());
  return fraction;
}

}  // namespace

ExperimentResult run_disturb_label(const DisturbLabelOptions& o) {
  KILN_CHECK(std::isfinite(o.alpha) && o.alpha >= 0 && o.alpha <= 100,
             "--alpha must be a percentage in [0, 100], got ", o.alpha);
  RunContext ctx = make_run_context(o.common, "disturb-label");
  const std::vector<std::string> names = {"true_labels", "disturb_label"};
  const std::string resume_dir = resume_directory(o.common.resume, names, "disturb-label");
  ClassificationData data = load_classification(o.common, ctx, "cifar10", 0.0);
  const int64_t classes = static_cast<int64_t>(data.class_names.size());
  std::printf("disturb-label: %s on %s, %s protocol\n", data.description.c_str(), ctx.device.str().c_str(),
              ctx.tutorial_protocol ? "the tutorial's" : "kiln's default");
  const ImageTransform tf = tutorial_normalize(data.channels);
  const double kept = one_batch_check(data, o, tf);

  DataLoader train(*data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train->size()),
                   false, tf);
  DataLoader test(*data.test, kEvalBatchSize, nullptr, false, tf);
  auto model = make_resnet(data, ctx);
  // The fresh initialisation and the generator position after it: the default protocol
  // starts both runs from exactly this state (weights, data order, dropout draws).
  PairedRuns runs(o.common, ctx, data, train, test, resume_dir, resnet_id(data, true));
  runs.snapshot(*model);
  auto opt = make_adam(model->parameters(), o.common.lr);

  // DisturbLabel draws from its own stream, positioned by epoch so a resumed run draws the
  // same noise as an uninterrupted one; the shared generator then advances identically in
  // both runs.
  Generator noise(o.common.seed ^ 0xd157ULL);
  const int64_t batches = train.num_batches();
  const LossFn ce = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };

  runs.restore_generator();
  const RunOutcome run1 =
      runs.train_and_test(*model, *opt, runs.config(names[0]), ce, "run 1: true labels", "True labels");
  std::printf("true labels: test accuracy %s\n", percent(run1.test.accuracy).c_str());

  if (!ctx.tutorial_protocol) {
    runs.restore(*model);
    opt = make_adam(model->parameters(), o.common.lr);
  }
  // --protocol seed: the same model and optimizer carry on, as in the tutorial, and the model
  // stays in evaluation mode: the tutorial evaluated run 1 after resnet.eval() and never called
  // resnet.train() again, so batch norm kept run 1's final running statistics (frozen) and
  // Dropout2d was off for the whole DisturbLabel run.
  FitConfig c2 = runs.config(names[1]);
  c2.train.eval_mode = ctx.tutorial_protocol;
  c2.before_epoch = [&](int64_t epoch) {
    noise.manual_seed(o.common.seed ^ 0xd157ULL);
    noise.set_offset(ctx.rank_stream() + static_cast<uint64_t>((epoch - 1) * batches));
  };
  const double alpha = o.alpha;
  c2.train.target_transform = [&noise, classes, alpha](const Tensor& y) {
    return disturb_label(y, classes, alpha, noise);
  };
  char alpha_text[32];
  std::snprintf(alpha_text, sizeof alpha_text, "%g%%", o.alpha);
  const std::string heading =
      std::string("run 2: DisturbLabel(alpha=") + alpha_text + "), " +
      (ctx.tutorial_protocol
           ? "continuing from run 1's weights and Adam state, in eval mode: batch norm frozen at "
             "run 1's running statistics, Dropout2d off (--protocol seed)"
           : "from the same initial weights, in train mode");
  const RunOutcome run2 = runs.train_and_test(*model, *opt, c2, ce, heading, "DisturbLabel");

  const std::string label = std::string("DisturbLabel ") + alpha_text;
  if (ctx.writes_files())
    write_line_plot_png(ctx.path("loss_curves.png"),
                        paired_loss_plot("Training loss: true labels vs DisturbLabel",
                                         "mean train loss (against the labels trained on)", "true labels",
                                         run1, label, run2));

  const double loss1 = run1.fit.history.empty() ? std::nan("") : run1.fit.history.back().train_loss;
  const double loss2 = run2.fit.history.empty() ? std::nan("") : run2.fit.history.back().train_loss;
  ExperimentResult r = runs.result(run1, run2);
  r.experiment = std::string("DisturbLabel (alpha = ") + alpha_text + ")";
  r.tutorial_figure = "test accuracy 81.34% (true labels) vs 82.46% (DisturbLabel 30%)";
  r.kiln_figure = "test accuracy " + percent(run1.test.accuracy) + " (true labels) vs " +
                  percent(run2.test.accuracy) + " (" + label + ")";
  r.notes =
      std::string(
          ctx.tutorial_protocol
              ? "--protocol seed: the DisturbLabel run continued from the true-label run's final weights "
                "and optimizer state (the tutorial reused the model object) and trained in eval mode "
                "(the tutorial never called resnet.train() after evaluating run 1): batch norm used run "
                "1's running statistics, never updated, and Dropout2d was off"
              : "default protocol: both runs from the same fresh initialisation, data order and dropout "
                "draws, both in train mode (the tutorial's second run continued from the first run's "
                "weights, in eval mode: --protocol seed)") +
      "; one-batch check kept " + fixed(kept, 5) + " of the labels (expected p_c " +
      fixed(1.0 - double(classes - 1) / double(classes) * o.alpha / 100.0, 2) +
      ", the tutorial 0.78125); final train loss " + fixed(loss1, 3) + " (true labels) vs " +
      fixed(loss2, 3) + " (DisturbLabel, measured against the disturbed labels; the tutorial 0.017 vs ~1.18)";
  finish_report(r, "");
  return r;
}

}  // namespace kiln
