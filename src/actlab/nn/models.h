// Model builders for the standard networks of the literature, parameterised the same way so
// they can be compared with one knob changed:
//
//   activation  any registry spec ("relu", "leaky_relu:0.1", "gelu", ...), used after every hidden layer
//   init        an init registry spec ("he", "xavier:gain=auto", see init.h) applied to every
//               Linear and Conv2d weight and bias ("auto" is the activation's gain), or
//               "default" to keep each layer's own (PyTorch's) default
//   norm        None, Batch (BatchNorm1d/2d) or Layer (LayerNorm over each layer's features),
//               placed between each hidden layer and its activation
//   dropout     probability of a Dropout after each hidden fully-connected activation (0 = none)
//   seed        drives the initialization and the dropout masks
//
// Shapes: mlp takes [N, in] (or anything flattening to it); lenet5 [N, 1, 28, 28];
// cifar_cnn and resnet_small [N, 3, 32, 32]. All return logits [N, classes].
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actlab/nn/layers.h"

namespace actlab::nn {

enum class Norm { None, Batch, Layer };

struct ModelOptions {
  std::string activation = "relu";
  // mlp only: one activation spec per hidden layer (empty: `activation` after every one).
  std::vector<std::string> layer_activations = {};
  std::string init = "default";
  Norm norm = Norm::None;
  double dropout = 0.0;
  std::uint64_t seed = 0;
};

// Flatten, then Linear(in, h1) [norm] act [dropout] ... Linear(h_last, out). Throws Error when
// layer_activations is given but does not hold one spec per hidden layer.
std::shared_ptr<Sequential> mlp(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t out,
                                const ModelOptions& options = {});

// LeNet-5 (LeCun et al. 1998) with max pooling: conv5x5(6, pad 2) pool conv5x5(16) pool
// fc120 fc84 fc(classes).
std::shared_ptr<Sequential> lenet5(const ModelOptions& options = {}, std::int64_t classes = 10);

// VGG-style CIFAR network: conv3x3 32-32-pool-64-64-pool-fc512-fc(classes), padding 1.
std::shared_ptr<Sequential> cifar_cnn(const ModelOptions& options = {}, std::int64_t classes = 10);

// CIFAR ResNet (He et al. 2016, section 4.2): conv3x3(16), three stages of `blocks_per_stage`
// basic blocks with 16, 32, 64 channels (stride 2 and a 1x1 projection shortcut where the shape
// changes), global average pooling, fc(classes). blocks_per_stage 3 is ResNet-20.
std::shared_ptr<Sequential> resnet_small(const ModelOptions& options = {}, std::int64_t classes = 10,
                                         std::int64_t blocks_per_stage = 3);

// The parameter counts of the builders above, computed without building anything, so an
// oversized spec can be refused before it allocates. Doubles: a count past 2^63 is still a count.
double mlp_parameters(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t out, Norm norm);
double lenet5_parameters(Norm norm, std::int64_t classes);
double cifar_cnn_parameters(Norm norm, std::int64_t classes);
double resnet_small_parameters(Norm norm, std::int64_t classes, std::int64_t blocks_per_stage);

}  // namespace actlab::nn
