// The CUDA caching allocator. Freed blocks go to a per-device free list keyed by size and
// are handed out again for requests of (nearly) the same size, so a training loop whose
// shapes repeat stops calling cudaMalloc after its first step. Every kiln kernel runs on one
// stream, so a block freed after op A was queued and handed to op B is safe: B runs after A.
// On an out-of-memory error the cache is returned to the driver and the allocation retried.
//
// Graph pools: while a step is captured into a CUDA graph, its allocations come from a private
// pool (blocks tagged with the pool's id) and blocks freed during or after the capture go back
// to that pool, never to the general cache, because every replay of the graph writes them
// again: handing one to eager code between replays would let the graph overwrite its data.
// Releasing the pool (when the graph is destroyed) returns its free blocks to the general
// cache; blocks still held by tensors follow when those tensors die.
//
// Without caching (KILN_NO_CUDA_CACHING=1, for compute-sanitizer runs): eager requests get a
// cudaMalloc of exactly their size and their free is a cudaFree, so an access one element past
// a tensor lands outside every allocation and memcheck names it. Graph pools work as above,
// because cudaFree is refused while a stream is captured; a pool's blocks are freed to the
// driver when the pool is released instead of joining the general cache.
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

constexpr size_t kSmallRounding = 512;        // requests below kLargeThreshold
constexpr size_t kLargeThreshold = 1 << 20;   // 1 MiB
constexpr size_t kLargeRounding = 128 << 10;  // 128 KiB

size_t round_size(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  const size_t r = nbytes < kLargeThreshold ? kSmallRounding : kLargeRounding;
  return (nbytes + r - 1) / r * r;
}

// cudaMalloc is not a stream operation, so capture does not record it; CUDA therefore treats
// it as "unsafe" during a capture in the default (global / thread-local) modes. An allocation
// made for a captured step is exactly what the step needs on every replay, so the call is made
// in relaxed mode for its duration.
cudaError_t device_malloc(void** p, size_t size) {
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  cudaThreadExchangeStreamCaptureMode(&mode);
  const cudaError_t err = cudaMalloc(p, size);
  cudaThreadExchangeStreamCaptureMode(&mode);
  return err;
}

class CachingAllocator final : public Allocator {
 public:
  explicit CachingAllocator(int device) : device_(device), caching_(cuda_caching_enabled()) {}

  void* allocate(size_t nbytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool exact = !caching_ && !active_pool_;
    const size_t size = exact ? std::max<size_t>(nbytes, 1) : round_size(nbytes);
    FreeList& free_list = active_pool_ ? pools_.at(active_pool_) : free_;
    // Best fit among cached blocks, but never more than 25% larger than asked (a small
    // tensor must not pin a huge block).
    auto it = exact ? free_list.end() : free_list.lower_bound(size);
    if (it != free_list.end() && it->first <= size + size / 4) {
      void* p = it->second;
      const size_t block = it->first;
      free_list.erase(it);
      in_use_[p] = {block, active_pool_};
      stats_.allocated_bytes += block;
      stats_.cache_hits++;
      stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
      return p;
    }
    void* p = nullptr;
    cudaError_t err = device_malloc(&p, size);
    if (err == cudaErrorMemoryAllocation && !active_pool_) {
      // (Not while capturing: releasing the cache synchronises the device.)
      cudaGetLastError();
      release_cached_locked();
      err = device_malloc(&p, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      KILN_FAIL("CUDA out of memory: could not allocate ", size, " bytes on cuda:", device_, " (",
                stats_.allocated_bytes, " bytes in use by kiln, ", stats_.reserved_bytes,
                " reserved): ", cudaGetErrorString(err));
    }
    in_use_[p] = {size, active_pool_};
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
    const Block block = it->second;
    in_use_.erase(it);
    stats_.allocated_bytes -= block.size;
    // A block freed while a pool is active goes to that pool even if it was allocated before:
    // the captured work may have written it before dropping it, and replays will again.
    const auto pool = pools_.find(active_pool_ ? active_pool_ : block.pool);
    if (pool != pools_.end()) {
      pool->second.emplace(block.size, ptr);
    } else if (caching_) {
      free_.emplace(block.size, ptr);
    } else {
      free_to_driver_locked(block.size, ptr);  // no pool is active here, so no capture either
    }
  }

  MemoryPoolId create_pool() {
    std::lock_guard<std::mutex> lock(mutex_);
    const MemoryPoolId id = next_pool_id_++;
    pools_[id];
    return id;
  }
  void begin_pool(MemoryPoolId id) {
    std::lock_guard<std::mutex> lock(mutex_);
    KILN_CHECK(pools_.count(id) != 0, "cuda:", device_, ": memory pool ", id, " does not exist");
    KILN_CHECK(active_pool_ == 0, "cuda:", device_, ": memory pool ", active_pool_, " is already active");
    active_pool_ = id;
  }
  void end_pool() {
    std::lock_guard<std::mutex> lock(mutex_);
    active_pool_ = 0;
  }
  void release_pool(MemoryPoolId id) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto pool = pools_.find(id);
    if (pool == pools_.end()) return;
    if (active_pool_ == id) active_pool_ = 0;
    // Work queued later on kiln's single stream runs after every replay already queued, so
    // the blocks can serve eager requests at once.
    if (caching_ || active_pool_) {
      // (Without caching, a release during another graph's capture must not call cudaFree; the
      // blocks wait in the general cache, which only empty_cache and the out-of-memory retry
      // read in that mode.)
      free_.insert(pool->second.begin(), pool->second.end());
    } else {
      for (auto& [size, p] : pool->second) free_to_driver_locked(size, p);
    }
    pools_.erase(pool);
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

  // Without caching: returns one block to the driver. The explicit wait (rather than relying on
  // cudaFree's implicit synchronisation) keeps kernels still queued from touching freed memory,
  // which memcheck would report as kiln's error.
  void free_to_driver_locked(size_t size, void* p) {
    cudaDeviceSynchronize();
    cudaFree(p);
    stats_.reserved_bytes -= size;
  }

  using FreeList = std::multimap<size_t, void*>;
  struct Block {
    size_t size;
    MemoryPoolId pool;  // 0: the general cache
  };
  int device_;
  bool caching_;  // false with KILN_NO_CUDA_CACHING=1: exact cudaMalloc/cudaFree outside captures
  std::mutex mutex_;
  FreeList free_;                           // the general cache (what empty_cache returns)
  std::map<MemoryPoolId, FreeList> pools_;  // live graph pools and their free blocks
  MemoryPoolId active_pool_ = 0, next_pool_id_ = 1;
  std::unordered_map<void*, Block> in_use_;
  AllocatorStats stats_;
};

CachingAllocator& caching_allocator(int index) {
  static std::mutex mutex;
  // Leaked on purpose: tensors may be destroyed during static destruction, after which the
  // allocator must still accept them (and must not call into a torn-down driver).
  static auto* allocators = new std::vector<std::unique_ptr<CachingAllocator>>();
  std::lock_guard<std::mutex> lock(mutex);
  KILN_CHECK(index >= 0 && index < std::max(cuda_device_count(), 0), "cuda:", index, " is not available (",
             cuda_device_count(), " CUDA device(s) found)");
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
MemoryPoolId cuda_create_pool(int index) { return caching_allocator(index).create_pool(); }
void cuda_begin_pool(int index, MemoryPoolId pool) { caching_allocator(index).begin_pool(pool); }
void cuda_end_pool(int index) { caching_allocator(index).end_pool(); }
void cuda_release_pool(int index, MemoryPoolId pool) { caching_allocator(index).release_pool(pool); }

}  // namespace kiln
