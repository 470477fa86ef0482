// Capture and replay of kiln's stream (see cuda_graph.h).
#include "core/cuda_graph.h"

#include "core/error.h"
#include "core/random_capture.h"

#if KILN_HAS_CUDA
#include <cuda_runtime.h>

#include "core/cuda_context.h"
#endif

namespace kiln {

#if KILN_HAS_CUDA

CudaGraph::CudaGraph(Device device) : device_(device) {
  KILN_CHECK(device.is_cuda(), "CudaGraph: needs a CUDA device, got ", device.str());
  select_cuda_device(device.index);
  pool_ = cuda_create_pool(device.index);
  random_ = std::make_unique<RandomCapture>(device);
}

CudaGraph::~CudaGraph() {
  select_cuda_device(device_.index);
  // Replays may still be queued; the executable graph and its memory must outlive them.
  cudaStreamSynchronize(cuda::stream());
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  random_.reset();
  cuda_release_pool(device_.index, pool_);
}

void CudaGraph::capture(const std::function<void()>& work) {
  KILN_CHECK(!captured(), "CudaGraph: already captured (create a new graph to capture again)");
  select_cuda_device(device_.index);
  cudaStream_t stream = cuda::stream();
  random_->begin();  // throws (and changes nothing) if another capture is active on the device
  try {
    cuda_begin_pool(device_.index, pool_);
  } catch (...) {
    random_->end();
    throw;
  }
  // Thread-local mode: a host synchronisation or other capture-unsafe call made by this thread
  // inside the work invalidates the capture instead of silently running outside the graph.
  cudaError_t err = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
  std::string failure;
  if (err == cudaSuccess) {
    try {
      work();
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "the captured work threw a non-standard exception";
    }
    cudaGraph_t graph = nullptr;
    err = cudaStreamEndCapture(stream, &graph);  // always ends the capture, even after a failure
    if (failure.empty() && err == cudaSuccess && graph != nullptr) {
      graph_ = graph;
    } else if (graph != nullptr) {
      cudaGraphDestroy(graph);
    }
  }
  random_->end();
  cuda_end_pool(device_.index);
  if (!failure.empty() || err != cudaSuccess) {
    // A CUDA call refused during the capture leaves its error pending; clear it so the next
    // eager launch does not report it.
    cudaGetLastError();
    if (!failure.empty()) KILN_FAIL("CUDA graph capture failed: ", failure);
    KILN_FAIL("CUDA graph capture failed: ", cudaGetErrorString(err),
              " (the captured work synchronised with the host or called a capture-unsafe CUDA function)");
  }
  cudaGraphExec_t exec = nullptr;
  err = cudaGraphInstantiate(&exec, static_cast<cudaGraph_t>(graph_), 0);
  if (err != cudaSuccess) {
    cudaGetLastError();
    cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
    graph_ = nullptr;
    KILN_FAIL("CUDA graph instantiation failed: ", cudaGetErrorString(err));
  }
  exec_ = exec;
}

bool CudaGraph::random_seeds_unchanged() const { return random_->seeds_unchanged(); }

void CudaGraph::replay() {
  KILN_CHECK(captured(), "CudaGraph: replay() before capture()");
  select_cuda_device(device_.index);
  random_->prepare_replay();
  KILN_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), cuda::stream()));
  if (cuda::sync_launches()) KILN_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
}

#else

CudaGraph::CudaGraph(Device device) : device_(device) {
  KILN_FAIL("kiln was built without CUDA support: CUDA graphs are unavailable");
}
CudaGraph::~CudaGraph() = default;
void CudaGraph::capture(const std::function<void()>&) { KILN_FAIL("kiln was built without CUDA support"); }
void CudaGraph::replay() { KILN_FAIL("kiln was built without CUDA support"); }
bool CudaGraph::random_seeds_unchanged() const { return true; }

#endif

}  // namespace kiln
