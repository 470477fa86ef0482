// Memory for tensor storage. The CPU allocator hands out 64-byte-aligned blocks (so vector
// loads and BLAS see aligned rows). The CUDA allocator caches freed blocks and reuses them
// by size, calling cudaMalloc only on a miss: a training step then allocates nothing from
// the driver after its first iteration. All kiln work runs on one stream per device, so a
// block freed by one op and reused by the next is ordered by the stream and needs no event.
// A captured CUDA graph gets a private pool (below), so eager code never receives memory that
// a replay will write.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/device.h"

namespace kiln {

struct AllocatorStats {
  size_t allocated_bytes = 0;       // bytes handed out and not yet returned
  size_t reserved_bytes = 0;        // bytes obtained from the driver (allocated + cached)
  size_t peak_allocated_bytes = 0;  // high-water mark of allocated_bytes
  uint64_t device_allocations = 0;  // cudaMalloc calls made (cache misses)
  uint64_t cache_hits = 0;          // requests served from the cache
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  // Returns at least `nbytes` bytes (nbytes may be 0: a valid, unique, non-null pointer).
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
};

Allocator& cpu_allocator();
// The caching allocator of CUDA device `index`; throws kiln::Error without the CUDA backend.
Allocator& cuda_allocator(int index);

// Whether the CUDA allocator caches freed blocks: yes unless KILN_NO_CUDA_CACHING=1 (read once,
// the first time it is asked; an invalid value throws kiln::Error). Without caching every eager
// allocation is one cudaMalloc of exactly the requested size and every free one cudaFree, so
// compute-sanitizer's memcheck sees each tensor's true bounds and initcheck sees fresh memory
// (the caching allocator's rounding and reuse hide an overrun inside its blocks); like
// PyTorch's PYTORCH_NO_CUDA_MEMORY_CACHING=1, for sanitizer runs, not for speed. Captured
// graphs keep their private pools either way (cudaFree is not allowed during a capture).
bool cuda_caching_enabled();

// Statistics and cache control of the CUDA caching allocator.
AllocatorStats cuda_memory_stats(int index = 0);
void cuda_reset_peak_memory(int index = 0);
// Returns every cached (free) block to the driver. Blocks in use are untouched.
void cuda_empty_cache(int index = 0);

// Private pools for captured CUDA graphs (core/cuda_graph.h). While a pool is active on a
// device, that device's allocations are served from and freed back to the pool; its blocks
// are never handed to other requests until the pool is released.
using MemoryPoolId = uint64_t;
MemoryPoolId cuda_create_pool(int index);
void cuda_begin_pool(int index, MemoryPoolId pool);
void cuda_end_pool(int index);
// Returns the pool's free blocks to the general cache; blocks still in use follow when freed.
void cuda_release_pool(int index, MemoryPoolId pool);

Allocator& allocator_for(Device device);

}  // namespace kiln
