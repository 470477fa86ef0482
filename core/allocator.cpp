// The CPU allocator, the device switch and the CUDA caching switch (KILN_NO_CUDA_CACHING);
// the CUDA caching allocator is in core/cuda_allocator.cpp (built only with the CUDA backend).
#include "core/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "core/env_switch.h"
#include "core/error.h"

namespace kiln {

namespace {
class CpuAllocator final : public Allocator {
 public:
  // glibc hands blocks above its mmap threshold (which adapts up to 32 MiB) straight to mmap and
  // unmaps them on free, so a step whose activations exceed it (the MNIST Net at batch 256:
  // 44 MiB per convolution output) page-faults and zero-fills them afresh every time: a tenth of
  // that step's CPU time in a profile. Served from the heap, and with the heap not trimmed, the
  // next step reuses the same memory, as the CUDA caching allocator does on the GPU.
  CpuAllocator() {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  void* allocate(size_t nbytes) override {
    constexpr size_t kAlignment = 64;  // a cache line; also what AVX-512 loads like
    const size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
    KILN_CHECK(p != nullptr, "out of host memory allocating ", nbytes, " bytes");
    return p;
  }
  void deallocate(void* ptr, size_t) override { std::free(ptr); }
};
}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator allocator;
  return allocator;
}

bool cuda_caching_enabled() {
  static const bool enabled = !env_switch("KILN_NO_CUDA_CACHING");
  return enabled;
}

Allocator& allocator_for(Device device) {
  return device.is_cpu() ? cpu_allocator() : cuda_allocator(device.index);
}

#if !KILN_HAS_CUDA
Allocator& cuda_allocator(int) { KILN_FAIL("kiln was built without CUDA support: no CUDA device memory"); }
AllocatorStats cuda_memory_stats(int) { return {}; }
void cuda_reset_peak_memory(int) {}
void cuda_empty_cache(int) {}
MemoryPoolId cuda_create_pool(int) { KILN_FAIL("kiln was built without CUDA support: no CUDA memory pools"); }
void cuda_begin_pool(int, MemoryPoolId) {
  KILN_FAIL("kiln was built without CUDA support: no CUDA memory pools");
}
void cuda_end_pool(int) {}
void cuda_release_pool(int, MemoryPoolId) {}
#endif

}  // namespace kiln
