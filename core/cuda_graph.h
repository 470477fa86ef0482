// A CUDA graph of work queued on kiln's stream: captured once, replayed with one launch. At
// batch 32 a ResNet-18 training step is hundreds of small kernels whose launch cost exceeds
// their run time; a replay pays one launch for all of them.
//
// What makes a replay equal to running the same ops eagerly:
//  - nothing in the captured work waits on the host (kiln's ops never do; a host read such as
//    item() inside the work is refused by CUDA and reported by capture());
//  - the memory the graph uses comes from a private pool (core/allocator.h), so between
//    replays no eager tensor is given an address the graph will write;
//  - random ops read their Philox offset from device cells that replay() refreshes first
//    (core/random_capture.h), so every replay draws the numbers eager code would draw.
// Kernel arguments, shapes and addresses are frozen at capture: a graph of a training step
// is valid while its inputs stay in the same tensors and its hyper-parameters do not change.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/allocator.h"
#include "core/device.h"

namespace kiln {

class RandomCapture;

class CudaGraph {
 public:
  // `device` must be a CUDA device; throws in a build without CUDA.
  explicit CudaGraph(Device device);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Records `work` without running it. If the work cannot be captured (it synchronised with
  // the host, or threw), throws kiln::Error and the graph stays empty.
  void capture(const std::function<void()>& work);
  // Queues one run of the captured work on kiln's stream (no host synchronisation).
  void replay();
  bool captured() const { return exec_ != nullptr; }
  // False once a generator the work draws from was reseeded: seeds are kernel arguments, frozen
  // at capture, so the graph must be captured again.
  bool random_seeds_unchanged() const;
  Device device() const { return device_; }

 private:
  Device device_;
  MemoryPoolId pool_ = 0;
  std::unique_ptr<RandomCapture> random_;
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

}  // namespace kiln
