// Whole-file reads and crash-safe writes, shared by checkpoints, logs and readers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

// Reads a whole file; throws kiln::Error naming the path if it is missing or unreadable,
// or larger than `max_bytes`.
std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes = uint64_t(1) << 34);

// Atomic replace: writes `bytes` to a temporary file in the same directory
// (`<path>.tmp.<pid>.<n>`), fsyncs it, renames it over `path` and fsyncs the directory.
// On any failure the temporary file is removed and `path` is untouched.
void write_file_atomic(const std::string& path, const void* data, size_t size);
inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

// Removes temporary files left beside `path` by writes that were interrupted
// (`<path>.tmp.*`). Returns how many were removed.
int remove_stale_temporaries(const std::string& path);

}  // namespace kiln
