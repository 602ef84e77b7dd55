#include "actlab/nn/models.h"

#include "actlab/nn/activation.h"
#include "actlab/nn/init.h"

namespace actlab::nn {

namespace {

// Creates layers initialized and decorated as ModelOptions say.
class Builder {
 public:
  explicit Builder(const ModelOptions& options)
      : options_(options), gen_(options.seed), activation_(options.activation), gain_(Activation(activation_).gain()) {
    ACTLAB_CHECK(options.dropout >= 0 && options.dropout < 1, "model: dropout must be in [0, 1), got {}",
                 options.dropout);
    init::parse(options.init);  // validates the spec before any layer is made
  }

  std::shared_ptr<Linear> linear(std::int64_t in, std::int64_t out) {
    auto layer = std::make_shared<Linear>(in, out, LinearOptions{}, gen_);
    initialize(layer->weight, layer->bias);
    return layer;
  }

  std::shared_ptr<Conv2d> conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                               std::int64_t padding) {
    auto layer = std::make_shared<Conv2d>(
        in, out, kernel,
        Conv2dOptions{.stride = {stride, stride}, .padding = {padding, padding}, .bias = options_.norm == Norm::None},
        gen_);
    initialize(layer->weight, layer->bias);
    return layer;
  }

  // Appends the normalization of `features` (the per-sample shape: {F} or {C, H, W}), if any.
  void norm(Sequential& seq, const Shape& features) {
    if (options_.norm == Norm::Batch) {
      if (features.size() == 1)
        seq.push_back(std::make_shared<BatchNorm1d>(features[0]));
      else
        seq.push_back(std::make_shared<BatchNorm2d>(features[0]));
    } else if (options_.norm == Norm::Layer) {
      seq.push_back(std::make_shared<LayerNorm>(features));
    }
  }

  std::shared_ptr<Activation> activation() { return std::make_shared<Activation>(activation_); }

  // The activation (and the init gain) of the layers made next: hidden layer `index`'s spec from
  // layer_activations, when given.
  void use_layer_activation(std::size_t index) {
    if (options_.layer_activations.empty()) return;
    activation_ = options_.layer_activations.at(index);
    gain_ = Activation(activation_).gain();
  }

  // [norm] activation [dropout] after a hidden fully-connected layer of `features` outputs.
  void hidden_dense(Sequential& seq, std::int64_t features) {
    norm(seq, {features});
    seq.push_back(activation());
    if (options_.dropout > 0) seq.push_back(std::make_shared<Dropout>(options_.dropout, options_.seed + ++dropouts_));
  }

  // conv [norm] activation, tracking the spatial size.
  void conv_block(Sequential& seq, std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t padding,
                  std::int64_t& size) {
    seq.push_back(conv(in, out, kernel, 1, padding));
    size = size + 2 * padding - kernel + 1;
    norm(seq, {out, size, size});
    seq.push_back(activation());
  }

 private:
  void initialize(const Tensor& weight, const Tensor& bias) {
    if (options_.init == "default") return;
    init::apply(options_.init, weight, bias, gain_, gen_);
  }

  ModelOptions options_;
  Generator gen_;
  std::string activation_;
  double gain_;
  std::uint64_t dropouts_ = 0;
};

}  // namespace

std::shared_ptr<Sequential> mlp(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t out,
                                const ModelOptions& options) {
  ACTLAB_CHECK(options.layer_activations.empty() || options.layer_activations.size() == hidden.size(),
               "mlp: {} layer activations for {} hidden layers; give one per hidden layer (or none)",
               options.layer_activations.size(), hidden.size());
  Builder b(options);
  auto seq = std::make_shared<Sequential>();
  seq->push_back(std::make_shared<Flatten>());
  std::int64_t width = in;
  for (std::size_t i = 0; i < hidden.size(); ++i) {
    const std::int64_t h = hidden[i];
    b.use_layer_activation(i);
    seq->push_back(b.linear(width, h));
    b.hidden_dense(*seq, h);
    width = h;
  }
  seq->push_back(b.linear(width, out));
  return seq;
}

