// CSV log (see csv_log.h).
#include "trainers/csv_log.h"

#include <cstdio>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln {

CsvLog::CsvLog(std::string path, std::vector<std::string> columns, bool write_now)
    : path_(std::move(path)), columns_(std::move(columns)) {
  KILN_CHECK(!columns_.empty(), "CsvLog: no columns");
  if (write_now) write();
}

void CsvLog::append(const std::vector<double>& row, bool write_now) {
  KILN_CHECK(row.size() == columns_.size(), "CsvLog ", path_, ": row has ", row.size(), " values for ",
             columns_.size(), " columns");
  rows_.push_back(row);
  if (write_now) write();
}

void CsvLog::reset(const std::vector<std::vector<double>>& rows, bool write_now) {
  for (const auto& r : rows)
    KILN_CHECK(r.size() == columns_.size(), "CsvLog ", path_, ": row has ", r.size(), " values for ",
               columns_.size(), " columns");
  rows_ = rows;
  if (write_now) write();
}

void CsvLog::write() const {
  std::string text;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) text += ',';
    text += columns_[i];
  }
  text += "\n";
  char buf[64];
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%.9g", row[i]);
      if (i) text += ',';
      text += buf;
    }
    text += "\n";
  }
  write_file_atomic(path_, text);
}

}  // namespace kiln
