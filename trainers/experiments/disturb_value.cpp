// `kiln disturb-value` (see disturb_value.h): one Regressor trained on clean targets and then
// with DisturbValue. Default protocol: both runs from the same initial weights, batches and
// dropout masks, so the only difference between them is the target noise. --protocol seed: the
// tutorial's code, where the noisy run continues from the clean one (one model, one Adam).
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
#include "trainers/plot/plots.h"

namespace kiln {

namespace {

// The tutorial protocol draws DisturbValue's noisy samples as the tutorial's code did.
kernels::DisturbValueSelection selection_for(bool tutorial) {
  return tutorial ? kernels::DisturbValueSelection::TutorialZeroing
                  : kernels::DisturbValueSelection::ExactCount;
}

// The tutorial's noise_generator: torch.normal(0, 1e-8, ...).
constexpr double kTutorialSigma = 1e-8;
// Rows held out for the test RMSE: kiln's default, and the author's 50:50 split (--protocol seed).
constexpr double kDefaultTestFraction = 0.2;
constexpr double kTutorialTestFraction = 0.5;

// The table to read: --csv, else scikit-learn's copy.
std::string resolve_csv(const std::string& flag) {
  if (!flag.empty()) return flag;
  std::error_code ec;
  if (std::filesystem::is_regular_file(kSklearnBostonTable, ec)) return kSklearnBostonTable;
  KILN_FAIL("no Boston housing table found (tried ", kSklearnBostonTable,
            "); install python3-sklearn or pass --csv PATH with a header row of column names");
}

struct RegressionData {
  std::string description;
  std::string target;
  int64_t features = 0;
  Dataset train, test;  // scaled, on the run's device
  Tensor test_targets;  // original units, host
  ColumnScaler target_scaler;
  double mean_baseline_rmse = 0;  // predicting the training mean, original units
};

// The rows held out for the test RMSE: --test-fraction, else the protocol's (see disturb_value.h).
double effective_test_fraction(const DisturbValueOptions& o, bool tutorial_protocol) {
  if (o.test_fraction > 0) return o.test_fraction;
  return tutorial_protocol ? kTutorialTestFraction : kDefaultTestFraction;
}

// Default: min-max statistics of the training split only, so the test rows never leak into
// them. --protocol seed: the author's preparation, statistics of the whole table, then the split.
RegressionData load_regression(const DisturbValueOptions& o, const RunContext& ctx) {
  const std::string path = resolve_csv(o.csv);
  const Table table = read_csv_table(path);
  RegressionData d;
  d.target = o.target.empty() ? table.columns.back() : o.target;
  const Dataset all = table_to_dataset(table, d.target);
  d.features = all.inputs.size(1);
  const int64_t n = all.size();
  // scikit-learn's train_test_split rounds the test share up; so does kiln (506 -> 404 / 102).
  const double test_fraction = effective_test_fraction(o, ctx.tutorial_protocol);
  const auto n_test = static_cast<int64_t>(std::ceil(test_fraction * static_cast<double>(n)));
  KILN_CHECK(n_test >= 1 && n - n_test >= 2, path, ": ", n, " rows are too few for a test fraction of ",
             test_fraction);
  // Its own generator, so the split does not depend on anything drawn before it.
  Generator split_gen(o.common.seed ^ 0x5eed5011ULL);
  const Split split = random_split(n, n_test, split_gen);
  Dataset train = all.subset(split.first);
  if (o.common.limit > 0) train = train.head(o.common.limit);
  const Dataset test = all.subset(split.second);

  const Dataset& fitted_on = ctx.tutorial_protocol ? all : train;
  const ColumnScaler x_scaler = ColumnScaler::fit(fitted_on.inputs, ColumnScaler::Kind::MinMax);
  d.target_scaler = ColumnScaler::fit(fitted_on.targets, ColumnScaler::Kind::MinMax);
  d.train.inputs = x_scaler.transform(train.inputs).to(ctx.device);
  d.train.targets = d.target_scaler.transform(train.targets).to(ctx.device);
  d.test.inputs = x_scaler.transform(test.inputs).to(ctx.device);
  d.test.targets = d.target_scaler.transform(test.targets).to(ctx.device);
  d.test_targets = test.targets;

  const std::vector<double> y_train = train.targets.to_vector<double>();
  const double mean =
      std::accumulate(y_train.begin(), y_train.end(), 0.0) / static_cast<double>(y_train.size());
  d.mean_baseline_rmse = rmse(Tensor::full(test.targets.shape(), mean, DType::Float64), test.targets);

  const std::string name = o.csv.empty() ? "Boston housing" : std::filesystem::path(path).filename().string();
  char desc[512];
  std::snprintf(desc, sizeof desc, "%s (%lld train / %lld test; %lld features -> %s)", name.c_str(),
                static_cast<long long>(d.train.size()), static_cast<long long>(d.test.size()),
                static_cast<long long>(d.features), d.target.c_str());
  d.description = desc;
  if (o.common.limit > 0) d.description += ", --limit " + std::to_string(o.common.limit);
  d.description += std::string(ctx.tutorial_protocol ? ", min-max scaled on the whole table"
                                                     : ", min-max scaled on the training split") +
                   ", " + path;
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

std::string list(const std::vector<double>& v, const char* format) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + fmt(format, v[i]);
  return s + "]";
}

// The tutorial's demonstration: one shuffled training batch of targets before and after the
// noise, and how many changed. Generators of its own, so the training runs do not depend on it.
int64_t one_batch_demonstration(const RegressionData& d, const DisturbValueOptions& o, double sigma,
                                bool tutorial) {
  Generator gen(o.common.seed ^ 0xdeb0ULL);
  DataLoader loader(d.train, o.common.batch_size, std::make_shared<RandomSampler>(d.train.size()), false, {},
                    gen);
  loader.start_epoch();
  Batch batch;
  KILN_CHECK(loader.next(batch), "disturb-value: the training set is empty");
  const Tensor noisy = disturb_value(batch.targets, o.alpha, sigma, gen, selection_for(tutorial));
  auto values = [](const Tensor& t) {
    return t.to(Device::cpu()).to(DType::Float64).contiguous().to_vector<double>();
  };
  const std::vector<double> before = values(batch.targets), after = values(noisy);
  std::vector<double> diff;
  int64_t changed = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    diff.push_back(after[i] - before[i]);
    changed += after[i] != before[i];
  }
  std::printf(
      "one-batch demonstration: %s on one shuffled training batch of %zu targets (min-max scaled)\n",
      tutorial ? "the tutorial's noise_generator (N(0, 1e-8) for all, then zeroed draws with replacement)"
               : ("DisturbValue(alpha " + fmt("%g", o.alpha) + ", sigma " + fmt("%g", sigma) + ")").c_str(),
      before.size());
  std::printf("  targets:   %s\n  disturbed: %s\n  disturbed - targets: %s\n", list(before, "%.4f").c_str(),
              list(after, "%.4f").c_str(), list(diff, "%.3g").c_str());
  std::printf("  changed: %lld of %zu targets\n", static_cast<long long>(changed), before.size());
  return changed;
}

}  // namespace

