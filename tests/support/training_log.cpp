// Training-log reader for tests (see training_log.h).
#include "tests/support/training_log.h"

#include <gtest/gtest.h>

#include "data/csv.h"

namespace kiln::testing {

std::vector<std::vector<double>> training_log_rows(const std::string& path) {
  const Table t = read_csv_table(path, /*allow_missing=*/true);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"epoch", "train_loss", "train_accuracy", "val_loss",
                                                 "val_accuracy", "seconds"}))
      << path;
  std::vector<std::vector<double>> rows;
  for (int64_t i = 0; i < t.rows(); ++i)
    rows.emplace_back(t.values.begin() + i * 6, t.values.begin() + (i + 1) * 6);
  return rows;
}

}  // namespace kiln::testing
