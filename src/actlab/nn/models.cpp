#include "actlab/nn/models.h"

#include "actlab/nn/activation.h"
#include "actlab/nn/init.h"

namespace actlab::nn {

namespace {

// Creates layers initialized and decorated as ModelOptions say.
class Builder {
 public:
  explicit Builder(const ModelOptions& options)
      : options_(options), gen_(options.seed), gain_(Activation(options.activation).gain()) {
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

  std::shared_ptr<Activation> activation() { return std::make_shared<Activation>(options_.activation); }

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
  double gain_;
  std::uint64_t dropouts_ = 0;
};

}  // namespace

std::shared_ptr<Sequential> mlp(std::int64_t in, const std::vector<std::int64_t>& hidden, std::int64_t out,
                                const ModelOptions& options) {
  Builder b(options);
  auto seq = std::make_shared<Sequential>();
  seq->push_back(std::make_shared<Flatten>());
  std::int64_t width = in;
  for (const std::int64_t h : hidden) {
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

}  // namespace actlab::nn
