// Optimizers (see optim.h): host-side bookkeeping around the fused update kernels.
#include "trainers/optim.h"

#include <cmath>
#include <type_traits>

#include "core/autograd.h"
#include "core/device_dispatch.h"
#include "core/ops/cpu_variants.h"
#include "kernels/cpu/optimizer_vectorized.h"

namespace kiln {

struct Optimizer::CudaTable {
#if KILN_HAS_CUDA
  kernels::cuda::MultiTensorTable table;
#endif
};

namespace {
void check_hyper(const kernels::OptimizerHyper& h) {
  KILN_CHECK(std::isfinite(h.lr) && h.lr >= 0, "optimizer: lr must be a finite number >= 0, got ", h.lr);
  KILN_CHECK(h.weight_decay >= 0, "optimizer: weight_decay must be >= 0, got ", h.weight_decay);
  if (h.kind == kernels::OptimizerKind::SGD) {
    KILN_CHECK(h.momentum >= 0, "SGD: momentum must be >= 0, got ", h.momentum);
    KILN_CHECK(!h.nesterov || (h.momentum > 0 && h.dampening == 0),
               "SGD: nesterov needs momentum > 0 and dampening 0");
  } else {
    KILN_CHECK(h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1,
               "Adam: betas must be in [0, 1), got ", h.beta1, ", ", h.beta2);
    KILN_CHECK(h.eps >= 0, "Adam: eps must be >= 0, got ", h.eps);
  }
}
}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, const kernels::OptimizerHyper& hyper)
    : params_(std::move(params)), hyper_(hyper), cuda_table_(std::make_unique<CudaTable>()) {
  check_hyper(hyper_);
  KILN_CHECK(!params_.empty(), "optimizer: no parameters to optimise");
  const Device device = params_[0].device();
  const DType dtype = params_[0].dtype();
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    KILN_CHECK(p.requires_grad() && p.is_leaf(), "optimizer: parameter ", i,
               " is not a leaf that requires grad");
    KILN_CHECK(p.device() == device && p.dtype() == dtype && p.is_contiguous(), "optimizer: parameter ", i,
               " must be a contiguous ", dtype_name(dtype), " tensor on ", device.str(), " like parameter 0");
    KILN_CHECK(!device.is_cuda() || dtype == DType::Float32, "optimizer: CUDA parameters must be float32");
    if (!p.grad().defined()) p.set_grad(Tensor::zeros(p.shape(), dtype, device));
    const bool sgd = hyper_.kind == kernels::OptimizerKind::SGD;
    state0_.push_back(sgd && hyper_.momentum == 0 ? Tensor() : Tensor::zeros(p.shape(), dtype, device));
    state1_.push_back(sgd ? Tensor() : Tensor::zeros(p.shape(), dtype, device));
  }
  step_ = Tensor::zeros({1}, DType::Int64, device);
}

Optimizer::~Optimizer() = default;

