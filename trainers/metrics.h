// Evaluation metrics: accuracy, per-class accuracy and the confusion matrix (rows = actual
// class, columns = predicted, as sklearn.metrics.confusion_matrix), and RMSE.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes);
  // Adds pairs (actual[i], predicted[i]); int64 tensors on any device (copied to the host).
  void add(const Tensor& actual, const Tensor& predicted);
  void add(const std::vector<int64_t>& actual, const std::vector<int64_t>& predicted);

  int64_t num_classes() const { return n_; }
  int64_t count(int64_t actual, int64_t predicted) const { return counts_[actual * n_ + predicted]; }
  std::vector<std::vector<int64_t>> rows() const;
  // All counts, row-major ([actual][predicted]), and adding another matrix's (the shards of a
  // data-parallel evaluation).
  const std::vector<int64_t>& counts() const { return counts_; }
  void add_counts(const std::vector<int64_t>& counts);
  int64_t total() const;
  double accuracy() const;                         // trace / total (NaN when empty)
  std::vector<double> per_class_accuracy() const;  // recall of each class (NaN for an absent class)
  std::string to_text(const std::vector<std::string>& class_names) const;

 private:
  int64_t n_;
  std::vector<int64_t> counts_;
};

// sqrt(mean((a - b)^2)) over all elements, in double.
double rmse(const Tensor& a, const Tensor& b);

}  // namespace kiln
