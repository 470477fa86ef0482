// Module: the building block of networks, as torch.nn.Module. A module owns named
// parameters (trainable tensors), named buffers (state such as batch-norm running
// statistics) and named child modules; the dotted names it produces ("layer1.0.bn1.weight")
// are PyTorch's, so a state dict saved by either framework loads in the other.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/nn.h"
#include "core/safetensors.h"
#include "core/tensor.h"

namespace kiln {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
  // A short description for printing ("Linear(in=13, out=50)").
  virtual std::string describe() const = 0;

  // Recursive, in registration order, with dotted names.
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;  // total elements

  // Parameters and buffers by name (the tensors themselves, not copies).
  TensorMap state_dict() const;
  // Copies values into the existing tensors (device and dtype preserved). With strict,
  // missing or unexpected names and any shape mismatch are errors naming the entry.
  void load_state_dict(const TensorMap& state, bool strict = true);
  void save(const std::string& path, const Metadata& metadata = {}) const;
  void load(const std::string& path, bool strict = true);

  // Training mode (dropout active, batch norm on batch statistics) for this module and
  // every descendant.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  Phase phase() const { return training_ ? Phase::Train : Phase::Eval; }

  // Sets every parameter's gradient to zero, allocating it once on first use: the
  // gradient buffers then keep their addresses for the whole run (fused optimizers and
  // CUDA graphs rely on that).
  void zero_grad();

  // Moves every parameter and buffer to `device` in place: tensors held elsewhere (an
  // optimizer, a test) see the move, as with torch's module.to().
  void to(Device device);

  // The module tree as text, like printing a torch module.
  std::string str() const;

 protected:
  // Registration returns a reference valid for the module's lifetime.
  Tensor& register_parameter(const std::string& name, Tensor value);
  Tensor& register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  enum class Kind { Parameters, Buffers };
  void collect(const std::string& prefix, Kind kind, NamedTensors& out) const;
  void str_into(std::string& out, const std::string& name, int indent) const;

  // Stable addresses: std::deque would do too; unique_ptr keeps the intent explicit.
  std::vector<std::pair<std::string, std::unique_ptr<Tensor>>> parameters_;
  std::vector<std::pair<std::string, std::unique_ptr<Tensor>>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace kiln
