// A random stream: a seed and an offset. Each random op takes the current offset as its
// Philox subsequence and advances it by one, so every op draws numbers no other op draws,
// and (seed, offset) is all the state a checkpoint needs to resume the stream exactly.
#pragma once

#include <cstdint>

#include "core/device.h"
#include "core/philox_offset.h"

namespace kiln {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  void set_offset(uint64_t offset) { offset_ = offset; }
  // Reserves the counter space of one random op whose kernel runs on `device`. Eager: the
  // absolute offset. While a step on `device` is being captured (core/random_capture.h): an
  // offset relative to this generator's cell, so each replay draws fresh numbers.
  PhiloxOffset reserve(Device device);
  // Reserves the counter space of a draw made on the host (samplers, augmentation parameters,
  // initialisation). Such a draw cannot be replayed, so it is refused while a capture is active.
  uint64_t next_offset();

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

// The process-wide generator used where no generator is passed (initialisation, dropout).
Generator& default_generator();
// Reseeds the default generator (torch.manual_seed).
inline void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace kiln
