// Module bookkeeping: names, state dicts, modes, gradients and device moves.
#include "layers/module.h"

#include <set>
#include <sstream>

#include "core/autograd.h"

namespace kiln {

Tensor& Module::register_parameter(const std::string& name, Tensor value) {
  KILN_CHECK(value.defined(), "register_parameter: '", name, "' is undefined");
  value.set_requires_grad(true);
  parameters_.emplace_back(name, std::make_unique<Tensor>(std::move(value)));
  return *parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  KILN_CHECK(value.defined(), "register_buffer: '", name, "' is undefined");
  buffers_.emplace_back(name, std::make_unique<Tensor>(std::move(value)));
  return *buffers_.back().second;
}

void Module::collect(const std::string& prefix, Kind kind, NamedTensors& out) const {
  for (const auto& [name, t] : kind == Kind::Parameters ? parameters_ : buffers_)
    out.emplace_back(prefix + name, *t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", kind, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", Kind::Parameters, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", Kind::Buffers, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

TensorMap Module::state_dict() const {
  TensorMap out;
  for (auto& [name, t] : named_parameters()) out[name] = t;
  for (auto& [name, t] : named_buffers()) out[name] = t;
  return out;
}

void Module::load_state_dict(const TensorMap& state, bool strict) {
  const TensorMap mine = state_dict();
  if (strict) {
    std::string missing, unexpected;
    for (const auto& [name, t] : mine)
      if (!state.count(name)) missing += (missing.empty() ? "" : ", ") + name;
    for (const auto& [name, t] : state)
      if (!mine.count(name)) unexpected += (unexpected.empty() ? "" : ", ") + name;
    KILN_CHECK(missing.empty() && unexpected.empty(), "load_state_dict: the state does not fit this model",
               missing.empty() ? "" : "; missing: " + missing,
               unexpected.empty() ? "" : "; unexpected: " + unexpected);
  }
  NoGradGuard no_grad;
  for (const auto& [name, target] : mine) {
    auto it = state.find(name);
    if (it == state.end()) continue;
    KILN_CHECK(it->second.shape() == target.shape(), "load_state_dict: '", name, "' has shape ",
               shape_str(it->second.shape()), " in the state but ", shape_str(target.shape()),
               " in the model");
    Tensor dst = target;
    dst.copy_(it->second);
  }
}

void Module::save(const std::string& path, const Metadata& metadata) const {
  save_safetensors(path, state_dict(), metadata);
}

void Module::load(const std::string& path, bool strict) {
  try {
    load_state_dict(load_safetensors(path).tensors, strict);
  } catch (const Error& e) {
    KILN_FAIL(path, ": ", e.what());
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  NoGradGuard no_grad;
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (g.defined() && g.device() == p.device() && g.shape() == p.shape())
      g.zero_();
    else
      p.set_grad(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  auto move = [&](const Tensor& t) {
    if (t.device() == device) return;
    t.set_data(t.to(device));
    if (t.grad().defined()) t.set_grad(t.grad().to(device));
  };
  for (auto& [name, t] : named_parameters()) move(t);
  for (auto& [name, t] : named_buffers()) move(t);
}

void Module::str_into(std::string& out, const std::string& name, int indent) const {
  out += std::string(indent, ' ') + (name.empty() ? "" : "(" + name + "): ") + describe();
  if (children_.empty()) {
    out += "\n";
    return;
  }
  out += " (\n";
  for (const auto& [child_name, child] : children_) child->str_into(out, child_name, indent + 2);
  out += std::string(indent, ' ') + ")\n";
}

std::string Module::str() const {
  std::string out;
  str_into(out, "", 0);
  return out;
}

}  // namespace kiln
