// Model and optimizer state in safetensors files (see safetensors.h for the format).
//
// A model file holds the module's state_dict(): parameters and buffers under their dotted names
// ("1.weight", "1.bias", "2.running_mean"), the names PyTorch gives the same nn.Sequential, so
// `model.load_state_dict(safetensors.torch.load_file(path))` works for a model of the same
// structure. A training checkpoint also holds the optimizer's state_dict() under "optimizer."
// names ("optimizer.state.0.exp_avg"); a model loader ignores those, so a checkpoint is also a
// model file. The metadata map is the caller's (see experiment/checkpoint.h for what actlab puts
// there).
//
// load_state() trusts the file no more than load_safetensors() does, then checks that it fits:
// every model tensor present with the model's dtype and shape, no unknown tensor. It throws Error
// listing every offender and changes nothing when it throws.
#pragma once

#include <string>

#include "actlab/io/safetensors.h"
#include "actlab/nn/module.h"
#include "actlab/optim/optimizer.h"

namespace actlab::io {

inline constexpr std::string_view kOptimizerPrefix = "optimizer.";

// Writes `model`'s state (and `optimizer`'s, when given) and `metadata` to `path` atomically.
void save_state(const std::string& path, const nn::Module& model, const Metadata& metadata,
                const optim::Optimizer* optimizer = nullptr);

// Loads `path` into `model` (and into `optimizer`, when given; the file must then hold optimizer
// state, possibly empty before the first step). Returns the file's metadata.
Metadata load_state(const std::string& path, nn::Module& model, optim::Optimizer* optimizer = nullptr);

// Loads already-read contents; `origin` names them in errors.
void load_state(const SafetensorsContents& contents, const std::string& origin, nn::Module& model,
                optim::Optimizer* optimizer = nullptr);

}  // namespace actlab::io
