// Two runs from one starting state (see paired_runs.h).
#include "trainers/experiments/paired_runs.h"

#include <cstdio>
#include <utility>

#include "core/autograd.h"
#include "core/generator.h"

namespace kiln {

PairedRuns::PairedRuns(const CommonOptions& options, RunContext& ctx, const ClassificationData& data,
                       DataLoader& train, DataLoader& test, std::string resume_dir,
                       const std::string& model_id)
    : options_(options),
      ctx_(ctx),
      data_(data),
      train_(train),
      test_(test),
      resume_dir_(std::move(resume_dir)) {
  base_.epochs = options.epochs;
  base_.model_id = model_id;
  base_.selection = Selection::Last;
  apply_train_flags(options, base_.train);
}

void PairedRuns::snapshot(Module& model) {
  initial_.clear();
  for (const auto& [name, t] : model.state_dict()) initial_[name] = t.clone();
  start_offset_ = default_generator().offset();
}

void PairedRuns::restore_generator() const {
  default_generator().manual_seed(options_.seed);
  default_generator().set_offset(start_offset_);
}

void PairedRuns::restore(Module& model) const {
  {
    NoGradGuard no_grad;
    model.load_state_dict(initial_);
  }
  restore_generator();
}

FitConfig PairedRuns::config(const std::string& name) const {
  FitConfig c = base_;
  c.name = name;
  return c;
}

RunOutcome PairedRuns::train_and_test(Module& model, Optimizer& optimizer, const FitConfig& config,
                                      const LossFn& loss, const std::string& heading,
                                      const std::string& title) {
  std::printf("%s\n", heading.c_str());
  RunOutcome out;
  out.fit = fit_run(model, optimizer, train_, nullptr, loss, ctx_, config, resume_dir_);
  out.test = evaluate_test(model, test_, data_, ctx_, config.name + "_", title + ": test confusion matrix");
  return out;
}

ExperimentResult PairedRuns::result(const RunOutcome& first, const RunOutcome& second) const {
  ExperimentResult r;
  r.dataset = data_.description;
  r.device = ctx_.device.str();
  r.seconds = first.fit.seconds + second.fit.seconds;
  r.plots = {"loss_curves.png", first.test.confusion_png, second.test.confusion_png};
  return r;
}

LinePlot paired_loss_plot(const std::string& title, const std::string& y_label, const std::string& first_name,
                          const RunOutcome& first, const std::string& second_name, const RunOutcome& second) {
  LinePlot plot;
  plot.title = title;
  plot.x_label = "epoch";
  plot.y_label = y_label;
  plot.series = {train_loss_series(first_name, first.fit.history),
                 train_loss_series(second_name, second.fit.history)};
  return plot;
}

void finish_report(ExperimentResult& r, const std::string& protocol_note) {
  if (!protocol_note.empty()) r.notes = protocol_note + "; " + r.notes;
  std::printf("%s\n", r.notes.c_str());
  print_headline(r);
}

}  // namespace kiln
