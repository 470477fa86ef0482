// Fresh random numbers on every replay of a captured step. While a RandomCapture is active on
// a device, each random op on that device (dropout, DisturbLabel, DisturbValue) gets its Philox
// offset as "generator cell + k", where k counts that generator's draws since the capture
// began and the cell is one uint64 in this object's device buffer (core/philox_offset.h).
// Before each replay, prepare_replay() writes every generator's current offset into its cell
// (a kernel queued on the device's stream, no host sync) and advances the generator by the
// number of draws one replay makes. A replay therefore draws exactly the numbers the eager
// step would have drawn at that point of the stream, and checkpoints keep recording the
// generator's (seed, offset) as before.
//
// Host-side draws (samplers, loader augmentation, weight initialisation) cannot be replayed;
// Generator::next_offset() refuses them while any capture is active. Generators used inside a
// captured step must outlive the capture object.
#pragma once

#include <cstdint>
#include <vector>

#include "core/device.h"
#include "core/philox_offset.h"
#include "core/tensor.h"

namespace kiln {

class Generator;

class RandomCapture {
 public:
  static constexpr int kMaxGenerators = 8;

  explicit RandomCapture(Device device);
  ~RandomCapture();
  RandomCapture(const RandomCapture&) = delete;
  RandomCapture& operator=(const RandomCapture&) = delete;

  // Between begin() and end(), random ops on the device draw relative to this object's cells.
  // One capture may be active per device.
  void begin();
  void end();
  bool capturing() const { return capturing_; }

  // Call before each replay (not while capturing).
  void prepare_replay();

  Device device() const { return device_; }
  // How many offsets one replay takes from `gen` (0 when the step does not use it).
  uint64_t draws_per_replay(const Generator& gen) const;
  // Whether every generator the capture drew from still has the seed it had then (seeds are
  // passed to kernels by value, so a reseeded generator needs a new capture).
  bool seeds_unchanged() const;

  // The active capture on `device`, or null.
  static RandomCapture* active(Device device);
  static bool any_active();

 private:
  friend class Generator;
  // Generator::reserve during capture: the next offset of `gen` relative to its cell. On the
  // CPU, where a "captured" op runs at once, the cell is filled on first use.
  PhiloxOffset reserve(Generator& gen);
  uint64_t* cell(size_t i) { return reinterpret_cast<uint64_t*>(cells_.data<int64_t>()) + i; }

  struct Entry {
    Generator* generator;
    uint64_t draws;
    uint64_t seed;  // at capture
  };
  Device device_;
  Tensor cells_;  // uint64 [kMaxGenerators] as int64 storage, on device_
  std::vector<Entry> entries_;
  bool capturing_ = false;
};

}  // namespace kiln