std::shared_ptr<Sequential> lenet5(const ModelOptions& options, std::int64_t classes) {
  Builder b(options);
  auto seq = std::make_shared<Sequential>();
  std::int64_t size = 28;
  b.conv_block(*seq, 1, 6, 5, 2, size);
  seq->push_back(std::make_shared<MaxPool2d>(2));
  size /= 2;
  b.conv_block(*seq, 6, 16, 5, 0, size);
  seq->push_back(std::make_shared<MaxPool2d>(2));
  size /= 2;
  seq->push_back(std::make_shared<Flatten>());
  seq->push_back(b.linear(16 * size * size, 120));
  b.hidden_dense(*seq, 120);
  seq->push_back(b.linear(120, 84));
  b.hidden_dense(*seq, 84);
  seq->push_back(b.linear(84, classes));
  return seq;
}

std::shared_ptr<Sequential> cifar_cnn(const ModelOptions& options, std::int64_t classes) {
  Builder b(options);
  auto seq = std::make_shared<Sequential>();
  std::int64_t size = 32, channels = 3;
  for (const std::int64_t width : {32, 64}) {
    b.conv_block(*seq, channels, width, 3, 1, size);
    b.conv_block(*seq, width, width, 3, 1, size);
    seq->push_back(std::make_shared<MaxPool2d>(2));
    size /= 2;
    channels = width;
  }
  seq->push_back(std::make_shared<Flatten>());
  seq->push_back(b.linear(channels * size * size, 512));
  b.hidden_dense(*seq, 512);
  seq->push_back(b.linear(512, classes));
  return seq;
}

std::shared_ptr<Sequential> resnet_small(const ModelOptions& options, std::int64_t classes, std::int64_t blocks) {
  ACTLAB_CHECK(blocks >= 1, "resnet_small: blocks_per_stage must be >= 1, got {}", blocks);
  Builder b(options);
  auto seq = std::make_shared<Sequential>();
  std::int64_t size = 32, channels = 16;
  b.conv_block(*seq, 3, channels, 3, 1, size);
  for (const std::int64_t width : {16, 32, 64}) {
    for (std::int64_t i = 0; i < blocks; ++i) {
      const std::int64_t stride = (i == 0 && width != 16) ? 2 : 1;
      const std::int64_t out_size = (size - 1) / stride + 1;
      auto body = std::make_shared<Sequential>();
      body->push_back(b.conv(channels, width, 3, stride, 1));
      b.norm(*body, {width, out_size, out_size});
      body->push_back(b.activation());
      body->push_back(b.conv(width, width, 3, 1, 1));
      b.norm(*body, {width, out_size, out_size});
      std::shared_ptr<Sequential> shortcut;
      if (stride != 1 || channels != width) {
        shortcut = std::make_shared<Sequential>();
        shortcut->push_back(b.conv(channels, width, 1, stride, 0));
        b.norm(*shortcut, {width, out_size, out_size});
      }
      seq->push_back(std::make_shared<Residual>(body, shortcut));
      seq->push_back(b.activation());
      channels = width;
      size = out_size;
    }
  }
  seq->push_back(std::make_shared<AdaptiveAvgPool2d>(std::array<std::int64_t, 2>{1, 1}));
  seq->push_back(std::make_shared<Flatten>());
  seq->push_back(b.linear(channels, classes));
  return seq;
}

// ---- sequence models ----

namespace {

std::int64_t gates_of(RecurrentBase::Cell cell) {
  return cell == RecurrentBase::Cell::rnn ? 1 : cell == RecurrentBase::Cell::lstm ? 4 : 3;
}

std::shared_ptr<RecurrentBase> make_stack(const SequenceModelShape& s, const std::string& activation, Generator& gen) {
  const GatedRNNOptions gated{s.input, s.hidden, s.layers, true, true, activation};
  switch (s.cell) {
    case RecurrentBase::Cell::rnn: return std::make_shared<RNN>(RNNOptions{s.input, s.hidden, s.layers, true, true, activation}, gen);
    case RecurrentBase::Cell::lstm: return std::make_shared<LSTM>(gated, gen);
    case RecurrentBase::Cell::gru: break;
  }
  return std::make_shared<GRU>(gated, gen);
}

}  // namespace

