// `kiln label-smoothing`: its flags and defaults (the experiment itself:
// trainers/experiments/label_smoothing.cpp).
#include <CLI/CLI.hpp>

#include "trainers/app/cli_options.h"
#include "trainers/app/commands.h"
#include "trainers/experiments/label_smoothing.h"

namespace kiln {

void add_label_smoothing_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "label-smoothing",
      "the torchvision-style ResNet-18 (as disturb-label) with plain cross-entropy vs label "
      "smoothing (same initialisation): test accuracy and mean confidence; checks the "
      "tutorial's K=3 targets");
  auto opts = std::make_shared<LabelSmoothingOptions>(label_smoothing_defaults());
  add_common_options(*cmd, opts->common, true);
  describe_protocol_unchanged(*cmd, kLabelSmoothingProtocolUnchanged);
  describe_multi_run_resume(*cmd);
  cmd->add_option("--smoothing", opts->smoothing, "smoothing rate alpha, in [0, 1)")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(s, v) || !(v >= 0 && v < 1))
              return "must be a number in [0, 1), got " + s;
            return "";
          },
          "in [0, 1)"))
      ->capture_default_str();
  cmd->add_option(
         "--convention", opts->convention,
         "tutorial: the tutorial's LabelSmoothingLoss (1-a on the true class, a/(K-1) elsewhere); pytorch: "
         "CrossEntropyLoss(label_smoothing=a), (1-a)*y + a/K")
      ->check(CLI::IsMember({"tutorial", "pytorch"}))
      ->capture_default_str();
  cmd->callback([opts] { run_label_smoothing(*opts); });
}

}  // namespace kiln
