// Metrics (see metrics.h).
#include "trainers/metrics.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

namespace kiln {

ConfusionMatrix::ConfusionMatrix(int64_t num_classes) : n_(num_classes) {
  KILN_CHECK(num_classes >= 1, "ConfusionMatrix: need at least one class, got ", num_classes);
  counts_.assign(static_cast<size_t>(n_ * n_), 0);
}

void ConfusionMatrix::add(const std::vector<int64_t>& actual, const std::vector<int64_t>& predicted) {
  KILN_CHECK(actual.size() == predicted.size(), "ConfusionMatrix: ", actual.size(), " labels but ",
             predicted.size(), " predictions");
  for (size_t i = 0; i < actual.size(); ++i) {
    KILN_CHECK(actual[i] >= 0 && actual[i] < n_ && predicted[i] >= 0 && predicted[i] < n_,
               "ConfusionMatrix: pair (", actual[i], ", ", predicted[i], ") outside [0, ", n_, ")");
    ++counts_[actual[i] * n_ + predicted[i]];
  }
}

void ConfusionMatrix::add_counts(const std::vector<int64_t>& counts) {
  KILN_CHECK(counts.size() == counts_.size(), "ConfusionMatrix: ", counts.size(), " counts for a ", n_, "x",
             n_, " matrix");
  for (size_t i = 0; i < counts.size(); ++i) counts_[i] += counts[i];
}

void ConfusionMatrix::add(const Tensor& actual, const Tensor& predicted) {
  add(actual.to_vector<int64_t>(), predicted.to_vector<int64_t>());
}

std::vector<std::vector<int64_t>> ConfusionMatrix::rows() const {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(n_));
  for (int64_t a = 0; a < n_; ++a) out[a].assign(counts_.begin() + a * n_, counts_.begin() + (a + 1) * n_);
  return out;
}

int64_t ConfusionMatrix::total() const {
  int64_t t = 0;
  for (int64_t c : counts_) t += c;
  return t;
}

double ConfusionMatrix::accuracy() const {
  const int64_t t = total();
  if (t == 0) return std::numeric_limits<double>::quiet_NaN();
  int64_t diag = 0;
  for (int64_t i = 0; i < n_; ++i) diag += count(i, i);
  return static_cast<double>(diag) / static_cast<double>(t);
}

std::vector<double> ConfusionMatrix::per_class_accuracy() const {
  std::vector<double> out;
  for (int64_t a = 0; a < n_; ++a) {
    int64_t row = 0;
    for (int64_t p = 0; p < n_; ++p) row += count(a, p);
    out.push_back(row == 0 ? std::numeric_limits<double>::quiet_NaN() : double(count(a, a)) / double(row));
  }
  return out;
}

std::string ConfusionMatrix::to_text(const std::vector<std::string>& names) const {
  std::ostringstream out;
  // The first column fits its actual\pred heading as well as the names, so the counts
  // line up under their headings.
  size_t w = std::string("actual\\pred").size() + 1;
  for (const auto& s : names) w = std::max(w, s.size() + 1);
  out << std::setw(static_cast<int>(w)) << "actual\\pred";
  for (int64_t p = 0; p < n_; ++p) out << std::setw(8) << p;
  out << "\n";
  for (int64_t a = 0; a < n_; ++a) {
    out << std::setw(static_cast<int>(w))
        << (a < static_cast<int64_t>(names.size()) ? names[a] : std::to_string(a));
    for (int64_t p = 0; p < n_; ++p) out << std::setw(8) << count(a, p);
    out << "\n";
  }
  return out.str();
}

double rmse(const Tensor& a, const Tensor& b) {
  KILN_CHECK(a.numel() == b.numel() && a.numel() > 0, "rmse: need two non-empty tensors of equal size, got ",
             shape_str(a.shape()), " and ", shape_str(b.shape()));
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < va.size(); ++i) s += (va[i] - vb[i]) * (va[i] - vb[i]);
  return std::sqrt(s / static_cast<double>(va.size()));
}

}  // namespace kiln
