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
//
// sequence_model: a stack of recurrent layers (RNN, LSTM or GRU, recurrent.h) and a Linear head on
// the last step's hidden state ([N, outputs]) or on every step's ([N, T, outputs]). It reads
// [N, T, I] or [N, 1, T, I] (an image [N, 1, H, W] row by row). `activation` is the RNN's
// nonlinearity, and for LSTM and GRU the candidate's and the cell output's (gates stay sigmoid).
// `init` (not "default") sets each gate's [H, H] block of every W_hh, W_ih and the head by the
// scheme, except "identity", which sets only W_hh (IRNN: with relu, Le et al. 2015) and leaves the
// rest at PyTorch's defaults; biases follow the scheme. `forget_bias` (LSTM, when set) makes the
// forget gate's bias b_if + b_hf that value (Gers et al. 2000; Jozefowicz et al. 2015 use 1).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actlab/nn/layers.h"
#include "actlab/nn/recurrent.h"

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
  std::optional<double> forget_bias{};  // sequence models with LSTM cells only
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

struct SequenceModelShape {
  RecurrentBase::Cell cell = RecurrentBase::Cell::lstm;
  std::int64_t input = 0, hidden = 0, layers = 1, outputs = 0;
  bool per_step = false;  // the head on every step
};

class SequenceModel : public Module {
 public:
  SequenceModel(const SequenceModelShape& shape, const ModelOptions& options);
  // [N, T, I] or [N, 1, T, I] -> [N, outputs] (or [N, T, outputs] per step). Throws Error on
  // another shape.
  Tensor forward(const Tensor& input) override;
  // The input as [N, T, I].
  Tensor steps_of(const Tensor& input) const;
  // The head on the top layer's hidden states [N, T, H] (the last one's unless per step).
  Tensor head_of(const Tensor& hidden_states);
  // The recurrent stack, called with (x, state) of its cell kind.
  RecurrentBase& recurrent() { return *recurrent_; }
  const SequenceModelShape& shape() const { return shape_; }
  // The stack on [N, T, I] from zero states: (output [N, T, H], h_n, c_n (LSTM)), through the
  // stack's own operator(), so its hooks run. `h0`/`c0` are [layers, N, H] or undefined.
  std::tuple<Tensor, Tensor, Tensor> run_stack(const Tensor& x, const Tensor& h0 = {}, const Tensor& c0 = {});

 private:
  SequenceModelShape shape_;
  std::shared_ptr<RecurrentBase> recurrent_;
  std::shared_ptr<Linear> head_;
};

std::shared_ptr<SequenceModel> sequence_model(const SequenceModelShape& shape, const ModelOptions& options = {});

// The parameter counts of the builders above, computed without building anything, so an
// oversized spec can be refused before it allocates. Doubles: a count past 2^63 is still a count.
double mlp_parameters(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t out, Norm norm);
double lenet5_parameters(Norm norm, std::int64_t classes);
double cifar_cnn_parameters(Norm norm, std::int64_t classes);
double resnet_small_parameters(Norm norm, std::int64_t classes, std::int64_t blocks_per_stage);
double sequence_model_parameters(const SequenceModelShape& shape);

}  // namespace actlab::nn
