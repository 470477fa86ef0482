// Numeric CSV tables (the Boston housing data). Two layouts are read:
//  - plain: a header row of column names, then rows of numbers;
//  - scikit-learn's bundled layout: a first line "n_samples,n_features,..." then the header,
//    then n_samples rows (Debian's python3-sklearn ships boston_house_prices.csv so).
// Parsing is strict: every field must be a complete finite number and every row must have
// the header's width; errors name the file, the row (1-based line) and the column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace kiln {

struct Table {
  std::vector<std::string> columns;
  std::vector<double> values;  // row-major, rows() x columns.size()
  int64_t rows() const { return columns.empty() ? 0 : static_cast<int64_t>(values.size() / columns.size()); }
  int64_t column_index(const std::string& name) const;  // throws naming the known columns
};

// With allow_missing, an empty field or "nan" reads as NaN (kiln's own logs write "nan" for
// values that do not apply); otherwise every field must be a finite number.
Table parse_csv_table(const std::string& text, const std::string& source, bool allow_missing = false);
Table read_csv_table(const std::string& path, bool allow_missing = false);

// Features = every column but `target_column`; targets = that column. float32 tensors
// [N, F] and [N, 1].
Dataset table_to_dataset(const Table& table, const std::string& target_column);

// Per-column affine scaling fitted on one split and applied to others (so test data never
// leaks into the statistics).
struct ColumnScaler {
  enum class Kind { MinMax, Standard };
  Kind kind = Kind::MinMax;
  std::vector<double> shift, scale;  // x' = (x - shift) / scale

  static ColumnScaler fit(const Tensor& x, Kind kind);  // x: [N, F]
  Tensor transform(const Tensor& x) const;
  Tensor inverse(const Tensor& x) const;
};

}  // namespace kiln
