// Shared options and the run context built from them (see common_options.h).
#include "trainers/app/common_options.h"

#include <filesystem>

#include "core/autograd.h"
#include "core/file_io.h"
#include "core/generator.h"

namespace kiln {

void add_common_options(CLI::App& cmd, CommonOptions& o, bool image_data) {
  if (image_data) {
    cmd.add_option(
           "--dataset", o.dataset,
           "cifar10 | mnist | fashion-mnist | auto (auto: the tutorial's dataset when --data-dir holds it, "
           "else Fashion-MNIST from Debian stands in)")
        ->check(CLI::IsMember({"auto", "cifar10", "mnist", "fashion-mnist"}))
        ->capture_default_str();
    cmd.add_option("--data-dir", o.data_dir, "directory with the dataset files");
    cmd.add_option("--test-limit", o.test_limit,
                   "evaluate on the first N test samples only (0 = all), for quick runs")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
  }
  cmd.add_option("--device", o.device, "cpu | cuda | cuda:N | auto (CUDA when available)")
      ->capture_default_str();
  cmd.add_option("--epochs", o.epochs, "training epochs")
      ->check(CLI::Range(int64_t(1), int64_t(100000)))
      ->capture_default_str();
  cmd.add_option("--batch-size", o.batch_size, "mini-batch size")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
      ->capture_default_str();
  cmd.add_option("--lr", o.lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd.add_option("--seed", o.seed, "random seed (initialisation, shuffling, dropout, label noise)")
      ->capture_default_str();
  cmd.add_option("--out", o.out, "output directory for logs, plots and checkpoints")->capture_default_str();
  cmd.add_option("--protocol", o.protocol,
                 "default: kiln's corrected protocol; seed: the tutorial's code as written, bugs included")
      ->check(CLI::IsMember({"default", "seed"}))
      ->capture_default_str();
  cmd.add_option("--limit", o.limit, "use only the first N training samples (0 = all), for quick runs")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--resume", o.resume,
                 "continue from a checkpoint written by an earlier run of this command");
  cmd.add_flag("--quiet", o.quiet, "no progress bar");
  cmd.add_flag("--detect-anomaly", o.detect_anomaly, "name the first op whose output or gradient is NaN/Inf");
  cmd.add_flag("--skip-nonfinite", o.skip_nonfinite,
               "skip and count training steps whose loss is NaN/Inf (reads the loss every step) instead of "
               "stopping with an error at the end of the epoch");
  cmd.add_option("--clip-grad", o.clip_grad, "clip gradients to this global L2 norm (0 = off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_flag("--no-graph", o.no_graph, kNoGraphHelp);
}

RunContext make_run_context(const CommonOptions& o, const std::string& command) {
  RunContext ctx{Device::cpu(), o.out.empty() ? "runs/" + command : o.out, o.protocol == "seed",
                 ProgressBar(o.quiet)};
  if (o.device == "auto") {
    ctx.device = cuda_available() ? Device::cuda(0) : Device::cpu();
  } else {
    ctx.device = Device::parse(o.device);
    KILN_CHECK(!ctx.device.is_cuda() || cuda_available(), "--device ", o.device, ": ",
               cuda_built() ? "no CUDA device is available" : "kiln was built without CUDA");
    KILN_CHECK(!ctx.device.is_cuda() || ctx.device.index < cuda_device_count(), "--device ", o.device,
               ": only ", cuda_device_count(), " CUDA device(s)");
  }
  if (ctx.device.is_cuda()) select_cuda_device(ctx.device.index);
  std::error_code ec;
  std::filesystem::create_directories(ctx.out_dir, ec);
  KILN_CHECK(!ec, "cannot create --out directory '", ctx.out_dir, "': ", ec.message());
  try {
    write_file_atomic(ctx.path(".write-test"), std::string("ok"));
    std::filesystem::remove(ctx.path(".write-test"), ec);
  } catch (const Error&) {
    KILN_FAIL("--out directory '", ctx.out_dir, "' is not writable");
  }
  manual_seed(o.seed);
  set_detect_anomaly(o.detect_anomaly);
  install_interrupt_handler();
  return ctx;
}

}  // namespace kiln
