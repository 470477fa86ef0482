// Shared experiment pieces (see common.h).
#include "trainers/experiments/common.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/generator.h"
#include "losses/losses.h"
#include "samplers/sampler.h"
#include "trainers/distributed_evaluation.h"
#include "trainers/loop.h"
#include "trainers/metrics.h"
#include "trainers/plot/plots.h"

namespace kiln {

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * fraction);
  return buf;
}

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

std::string resume_directory(const std::string& resume, const std::vector<std::string>& run_names,
                             const std::string& command) {
  if (resume.empty()) return "";
  const std::filesystem::path p(resume);
  KILN_CHECK(std::filesystem::is_regular_file(p), "--resume ", resume, ": no such checkpoint file");
  std::string expected;
  for (const std::string& n : run_names) {
    if (p.filename().string() == n + "_last.ckpt")
      return p.has_parent_path() ? p.parent_path().string() : ".";
    expected += (expected.empty() ? "" : " or ") + n + "_last.ckpt";
  }
  KILN_FAIL("--resume ", resume, ": expected ", expected, " written by an earlier `kiln ", command, "` run");
}

FitResult fit_run(Module& model, Optimizer& optimizer, DataLoader& train, DataLoader* val, const LossFn& loss,
                  RunContext& ctx, FitConfig c, const std::string& resume_dir) {
  const std::string ckpt = resume_dir.empty() ? "" : resume_dir + "/" + c.name + "_last.ckpt";
  // Rank 0 decides for every rank whether this run resumes (fit() then has each read that file).
  int64_t resume = !ckpt.empty() && std::filesystem::exists(ckpt);
  ctx.host_group().broadcast(&resume, sizeof resume, 0);
  if (resume)
    c.resume = ckpt;
  else if (ctx.writes_files())
    model.save(ctx.path(c.name + "_initial.safetensors"));
  return fit(model, optimizer, train, val, loss, ctx, c);
}

Series train_loss_series(const std::string& name, const std::vector<EpochRecord>& history) {
  Series s{name, {}, {}};
  for (const EpochRecord& r : history) {
    s.x.push_back(double(r.epoch));
    s.y.push_back(r.train_loss);
  }
  return s;
}

ClassificationData load_classification(const CommonOptions& o, const RunContext& ctx,
                                       const std::string& preferred, double val_fraction) {
  KILN_CHECK(val_fraction >= 0 && val_fraction < 1, "validation fraction must be in [0, 1), got ",
             val_fraction);
  ImageData img = load_image_data(o.dataset, o.data_dir, preferred, o.limit);
  ClassificationData d;
  d.name = img.name;
  d.class_names = img.train.class_names;
  d.channels = img.train.inputs.size(1);
  const int64_t n = img.train.size();
  const int64_t n_val = static_cast<int64_t>(std::llround(val_fraction * n));
  KILN_CHECK(n - n_val >= 1, "not enough training samples (", n, ") for a validation split of ",
             val_fraction);
  // The split has its own generator so it does not depend on anything drawn before it.
  Generator split_gen(o.seed ^ 0x5eed5011ULL);
  const Split split = random_split(n, n_val, split_gen);
  d.train = std::make_unique<Dataset>(img.train.subset(split.first).to(ctx.device));
  if (n_val > 0) d.val = std::make_unique<Dataset>(img.train.subset(split.second).to(ctx.device));
  KILN_CHECK(o.test_limit >= 0, "--test-limit must be >= 0, got ", o.test_limit);
  const Dataset test = o.test_limit > 0 ? img.test.head(o.test_limit) : img.test;
  d.test = std::make_unique<Dataset>(test.to(ctx.device));
  char desc[256];
  std::snprintf(desc, sizeof desc, "%s (%lld train / %lld validation / %lld test)", img.name.c_str(),
                static_cast<long long>(d.train->size()), static_cast<long long>(n_val),
                static_cast<long long>(d.test->size()));
  d.description = desc;
  if (o.limit > 0) d.description += ", --limit " + std::to_string(o.limit);
  if (o.test_limit > 0) d.description += ", --test-limit " + std::to_string(o.test_limit);
  if (!img.substitution.empty()) d.description += "; " + img.substitution;
  return d;
}

