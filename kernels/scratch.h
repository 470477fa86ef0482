// Temporary memory for one kernel call: partial sums, staging buffers, split-K workspaces.
// It comes from kiln's allocators (on CUDA the caching allocator, so a steady-state step asks
// the driver for nothing, and a captured step draws from the graph's private pool) and goes
// back when the Scratch leaves scope. Giving it back right after queueing the kernel that uses
// it is safe: every kiln kernel runs on its device's one stream, so whatever reuses the block
// is queued behind that kernel. This is the kernels' only allocation interface; they never
// create tensors.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/device.h"
#include "core/storage.h"

namespace kiln::kernels {

template <typename T>
class Scratch {
 public:
  Scratch(Device device, int64_t count) : storage_(static_cast<size_t>(count) * sizeof(T), device) {}

  T* data() const { return static_cast<T*>(storage_.data()); }
  size_t nbytes() const { return storage_.nbytes(); }

 private:
  Storage storage_;
};

}  // namespace kiln::kernels
