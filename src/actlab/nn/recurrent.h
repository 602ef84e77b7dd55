// Recurrent layers: RNN, LSTM and GRU with PyTorch's conventions.
//
// Input [T, B, I] ([B, T, I] with batch_first); output [T, B, H] ([B, T, H]); states
// [num_layers, B, H], zeros when not given. Parameters per layer l, in registration order:
// weight_ih_l{l} [G*H, in], weight_hh_l{l} [G*H, H], bias_ih_l{l} [G*H], bias_hh_l{l} [G*H], with
// in = I for layer 0 and H above, and G gates stacked as PyTorch's: RNN 1, LSTM 4 (i, f, g, o),
// GRU 3 (r, z, n). So state_dict() names and layouts match torch.nn.RNN/LSTM/GRU and weights load
// either way. Default init (PyTorch's): every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).
//
// Formulas (act = the activation spec, tanh by default; gates are always sigmoid):
//   RNN   h' = act(W_ih x + b_ih + W_hh h + b_hh)
//   LSTM  i, f, g, o = sigmoid, sigmoid, act, sigmoid of (W_ih x + b_ih + W_hh h + b_hh)
//         c' = f c + i g,  h' = o act(c')
//   GRU   r, z = sigmoid of (W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})
//         n = act(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 - z) n + z h
//
// Speed: per layer, the input projection of all time steps is one GEMM, each step one recurrent
// GEMM and one gate sweep; forward and backward of a layer's whole sequence are one autograd op
// whose backward runs BPTT, ending in one GEMM each for the weight and input gradients.
//
// Requires: float32 or float64 input matching the parameters' dtype; an elementwise activation
// without learnable parameters. Throws Error on a wrong rank, size, dtype or activation spec.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "actlab/activations/activation.h"
#include "actlab/core/generator.h"
#include "actlab/nn/module.h"

namespace actlab::nn {

struct RNNOptions {
  std::int64_t input_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  std::string nonlinearity = "tanh";  // any elementwise registry spec: "tanh", "relu", "elu:0.5"
};

struct GatedRNNOptions {
  std::int64_t input_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  std::string activation = "tanh";  // the candidate's and cell output's activation (not the gates')
};
using LSTMOptions = GatedRNNOptions;
using GRUOptions = GatedRNNOptions;

// The layers' common machinery: parameters and the per-layer recurrent op.
class RecurrentBase : public Module {
 public:
  enum class Cell { rnn, lstm, gru };

  std::string extra_repr() const override;

  std::int64_t input_size, hidden_size, num_layers;
  bool bias, batch_first;
  // weight_ih, weight_hh, bias_ih, bias_hh of each layer (biases undefined without bias).
  struct LayerWeights {
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  };
  std::vector<LayerWeights> layers;

 protected:
  RecurrentBase(std::string type_name, Cell cell, std::int64_t input_size, std::int64_t hidden_size,
                std::int64_t num_layers, bool bias, bool batch_first, const std::string& activation, Generator& gen);
  // (output, h_n, c_n); c0 and c_n only for LSTM.
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& input, const std::optional<Tensor>& h0,
                                         const std::optional<Tensor>& c0);

 private:
  Cell cell_;
  std::shared_ptr<ActivationFunction> activation_;
};

// Elman RNN.
class RNN : public RecurrentBase {
 public:
  explicit RNN(const RNNOptions& options, Generator& gen = default_generator());
  // (output, h_n).
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const std::optional<Tensor>& h0 = std::nullopt);
  std::tuple<Tensor, Tensor> operator()(const Tensor& input, const std::optional<Tensor>& h0 = std::nullopt) {
    return with_hooks([&] { return forward(input, h0); }, input, h0);
  }
};

class LSTM : public RecurrentBase {
 public:
  using State = std::tuple<Tensor, Tensor>;  // (h, c)
  explicit LSTM(const LSTMOptions& options, Generator& gen = default_generator());
  // (output, (h_n, c_n)).
  std::tuple<Tensor, State> forward(const Tensor& input, const std::optional<State>& state = std::nullopt);
  std::tuple<Tensor, State> operator()(const Tensor& input, const std::optional<State>& state = std::nullopt) {
    return with_hooks([&] { return forward(input, state); }, input, state);
  }
};

class GRU : public RecurrentBase {
 public:
  explicit GRU(const GRUOptions& options, Generator& gen = default_generator());
  // (output, h_n).
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const std::optional<Tensor>& h0 = std::nullopt);
  std::tuple<Tensor, Tensor> operator()(const Tensor& input, const std::optional<Tensor>& h0 = std::nullopt) {
    return with_hooks([&] { return forward(input, h0); }, input, h0);
  }
};

}  // namespace actlab::nn
