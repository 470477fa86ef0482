// CUDA plumbing shared by every CUDA source: the single stream per device on which all kiln
// work is queued (so no op ever waits on the host, a precondition for capturing a step as a
// graph), the cuBLAS handle bound to it, error checking for every runtime/library call and
// kernel launch, and a device-side error flag that kernels raise on invalid input (an index
// or label out of range) instead of trapping; it is read at check_device_errors().
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace kiln::cuda {

cudaStream_t stream();  // kiln's stream on the current device
cublasHandle_t cublas_handle();
// The current device of this host thread, cached per thread (no driver call after the first).
int current_device();
// cudaSetDevice and the cache above together; kiln::select_cuda_device is the public entry.
void set_current_device(int index);
void synchronize();  // waits for kiln's stream

// True while kiln's stream is being captured into a CUDA graph (no host syncs allowed).
bool is_capturing();

// Debug builds (KILN_SYNC_LAUNCHES=ON) and the environment variable KILN_SYNC_LAUNCHES=1
// synchronise after every launch, so an asynchronous fault is reported by the op that
// caused it rather than by a later call.
bool sync_launches();

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* expr, const char* file, int line);
void check_launch(const char* file, int line);

// Error codes kernels OR into the device flag.
enum DeviceError : int {
  kIndexOutOfRange = 1,  // index_select / gather with an index outside [0, rows)
  kLabelOutOfRange = 2,  // a class label outside [0, C) in a loss
};
int* device_error_flag();  // device pointer to one int, zero when all is well
// Synchronises, reads and clears the flag; throws kiln::Error describing what was raised.
void check_device_errors();

// Grid size for a grid-stride loop over n elements with `threads` per block.
inline unsigned grid_for(int64_t n, int threads, int64_t max_blocks = 65535LL * 32) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks < max_blocks ? blocks : max_blocks);
}

}  // namespace kiln::cuda

#define KILN_CUDA_CHECK(expr)                                                                           \
  do {                                                                                                  \
    const cudaError_t kiln_err_ = (expr);                                                               \
    if (kiln_err_ != cudaSuccess) ::kiln::cuda::throw_cuda_error(kiln_err_, #expr, __FILE__, __LINE__); \
  } while (0)

#define KILN_CUBLAS_CHECK(expr)                                              \
  do {                                                                       \
    const cublasStatus_t kiln_st_ = (expr);                                  \
    if (kiln_st_ != CUBLAS_STATUS_SUCCESS)                                   \
      ::kiln::cuda::throw_cublas_error(kiln_st_, #expr, __FILE__, __LINE__); \
  } while (0)

// After every <<<...>>> launch.
#define KILN_LAUNCH_CHECK() ::kiln::cuda::check_launch(__FILE__, __LINE__)

#if defined(__CUDACC__)
#include <source_location>
#include <utility>

namespace kiln::cuda {

// The grid and block of one launch, and the line that wrote it, so a failed launch is
// reported where the kernel was launched rather than inside launch().
struct LaunchShape {
  LaunchShape(dim3 grid, dim3 block, std::source_location where = std::source_location::current())
      : grid(grid), block(block), where(where) {}
  dim3 grid;
  dim3 block;
  std::source_location where;
};

// Launches `kernel` on kiln's stream without dynamic shared memory and checks the launch:
//   launch(scale_kernel<T>, {grid_for(n, kThreads), kThreads}, n, x, alpha);
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), LaunchShape shape, Args&&... args) {
  kernel<<<shape.grid, shape.block, 0, stream()>>>(std::forward<Args>(args)...);
  check_launch(shape.where.file_name(), static_cast<int>(shape.where.line()));
}

}  // namespace kiln::cuda
#endif
