// The CUDA caching allocator. Freed blocks go to a per-device free list keyed by size and
// are handed out again for requests of (nearly) the same size, so a training loop whose
// shapes repeat stops calling cudaMalloc after its first step. Every kiln kernel runs on one
// stream, so a block freed after op A was queued and handed to op B is safe: B runs after A.
// On an out-of-memory error the cache is returned to the driver and the allocation retried.
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"
#include "core/cuda_context.h"
#include "core/error.h"

namespace kiln {

namespace {

constexpr size_t kSmallRounding = 512;         // requests below kLargeThreshold
constexpr size_t kLargeThreshold = 1 << 20;    // 1 MiB
constexpr size_t kLargeRounding = 128 << 10;   // 128 KiB

size_t round_size(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  const size_t r = nbytes < kLargeThreshold ? kSmallRounding : kLargeRounding;
  return (nbytes + r - 1) / r * r;
}

class CachingAllocator final : public Allocator {
 public:
  explicit CachingAllocator(int device) : device_(device) {}

  void* allocate(size_t nbytes) override {
    const size_t size = round_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    // Best fit among cached blocks, but never more than 25% larger than asked (a small
    // tensor must not pin a huge block).
    auto it = free_.lower_bound(size);
    if (it != free_.end() && it->first <= size + size / 4) {
      void* p = it->second;
      const size_t block = it->first;
      free_.erase(it);
      in_use_[p] = block;
      stats_.allocated_bytes += block;
      stats_.cache_hits++;
      stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
      return p;
    }
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached_locked();
      err = cudaMalloc(&p, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      KILN_FAIL("CUDA out of memory: could not allocate ", size, " bytes on cuda:", device_, " (",
                stats_.allocated_bytes, " bytes in use by kiln, ", stats_.reserved_bytes, " reserved): ",
                cudaGetErrorString(err));
    }
    in_use_[p] = size;
    stats_.reserved_bytes += size;
    stats_.allocated_bytes += size;
    stats_.device_allocations++;
    stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
    return p;
  }

  void deallocate(void* ptr, size_t) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = in_use_.find(ptr);
    if (it == in_use_.end()) return;  // not ours; nothing sensible to do in a destructor
    const size_t block = it->second;
    in_use_.erase(it);
    stats_.allocated_bytes -= block;
    free_.emplace(block, ptr);
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

 private:
  void release_cached_locked() {
    // Queued kernels may still read blocks that were freed on the host side but are
    // cached; wait for the stream before giving memory back to the driver.
    cudaDeviceSynchronize();
    for (auto& [size, p] : free_) {
      cudaFree(p);
      stats_.reserved_bytes -= size;
    }
    free_.clear();
  }

  int device_;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, size_t> in_use_;
  AllocatorStats stats_;
};

CachingAllocator& caching_allocator(int index) {
  static std::mutex mutex;
  // Leaked on purpose: tensors may be destroyed during static destruction, after which the
  // allocator must still accept them (and must not call into a torn-down driver).
  static auto* allocators = new std::vector<std::unique_ptr<CachingAllocator>>();
  std::lock_guard<std::mutex> lock(mutex);
  KILN_CHECK(index >= 0 && index < std::max(cuda_device_count(), 0) , "cuda:", index,
             " is not available (", cuda_device_count(), " CUDA device(s) found)");
  if (allocators->empty()) allocators->resize(cuda_device_count());
  auto& slot = (*allocators)[index];
  if (!slot) slot = std::make_unique<CachingAllocator>(index);
  return *slot;
}

}  // namespace

Allocator& cuda_allocator(int index) { return caching_allocator(index); }
AllocatorStats cuda_memory_stats(int index) { return caching_allocator(index).stats(); }
void cuda_reset_peak_memory(int index) { caching_allocator(index).reset_peak(); }
void cuda_empty_cache(int index) { caching_allocator(index).empty_cache(); }

}  // namespace kiln
