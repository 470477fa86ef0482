// `kiln disturb-value` (see disturb_value.h): two Regressors, one on clean targets and one
// with DisturbValue, from the same initial weights, batches and dropout masks, so the only
// difference between the runs is the target noise.
#include "trainers/experiments/disturb_value.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "core/autograd.h"
#include "core/generator.h"
#include "core/ops.h"
#include "data/csv.h"
#include "layers/models.h"
#include "losses/losses.h"
#include "samplers/sampler.h"
#include "trainers/experiments/common.h"
#include "trainers/metrics.h"
#include "trainers/plots.h"

namespace kiln {

namespace {

constexpr const char* kSklearnBoston = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv";
constexpr const char* kSharedBoston = "../shared/data/boston_housing.csv";
// The tutorial's noise_generator: torch.normal(0, 1e-8, ...).
constexpr double kSourceSigma = 1e-8;

// The table to read: --csv, else scikit-learn's copy, else the shared copy next to the
// source tree. There is no source directory at run time, so "next to the source tree" is
// tried relative to the executable's parent directory (build/kiln -> <source>) and to the
// working directory.
std::string resolve_csv(const std::string& flag) {
  if (!flag.empty()) return flag;
  std::vector<std::string> tried = {kSklearnBoston};
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) tried.push_back((exe.parent_path().parent_path() / kSharedBoston).lexically_normal().string());
  tried.push_back(kSharedBoston);
  std::string list;
  for (const std::string& p : tried) {
    if (std::filesystem::is_regular_file(p, ec)) return p;
    list += (list.empty() ? "" : ", ") + p;
  }
  KILN_FAIL("no Boston housing table found (tried ", list,
            "); install python3-sklearn or pass --csv PATH with a header row of column names");
}

struct RegressionData {
  std::string description;
  std::string target;
  int64_t features = 0;
  Dataset train, test;    // scaled, on the run's device
  Tensor test_targets;    // original units, host
  ColumnScaler target_scaler;
  double mean_baseline_rmse = 0;  // predicting the training mean, original units
};

RegressionData load_regression(const DisturbValueOptions& o, const RunContext& ctx) {
  const std::string path = resolve_csv(o.csv);
  const Table table = read_csv_table(path);
  RegressionData d;
  d.target = o.target.empty() ? table.columns.back() : o.target;
  const Dataset all = table_to_dataset(table, d.target);
  d.features = all.inputs.size(1);
  const int64_t n = all.size();
  // scikit-learn's train_test_split rounds the test share up; so does kiln (506 -> 404 / 102).
  const auto n_test = static_cast<int64_t>(std::ceil(o.test_fraction * static_cast<double>(n)));
  KILN_CHECK(n_test >= 1 && n - n_test >= 2, path, ": ", n, " rows are too few for a test fraction of ",
             o.test_fraction);
  // Its own generator, so the split does not depend on anything drawn before it.
  Generator split_gen(o.common.seed ^ 0x5eed5011ULL);
  const Split split = random_split(n, n_test, split_gen);
  Dataset train = all.subset(split.first);
  if (o.common.limit > 0) train = train.head(o.common.limit);
  const Dataset test = all.subset(split.second);

  // Min-max statistics of the training split only: the test rows never leak into them.
  const ColumnScaler x_scaler = ColumnScaler::fit(train.inputs, ColumnScaler::Kind::MinMax);
  d.target_scaler = ColumnScaler::fit(train.targets, ColumnScaler::Kind::MinMax);
  d.train.inputs = x_scaler.transform(train.inputs).to(ctx.device);
  d.train.targets = d.target_scaler.transform(train.targets).to(ctx.device);
  d.test.inputs = x_scaler.transform(test.inputs).to(ctx.device);
  d.test.targets = d.target_scaler.transform(test.targets).to(ctx.device);
  d.test_targets = test.targets;

  const std::vector<double> y_train = train.targets.to_vector<double>();
  const double mean = std::accumulate(y_train.begin(), y_train.end(), 0.0) / static_cast<double>(y_train.size());
  d.mean_baseline_rmse = rmse(Tensor::full(test.targets.shape(), mean, DType::Float64), test.targets);

  const std::string name = o.csv.empty() ? "Boston housing" : std::filesystem::path(path).filename().string();
  char desc[512];
  std::snprintf(desc, sizeof desc, "%s (%lld train / %lld test; %lld features -> %s)", name.c_str(),
                static_cast<long long>(d.train.size()), static_cast<long long>(d.test.size()),
                static_cast<long long>(d.features), d.target.c_str());
  d.description = desc;
  if (o.common.limit > 0) d.description += ", --limit " + std::to_string(o.common.limit);
  d.description += ", " + path;
  return d;
}

// RMSE of the model's test predictions in the target's original units (eval mode: no dropout).
double test_rmse(Module& model, const RegressionData& d) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const Tensor pred = d.target_scaler.inverse(model(d.test.inputs).to(Device::cpu()));
  model.train(was_training);
  return rmse(pred, d.test_targets);
}

