// `kiln early-stopping` (see early_stopping.h).
#include "trainers/experiments/early_stopping.h"

#include <cmath>
#include <cstdio>

#include "losses/losses.h"
#include "samplers/sampler.h"
#include "trainers/experiments/common.h"
#include "trainers/plot/plots.h"

namespace kiln {

EarlyStoppingOptions early_stopping_defaults() {
  EarlyStoppingOptions o;
  o.common.epochs = 51;
  o.common.batch_size = 32;
  o.common.lr = 1e-3;
  return o;
}

namespace {

// The lessons the tutorial states, measured on this run's history.
std::string lessons(const std::vector<EpochRecord>& h) {
  if (h.empty()) return "";
  size_t min_loss = 0, max_acc = 0;
  for (size_t i = 1; i < h.size(); ++i) {
    if (h[i].val_loss < h[min_loss].val_loss) min_loss = i;
    if (h[i].val_accuracy > h[max_acc].val_accuracy) max_acc = i;
  }
  char buf[512];
  std::string out;
  std::snprintf(
      buf, sizeof buf,
      "lowest validation loss at epoch %lld (%.3f, accuracy %s); highest validation accuracy at epoch %lld "
      "(%s, loss %.3f)",
      static_cast<long long>(h[min_loss].epoch), h[min_loss].val_loss,
      percent(h[min_loss].val_accuracy).c_str(), static_cast<long long>(h[max_acc].epoch),
      percent(h[max_acc].val_accuracy).c_str(), h[max_acc].val_loss);
  out = buf;
  if (min_loss != max_acc) out += " - a lower loss is not always a higher accuracy";
  // Validation loss rising and then falling below an earlier value.
  for (size_t i = 1; i + 1 < h.size(); ++i) {
    if (h[i].val_loss > h[i - 1].val_loss) {
      for (size_t j = i + 1; j < h.size(); ++j)
        if (h[j].val_loss < h[i - 1].val_loss) {
          std::snprintf(buf, sizeof buf,
                        "; validation loss rose after epoch %lld and fell below it again at epoch %lld",
                        static_cast<long long>(h[i - 1].epoch), static_cast<long long>(h[j].epoch));
          return out + buf;
        }
    }
  }
  return out;
}

}  // namespace

ExperimentResult run_early_stopping(const EarlyStoppingOptions& o) {
  RunContext ctx = make_run_context(o.common, "early-stopping");
  ClassificationData data = load_classification(o.common, ctx, "cifar10", o.val_fraction);
  KILN_CHECK(data.val, "early-stopping needs a validation split (--val-fraction > 0)");
  std::printf("early-stopping: the author's CIFAR ResNet-18 on %s, %s, %s protocol\n",
              data.description.c_str(), ctx.device.str().c_str(),
              ctx.tutorial_protocol ? "the tutorial's" : "kiln's default");
  const ImageTransform tf = tutorial_normalize(data.channels);
  DataLoader train(*data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train->size()),
                   false, tf);
  DataLoader val(*data.val, o.common.batch_size, nullptr, false, tf);
  DataLoader test(*data.test, o.common.batch_size, nullptr, false, tf);
  auto model = make_cifar_resnet(data, ctx);
  auto opt = make_adam(model->parameters(), o.common.lr);

  FitConfig c;
  c.name = "early_stopping";
  c.epochs = o.common.epochs;
  c.model_id = cifar_resnet_id(data);
  c.resume = o.common.resume;
  apply_train_flags(o.common, c.train);
  if (ctx.tutorial_protocol) {
    c.selection = Selection::FirstBelow;
    c.threshold = o.threshold;
  } else {
    c.selection = Selection::LowestValLoss;
    c.patience = o.patience;
    c.min_delta = o.min_delta;
  }
  const LossFn ce = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
  const FitResult fit_result = fit(*model, *opt, train, &val, ce, ctx, c);

  const std::string rule =
      ctx.tutorial_protocol ? "first epoch with validation loss < " + std::to_string(o.threshold).substr(0, 4)
                            : "lowest validation loss";
  if (ctx.writes_files())
    plot_loss_curves(ctx.path("loss_curves.png"), "Early stopping: train and validation loss",
                     fit_result.history, fit_result.selected_epoch, "selected (" + rule + ")");
  const TestReport report =
      evaluate_test(*model, test, data, ctx, "", "Early stopping: test confusion matrix");

  ExperimentResult r;
  r.experiment = "Early stopping (the author's CIFAR ResNet-18)";
  r.tutorial_figure = "epoch 3: train 0.768, validation 0.768 (first validation loss < 1.0)";
  char buf[256];
  if (fit_result.selected_epoch > 0) {
    const EpochRecord& sel = fit_result.history.at(fit_result.selected_epoch - 1);
    std::snprintf(buf, sizeof buf, "epoch %lld: train %.3f, validation %.3f; test accuracy %s",
                  static_cast<long long>(sel.epoch), sel.train_loss, sel.val_loss,
                  percent(report.accuracy).c_str());
  } else {
    std::snprintf(buf, sizeof buf,
                  "no epoch selected (validation loss never below %.2f); final-model test accuracy %s",
                  o.threshold, percent(report.accuracy).c_str());
  }
  r.kiln_figure = buf;
  r.dataset = data.description;
  r.device = ctx.device.str();
  r.seconds = fit_result.seconds;
  r.plots = {"loss_curves.png", report.confusion_png};
  r.notes = std::string(ctx.tutorial_protocol ? "--protocol seed (tutorial rule: " : "default protocol (") +
            rule + (fit_result.stopped_early ? ", stopped early" : "") + "); " + lessons(fit_result.history);
  std::printf("%s\n", r.notes.c_str());
  print_headline(r);
  return r;
}

}  // namespace kiln
