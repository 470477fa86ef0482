// `kiln pseudo-label`: its flags and defaults (the experiment itself: trainers/experiments/pseudo_label.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/pseudo_label.h"

namespace kiln {

void add_pseudo_label_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("pseudo-label",
                                 "semi-supervised MNIST with the tutorial's Net: supervised baseline, online "
                                 "and threshold pseudo-labels. "
                                 "Default protocol: kiln's class-balanced split, pixels / 255 everywhere, "
                                 "validation and alpha once per epoch. "
                                 "--protocol seed: the tutorial's code as written (its balanced_subset "
                                 "indexing, its three input encodings, "
                                 "validation and alpha update after every step of the online method)");
  auto opts = std::make_shared<PseudoLabelOptions>(pseudo_label_defaults());
  add_common_options(*cmd, opts->common, true);
  cmd->add_option("--method", opts->method,
                  "supervised | online | threshold | all (threshold trains the supervised "
                  "baseline first)")
      ->check(CLI::IsMember({"supervised", "online", "threshold", "all"}))
      ->capture_default_str();
  cmd->add_option("--unlabeled-batch", opts->unlabeled_batch,
                  "unlabelled (or pseudo-labelled) images per step")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
      ->capture_default_str();
  cmd->add_option("--alpha-t", opts->alpha_t, "final weight alpha_t of the pseudo-label loss")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--t1", opts->t1, "online method: alpha is 0 up to this (0-based, the tutorial's) epoch")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--t2", opts->t2, "alpha reaches alpha_t at this (0-based) epoch; must exceed both T1")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--threshold-t1", opts->threshold_t1, "threshold method's T1")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--threshold", opts->threshold, "softmax confidence a pseudo-label needs, in (0, 1]")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(s, v) || !(v > 0 && v <= 1))
              return "must be a number in (0, 1], got " + s;
            return "";
          },
          "in (0, 1]"))
      ->capture_default_str();
  cmd->add_option("--labeled", opts->labeled,
                  "labelled images, half for training and half for validation "
                  "(even, >= 20)")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            int64_t v = 0;
            if (!CLI::detail::lexical_cast(s, v) || v < 20 || v % 2 != 0)
              return "must be an even integer >= 20, got " + s;
            return "";
          },
          "even, >= 20"))
      ->capture_default_str();
  cmd->add_option("--unlabeled-limit", opts->unlabeled_limit,
                  "keep only the first N unlabelled images in training-file order (0 = all), for quick runs")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->callback([opts] { run_pseudo_label(*opts); });
}

}  // namespace kiln
