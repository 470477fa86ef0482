// Contract of the fused optimizer updates: one call (one CUDA launch) updates every
// parameter, following PyTorch's published update rules (torch.optim docs) exactly:
//   SGD:   g = grad + wd*p;  if momentum: b = (t == 1 ? g : momentum*b + (1-dampening)*g),
//          g = nesterov ? g + momentum*b : b;   p -= lr*g
//   Adam:  g = grad + wd*p (L2);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//          p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)     (eps outside the sqrt)
//   AdamW: p *= 1 - lr*wd  (decoupled);  then Adam's moments and update with wd = 0.
// t is the step number after increment (1 on the first call). It lives in memory the update
// reads and increments itself (host memory for the CPU, device memory for CUDA), so the
// update takes nothing from the host that a captured CUDA graph would freeze.
// Parameters, gradients and state are float32 or float64 arrays; state0 = momentum buffer
// (SGD) or m (Adam/AdamW), state1 = v (Adam/AdamW); unused state pointers may be null.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::kernels {

enum class OptimizerKind : uint8_t { SGD, Adam, AdamW };

struct OptimizerHyper {
  OptimizerKind kind = OptimizerKind::Adam;
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam / AdamW
  double momentum = 0.0, dampening = 0.0;         // SGD
  bool nesterov = false;                          // SGD
  double weight_decay = 0.0;
};

template <typename T>
struct ParamSlot {
  T* param = nullptr;
  const T* grad = nullptr;
  T* state0 = nullptr;
  T* state1 = nullptr;
  int64_t numel = 0;
};

namespace cpu {
// Increments *step, then updates every slot.
template <typename T>
void optimizer_step(const OptimizerHyper& h, const std::vector<ParamSlot<T>>& slots, int64_t* step);
}  // namespace cpu

namespace cuda {
// A parameter list prepared once for the fused kernel: the slot table and a chunk list
// (slot, first element) in device memory. Rebuild it when any pointer changes.
class MultiTensorTable {
 public:
  MultiTensorTable() = default;
  explicit MultiTensorTable(const std::vector<ParamSlot<float>>& slots);
  ~MultiTensorTable();
  MultiTensorTable(MultiTensorTable&& other) noexcept;
  MultiTensorTable& operator=(MultiTensorTable&& other) noexcept;
  MultiTensorTable(const MultiTensorTable&) = delete;
  MultiTensorTable& operator=(const MultiTensorTable&) = delete;

  bool matches(const std::vector<ParamSlot<float>>& slots) const { return slots_ == slots_view(slots); }
  const void* device_slots() const { return device_slots_; }
  const void* device_chunks() const { return device_chunks_; }
  int64_t num_chunks() const { return num_chunks_; }

  static constexpr int64_t kChunk = 4096;  // elements per thread block

 private:
  static std::vector<int64_t> slots_view(const std::vector<ParamSlot<float>>& slots);
  std::vector<int64_t> slots_;  // host copy of the pointers and sizes, to detect changes
  void* device_slots_ = nullptr;
  void* device_chunks_ = nullptr;
  int64_t num_chunks_ = 0;
};

// Increments *device_step on the device, then updates every slot of `table` in one launch.
void optimizer_step(const OptimizerHyper& h, const MultiTensorTable& table, int64_t* device_step);
}  // namespace cuda

}  // namespace kiln::kernels
