// Allocators: CPU alignment; the CUDA caching allocator reuses blocks and keeps statistics.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/allocator.h"
#include "core/tensor.h"
#include "tests/support/helpers.h"

namespace kiln {
namespace {

TEST(CpuAllocator, AlignsTo64Bytes) {
  for (size_t n : {0, 1, 63, 64, 1000, 1 << 20}) {
    void* p = cpu_allocator().allocate(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << n;
    cpu_allocator().deallocate(p, n);
  }
}

// The tests of reuse need the cache, which sanitizer runs switch off (KILN_NO_CUDA_CACHING=1).
#define KILN_REQUIRE_CUDA_CACHING()                                                          \
  do {                                                                                       \
    KILN_REQUIRE_CUDA();                                                                     \
    if (!cuda_caching_enabled()) GTEST_SKIP() << "KILN_NO_CUDA_CACHING=1: no cache to test"; \
  } while (0)

TEST(CudaCachingAllocator, ReusesFreedBlocksWithoutNewDeviceAllocations) {
  KILN_REQUIRE_CUDA_CACHING();
  cuda_empty_cache();
  const AllocatorStats before = cuda_memory_stats();
  void* first = nullptr;
  {
    Tensor a = Tensor::empty({1000, 1000}, DType::Float32, Device::cuda());
    first = a.raw_data();
  }
  const AllocatorStats mid = cuda_memory_stats();
  EXPECT_EQ(mid.device_allocations, before.device_allocations + 1);
  EXPECT_EQ(mid.allocated_bytes, before.allocated_bytes);
  EXPECT_GE(mid.reserved_bytes, before.reserved_bytes + 4000000);
  for (int i = 0; i < 10; ++i) {
    Tensor b = Tensor::empty({1000, 1000}, DType::Float32, Device::cuda());
    EXPECT_EQ(b.raw_data(), first);  // the cached block comes back
  }
  const AllocatorStats after = cuda_memory_stats();
  EXPECT_EQ(after.device_allocations, mid.device_allocations);
  EXPECT_GE(after.cache_hits, mid.cache_hits + 10);
  EXPECT_GE(after.peak_allocated_bytes, 4000000u);
  cuda_empty_cache();
  EXPECT_LT(cuda_memory_stats().reserved_bytes, after.reserved_bytes);
}

TEST(CudaCachingAllocator, SmallRequestsDoNotTakeHugeBlocks) {
  KILN_REQUIRE_CUDA();
  cuda_empty_cache();
  void* big_ptr = nullptr;
  {
    Tensor big = Tensor::empty({64 << 20}, DType::UInt8, Device::cuda());
    big_ptr = big.raw_data();
  }
  Tensor small = Tensor::empty({1024}, DType::UInt8, Device::cuda());
  EXPECT_NE(small.raw_data(), big_ptr);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

TEST(CudaCachingAllocator, PoolBlocksStayInThePoolUntilReleased) {
  KILN_REQUIRE_CUDA_CACHING();
  const MemoryPoolId pool = cuda_create_pool(0);
  void* pooled = nullptr;
  cuda_begin_pool(0, pool);
  {
    Tensor t = Tensor::empty({4096}, DType::Float32, Device::cuda());
    pooled = t.raw_data();
  }
  cuda_end_pool(0);
  // Freed, but into the pool: eager requests of the same size never get it.
  for (int i = 0; i < 4; ++i) {
    Tensor eager = Tensor::empty({4096}, DType::Float32, Device::cuda());
    EXPECT_NE(eager.raw_data(), pooled);
  }
  // The pool hands it out again to its own requests.
  cuda_begin_pool(0, pool);
  {
    Tensor again = Tensor::empty({4096}, DType::Float32, Device::cuda());
    EXPECT_EQ(again.raw_data(), pooled);
  }
  cuda_end_pool(0);
  // Released: back in the general cache.
  cuda_release_pool(0, pool);
  bool reused = false;
  std::vector<Tensor> held;
  for (int i = 0; i < 8 && !reused; ++i) {
    held.push_back(Tensor::empty({4096}, DType::Float32, Device::cuda()));
    reused = held.back().raw_data() == pooled;
  }
  EXPECT_TRUE(reused);
}

// KILN_NO_CUDA_CACHING=1: every eager tensor is its own cudaMalloc of its exact size, returned
// to the driver when the tensor dies, while a graph pool still caches (it must, during capture).
TEST(CudaCachingAllocator, WithoutCachingEagerMemoryGoesStraightToTheDriver) {
  KILN_REQUIRE_CUDA();
  if (cuda_caching_enabled())
    GTEST_SKIP() << "runs with KILN_NO_CUDA_CACHING=1 (the GPU check's sanitizer steps)";
  const AllocatorStats before = cuda_memory_stats();
  for (int i = 0; i < 3; ++i) {
    Tensor t = Tensor::empty({1001}, DType::UInt8, Device::cuda());
    EXPECT_EQ(cuda_memory_stats().reserved_bytes, before.reserved_bytes + 1001);  // not rounded up
  }
  const AllocatorStats after = cuda_memory_stats();
  EXPECT_EQ(after.device_allocations, before.device_allocations + 3);
  EXPECT_EQ(after.cache_hits, before.cache_hits);
  EXPECT_EQ(after.reserved_bytes, before.reserved_bytes);

  const MemoryPoolId pool = cuda_create_pool(0);
  cuda_begin_pool(0, pool);
  void* pooled = nullptr;
  {
    Tensor t = Tensor::empty({4096}, DType::Float32, Device::cuda());
    pooled = t.raw_data();
  }
  {
    Tensor again = Tensor::empty({4096}, DType::Float32, Device::cuda());
    EXPECT_EQ(again.raw_data(), pooled);
  }
  cuda_end_pool(0);
  cuda_release_pool(0, pool);
  EXPECT_EQ(cuda_memory_stats().reserved_bytes, before.reserved_bytes);
}

TEST(CudaCachingAllocator, PoolsNeedCuda) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is available";
  EXPECT_THROW(cuda_begin_pool(0, 1), Error);
}

}  // namespace
}  // namespace kiln
