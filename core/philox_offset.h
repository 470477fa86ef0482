// The Philox subsequence ("offset") a random kernel draws from, in a form a captured CUDA
// graph can replay with fresh numbers. Kernel arguments are frozen when a graph is captured,
// so an offset passed by value would make every replay draw the same dropout mask. Instead,
// while a step is captured, random ops get an offset RELATIVE to a cell in device memory
// (`base`) that holds their generator's offset; before each replay the host writes the
// generator's current offset into that cell (core/random_capture.h). Eager ops get an
// absolute offset and no cell, so the two paths draw identical numbers.
#pragma once

#include <cstdint>

#include "core/macros.h"

namespace kiln {

struct PhiloxOffset {
  uint64_t value = 0;              // absolute (eager) or relative to *base (captured)
  const uint64_t* base = nullptr;  // the generator's offset cell, on the kernel's device; null when eager

  // Read inside the kernel, so a replay sees the cell's value at the time it runs.
  KILN_HD KILN_FORCEINLINE uint64_t resolve() const { return base ? *base + value : value; }
};

}  // namespace kiln