struct RunOutcome {
  FitResult fit;
  double test_rmse = 0;
  double changed_fraction = 0;  // share of training targets the transform actually altered
};

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

DisturbValueOptions disturb_value_defaults() {
  DisturbValueOptions o;
  o.common.epochs = 400;
  o.common.batch_size = 32;
  o.common.lr = 1e-3;
  return o;
}

ExperimentResult run_disturb_value(const DisturbValueOptions& o) {
  KILN_CHECK(o.common.resume.empty(), "disturb-value has no --resume: it trains two models and takes seconds");
  KILN_CHECK(o.alpha >= 0 && o.alpha <= 1, "--alpha must be in [0, 1], got ", o.alpha);
  KILN_CHECK(o.sigma >= 0 && std::isfinite(o.sigma), "--sigma must be >= 0, got ", o.sigma);
  KILN_CHECK(o.weight_decay >= 0, "--weight-decay must be >= 0, got ", o.weight_decay);
  KILN_CHECK(o.test_fraction > 0 && o.test_fraction < 1, "--test-fraction must be in (0, 1), got ", o.test_fraction);
  RunContext ctx = make_run_context(o.common, "disturb-value");
  const RegressionData data = load_regression(o, ctx);
  const double sigma = ctx.source_protocol ? kSourceSigma : o.sigma;
  std::printf("disturb-value: %s on %s, %s protocol (alpha %g, sigma %g)\n", data.description.c_str(),
              ctx.device.str().c_str(), ctx.source_protocol ? "the tutorial's" : "kiln's default", o.alpha, sigma);

  const LossFn mse = [](const Tensor& out, const Tensor& y) { return mse_loss(out, y); };
  const std::string model_id = "Regressor(in=" + std::to_string(data.features) + ", hidden=50)";

  // Both runs start from the same state: the default generator (initial weights, dropout
  // masks) is reseeded, and the batch order and the noise have generators of their own, so
  // the noise draws do not shift the dropout masks or the shuffling of the disturbed run.
  auto train_one = [&](const std::string& name, bool disturb) {
    manual_seed(o.common.seed);
    Generator loader_gen(o.common.seed ^ 0x10ade5ULL);
    Generator noise_gen(o.common.seed ^ 0xd157b5ULL);
    Regressor model(data.features);
    model.to(ctx.device);
    auto opt = make_adam(model.parameters(), o.common.lr, 0.9, 0.999, 1e-8, o.weight_decay);
    DataLoader train(data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train.size()), false, {},
                     loader_gen);

    // How many targets the noise really changed, counted on the device: in float32 most of a
    // 1e-8 noise is lost to rounding (a target near 0.5 changes only when |noise| > 3e-8).
    // Both counts stay on the device: a captured training step (trainers/step_graph.h) runs
    // this transform's kernels on every replay but its host code only once.
    Tensor unchanged = Tensor::zeros({}, DType::Float64, ctx.device);
    Tensor seen = Tensor::zeros({}, DType::Float64, ctx.device);
    FitConfig c;
    c.name = name;
    c.epochs = o.common.epochs;
    c.model_id = model_id;
    c.selection = Selection::Last;
    apply_train_flags(o.common, c.train);
    if (disturb) {
      c.train.target_transform = [&](const Tensor& y) {
        const Tensor noisy = disturb_value(y, o.alpha, sigma, noise_gen, ctx.source_protocol);
        NoGradGuard no_grad;
        const Tensor same = eq(noisy.to(DType::Float64), y.to(DType::Float64));
        add_(unchanged, sum(same));
        add_(seen, sum(Tensor::ones(same.shape(), DType::Float64, same.device())));
        return noisy;
      };
    }
    // Logged for the figures only; nothing is selected on the test split.
    c.extra_columns = {"test_rmse"};
    c.extra_values = [&] { return std::vector<double>{test_rmse(model, data)}; };
    RunOutcome r;
    r.fit = fit(model, *opt, train, nullptr, mse, ctx, c);
    r.test_rmse = test_rmse(model, data);
    const double seen_count = seen.item<double>();
    if (seen_count > 0) r.changed_fraction = 1.0 - unchanged.item<double>() / seen_count;
    return r;
  };
  const RunOutcome clean = train_one("clean", false);
  const RunOutcome noisy = train_one("disturb_value", true);

  const std::string noise_name = "DisturbValue (alpha " + fmt("%g", o.alpha) + ", sigma " + fmt("%g", sigma) + ")";
  const bool boston = o.csv.empty();
  const std::string units = boston ? "$1000s" : data.target + "'s units";
  auto loss_series = [](const std::string& name, const FitResult& f) {
    Series s{name, {}, {}};
    for (const EpochRecord& e : f.history) {
      s.x.push_back(double(e.epoch));
      s.y.push_back(e.train_loss);
    }
    return s;
  };
  LinePlot loss_plot;
  loss_plot.title = "DisturbValue: training loss";
  loss_plot.x_label = "epoch";
  loss_plot.y_label = "train MSE (min-max scaled " + data.target + ")";
  loss_plot.series = {loss_series("clean targets", clean.fit), loss_series(noise_name, noisy.fit)};
  write_line_plot_png(ctx.path("loss_curves.png"), loss_plot);
  auto rmse_series = [](const std::string& name, const FitResult& f) {
    Series s{name, {}, {}};
    for (const EpochRecord& e : f.history) {
      s.x.push_back(double(e.epoch));
      s.y.push_back(e.extra.at(0));
    }
    return s;
  };
  LinePlot rmse_plot;
  rmse_plot.title = "DisturbValue: test RMSE";
  rmse_plot.x_label = "epoch";
  rmse_plot.y_label = "test RMSE (" + units + ")";
  rmse_plot.series = {rmse_series("clean targets", clean.fit), rmse_series(noise_name, noisy.fit)};
  write_line_plot_png(ctx.path("test_rmse.png"), rmse_plot);

  // How far apart the two loss curves are: with the tutorial's 1e-8 the runs barely differ.
  double max_gap = 0;
  for (size_t i = 0; i < clean.fit.history.size() && i < noisy.fit.history.size(); ++i)
    max_gap = std::max(max_gap, std::fabs(clean.fit.history[i].train_loss - noisy.fit.history[i].train_loss));

  ExperimentResult r;
  r.experiment = "DisturbValue (Regressor, alpha = " + fmt("%g", o.alpha) + ")";
  r.source_figure = "training-loss curves only (no test number)";
  r.kiln_figure = "test RMSE (" + units + "): clean " + fmt("%.3f", clean.test_rmse) + ", DisturbValue " +
                  fmt("%.3f", noisy.test_rmse) + "; final train MSE " + fmt("%.4f", clean.fit.history.back().train_loss) +
                  " vs " + fmt("%.4f", noisy.fit.history.back().train_loss);
  r.dataset = data.description;
  r.device = ctx.device.str();
  r.seconds = clean.fit.seconds + noisy.fit.seconds;
  r.plots = {"loss_curves.png", "test_rmse.png"};
  std::string notes;
  if (ctx.source_protocol) {
    const int64_t b = o.common.batch_size;
    const auto draws = static_cast<int64_t>(static_cast<double>(b) * (1.0 - o.alpha));
    const double noised = 1.0 - std::pow(1.0 - 1.0 / static_cast<double>(b), static_cast<double>(draws));
    notes = "--protocol seed (the tutorial's noise_generator: N(0, 1e-8) for every target, then int(N*(1-alpha)) = " +
            std::to_string(draws) + " of each batch of " + std::to_string(b) +
            " zeroed by draws WITH replacement, so about " + percent(noised) + " of a full batch is noised, not " +
            percent(o.alpha) + "; std 1e-8 is effectively no noise: only " + percent(noisy.changed_fraction) +
            " of the float32 targets changed at all, and the loss curves differ by at most " + fmt("%.2g", max_gap) +
            ")";
  } else {
    notes = "default protocol (exactly round(alpha*N) distinct samples of each batch get N(0, " + fmt("%g", sigma) +
            "^2) noise on the [0, 1]-scaled target; " + percent(noisy.changed_fraction) + " of the targets changed)";
  }
  notes += "; both runs from the same initial weights, batch order and dropout masks; Adam lr " +
           fmt("%g", o.common.lr) + " weight_decay " + fmt("%g", o.weight_decay) + ", " +
           std::to_string(o.common.epochs) + " epochs, batch " + std::to_string(o.common.batch_size) +
           "; min-max scaling fitted on the training split; predicting the training mean gives test RMSE " +
           fmt("%.3f", data.mean_baseline_rmse) + "; test RMSE is logged per epoch but never used for selection";
  r.notes = notes;
  std::printf("test RMSE (%s): clean %.3f, %s %.3f (predicting the training mean: %.3f); %s\n%s\n", units.c_str(),
              clean.test_rmse, noise_name.c_str(), noisy.test_rmse, data.mean_baseline_rmse,
              format_duration(r.seconds).c_str(), r.notes.c_str());
  return r;
}

