// Checkpoints (see checkpoint.h).
#include "trainers/checkpoint.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"

namespace kiln {

namespace {
constexpr const char* kModelKey = "kiln.model";
constexpr const char* kStateKey = "kiln.state";

// JSON has no Inf/NaN: store non-finite doubles as strings.
nlohmann::json number(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}
double number(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "nan") return std::nan("");
  return s == "inf" ? INFINITY : -INFINITY;
}
}  // namespace

void save_checkpoint(const std::string& path, const std::string& model_id, const Module& model,
                     const Optimizer* optimizer, const TrainingState& s) {
  TensorMap tensors;
  for (const auto& [name, t] : model.state_dict()) tensors["model." + name] = t;
  if (optimizer)
    for (const auto& [name, t] : optimizer->state_dict()) tensors["optim." + name] = t;
  nlohmann::json j;
  j["epoch"] = s.epoch;
  j["seed"] = s.seed;
  j["rng_offset"] = s.rng_offset;
  j["best_metric"] = number(s.best_metric);
  j["best_epoch"] = s.best_epoch;
  j["bad_epochs"] = s.bad_epochs;
  nlohmann::json history = nlohmann::json::array();
  for (const auto& row : s.history) {
    nlohmann::json r = nlohmann::json::array();
    for (double v : row) r.push_back(number(v));
    history.push_back(r);
  }
  j["history"] = history;
  nlohmann::json scalars = nlohmann::json::object();
  for (const auto& [k, v] : s.scalars) scalars[k] = number(v);
  j["scalars"] = scalars;
  save_safetensors(path, tensors, {{kModelKey, model_id}, {kStateKey, j.dump()}});
}

TrainingState load_checkpoint(const std::string& path, const std::string& model_id, Module& model,
                              Optimizer* optimizer) {
  const SafetensorsContents c = load_safetensors(path);
  auto meta = c.metadata.find(kModelKey);
  KILN_CHECK(meta != c.metadata.end() && c.metadata.count(kStateKey), path,
             ": not a kiln training checkpoint (no kiln.model / kiln.state metadata)");
  KILN_CHECK(meta->second == model_id, path, ": checkpoint of model '", meta->second,
             "', but this run trains '", model_id, "'");
  TensorMap model_state, optim_state;
  for (const auto& [name, t] : c.tensors) {
    if (name.rfind("model.", 0) == 0)
      model_state[name.substr(6)] = t;
    else if (name.rfind("optim.", 0) == 0)
      optim_state[name.substr(6)] = t;
  }
  try {
    model.load_state_dict(model_state);
    if (optimizer) optimizer->load_state_dict(optim_state);
  } catch (const Error& e) {
    KILN_FAIL(path, ": ", e.what());
  }
  TrainingState s;
  try {
    const auto j = nlohmann::json::parse(c.metadata.at(kStateKey));
    s.epoch = j.at("epoch").get<int64_t>();
    s.seed = j.at("seed").get<uint64_t>();
    s.rng_offset = j.at("rng_offset").get<uint64_t>();
    s.best_metric = number(j.at("best_metric"));
    s.best_epoch = j.at("best_epoch").get<int64_t>();
    s.bad_epochs = j.at("bad_epochs").get<int64_t>();
    for (const auto& row : j.at("history")) {
      std::vector<double> r;
      for (const auto& v : row) r.push_back(number(v));
      s.history.push_back(r);
    }
    for (const auto& [k, v] : j.at("scalars").items()) s.scalars[k] = number(v);
  } catch (const nlohmann::json::exception& e) {
    KILN_FAIL(path, ": corrupt training state in the checkpoint metadata (", e.what(), ")");
  }
  return s;
}

}  // namespace kiln