SequenceModel::SequenceModel(const SequenceModelShape& shape, const ModelOptions& options)
    : Module("SequenceModel"), shape_(shape) {
  ACTLAB_CHECK(shape.outputs > 0, "sequence_model: needs at least one output, got {}", shape.outputs);
  ACTLAB_CHECK(!options.forget_bias || shape.cell == RecurrentBase::Cell::lstm,
               "sequence_model: forget_bias applies to LSTM cells only; drop it or use an lstm model");
  init::parse(options.init);
  Generator gen(options.seed);
  recurrent_ = register_module("recurrent", make_stack(shape, options.activation, gen));
  head_ = register_module("head", std::make_shared<Linear>(shape.hidden, shape.outputs, LinearOptions{}, gen));
  const bool identity = options.init != "default" && init::parse(options.init).scheme->name == "identity";
  const double gain = Activation(options.activation).gain();
  const std::int64_t h = shape.hidden;
  for (const auto& w : recurrent_->layers) {
    if (options.init != "default") {
      for (std::int64_t g = 0; g < gates_of(shape.cell); ++g)
        init::apply(options.init, w.weight_hh.narrow(0, g * h, h), w.bias_hh.narrow(0, g * h, h), gain, gen);
      if (identity)
        init::zeros_(w.bias_ih);
      else
        init::apply(options.init, w.weight_ih, w.bias_ih, gain, gen);
    }
    if (options.forget_bias) {  // gate order i, f, g, o
      init::constant_(w.bias_ih.narrow(0, h, h), *options.forget_bias);
      init::zeros_(w.bias_hh.narrow(0, h, h));
    }
  }
  if (options.init != "default" && !identity) init::apply(options.init, head_->weight, head_->bias, gain, gen);
}

Tensor SequenceModel::steps_of(const Tensor& input) const {
  const bool image = input.dim() == 4 && input.size(1) == 1;
  ACTLAB_CHECK((input.dim() == 3 || image) && input.size(input.dim() - 1) == shape_.input,
               "SequenceModel: input must be [N, T, {0}] or [N, 1, T, {0}], got shape {1}", shape_.input,
               shape_str(input.shape()));
  return image ? input.select(1, 0) : input;
}

std::tuple<Tensor, Tensor, Tensor> SequenceModel::run_stack(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  const auto state = [](const Tensor& t) { return t.defined() ? std::optional<Tensor>(t) : std::nullopt; };
  if (auto* lstm = dynamic_cast<LSTM*>(recurrent_.get())) {
    std::optional<LSTM::State> initial;
    if (h0.defined()) initial = LSTM::State{h0, c0};
    auto [output, final_state] = (*lstm)(x, initial);
    return {output, std::get<0>(final_state), std::get<1>(final_state)};
  }
  if (auto* gru = dynamic_cast<GRU*>(recurrent_.get())) {
    auto [output, h_n] = (*gru)(x, state(h0));
    return {output, h_n, Tensor()};
  }
  auto [output, h_n] = static_cast<RNN&>(*recurrent_)(x, state(h0));
  return {output, h_n, Tensor()};
}

Tensor SequenceModel::head_of(const Tensor& hidden_states) {
  if (shape_.per_step) {
    const std::int64_t n = hidden_states.size(0), steps = hidden_states.size(1);
    return (*head_)(hidden_states.reshape({n * steps, shape_.hidden})).reshape({n, steps, shape_.outputs});
  }
  return (*head_)(hidden_states.select(1, hidden_states.size(1) - 1));
}

Tensor SequenceModel::forward(const Tensor& input) { return head_of(std::get<0>(run_stack(steps_of(input)))); }

std::shared_ptr<SequenceModel> sequence_model(const SequenceModelShape& shape, const ModelOptions& options) {
  return std::make_shared<SequenceModel>(shape, options);
}

