// Streams, library handles, error reporting and the device error flag (see cuda_context.h).
#include "core/cuda_context.h"

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "core/device.h"
#include "core/error.h"

namespace kiln {

bool cuda_built() { return true; }

int cuda_device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver"/"no device" error
      return 0;
    }
    return n;
  }();
  return count;
}

namespace cuda {
namespace {

// The device this host thread queues work on: read from the runtime once per thread, then
// kept here by select_cuda_device, so the hot path (stream() on every op) asks nothing of
// the driver. kiln changes devices only through select_cuda_device.
thread_local int tl_device = -1;

// cuBLAS picks its GEMM algorithm partly by the workspace it can use. Left to itself it takes
// workspace from a pool that a graph capture cannot allocate from, so a captured GEMM could
// pick another algorithm (other rounding) than the eager one. A fixed workspace per handle
// makes both choose alike. 32 MiB is what NVIDIA's cuBLAS documentation recommends for Hopper
// (4 MiB suffices before it); it is allocated once per device.
constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;

struct PerDevice {
  std::once_flag init;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  void* cublas_workspace = nullptr;
  int* error_flag = nullptr;
};

// One slot per device, made once; each slot is initialised on first use by its own once_flag,
// so steady-state lookups take no lock.
PerDevice* device_slots() {
  static const std::unique_ptr<PerDevice[]> slots = [] {
    KILN_CHECK(cuda_device_count() > 0,
               "no CUDA device is available (kiln was built with CUDA, "
               "but the driver reports no GPU)");
    return std::make_unique<PerDevice[]>(cuda_device_count());
  }();
  return slots.get();
}

PerDevice& per_device() {
  const int dev = current_device();
  PerDevice& d = device_slots()[dev];
  std::call_once(d.init, [&d] {
    KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking));
    KILN_CUBLAS_CHECK(cublasCreate(&d.cublas));
    // cublasSetStream resets the handle's workspace to the default pool: set the stream first.
    KILN_CUBLAS_CHECK(cublasSetStream(d.cublas, d.stream));
    KILN_CUDA_CHECK(cudaMalloc(&d.cublas_workspace, kCublasWorkspaceBytes));
    KILN_CUBLAS_CHECK(cublasSetWorkspace(d.cublas, d.cublas_workspace, kCublasWorkspaceBytes));
    // Full FP32 for matmul, as PyTorch's default (torch.backends.cuda.matmul.allow_tf32 = False).
    KILN_CUBLAS_CHECK(cublasSetMathMode(d.cublas, CUBLAS_DEFAULT_MATH));
    KILN_CUDA_CHECK(cudaMalloc(&d.error_flag, sizeof(int)));
    KILN_CUDA_CHECK(cudaMemsetAsync(d.error_flag, 0, sizeof(int), d.stream));
  });
  return d;
}

}  // namespace

int current_device() {
  if (tl_device < 0) KILN_CUDA_CHECK(cudaGetDevice(&tl_device));
  return tl_device;
}

void set_current_device(int index) {
  KILN_CUDA_CHECK(cudaSetDevice(index));
  tl_device = index;
}

cudaStream_t stream() { return per_device().stream; }
cublasHandle_t cublas_handle() { return per_device().cublas; }
int* device_error_flag() { return per_device().error_flag; }

void synchronize() { KILN_CUDA_CHECK(cudaStreamSynchronize(stream())); }

bool is_capturing() {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  KILN_CUDA_CHECK(cudaStreamIsCapturing(stream(), &status));
  return status != cudaStreamCaptureStatusNone;
}

bool sync_launches() {
#if KILN_SYNC_LAUNCHES
  return true;
#else
  static const bool from_env = [] {
    const char* v = std::getenv("KILN_SYNC_LAUNCHES");
    return v != nullptr && std::string(v) == "1";
  }();
  return from_env;
#endif
}

void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line) {
  KILN_FAIL("CUDA error ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ") in ", expr, " at ", file,
            ":", line);
}

void throw_cublas_error(cublasStatus_t status, const char* expr, const char* file, int line) {
  KILN_FAIL("cuBLAS error ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ") in ", expr,
            " at ", file, ":", line);
}

void check_launch(const char* file, int line) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw_cuda_error(err, "kernel launch", file, line);
  if (sync_launches() && !is_capturing()) {
    const cudaError_t sync_err = cudaStreamSynchronize(stream());
    if (sync_err != cudaSuccess) throw_cuda_error(sync_err, "kernel execution", file, line);
  }
}

void check_device_errors() {
  int flag = 0;
  KILN_CUDA_CHECK(cudaMemcpyAsync(&flag, device_error_flag(), sizeof(int), cudaMemcpyDeviceToHost, stream()));
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream()));
  if (flag == 0) return;
  KILN_CUDA_CHECK(cudaMemsetAsync(device_error_flag(), 0, sizeof(int), stream()));
  std::string what;
  if (flag & kIndexOutOfRange) what += "an index was out of range (index_select/gather); ";
  if (flag & kLabelOutOfRange) what += "a class label was outside [0, num_classes) in a loss; ";
  KILN_FAIL("invalid input detected on the GPU: ", what, "the offending rows were skipped");
}

}  // namespace cuda

void select_cuda_device(int index) {
  KILN_CHECK(index >= 0 && index < cuda_device_count(), "cuda:", index, " is not available (",
             cuda_device_count(), " CUDA device(s) found)");
  cuda::set_current_device(index);
}

}  // namespace kiln
