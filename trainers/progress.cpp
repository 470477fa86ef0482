// Progress output (see progress.h).
#include "trainers/progress.h"

#include <unistd.h>

#include <cstdio>

namespace kiln {

std::string format_duration(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

ProgressBar::ProgressBar(bool quiet) : interactive_(!quiet && isatty(STDERR_FILENO)) {}

void ProgressBar::start(const std::string& label, int64_t total_steps) {
  label_ = label;
  total_ = total_steps;
  done_ = samples_ = 0;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBar::step(int64_t samples, const std::function<double()>& read_loss) {
  ++done_;
  samples_ += samples;
  if (!interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done_ != total_ && now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? samples_ / elapsed : 0;
  const double eta = done_ > 0 ? elapsed * (total_ - done_) / done_ : 0;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : 0;
  std::string bar(filled, '#');
  bar += std::string(kWidth - filled, '.');
  std::fprintf(stderr, "\r%s [%s] %lld/%lld loss %.4f  %.0f samples/s  ETA %s\033[K", label_.c_str(),
               bar.c_str(), static_cast<long long>(done_), static_cast<long long>(total_), read_loss(), rate,
               format_duration(eta).c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!interactive_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace kiln
