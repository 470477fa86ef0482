// Optimizers (torch.optim.SGD, Adam, AdamW) over a fixed list of parameters. One step is one
// fused update for all parameters (kernels/optimizer.h). Gradient and state buffers are
// allocated once, at construction, and keep their addresses, so the CUDA update reads a
// parameter table uploaded once (and the update is ready to be part of a captured step).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"
#include "kernels/optimizer.h"

namespace kiln {

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, const kernels::OptimizerHyper& hyper);
  ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Sets every gradient to zero in place (the buffers stay where they are).
  void zero_grad();
  // One update of every parameter from its .grad.
  void step();

  int64_t step_count() const;  // reads the (device) counter
  double lr() const { return hyper_.lr; }
  void set_lr(double lr);
  const kernels::OptimizerHyper& hyper() const { return hyper_; }
  const std::vector<Tensor>& params() const { return params_; }

  // "step" and per-parameter state ("0.exp_avg", "0.exp_avg_sq", "0.momentum_buffer", ...),
  // parameter i in construction order, for checkpoints.
  TensorMap state_dict() const;
  void load_state_dict(const TensorMap& state);

 private:
  void check_table();
  std::vector<Tensor> params_, state0_, state1_;
  Tensor step_;  // int64 [1], on the parameters' device
  kernels::OptimizerHyper hyper_;
  struct CudaTable;
  std::unique_ptr<CudaTable> cuda_table_;
};

std::unique_ptr<Optimizer> make_sgd(std::vector<Tensor> params, double lr, double momentum = 0.0,
                                    double dampening = 0.0, bool nesterov = false, double weight_decay = 0.0);
std::unique_ptr<Optimizer> make_adam(std::vector<Tensor> params, double lr = 1e-3, double beta1 = 0.9,
                                     double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0.0);
std::unique_ptr<Optimizer> make_adamw(std::vector<Tensor> params, double lr = 1e-3, double beta1 = 0.9,
                                      double beta2 = 0.999, double eps = 1e-8, double weight_decay = 1e-2);

}  // namespace kiln
