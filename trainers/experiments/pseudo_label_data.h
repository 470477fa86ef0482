// The data of `kiln pseudo-label`: the labelled / validation / unlabelled split and the
// encodings the model sees, either kiln's or the tutorial's as its code wrote them (the
// indexing and input-scaling bugs are described in pseudo_label_data.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/loader.h"
#include "trainers/experiments/common.h"
#include "trainers/experiments/pseudo_label.h"

namespace kiln {

// What a split is made of, in distinct training-file images: the tutorial's indexing makes
// entries repeat and pools overlap; kiln's split gives distinct, disjoint pools.
struct SplitFacts {
  int64_t labelled = 0, labelled_distinct = 0, span = 0;
  int64_t train = 0, train_distinct = 0, val = 0, val_distinct = 0, train_val_shared = 0;
  int64_t unlabelled = 0, unlabelled_distinct = 0, labelled_in_unlabelled = 0;
  std::vector<int64_t> class_counts;  // true labels of the labelled entries
};

struct PseudoLabelData {
  ClassificationData cls;              // train, validation, test on the device
  std::unique_ptr<Dataset> unlabeled;  // on the device, with the true labels (to score pseudo-labels)
  SplitFacts facts, tutorial_facts;    // the split used; the tutorial's indexing on this data
  std::string split_summary;
};

// Loads MNIST (or its stand-in), splits it as the protocol says and uploads it to the device.
PseudoLabelData load_pseudo_label_data(const PseudoLabelOptions& o, const RunContext& ctx);

// ToTensor: p / 255. The tutorial's untransformed float tensors: p itself (the loader's
// p / 255 divided by a std of 1/255, exact up to float rounding).
ImageTransform unit_scale();
ImageTransform raw_scale();

}  // namespace kiln
