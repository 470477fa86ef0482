// `kiln weighted-sampling`: its flags and defaults (the experiment itself:
// trainers/experiments/weighted_sampling.cpp).
#include <CLI/CLI.hpp>

#include "data/image_folder.h"
#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/weighted_sampling.h"

namespace kiln {

void add_weighted_sampling_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "weighted-sampling",
      "batches of an imbalanced image folder from WeightedRandomSampler vs a shuffled loader; default "
      "weights "
      "1/count[label[i]]; --protocol seed: the tutorial's make_weights (listed class by class)");
  auto opts = std::make_shared<WeightedSamplingOptions>(weighted_sampling_defaults());
  CommonOptions& c = opts->common;
  // Only the flags that mean something here: nothing is trained.
  cmd->add_option(
      "--data-dir", c.data_dir,
      "image folder root/<class>/<image> (PNG or JPEG); default: write the tutorial-sized folder (4 + 14 "
      "Fashion-MNIST images) to <out>/class_folder");
  cmd->add_option("--image-size", opts->image_size, "images are resized to this height and width")
      ->check(CLI::Range(int64_t(1), int64_t(kMaxImageDimension)))
      ->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "epochs of batches printed for each loader")
      ->check(CLI::Range(int64_t(0), int64_t(100000)))
      ->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "mini-batch size")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--count-epochs", opts->count_epochs,
                  "epochs over which each loader's class counts are tallied")
      ->check(CLI::Range(int64_t(1), int64_t(10000000)))
      ->capture_default_str();
  cmd->add_option("--device", c.device, "cpu | cuda | cuda:N | auto (CUDA when available)")
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "random seed (sampling)")->capture_default_str();
  cmd->add_option("--out", c.out, "output directory for the chart, the counts and the example folder")
      ->capture_default_str();
  cmd->add_option("--protocol", c.protocol,
                  "default: weights 1/count[label[i]]; seed: the tutorial's make_weights (class by class)")
      ->check(CLI::IsMember({"default", "seed"}))
      ->capture_default_str();
  cmd->callback([opts] { run_weighted_sampling(*opts); });
}

}  // namespace kiln
