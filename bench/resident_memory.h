// Resident memory of this process on Linux, for the CPU benchmarks' memory rows: the CPU
// counterpart of the CUDA allocator's peak statistics, read the way bench/pytorch_reference.py
// reads PyTorch's (/proc/self/status), so the two figures compare.
#pragma once

#include <cstdio>
#include <cstring>

namespace kiln::bench {

// VmRSS (resident now) or VmHWM (peak resident since the last reset) in MiB; -1 if unreadable.
inline double resident_mib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  double mib = -1;
  const size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (!std::strncmp(line, field, len) && line[len] == ':') {
      long kib = 0;
      if (std::sscanf(line + len + 1, "%ld", &kib) == 1) mib = double(kib) / 1024;
      break;
    }
  std::fclose(f);
  return mib;
}

// Resets VmHWM to the current resident size (Linux >= 4.0). False when the kernel refused.
inline bool reset_peak_resident() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

}  // namespace kiln::bench
