#include "actlab/io/state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

namespace actlab::io {

void save_state(const std::string& path, const nn::Module& model, const Metadata& metadata,
                const optim::Optimizer* optimizer) {
  NamedTensors tensors = model.state_dict();
  if (optimizer)
    for (auto& [name, tensor] : optimizer->state_dict()) tensors.emplace_back(std::string(kOptimizerPrefix) + name, tensor);
  save_safetensors(path, tensors, metadata);
}

void load_state(const SafetensorsContents& contents, const std::string& origin, nn::Module& model,
                optim::Optimizer* optimizer) {
  std::map<std::string, Tensor> expected;
  for (const auto& [name, tensor] : model.state_dict()) expected.emplace(name, tensor);
  nn::StateDict model_state, optimizer_state;
  std::vector<std::string> problems;
  for (const auto& [name, tensor] : contents.tensors) {
    if (name.starts_with(kOptimizerPrefix)) {
      optimizer_state.emplace_back(name.substr(kOptimizerPrefix.size()), tensor);
      continue;
    }
    const auto it = expected.find(name);
    if (it == expected.end()) {
      problems.push_back(fmt::format("'{}' is not in the model", name));
      continue;
    }
    if (tensor.dtype() != it->second.dtype() || tensor.shape() != it->second.shape())
      problems.push_back(fmt::format("'{}' is {} {} in the file but {} {} in the model", name, tensor.dtype(),
                                     shape_str(tensor.shape()), it->second.dtype(), shape_str(it->second.shape())));
    model_state.emplace_back(name, tensor);
    expected.erase(it);
  }
  for (const auto& [name, tensor] : expected) problems.push_back(fmt::format("'{}' is missing from the file", name));
  ACTLAB_CHECK(problems.empty(), "{}: does not fit this model: {}", origin, fmt::join(problems, "; "));
  // The optimizer checks its own entries and changes nothing when it throws; after it, loading
  // the model cannot fail, since every name, dtype and shape was checked above.
  if (optimizer) {
    try {
      optimizer->load_state_dict(optimizer_state);
    } catch (const Error& e) {
      fail("{}: {}", origin, e.what());
    }
  }
  model.load_state_dict(model_state);
}

Metadata load_state(const std::string& path, nn::Module& model, optim::Optimizer* optimizer) {
  SafetensorsContents contents = load_safetensors(path);
  load_state(contents, path, model, optimizer);
  return std::move(contents.metadata);
}

}  // namespace actlab::io
