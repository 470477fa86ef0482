// Model-selection rules (see early_stopping.h).
#include "trainers/early_stopping.h"

#include <cmath>

#include "core/error.h"

namespace kiln {

EarlyStopping::EarlyStopping(int64_t patience, double min_delta)
    : patience_(patience), min_delta_(min_delta) {
  KILN_CHECK(patience >= 1, "early stopping: patience must be >= 1, got ", patience);
  KILN_CHECK(min_delta >= 0 && std::isfinite(min_delta), "early stopping: min_delta must be >= 0, got ",
             min_delta);
}

SelectionDecision EarlyStopping::update(int64_t epoch, double metric) {
  SelectionDecision d;
  // A non-finite metric never counts as an improvement (a diverged model is never "best").
  if (std::isfinite(metric) && metric < best_ - min_delta_) {
    best_ = metric;
    best_epoch_ = epoch;
    bad_epochs_ = 0;
    d.select = true;
  } else {
    ++bad_epochs_;
  }
  d.stop = bad_epochs_ >= patience_;
  return d;
}

void EarlyStopping::restore(double best, int64_t best_epoch, int64_t bad_epochs) {
  best_ = best;
  best_epoch_ = best_epoch;
  bad_epochs_ = bad_epochs;
}

SelectionDecision FirstBelowThreshold::update(int64_t epoch, double metric) {
  SelectionDecision d;
  if (selected_epoch_ == 0 && std::isfinite(metric) && metric < threshold_) {
    selected_epoch_ = epoch;
    selected_metric_ = metric;
    d.select = true;
  }
  return d;
}

void FirstBelowThreshold::restore(int64_t selected_epoch, double selected_metric) {
  selected_epoch_ = selected_epoch;
  selected_metric_ = selected_metric;
}

}  // namespace kiln
