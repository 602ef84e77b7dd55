// Layers: modules around the kernels of functional.h.
//
// Options are aggregates, so calls read like nn::Conv2d(3, 32, 3, {.padding = 1}). Every layer
// states its parameters' shapes and their default initialization; initializers in init.h can
// re-initialize them (model builders do, by name). Parameters are float32 on creation; call
// Module::to(kFloat64) for gradcheck.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>

#include "actlab/core/generator.h"
#include "actlab/nn/any_module.h"
#include "actlab/nn/functional.h"
#include "actlab/nn/module.h"

namespace actlab::nn {

struct LinearOptions {
  bool bias = true;
};

// y = x W^T + b. weight [out, in], bias [out].
// Default init ("standard", as PyTorch): weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, LinearOptions options = {},
         Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Tensor weight, bias;  // bias undefined without bias
  std::int64_t in_features, out_features;
};

struct Conv2dOptions {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
  bool bias = true;
};

// 2-D convolution. weight [out, in / groups, k, k], bias [out]. in and out must divide by groups.
// Default init ("standard", as PyTorch): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups*k*k.
class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, Conv2dOptions options = {},
         Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Tensor weight, bias;
  Conv2dOptions options;
};

// stride 0 means "equal to the kernel size" (PyTorch's default).
struct Pool2dOptions {
  std::int64_t stride = 0;
  std::int64_t padding = 0;
};

// Max or average pooling over k x k windows (average: padding counts in the divisor).
// No parameters.
class Pool2d : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  functional::Pool2dParams params;

 protected:
  Pool2d(std::string type_name, std::int64_t kernel_size, Pool2dOptions options, bool max);

 private:
  bool max_;
};

class MaxPool2d : public Pool2d {
 public:
  explicit MaxPool2d(std::int64_t kernel_size, Pool2dOptions options = {})
      : Pool2d("MaxPool2d", kernel_size, options, true) {}
};

class AvgPool2d : public Pool2d {
 public:
  explicit AvgPool2d(std::int64_t kernel_size, Pool2dOptions options = {})
      : Pool2d("AvgPool2d", kernel_size, options, false) {}
};

// Mean over adaptive windows giving [N, C, oh, ow]; AdaptiveAvgPool2d({1, 1}) is global average
// pooling. No parameters.
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::array<std::int64_t, 2> output_size;
};

// Merges dims start_dim..end_dim (default: all but the batch dim). No parameters.
class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1);
  Tensor forward(const Tensor& x) override;
  std::int64_t start_dim, end_dim;
};

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;
};

// BatchNorm1d takes [N, C] or [N, C, L]; BatchNorm2d takes [N, C, H, W]. weight (gamma) [C] = 1,
// bias (beta) [C] = 0; buffers running_mean [C] = 0, running_var [C] = 1. Training uses batch
// statistics and updates the running ones; eval uses the running ones (batch statistics always
// when track_running_stats is false), as PyTorch.
class BatchNorm : public Module {
 public:
  BatchNorm(std::string type_name, std::int64_t num_features, BatchNormOptions options, std::int64_t min_rank,
            std::int64_t max_rank);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Tensor weight, bias, running_mean, running_var;
  std::int64_t num_features;
  BatchNormOptions options;

 private:
  std::int64_t min_rank_, max_rank_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, BatchNormOptions options = {})
      : BatchNorm("BatchNorm1d", num_features, options, 2, 3) {}
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, BatchNormOptions options = {})
      : BatchNorm("BatchNorm2d", num_features, options, 4, 4) {}
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;
};

// Normalizes over the trailing dims `normalized_shape`. weight = 1, bias = 0, of that shape.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, LayerNormOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Tensor weight, bias;
  Shape normalized_shape;
  LayerNormOptions options;
};

// Inverted dropout with probability p, off in eval mode. Masks come from the layer's own
// generator, seeded by `seed`, so runs repeat exactly. No parameters.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, std::uint64_t seed = 0);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  double p;
  Generator generator;
};

// Runs its modules in order, each on what the previous one returned (AnyModule's rules: a tuple
// result feeds a module taking that tuple or its elements as arguments); they are registered as
// "0", "1", ... Sequential itself is Tensor -> Tensor: the first module takes the input tensor,
// and forward throws Error naming the last module when that one does not return a Tensor.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<AnyModule> modules);
  // A list of one static type (e.g. std::initializer_list<std::shared_ptr<Module>>{...}).
  template <typename M>
  Sequential(std::initializer_list<std::shared_ptr<M>> modules) : Module("Sequential") {
    for (const auto& m : modules) push_back(m);
  }
  Tensor forward(const Tensor& x) override;
  // Appends a module and returns *this for chaining.
  Sequential& push_back(AnyModule module);
  std::size_t size() const { return modules_.size(); }
  const std::shared_ptr<Module>& operator[](std::size_t i) const { return modules_.at(i).ptr(); }

 private:
  std::vector<AnyModule> modules_;
};

// y = body(x) + shortcut(x), the shortcut being the identity when null (shapes must then match).
class Residual : public Module {
 public:
  explicit Residual(std::shared_ptr<Module> body, std::shared_ptr<Module> shortcut = nullptr);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Module> body, shortcut;
};

}  // namespace actlab::nn
