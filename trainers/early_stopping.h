// Model-selection rules on a validation metric (lower is better).
//  - EarlyStopping (kiln's default): remember the best epoch; an epoch improves when
//    metric < best - min_delta; stop after `patience` epochs without improvement. The
//    trainer keeps a checkpoint of the best epoch and restores it at the end.
//  - FirstBelowThreshold (the tutorial's rule, --protocol seed): select the FIRST epoch whose
//    metric falls below `threshold` (1.0 in the tutorial), then never change the selection and
//    never stop training. It is not early stopping: a later, better epoch is ignored.
#pragma once

#include <cstdint>
#include <limits>

namespace kiln {

struct SelectionDecision {
  bool select = false;  // this epoch becomes the selected model (save it)
  bool stop = false;    // stop training after this epoch
};

class EarlyStopping {
 public:
  EarlyStopping(int64_t patience, double min_delta);
  // `epoch` counts from 1.
  SelectionDecision update(int64_t epoch, double metric);
  double best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }
  int64_t epochs_without_improvement() const { return bad_epochs_; }
  // For checkpoints: restore the rule's state exactly.
  void restore(double best, int64_t best_epoch, int64_t bad_epochs);

 private:
  int64_t patience_;
  double min_delta_;
  double best_ = std::numeric_limits<double>::infinity();
  int64_t best_epoch_ = 0;
  int64_t bad_epochs_ = 0;
};

class FirstBelowThreshold {
 public:
  explicit FirstBelowThreshold(double threshold) : threshold_(threshold) {}
  SelectionDecision update(int64_t epoch, double metric);
  bool selected() const { return selected_epoch_ > 0; }
  int64_t selected_epoch() const { return selected_epoch_; }
  double selected_metric() const { return selected_metric_; }
  void restore(int64_t selected_epoch, double selected_metric);

 private:
  double threshold_;
  int64_t selected_epoch_ = 0;
  double selected_metric_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace kiln