void add_disturb_value_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "disturb-value",
      "the Regressor on the Boston table, clean targets vs DisturbValue; default protocol: exactly round(alpha*N) "
      "samples per batch get N(0, sigma^2) noise; --protocol seed: the tutorial's noise_generator (std 1e-8, zeroed "
      "draws with replacement)");
  auto opts = std::make_shared<DisturbValueOptions>(disturb_value_defaults());
  add_common_options(*cmd, opts->common, false);
  // Two models trained in seconds: there is nothing worth resuming.
  cmd->remove_option(cmd->get_option("--resume"));
  cmd->add_option("--csv", opts->csv,
                  "the table (header row of column names, or scikit-learn's layout); default: " +
                      std::string(kSklearnBoston) + ", else " + kSharedBoston +
                      " beside the source tree or the working directory");
  cmd->add_option("--target", opts->target, "target column (default: the last column)");
  cmd->add_option("--alpha", opts->alpha, "fraction of each batch whose targets get noise")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--sigma", opts->sigma,
                  "noise std on the [0, 1]-scaled target (default protocol; --protocol seed uses the tutorial's 1e-8)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--weight-decay", opts->weight_decay, "Adam's weight decay (L2)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--test-fraction", opts->test_fraction, "fraction of the rows held out for the test RMSE")
      ->check(CLI::Range(0.01, 0.9))
      ->capture_default_str();
  cmd->callback([opts] { run_disturb_value(*opts); });
}

}  // namespace kiln
