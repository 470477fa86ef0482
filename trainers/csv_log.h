// A CSV log of per-epoch metrics. Each write replaces the whole file atomically (a run's log
// is a few kilobytes), so an interrupted run leaves the last complete log, never a torn line.
// Numbers are written with full precision (%.9g); values that do not apply are "nan"
// (read them back with read_csv_table(path, /*allow_missing=*/true)).
#pragma once

#include <string>
#include <vector>

namespace kiln {

class CsvLog {
 public:
  // Writes the header-only file now unless `write_now` is false.
  CsvLog(std::string path, std::vector<std::string> columns, bool write_now = true);
  // Adds a row; writes the file now unless `write_now` is false (the caller then calls
  // write() later, e.g. to avoid an fsync per epoch of a tiny model).
  void append(const std::vector<double>& row, bool write_now = true);
  void write() const;
  // Replaces the rows (used when resuming from a checkpoint's history); writes the file now
  // unless `write_now` is false.
  void reset(const std::vector<std::vector<double>>& rows, bool write_now = true);
  const std::string& path() const { return path_; }
  const std::vector<std::vector<double>>& rows() const { return rows_; }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace kiln
