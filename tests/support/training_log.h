// Reading the CSV training logs the experiments write, for end-to-end tests.
#pragma once

#include <string>
#include <vector>

namespace kiln::testing {

// A log without a validation split as rows of (epoch, train_loss, train_accuracy, val_loss,
// val_accuracy, seconds); the validation columns hold NaN. Checks the header.
std::vector<std::vector<double>> training_log_rows(const std::string& path);

}  // namespace kiln::testing
