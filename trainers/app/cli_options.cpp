// The shared flags of the `kiln` commands (see cli_options.h).
#include "trainers/app/cli_options.h"

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

void describe_multi_run_resume(CLI::App& cmd) {
  cmd.get_option("--resume")
      ->description(
          "the <run>_last.ckpt of an earlier run of this command: every run continues from its own "
          "checkpoint in that "
          "directory (finished runs are loaded, not trained again)");
}

void describe_protocol_unchanged(CLI::App& cmd, const std::string& why) {
  cmd.get_option("--protocol")
      ->description("accepted for uniformity, but --protocol seed changes nothing here: " + why);
}

}  // namespace kiln