std::string disturb_value_tutorial_noise_note(int64_t batch_size, double alpha) {
  // int(len(x) * (1 - alpha)) indices drawn uniformly WITH replacement are zeroed; a sample
  // escapes all of them, and so keeps its noise, with probability (1 - 1/b)^draws.
  const auto draws = static_cast<int64_t>(static_cast<double>(batch_size) * (1.0 - alpha));
  const double noised = std::pow(1.0 - 1.0 / static_cast<double>(batch_size), static_cast<double>(draws));
  return "int(N*(1-alpha)) = " + std::to_string(draws) + " of each batch of " + std::to_string(batch_size) +
         " zeroed by draws WITH replacement, so about " + percent(noised) +
         " of a full batch keeps its noise (" + percent(1.0 - noised) + " zeroed), not " + percent(alpha);
}

DisturbValueOptions disturb_value_defaults() {
  DisturbValueOptions o;
  o.common.epochs = 400;
  o.common.batch_size = 32;
  o.common.lr = 1e-3;
  return o;
}

ExperimentResult run_disturb_value(const DisturbValueOptions& o) {
  KILN_CHECK(o.common.resume.empty(), "disturb-value has no --resume: its two runs take seconds");
  KILN_CHECK(o.alpha >= 0 && o.alpha <= 1, "--alpha must be in [0, 1], got ", o.alpha);
  KILN_CHECK(o.sigma >= 0 && std::isfinite(o.sigma), "--sigma must be >= 0, got ", o.sigma);
  KILN_CHECK(o.weight_decay >= 0, "--weight-decay must be >= 0, got ", o.weight_decay);
  KILN_CHECK(o.test_fraction >= 0 && o.test_fraction < 1,
             "--test-fraction must be in (0, 1), or 0 for the protocol's, got ", o.test_fraction);
  RunContext ctx = make_run_context(o.common, "disturb-value");
  const bool tutorial = ctx.tutorial_protocol;
  const RegressionData data = load_regression(o, ctx);
  const double sigma = tutorial ? kTutorialSigma : o.sigma;
  std::printf("disturb-value: the Regressor on %s on %s, %s protocol (alpha %g, sigma %g)\n",
              data.description.c_str(), ctx.device.str().c_str(),
              tutorial ? "the tutorial's" : "kiln's default", o.alpha, sigma);
  const int64_t demo_changed = one_batch_demonstration(data, o, sigma, tutorial);

  const LossFn mse = [](const Tensor& out, const Tensor& y) { return mse_loss(out, y); };
  const std::string model_id = "Regressor(in=" + std::to_string(data.features) + ", hidden=50)";

  // One model, one Adam and one loader, as the tutorial builds them. The batch order and the
  // noise have generators of their own, so the noise draws do not shift the dropout masks or
  // the shuffling of the disturbed run.
  manual_seed(o.common.seed);
  Generator loader_gen(o.common.seed ^ 0x10ade5ULL);
  Regressor model(data.features);
  model.to(ctx.device);
  TensorMap initial;
  for (const auto& [name, t] : model.state_dict()) initial[name] = t.clone();
  const uint64_t start_offset = default_generator().offset();
  auto make_opt = [&] {
    return make_adam(model.parameters(), o.common.lr, 0.9, 0.999, 1e-8, o.weight_decay);
  };
  auto opt = make_opt();
  DataLoader train(data.train, o.common.batch_size, std::make_shared<RandomSampler>(data.train.size()), false,
                   {}, loader_gen);

  auto train_one = [&](const std::string& name, bool disturb) {
    // Default protocol: every run starts from the same state (weights, fresh Adam, dropout
    // stream, batch order). --protocol seed: the noisy run simply carries on from the clean one.
    if (!tutorial) {
      {
        NoGradGuard no_grad;
        model.load_state_dict(initial);
      }
      opt = make_opt();
      default_generator().manual_seed(o.common.seed);
      default_generator().set_offset(start_offset);
      loader_gen.manual_seed(o.common.seed ^ 0x10ade5ULL);
    }
    Generator noise_gen(o.common.seed ^ 0xd157b5ULL);
    noise_gen.set_offset(ctx.rank_stream());
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
        const Tensor noisy = disturb_value(y, o.alpha, sigma, noise_gen, selection_for(tutorial));
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
    r.fit = fit_run(model, *opt, train, nullptr, mse, ctx, c, "");
    r.test_rmse = test_rmse(model, data);
    double counts[2] = {seen.item<double>(), unchanged.item<double>()};  // over every rank's batches
    ctx.host_group().all_reduce(counts, 2, DType::Float64, ReduceOp::Sum);
    if (counts[0] > 0) r.changed_fraction = 1.0 - counts[1] / counts[0];
    return r;
  };
  std::printf("run 1: clean targets\n");
  const RunOutcome clean = train_one("clean", false);
  std::printf("run 2: DisturbValue, %s\n",
              tutorial ? "continuing from run 1's weights and Adam state (--protocol seed)"
                       : "from the same initial weights");
  const RunOutcome noisy = train_one("disturb_value", true);

  const std::string noise_name =
      "DisturbValue (alpha " + fmt("%g", o.alpha) + ", sigma " + fmt("%g", sigma) + ")";
  const bool boston = o.csv.empty();
  const std::string units = boston ? "$1000s" : data.target + "'s units";
  LinePlot loss_plot;
  loss_plot.title = "DisturbValue: training loss";
  loss_plot.x_label = "epoch";
  loss_plot.y_label = "train MSE (min-max scaled " + data.target + ")";
  loss_plot.series = {train_loss_series("clean targets", clean.fit.history),
                      train_loss_series(noise_name, noisy.fit.history)};
  if (ctx.writes_files()) write_line_plot_png(ctx.path("loss_curves.png"), loss_plot);
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
  if (ctx.writes_files()) write_line_plot_png(ctx.path("test_rmse.png"), rmse_plot);

  ExperimentResult r;
  r.experiment = "DisturbValue (Regressor, alpha = " + fmt("%g", o.alpha) + ")";
  r.tutorial_figure = "training-loss curves only (no test number)";
  r.kiln_figure = "test RMSE (" + units + "): clean " + fmt("%.3f", clean.test_rmse) + ", DisturbValue " +
                  fmt("%.3f", noisy.test_rmse) + "; final train MSE " +
                  fmt("%.4f", clean.fit.history.back().train_loss) + " vs " +
                  fmt("%.4f", noisy.fit.history.back().train_loss);
  r.dataset = data.description;
  r.device = ctx.device.str();
  r.seconds = clean.fit.seconds + noisy.fit.seconds;
  r.plots = {"loss_curves.png", "test_rmse.png"};
  std::string notes;
  if (tutorial) {
    notes =
        "--protocol seed (the tutorial's noise_generator: N(0, 1e-8) for every target, then " +
        disturb_value_tutorial_noise_note(o.common.batch_size, o.alpha) +
        "; std 1e-8 is effectively no noise: only " + percent(noisy.changed_fraction) +
        " of the float32 targets changed at all); the DisturbValue run continued from the clean run's final "
        "weights and Adam state (the tutorial built one Regressor and one Adam), so its curve starts where "
        "the "
        "clean one ended; the author's data preparation: min-max scaling fitted on the whole table, then a " +
        fmt("%g", 100 * (1 - effective_test_fraction(o, true))) + ":" +
        fmt("%g", 100 * effective_test_fraction(o, true)) + " train/test split";
  } else {
    notes =
        "default protocol (exactly round(alpha*N) distinct samples of each batch get N(0, " +
        fmt("%g", sigma) + "^2) noise on the [0, 1]-scaled target; " + percent(noisy.changed_fraction) +
        " of the targets changed); both runs from the same initial weights, batch order and dropout masks; "
        "min-max scaling fitted on the training split";
  }
  notes += "; one-batch demonstration: " + std::to_string(demo_changed) + " of " +
           std::to_string(std::min<int64_t>(o.common.batch_size, data.train.size())) +
           " targets changed; Adam lr " + fmt("%g", o.common.lr) + " weight_decay " +
           fmt("%g", o.weight_decay) + ", " + std::to_string(o.common.epochs) + " epochs, batch " +
           std::to_string(o.common.batch_size) + "; predicting the training mean gives test RMSE " +
           fmt("%.3f", data.mean_baseline_rmse) +
           "; test RMSE is logged per epoch but never used for selection";
  r.notes = notes;
  std::printf("test RMSE (%s): clean %.3f, %s %.3f (predicting the training mean: %.3f); %s\n%s\n",
              units.c_str(), clean.test_rmse, noise_name.c_str(), noisy.test_rmse, data.mean_baseline_rmse,
              format_duration(r.seconds).c_str(), r.notes.c_str());
  print_headline(r);
  return r;
}

}  // namespace kiln