double sequence_model_parameters(const SequenceModelShape& s) {
  const double gh = static_cast<double>(gates_of(s.cell) * s.hidden), h = static_cast<double>(s.hidden);
  double count = 0;
  for (std::int64_t l = 0; l < s.layers; ++l) count += gh * (static_cast<double>(l == 0 ? s.input : s.hidden) + h + 2);
  return count + (h + 1) * static_cast<double>(s.outputs);
}

// ---- parameter counts: the same layers as the builders, counted ----

namespace {

double linear_parameters(double in, double out) { return (in + 1) * out; }

// Convolutions carry a bias only without normalization (the norm's shift replaces it).
double conv_parameters(double in, double out, double kernel, Norm norm) {
  return in * out * kernel * kernel + (norm == Norm::None ? out : 0);
}

double norm_parameters(Norm norm, const Shape& features) {
  if (norm == Norm::Batch) return 2.0 * static_cast<double>(features[0]);
  if (norm == Norm::Layer) return 2.0 * static_cast<double>(numel_of(features));
  return 0;
}

// conv [norm] over a square input of `size`, which it updates.
double conv_block_parameters(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t padding,
                             std::int64_t& size, Norm norm) {
  size = size + 2 * padding - kernel + 1;
  return conv_parameters(static_cast<double>(in), static_cast<double>(out), static_cast<double>(kernel), norm) +
         norm_parameters(norm, {out, size, size});
}

double dense_parameters(std::int64_t in, std::int64_t out, Norm norm) {
  return linear_parameters(static_cast<double>(in), static_cast<double>(out)) + norm_parameters(norm, {out});
}

}  // namespace

double mlp_parameters(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t out, Norm norm) {
  double count = 0;
  std::int64_t width = in;
  for (const std::int64_t h : hidden) {
    count += dense_parameters(width, h, norm);
    width = h;
  }
  return count + linear_parameters(static_cast<double>(width), static_cast<double>(out));
}

double lenet5_parameters(Norm norm, std::int64_t classes) {
  std::int64_t size = 28;
  double count = conv_block_parameters(1, 6, 5, 2, size, norm);
  size /= 2;
  count += conv_block_parameters(6, 16, 5, 0, size, norm);
  size /= 2;
  return count + dense_parameters(16 * size * size, 120, norm) + dense_parameters(120, 84, norm) +
         linear_parameters(84, static_cast<double>(classes));
}

double cifar_cnn_parameters(Norm norm, std::int64_t classes) {
  std::int64_t size = 32, channels = 3;
  double count = 0;
  for (const std::int64_t width : {32, 64}) {
    count += conv_block_parameters(channels, width, 3, 1, size, norm);
    count += conv_block_parameters(width, width, 3, 1, size, norm);
    size /= 2;
    channels = width;
  }
  return count + dense_parameters(channels * size * size, 512, norm) + linear_parameters(512, static_cast<double>(classes));
}

double resnet_small_parameters(Norm norm, std::int64_t classes, std::int64_t blocks) {
  std::int64_t size = 32, channels = 16;
  double count = conv_block_parameters(3, channels, 3, 1, size, norm);
  for (const std::int64_t width : {16, 32, 64}) {
    for (std::int64_t i = 0; i < blocks; ++i) {
      const std::int64_t stride = (i == 0 && width != 16) ? 2 : 1;
      const std::int64_t out_size = (size - 1) / stride + 1;
      const double w = static_cast<double>(width);
      const double block_norm = norm_parameters(norm, {width, out_size, out_size});
      count += conv_parameters(static_cast<double>(channels), w, 3, norm) + conv_parameters(w, w, 3, norm) + 2 * block_norm;
      if (stride != 1 || channels != width) count += conv_parameters(static_cast<double>(channels), w, 1, norm) + block_norm;
      channels = width;
      size = out_size;
    }
  }
  return count + linear_parameters(static_cast<double>(channels), static_cast<double>(classes));
}

}  // namespace actlab::nn
