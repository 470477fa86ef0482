// Streams, library handles, error reporting and the device error flag (see cuda_context.h).
#include "core/cuda_context.h"

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

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

void select_cuda_device(int index) {
  KILN_CHECK(index >= 0 && index < cuda_device_count(), "cuda:", index, " is not available (", cuda_device_count(),
             " CUDA device(s) found)");
  KILN_CUDA_CHECK(cudaSetDevice(index));
}

namespace cuda {
namespace {

struct PerDevice {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  int* error_flag = nullptr;
};

PerDevice& per_device() {
  static std::mutex mutex;
  static std::vector<PerDevice> devices;
  std::lock_guard<std::mutex> lock(mutex);
  const int dev = current_device();
  if (devices.empty()) {
    KILN_CHECK(cuda_device_count() > 0, "no CUDA device is available (kiln was built with CUDA, "
                                        "but the driver reports no GPU)");
    devices.resize(cuda_device_count());
  }
  PerDevice& d = devices.at(dev);
  if (!d.stream) {
    KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking));
    KILN_CUBLAS_CHECK(cublasCreate(&d.cublas));
    KILN_CUBLAS_CHECK(cublasSetStream(d.cublas, d.stream));
    // Full FP32 for matmul, as PyTorch's default (torch.backends.cuda.matmul.allow_tf32 = False).
    KILN_CUBLAS_CHECK(cublasSetMathMode(d.cublas, CUBLAS_DEFAULT_MATH));
    KILN_CUDA_CHECK(cudaMalloc(&d.error_flag, sizeof(int)));
    KILN_CUDA_CHECK(cudaMemsetAsync(d.error_flag, 0, sizeof(int), d.stream));
  }
  return d;
}

}  // namespace

int current_device() {
  int dev = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&dev));
  return dev;
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
  KILN_FAIL("CUDA error ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ") in ", expr, " at ",
            file, ":", line);
}

void throw_cublas_error(cublasStatus_t status, const char* expr, const char* file, int line) {
  KILN_FAIL("cuBLAS error ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ") in ",
            expr, " at ", file, ":", line);
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
}  // namespace kiln
