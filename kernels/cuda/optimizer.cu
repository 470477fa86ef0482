// CUDA fused multi-tensor optimizer update (contract: kernels/optimizer.h). The parameter
// list is described once, in device memory, as a slot table plus a list of 4096-element
// chunks; every step is then two launches regardless of how many parameters there are (a
// one-thread launch that advances the device-side step counter, and the update itself), and
// neither reads anything from the host — which is what lets a CUDA graph replay them.
#include <cuda_runtime.h>

#include <cstring>

#include "core/cuda_context.h"
#include "core/error.h"
#include "kernels/optimizer.h"
#include "kernels/optimizer_math.h"

namespace kiln::kernels::cuda {

namespace {

constexpr int kThreads = 256;

struct DeviceSlot {
  float* param;
  const float* grad;
  float* state0;
  float* state1;
  int64_t numel;
};

struct Chunk {
  int32_t slot;
  int32_t pad;
  int64_t start;
};

__global__ void increment_step_kernel(int64_t* step) { *step += 1; }

__global__ void fused_update_kernel(OptimizerHyper h, const DeviceSlot* slots, const Chunk* chunks,
                                    const int64_t* step) {
  const Chunk c = chunks[blockIdx.x];
  const DeviceSlot s = slots[c.slot];
  const StepScalars sc = step_scalars(h, *step);
  int64_t end = c.start + MultiTensorTable::kChunk;
  if (end > s.numel) end = s.numel;
  for (int64_t i = c.start + threadIdx.x; i < end; i += blockDim.x) {
    float p = s.param[i];
    update_element(h, sc, p, s.grad[i], s.state0 ? s.state0 + i : nullptr, s.state1 ? s.state1 + i : nullptr);
    s.param[i] = p;
  }
}

void* upload(const void* host, size_t bytes) {
  void* d = nullptr;
  KILN_CUDA_CHECK(cudaMalloc(&d, bytes == 0 ? 1 : bytes));
  if (bytes) {
    KILN_CUDA_CHECK(cudaMemcpyAsync(d, host, bytes, cudaMemcpyHostToDevice, kiln::cuda::stream()));
    kiln::cuda::synchronize();  // the host vectors die when the constructor returns
  }
  return d;
}

}  // namespace

std::vector<int64_t> MultiTensorTable::slots_view(const std::vector<ParamSlot<float>>& slots) {
  std::vector<int64_t> v;
  for (const auto& s : slots) {
    for (const void* p : {static_cast<const void*>(s.param), static_cast<const void*>(s.grad),
                          static_cast<const void*>(s.state0), static_cast<const void*>(s.state1)})
      v.push_back(static_cast<int64_t>(reinterpret_cast<uintptr_t>(p)));
    v.push_back(s.numel);
  }
  return v;
}

MultiTensorTable::MultiTensorTable(const std::vector<ParamSlot<float>>& slots) : slots_(slots_view(slots)) {
  std::vector<DeviceSlot> device_slots;
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& s = slots[i];
    device_slots.push_back({s.param, s.grad, s.state0, s.state1, s.numel});
    for (int64_t start = 0; start < s.numel; start += kChunk)
      chunks.push_back({static_cast<int32_t>(i), 0, start});
  }
  num_chunks_ = static_cast<int64_t>(chunks.size());
  device_slots_ = upload(device_slots.data(), device_slots.size() * sizeof(DeviceSlot));
  device_chunks_ = upload(chunks.data(), chunks.size() * sizeof(Chunk));
}

MultiTensorTable::~MultiTensorTable() {
  // Queued updates may still read the tables.
  if (device_slots_ || device_chunks_) cudaStreamSynchronize(kiln::cuda::stream());
  if (device_slots_) cudaFree(device_slots_);
  if (device_chunks_) cudaFree(device_chunks_);
}

MultiTensorTable::MultiTensorTable(MultiTensorTable&& o) noexcept
    : slots_(std::move(o.slots_)),
      device_slots_(o.device_slots_),
      device_chunks_(o.device_chunks_),
      num_chunks_(o.num_chunks_) {
  o.device_slots_ = o.device_chunks_ = nullptr;
  o.num_chunks_ = 0;
}

MultiTensorTable& MultiTensorTable::operator=(MultiTensorTable&& o) noexcept {
  if (this != &o) {
    MultiTensorTable dying(std::move(*this));
    slots_ = std::move(o.slots_);
    device_slots_ = o.device_slots_;
    device_chunks_ = o.device_chunks_;
    num_chunks_ = o.num_chunks_;
    o.device_slots_ = o.device_chunks_ = nullptr;
    o.num_chunks_ = 0;
  }
  return *this;
}

void optimizer_step(const OptimizerHyper& h, const MultiTensorTable& table, int64_t* device_step) {
  kiln::cuda::launch(increment_step_kernel, {1, 1}, device_step);
  if (table.num_chunks() == 0) return;
  KILN_CHECK(table.num_chunks() < (int64_t(1) << 31), "optimizer: too many parameter chunks");
  kiln::cuda::launch(fused_update_kernel, {static_cast<unsigned>(table.num_chunks()), kThreads}, h,
                     static_cast<const DeviceSlot*>(table.device_slots()),
                     static_cast<const Chunk*>(table.device_chunks()), device_step);
}

}  // namespace kiln::kernels::cuda
