// `kiln pseudo-label` (EXPERIMENTS.md section 10): semi-supervised MNIST with the tutorial's
// Net. From the 60,000 training images a class-balanced 2,000 are labelled (split 1,000 train
// / 1,000 validation, class-balanced) and 58,000 unlabelled; the 10,000 test images score.
// Train transform: random horizontal flip; pixels in [0, 1].
//   --method supervised  501 epochs on the 1,000 (batch 128), best validation accuracy kept
//   --method online      + 256 unlabelled images per step labelled by the current model's
//                        argmax, loss = L + alpha(t) L_pseudo, alpha 0 until T1 = 100, linear
//                        to alpha_t = 1e-4 at T2 = 450, then constant
//   --method threshold   label the unlabelled set once with the supervised model, keep
//                        softmax max >= 0.99, train a fresh Net with T1 = 20, T2 = 450
//   --method all         the three in order (threshold reuses the supervised model)
// --protocol seed reproduces the tutorial's code: evaluation, checkpointing and the alpha
// update inside the batch loop (every step), and its balanced_subset indexing (positions
// within each class used as dataset indices). Reports how many pseudo-labels were kept and
// how many were right.
#pragma once

#include <CLI/CLI.hpp>

#include "trainers/experiment.h"
#include "trainers/run_context.h"

namespace kiln {

struct PseudoLabelOptions {
  CommonOptions common;  // batch 128, 501 epochs
  std::string method = "all";
  int64_t unlabeled_batch = 256;
  double alpha_t = 1e-4;
  int64_t t1 = 100, t2 = 450;            // online
  int64_t threshold_t1 = 20;             // threshold method's T1 (T2 shared)
  double threshold = 0.99;
  int64_t labeled = 2000;                // labelled pool (half train, half validation)
  int64_t unlabeled_limit = 0;           // use only the first N unlabelled images (0 = all)
};

PseudoLabelOptions pseudo_label_defaults();
// One result row per method run.
std::vector<ExperimentResult> run_pseudo_label(const PseudoLabelOptions& options);
void add_pseudo_label_command(CLI::App& app);

}  // namespace kiln
