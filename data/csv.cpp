// Strict numeric CSV reading and column scaling (see csv.h).
#include "data/csv.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/file_io.h"

namespace kiln {

namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    fields.push_back(
        line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '"'))
    s.remove_suffix(1);
  return s;
}

bool parse_number(std::string_view text, double& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

}  // namespace

int64_t Table::column_index(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int64_t>(i);
  std::string known;
  for (const auto& c : columns) known += (known.empty() ? "" : ", ") + c;
  KILN_FAIL("no column named '", name, "' (columns: ", known, ")");
}

Table parse_csv_table(const std::string& text, const std::string& source, bool allow_missing) {
  std::vector<std::string_view> lines;
  {
    std::string_view rest(text);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      lines.push_back(rest.substr(0, nl));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
  }
  // Skip blank lines only at the very end (a trailing newline, Windows line endings).
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  KILN_CHECK(!lines.empty(), source, ": empty CSV file (expected a header row)");

  size_t header_line = 0;
  int64_t declared_rows = -1;
  // scikit-learn layout: the first line is "n_samples,n_features[,class names...]".
  {
    const auto first = split_fields(lines[0]);
    double n = 0, f = 0;
    if (first.size() >= 2 && parse_number(first[0], n) && parse_number(first[1], f) && lines.size() > 1) {
      const auto second = split_fields(lines[1]);
      double probe = 0;
      if (!second.empty() && !parse_number(second[0], probe)) {
        KILN_CHECK(n >= 0 && n <= 1e15 && n == std::floor(n), source, ": line 1 declares ", n,
                   " rows; expected a whole number");
        declared_rows = static_cast<int64_t>(n);
        header_line = 1;
      }
    }
  }

  Table table;
  for (std::string_view name : split_fields(lines[header_line])) {
    const std::string_view t = trim(name);
    KILN_CHECK(!t.empty(), source, ": line ", header_line + 1, ": empty column name in the header");
    table.columns.emplace_back(t);
  }
  const size_t width = table.columns.size();
  for (size_t i = header_line + 1; i < lines.size(); ++i) {
    const auto fields = split_fields(lines[i]);
    KILN_CHECK(fields.size() == width, source, ": line ", i + 1, ": expected ", width,
               " fields (as in the header), got ", fields.size());
    for (size_t c = 0; c < width; ++c) {
      double v = 0;
      const std::string_view f = trim(fields[c]);
      if (allow_missing && (f.empty() || f == "nan" || f == "NaN")) {
        table.values.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      KILN_CHECK(parse_number(fields[c], v), source, ": line ", i + 1, ", column '", table.columns[c],
                 "': not a finite number: '", std::string(trim(fields[c])), "'");
      table.values.push_back(v);
    }
  }
  KILN_CHECK(table.rows() > 0, source, ": no data rows after the header");
  KILN_CHECK(declared_rows < 0 || declared_rows == table.rows(), source, ": the first line declares ",
             declared_rows, " rows but the file has ", table.rows());
  return table;
}

Table read_csv_table(const std::string& path, bool allow_missing) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, uint64_t(1) << 30);
  return parse_csv_table(std::string(bytes.begin(), bytes.end()), path, allow_missing);
}

Dataset table_to_dataset(const Table& table, const std::string& target_column) {
  const int64_t target = table.column_index(target_column);
  const int64_t n = table.rows(), width = static_cast<int64_t>(table.columns.size());
  KILN_CHECK(width >= 2, "table_to_dataset: need at least one feature column besides '", target_column, "'");
  std::vector<float> x, y;
  x.reserve(n * (width - 1));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < width; ++c) {
      const float v = static_cast<float>(table.values[r * width + c]);
      if (c == target)
        y.push_back(v);
      else
        x.push_back(v);
    }
  Dataset d;
  d.inputs = Tensor::from_vector(x, {n, width - 1});
  d.targets = Tensor::from_vector(y, {n, 1});
  return d;
}

ColumnScaler ColumnScaler::fit(const Tensor& x_in, Kind kind) {
  KILN_CHECK(x_in.dim() == 2 && x_in.size(0) > 0,
             "ColumnScaler::fit: expected a non-empty [N, F] tensor, got ", shape_str(x_in.shape()));
  const int64_t n = x_in.size(0), f = x_in.size(1);
  const std::vector<double> x = x_in.to_vector<double>();
  ColumnScaler s;
  s.kind = kind;
  s.shift.assign(f, 0.0);
  s.scale.assign(f, 1.0);
  for (int64_t c = 0; c < f; ++c) {
    if (kind == Kind::MinMax) {
      double lo = x[c], hi = x[c];
      for (int64_t r = 0; r < n; ++r) {
        lo = std::min(lo, x[r * f + c]);
        hi = std::max(hi, x[r * f + c]);
      }
      s.shift[c] = lo;
      s.scale[c] = hi > lo ? hi - lo : 1.0;  // a constant column maps to 0
    } else {
      double mean = 0;
      for (int64_t r = 0; r < n; ++r) mean += x[r * f + c];
      mean /= n;
      double var = 0;
      for (int64_t r = 0; r < n; ++r) var += (x[r * f + c] - mean) * (x[r * f + c] - mean);
      const double sd = std::sqrt(var / n);
      s.shift[c] = mean;
      s.scale[c] = sd > 0 ? sd : 1.0;
    }
  }
  return s;
}

Tensor ColumnScaler::transform(const Tensor& x) const {
  KILN_CHECK(x.dim() == 2 && x.size(1) == static_cast<int64_t>(shift.size()), "ColumnScaler: expected [N, ",
             shift.size(), "] input, got ", shape_str(x.shape()));
  std::vector<double> v = x.to_vector<double>();
  const size_t f = shift.size();
  for (size_t i = 0; i < v.size(); ++i) v[i] = (v[i] - shift[i % f]) / scale[i % f];
  return Tensor::from_vector(v, x.shape()).to(x.dtype()).to(x.device());
}

Tensor ColumnScaler::inverse(const Tensor& x) const {
  KILN_CHECK(x.dim() == 2 && x.size(1) == static_cast<int64_t>(shift.size()), "ColumnScaler: expected [N, ",
             shift.size(), "] input, got ", shape_str(x.shape()));
  std::vector<double> v = x.to_vector<double>();
  const size_t f = shift.size();
  for (size_t i = 0; i < v.size(); ++i) v[i] = v[i] * scale[i % f] + shift[i % f];
  return Tensor::from_vector(v, x.shape()).to(x.dtype()).to(x.device());
}

}  // namespace kiln
