// `kiln pseudo-label`: semi-supervised MNIST with the tutorial's
// Net. From the 60,000 training images a class-balanced 2,000 are labelled (split 1,000 train
// / 1,000 validation, class-balanced) and 58,000 unlabelled; the 10,000 test images score.
// Train transform: random horizontal flip; pixels in [0, 1].
//   --method supervised  501 epochs on the 1,000 (batch 128), best validation accuracy kept
//   --method online      + 256 unlabelled images per step labelled by the current model's
//                        argmax, loss = L + alpha(t) L_pseudo, alpha 0 until T1 = 100, linear
//                        to alpha_t = 1e-4 at T2 = 450, then constant
//   --method threshold   label the unlabelled set once with the supervised model, keep
//                        softmax max >= 0.99, train a fresh Net with T1 = 20, T2 = 450
//                        (trains the supervised baseline first: it needs its weights)
//   --method all         the three in order (threshold reuses the supervised model)
// Every method starts from the same seed, so with alpha = 0 (nothing unlabelled is drawn)
// the online and threshold runs repeat the supervised run step for step: the differences
// come from the pseudo-labels alone.
// --protocol seed reproduces the tutorial's code: evaluation, checkpointing and the alpha
// update inside the batch loop (every step) for the online method, the alpha update after
// each epoch for the threshold method, its balanced_subset indexing (positions within each
// class used as dataset indices) and its input scaling (see pseudo_label.cpp: training
// pixels wrapped modulo 256 by ToPILImage, validation and unlabelled images fed as raw
// 0..255 values, test images in [0, 1]). Reports how many pseudo-labels were kept and how
// many were right.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/generator.h"
#include "samplers/sampler.h"
#include "trainers/experiments/common_options.h"
#include "trainers/experiments/experiment.h"

namespace kiln {

struct PseudoLabelOptions {
  CommonOptions common;        // batch 128, 501 epochs
  std::string method = "all";  // supervised | online | threshold | all
  int64_t unlabeled_batch = 256;
  double alpha_t = 1e-4;
  int64_t t1 = 100, t2 = 450;   // online, in the tutorial's 0-based epochs
  int64_t threshold_t1 = 20;    // threshold method's T1 (T2 shared)
  double threshold = 0.99;      // softmax confidence a pseudo-label needs, in (0, 1]
  int64_t labeled = 2000;       // labelled pool (half train, half validation); even, >= 20
  int64_t unlabeled_limit = 0;  // keep only the first N unlabelled images in file order (0 = all)
};

PseudoLabelOptions pseudo_label_defaults();
// Throws kiln::Error naming the first invalid option.
void validate_pseudo_label_options(const PseudoLabelOptions& options);
// One result row per method run (supervised, online, threshold, in that order).
std::vector<ExperimentResult> run_pseudo_label(const PseudoLabelOptions& options);

// ---- pieces exposed for tests --------------------------------------------------------------

// The tutorial's alpha after its update at (0-based) tutorial epoch e:
//   alpha_t * (e - t1) / (t2 - t1) for t1 < e < t2, alpha_t for e >= t2, and 0 before (the
//   tutorial leaves its initial alpha = 0 untouched there). e < 0 (before any update): 0.
double tutorial_alpha(int64_t tutorial_epoch, int64_t t1, int64_t t2, double alpha_t);

// When the alpha variable is updated, which decides the alpha a step trains with. kiln's
// epochs count from 1: kiln epoch k is the tutorial's epoch k - 1.
enum class AlphaUpdate {
  EpochStart,     // default: every step of kiln epoch k uses tutorial_alpha(k - 1)
  AfterEachStep,  // the tutorial's online loop: updated after every step, so step 0 of epoch k
                  // still uses tutorial_alpha(k - 2) and the later steps tutorial_alpha(k - 1)
  AfterEpoch,     // the tutorial's threshold loop: updated after the epoch, so all of epoch k
                  // uses tutorial_alpha(k - 2)
};
double alpha_in_effect(int64_t epoch, int64_t step, AlphaUpdate update, int64_t t1, int64_t t2,
                       double alpha_t);

// The report's caveat on a pseudo-label method's gain: how small the term's weight alpha_t is
// (Lee 2013 used alpha_f = 3; below 0.01 the term is called tiny), and the gain measured
// against the same-seed supervised baseline, in percentage points. `baseline_accuracy` NaN:
// no baseline was trained in this run (--method online).
std::string pseudo_label_gain_note(double alpha_t, double baseline_accuracy, double method_accuracy);

// The tutorial's balanced_subset(data, labels, num_cls, num_data) indexing, bug included:
// for each class c in order, with idx = positions whose label is c and p a permutation of
// 0..len(idx)-1, it takes data[p[:per_class]] into `first` and data[p[per_class:]] into
// `second`, i.e. positions WITHIN idx used as positions in the whole dataset. `permutations[c]`
// is class c's p (checked to be a permutation of 0..count_c-1). Returned indices are dataset
// positions, class block after class block, in p's order; they may repeat across classes.
Split tutorial_balanced_subset(const std::vector<int64_t>& labels, int64_t num_classes, int64_t per_class,
                               const std::vector<std::vector<int64_t>>& permutations);
// The same with each class's permutation drawn from `gen` (one RandomSampler epoch, i.e. one
// generator offset, per class, in class order), as np.random.choice(n, n, replace=False).
Split tutorial_balanced_subset(const std::vector<int64_t>& labels, int64_t num_classes, int64_t per_class,
                               Generator& gen);

}  // namespace kiln
