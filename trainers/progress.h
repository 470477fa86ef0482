// Progress output: on a terminal a one-line bar rewritten in place (step, loss, samples/s,
// ETA), refreshed at most a few times a second because reading the loss synchronises with
// the GPU; otherwise (logs, CI) only the per-epoch lines. Writes to stderr so stdout stays
// the experiment's summary.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace kiln {

class ProgressBar {
 public:
  // `quiet` disables everything but epoch lines.
  explicit ProgressBar(bool quiet = false);
  // A new pass over `total_steps` batches labelled e.g. "epoch 3/51".
  void start(const std::string& label, int64_t total_steps);
  // Called after each step; `read_loss` is invoked only when the bar is redrawn.
  void step(int64_t samples, const std::function<double()>& read_loss);
  void finish();  // clears the bar line
  bool interactive() const { return interactive_; }

 private:
  bool interactive_;
  std::string label_;
  int64_t total_ = 0, done_ = 0, samples_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Formats seconds as "1m23s" / "4.2s".
std::string format_duration(double seconds);

}  // namespace kiln
