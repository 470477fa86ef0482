// A CSV log of per-epoch metrics. Every append rewrites the whole file atomically (a run's
// log is a few kilobytes), so an interrupted run leaves the last complete log, never a torn
// line. Numbers are written with full precision (%.9g).
#pragma once

#include <string>
#include <vector>

namespace kiln {

class CsvLog {
 public:
  CsvLog(std::string path, std::vector<std::string> columns);
  void append(const std::vector<double>& row);
  // Replaces the rows (used when resuming from a checkpoint's history).
  void reset(const std::vector<std::vector<double>>& rows);
  const std::string& path() const { return path_; }
  const std::vector<std::vector<double>>& rows() const { return rows_; }

 private:
  void write() const;
  std::string path_;
  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace kiln
