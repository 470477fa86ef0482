// What every experiment hands back to `kiln reproduce`: one row of REPORT.md.
#pragma once

#include <string>
#include <vector>

namespace kiln {

struct ExperimentResult {
  std::string experiment;       // e.g. "DisturbLabel (alpha = 30%)"
  std::string tutorial_figure;  // what the tutorial reported
  std::string kiln_figure;      // what this run measured
  std::string dataset;          // including any substitution and --limit
  std::string device;
  double seconds = 0;
  std::vector<std::string> plots;  // paths relative to the run's output directory
  std::string notes;               // protocol (tutorial/default), shortening, findings
};

}  // namespace kiln
