// An in-memory dataset: every sample's input and target as one tensor each. Image datasets
// keep their pixels as uint8 (a quarter of float32's size) and are uploaded to the GPU once;
// batches are gathered and converted to float on the device by the DataLoader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln {

struct Dataset {
  // uint8 [N, C, H, W] for images, float32 [N, F] for tables.
  Tensor inputs;
  // int64 [N] class labels, or float32 [N, T] regression targets.
  Tensor targets;
  // Class index -> name (empty for regression).
  std::vector<std::string> class_names;

  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
  bool is_classification() const { return targets.defined() && targets.dtype() == DType::Int64; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }

  // The samples at `indices`, in that order (a copy).
  Dataset subset(const std::vector<int64_t>& indices) const;
  // The first n samples (a copy); n is clamped to size().
  Dataset head(int64_t n) const;
  // The same samples with both tensors on `device`.
  Dataset to(Device device) const;
};

// Concatenates datasets with identical sample shapes and dtypes along the sample dimension.
Dataset concat(const std::vector<Dataset>& parts);

}  // namespace kiln
