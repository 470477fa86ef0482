// Dataset resolution for the trainers: --dataset and --data-dir to a train/test pair of
// in-memory datasets, with the normalisation the tutorial uses. CIFAR-10 and MNIST are read
// from a directory the user gives; Fashion-MNIST defaults to Debian's dataset-fashion-mnist
// package, and stands in (said so) when an experiment's dataset is not available.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace kiln {

inline constexpr const char* kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct ImageData {
  std::string name;          // "cifar10", "mnist" or "fashion-mnist"
  Dataset train, test;       // uint8 images [N, C, H, W], int64 labels
  std::string substitution;  // non-empty when another dataset stands in for the requested one
};

// `dataset`: cifar10 | mnist | fashion-mnist | auto. `preferred` is what the experiment was
// written for ("cifar10" or "mnist"): with `auto`, that dataset is used when --data-dir holds
// it, otherwise Fashion-MNIST from Debian stands in. `limit` > 0 keeps the first `limit`
// training samples. Errors name the missing files and how to get them.
ImageData load_image_data(const std::string& dataset, const std::string& data_dir,
                          const std::string& preferred, int64_t limit);

// The valid --dataset values, for help texts and validation.
const std::vector<std::string>& image_dataset_names();

}  // namespace kiln