void apply_train_flags(const CommonOptions& o, TrainOptions& train) {
  train.clip_grad_norm = o.clip_grad;
  train.skip_nonfinite = o.skip_nonfinite;
  train.cuda_graph = !o.no_graph;
}

ImageTransform tutorial_normalize(int64_t channels) {
  ImageTransform t;
  t.mean.assign(channels, 0.5f);
  t.std.assign(channels, 0.5f);
  return t;
}

std::string resnet_id(const ClassificationData& data, bool batchnorm) {
  return "ResNet18(in=" + std::to_string(data.channels) +
         ", classes=" + std::to_string(data.class_names.size()) + (batchnorm ? "" : ", no batchnorm") + ")";
}

std::string cifar_resnet_id(const ClassificationData& data) {
  return "CifarResNet18(in=" + std::to_string(data.channels) +
         ", classes=" + std::to_string(data.class_names.size()) + ")";
}

std::unique_ptr<CifarResNet18> make_cifar_resnet(const ClassificationData& data, const RunContext& ctx) {
  CifarResNetOptions o;
  o.in_channels = data.channels;
  o.num_classes = static_cast<int64_t>(data.class_names.size());
  auto model = std::make_unique<CifarResNet18>(o);
  model->to(ctx.device);
  return model;
}

void print_headline(const ExperimentResult& r) {
  std::printf("kiln: %s\nthe tutorial: %s\n", r.kiln_figure.c_str(), r.tutorial_figure.c_str());
  std::fflush(stdout);
}

std::string protocol_unchanged_note(const RunContext& ctx, const std::string& why) {
  if (!ctx.tutorial_protocol) return "";
  const std::string note =
      "--protocol seed changes nothing here (" + why + "); this is kiln's default protocol";
  std::printf("%s\n", note.c_str());
  return note;
}

std::unique_ptr<ResNet18> make_resnet(const ClassificationData& data, const RunContext& ctx, bool batchnorm) {
  ResNetOptions o;
  o.in_channels = data.channels;
  o.num_classes = static_cast<int64_t>(data.class_names.size());
  o.batchnorm = batchnorm;
  auto model = std::make_unique<ResNet18>(o);
  model->to(ctx.device);
  return model;
}

TestReport evaluate_test(Module& model, DataLoader& test, const ClassificationData& data, RunContext& ctx,
                         const std::string& prefix, const std::string& title) {
  ConfusionMatrix cm(static_cast<int64_t>(data.class_names.size()));
  const LossFn ce = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
  evaluate_data_parallel(ctx.host_group(), model, test, ce, &cm);
  TestReport r;
  r.accuracy = cm.accuracy();
  r.per_class = cm.per_class_accuracy();
  r.confusion_png = prefix + "confusion_matrix.png";
  if (ctx.writes_files())
    write_confusion_matrix_png(ctx.path(r.confusion_png), cm.rows(), data.class_names, title);
  return r;
}

void plot_loss_curves(const std::string& path, const std::string& title,
                      const std::vector<EpochRecord>& history, int64_t marker_epoch,
                      const std::string& marker_label) {
  Series train{"train", {}, {}}, val{"validation", {}, {}};
  for (const EpochRecord& r : history) {
    train.x.push_back(double(r.epoch));
    train.y.push_back(r.train_loss);
    if (std::isfinite(r.val_loss)) {
      val.x.push_back(double(r.epoch));
      val.y.push_back(r.val_loss);
    }
  }
  LinePlot plot;
  plot.title = title;
  plot.x_label = "epoch";
  plot.y_label = "loss";
  plot.series.push_back(train);
  if (!val.x.empty()) plot.series.push_back(val);
  if (marker_epoch > 0) {
    plot.marker_x = double(marker_epoch);
    plot.marker_label = marker_label;
  }
  write_line_plot_png(path, plot);
}

}  // namespace kiln