void Optimizer::zero_grad() {
  NoGradGuard no_grad;
  for (Tensor& p : params_) {
    Tensor g = p.grad();
    if (g.defined())
      g.zero_();
    else
      p.set_grad(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

void Optimizer::set_lr(double lr) {
  kernels::OptimizerHyper h = hyper_;
  h.lr = lr;
  check_hyper(h);
  hyper_ = h;
}

void Optimizer::check_table() {
#if KILN_HAS_CUDA
  std::vector<kernels::ParamSlot<float>> slots;
  for (size_t i = 0; i < params_.size(); ++i)
    slots.push_back({params_[i].data<float>(), params_[i].grad().data<float>(),
                     state0_[i].defined() ? state0_[i].data<float>() : nullptr,
                     state1_[i].defined() ? state1_[i].data<float>() : nullptr, params_[i].numel()});
  // Rebuilt only if a buffer moved (e.g. a gradient was replaced by set_grad).
  if (!cuda_table_->table.matches(slots)) cuda_table_->table = kernels::cuda::MultiTensorTable(slots);
#endif
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    KILN_CHECK(g.defined() && g.shape() == params_[i].shape() && g.device() == params_[i].device() &&
                   g.is_contiguous(),
               "optimizer: parameter ", i, " has no usable gradient (call backward first)");
  }
  const Device device = params_[0].device();
  if (device.is_cuda()) {
    check_table();
#if KILN_HAS_CUDA
    kernels::cuda::optimizer_step(hyper_, cuda_table_->table, step_.data<int64_t>());
#endif
    return;
  }
  auto run = [&]<typename T>() {
    std::vector<kernels::ParamSlot<T>> slots;
    for (size_t i = 0; i < params_.size(); ++i)
      slots.push_back({params_[i].data<T>(), params_[i].grad().data<T>(),
                       state0_[i].defined() ? state0_[i].data<T>() : nullptr,
                       state1_[i].defined() ? state1_[i].data<T>() : nullptr, params_[i].numel()});
    if constexpr (std::is_same_v<T, float>)
      if (cpu_fast_kernels_enabled() && kernels::cpu::optimizer_vectorized_supports(hyper_))
        return kernels::cpu::optimizer_step_vectorized(hyper_, slots, step_.data<int64_t>());
    kernels::cpu::optimizer_step<T>(hyper_, slots, step_.data<int64_t>());
  };
  if (params_[0].dtype() == DType::Float64)
    run.template operator()<double>();
  else
    run.template operator()<float>();
}

int64_t Optimizer::step_count() const { return step_.item<int64_t>(); }

TensorMap Optimizer::state_dict() const {
  TensorMap out;
  out["step"] = step_;
  const bool sgd = hyper_.kind == kernels::OptimizerKind::SGD;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    if (state0_[i].defined()) out[prefix + (sgd ? "momentum_buffer" : "exp_avg")] = state0_[i];
    if (state1_[i].defined()) out[prefix + "exp_avg_sq"] = state1_[i];
  }
  return out;
}

void Optimizer::load_state_dict(const TensorMap& state) {
  const TensorMap mine = state_dict();
  for (const auto& [name, t] : mine)
    KILN_CHECK(state.count(name), "optimizer state: missing '", name, "' (was the checkpoint written for ",
               "another model or optimizer?)");
  for (const auto& [name, t] : state)
    KILN_CHECK(mine.count(name), "optimizer state: unexpected entry '", name, "'");
  NoGradGuard no_grad;
  for (const auto& [name, target] : mine) {
    const Tensor& src = state.at(name);
    KILN_CHECK(src.shape() == target.shape(), "optimizer state: '", name, "' has shape ",
               shape_str(src.shape()), ", expected ", shape_str(target.shape()));
    Tensor dst = target;
    dst.copy_(src);
  }
}

std::unique_ptr<Optimizer> make_sgd(std::vector<Tensor> params, double lr, double momentum, double dampening,
                                    bool nesterov, double weight_decay) {
  kernels::OptimizerHyper h;
  h.kind = kernels::OptimizerKind::SGD;
  h.lr = lr;
  h.momentum = momentum;
  h.dampening = dampening;
  h.nesterov = nesterov;
  h.weight_decay = weight_decay;
  return std::make_unique<Optimizer>(std::move(params), h);
}

namespace {
kernels::OptimizerHyper adam_hyper(kernels::OptimizerKind kind, double lr, double beta1, double beta2,
                                   double eps, double weight_decay) {
  kernels::OptimizerHyper h;
  h.kind = kind;
  h.lr = lr;
  h.beta1 = beta1;
  h.beta2 = beta2;
  h.eps = eps;
  h.weight_decay = weight_decay;
  return h;
}
}  // namespace

std::unique_ptr<Optimizer> make_adam(std::vector<Tensor> params, double lr, double beta1, double beta2,
                                     double eps, double weight_decay) {
  return std::make_unique<Optimizer>(
      std::move(params), adam_hyper(kernels::OptimizerKind::Adam, lr, beta1, beta2, eps, weight_decay));
}

std::unique_ptr<Optimizer> make_adamw(std::vector<Tensor> params, double lr, double beta1, double beta2,
                                      double eps, double weight_decay) {
  return std::make_unique<Optimizer>(
      std::move(params), adam_hyper(kernels::OptimizerKind::AdamW, lr, beta1, beta2, eps, weight_decay));
}

}  // namespace kiln
