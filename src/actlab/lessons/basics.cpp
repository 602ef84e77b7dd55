// Lessons 1 and 2: a network without activations collapses to one matrix; the chain rule by hand
// on a 2-3-1 network, against autograd and finite differences.
#include <fmt/format.h>

#include <array>
#include <cmath>

#include "actlab/activations/functional.h"
#include "actlab/lessons/experiments.h"
#include "actlab/nn/models.h"

namespace actlab::lessons {

namespace {

// The weights and biases of every Linear layer of `model`, in order.
std::vector<std::pair<Tensor, Tensor>> linear_layers(const nn::Module& model) {
  std::vector<std::pair<Tensor, Tensor>> out;
  for (const auto& [name, p] : model.named_parameters()) {
    if (name.ends_with("weight")) out.push_back({p.detach(), Tensor()});
    if (name.ends_with("bias")) out.back().second = p.detach();
  }
  return out;
}

// Test accuracy of `hidden` layers of `activation` on a 2-D set, trained with Adam.
double solve_2d(const Data& data, const std::vector<std::int64_t>& hidden, const std::string& activation,
                std::int64_t epochs) {
  auto model = nn::mlp(2, hidden, data.train.num_classes(), {.activation = activation, .seed = 3});
  return train(*model, data, {.lr = 1e-2, .epochs = epochs, .batch = 32}).test_accuracy;
}

}  // namespace

Findings no_activation(const LessonOptions& options) {
  Findings f;
  // Six Linear layers with nothing in between, in float64 so that only rounding differs.
  const std::vector<std::int64_t> hidden(5, 16);
  auto deep = nn::mlp(2, hidden, 2, {.activation = "identity", .seed = 1});
  deep->to(kFloat64);
  const auto layers = linear_layers(*deep);
  Tensor product = layers.front().first, offset = layers.front().second;
  for (std::size_t i = 1; i < layers.size(); ++i) {
    product = layers[i].first.matmul(product);
    offset = layers[i].first.matmul(offset) + layers[i].second;
  }
  Generator gen(7);
  const Tensor x = randn({1000, 2}, gen, kFloat64);
  const Tensor through_layers = (*deep)(x).detach();
  const Tensor one_matrix = x.matmul(product.t()) + offset;
  f.measure("collapse_max_difference", (through_layers - one_matrix).abs().max().item());
  f.measure("layers", static_cast<double>(layers.size()));
  const auto m = product.to_vector<double>();
  const auto b = offset.to_vector<double>();
  f.values["matrix"] = fmt::format("[[{}, {}], [{}, {}]]", number(m[0]), number(m[1]), number(m[2]), number(m[3]));
  f.values["offset"] = fmt::format("[{}, {}]", number(b[0]), number(b[1]));
  f.conclusions.insert(f.numbers["collapse_max_difference"] < 1e-5 ? "collapse" : "no_collapse");

  const std::int64_t samples = options.quick ? 400 : 2000, epochs = options.quick ? 30 : 60;
  Chart chart{.id = "accuracy", .kind = "bars"};
  Series linear{"mlp:16x5 identity", {}, {}}, relu{"mlp:256 relu", {}, {}};
  std::string rows;
  for (const std::string set : {"spirals", "xor", "linear"}) {
    const auto data = load_data(set, samples, samples / 2, options, f);
    const double without = solve_2d(*data, hidden, "identity", epochs);
    const double with = solve_2d(*data, {256}, "relu", epochs);
    f.measure(set + "_linear_accuracy", without);
    f.measure(set + "_relu_accuracy", with);
    chart.categories.push_back(set);
    linear.y.push_back(without * 100);
    relu.y.push_back(with * 100);
    rows += fmt::format("| {} | {} | {} |\n", set, percent(without), percent(with));
  }
  chart.series = {linear, relu};
  f.charts.push_back(chart);
  f.values["rows"] = rows;
  const auto& n = f.numbers;
  f.conclusions.insert(n.at("spirals_linear_accuracy") < 0.75 && n.at("xor_linear_accuracy") < 0.75 &&
                               n.at("linear_linear_accuracy") > 0.9
                           ? "linear_fails"
                           : "linear_unexpected");
  f.conclusions.insert(n.at("spirals_relu_accuracy") >= 0.85 && n.at("xor_relu_accuracy") >= 0.85 ? "relu_fixes"
                                                                                                   : "relu_short");
  f.try_next = {"--data", "spirals", "--model", "mlp:256", "--activations", "identity,relu,tanh", "--epochs", "30"};
  return f;
}

Findings chain_rule(const LessonOptions&) {
  Findings f;
  // x -> z = W1 x + b1 -> h = sigmoid(z) -> y = W2 h + b2 -> L = (y - t)^2
  const std::array<double, 2> x{0.5, -1.2};
  const double t = 0.8;
  Generator gen(11);
  const auto draw = [&](Shape shape) { return (randn(shape, gen, kFloat64) * 0.8).to_vector<double>(); };
  std::vector<double> w1 = draw({3, 2}), b1 = draw({3}), w2 = draw({1, 3}), b2 = draw({1});

  struct Forward {
    std::array<double, 3> z, h;
    double y, loss;
  };
  const auto forward = [&](const std::vector<double>& W1, const std::vector<double>& B1, const std::vector<double>& W2,
                           const std::vector<double>& B2) {
    Forward out{};
    out.y = B2[0];
    for (int j = 0; j < 3; ++j) {
      out.z[j] = W1[j * 2] * x[0] + W1[j * 2 + 1] * x[1] + B1[j];
      out.h[j] = 1.0 / (1.0 + std::exp(-out.z[j]));
      out.y += W2[j] * out.h[j];
    }
    out.loss = (out.y - t) * (out.y - t);
    return out;
  };
  const Forward v = forward(w1, b1, w2, b2);

  // The chain rule, one local derivative at a time.
  const double dL_dy = 2 * (v.y - t);
  std::array<double, 3> dh_dz{}, dL_dh{}, dL_dz{};
  for (int j = 0; j < 3; ++j) {
    dh_dz[j] = v.h[j] * (1 - v.h[j]);
    dL_dh[j] = dL_dy * w2[j];
    dL_dz[j] = dL_dh[j] * dh_dz[j];
  }
  struct Gradient {
    std::string name, product;
    double chain;
  };
  std::vector<Gradient> grads;
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 2; ++k)
      grads.push_back({fmt::format("W1[{},{}]", j, k), fmt::format("{} × {}", number(dL_dz[j]), number(x[k])),
                       dL_dz[j] * x[k]});
  for (int j = 0; j < 3; ++j) grads.push_back({fmt::format("b1[{}]", j), number(dL_dz[j]), dL_dz[j]});
  for (int j = 0; j < 3; ++j)
    grads.push_back({fmt::format("W2[0,{}]", j), fmt::format("{} × {}", number(dL_dy), number(v.h[j])), dL_dy * v.h[j]});
  grads.push_back({"b2[0]", number(dL_dy), dL_dy});

  // The same gradient from autograd, on actlab's own ops.
  const auto leaf = [](const std::vector<double>& values, Shape shape) {
    return from_vector(values, shape).requires_grad_();
  };
  Tensor W1 = leaf(w1, {3, 2}), B1 = leaf(b1, {3}), W2 = leaf(w2, {1, 3}), B2 = leaf(b2, {1});
  const Tensor X = from_vector(std::vector<double>(x.begin(), x.end()), {2});
  const Tensor Y = W2.matmul(sigmoid(W1.matmul(X) + B1)) + B2;
  (Y - t).square().sum().backward();
  std::vector<double> autograd;
  for (const Tensor& p : {W1, B1, W2, B2})
    for (double g : p.grad().to_vector<double>()) autograd.push_back(g);

  // And from central finite differences of the loss.
  std::vector<std::vector<double>*> params{&w1, &b1, &w2, &b2};
  std::vector<double> numeric;
  constexpr double eps = 1e-6;
  for (auto* p : params)
    for (double& value : *p) {
      const double saved = value;
      value = saved + eps;
      const double up = forward(w1, b1, w2, b2).loss;
      value = saved - eps;
      const double down = forward(w1, b1, w2, b2).loss;
      value = saved;
      numeric.push_back((up - down) / (2 * eps));
    }

  double vs_autograd = 0, vs_numeric = 0;
  std::string rows;
  Chart chart{.id = "gradients", .kind = "bars"};
  Series chain_series{"chain rule", {}, {}}, autograd_series{"autograd", {}, {}}, numeric_series{"finite differences", {}, {}};
  for (std::size_t i = 0; i < grads.size(); ++i) {
    vs_autograd = std::max(vs_autograd, std::abs(grads[i].chain - autograd[i]));
    vs_numeric = std::max(vs_numeric, std::abs(grads[i].chain - numeric[i]));
    rows += fmt::format("| {} | {} | {:.10f} | {:.10f} | {:.10f} |\n", grads[i].name, grads[i].product, grads[i].chain,
                        autograd[i], numeric[i]);
    chart.categories.push_back(grads[i].name);
    chain_series.y.push_back(grads[i].chain);
    autograd_series.y.push_back(autograd[i]);
    numeric_series.y.push_back(numeric[i]);
  }
  chart.series = {chain_series, autograd_series, numeric_series};
  f.charts.push_back(chart);
  f.values["rows"] = rows;
  std::string forward_rows;
  for (int j = 0; j < 3; ++j)
    forward_rows += fmt::format("| {} | {} | {} | {} | {} | {} |\n", j, number(v.z[j]), number(v.h[j]),
                                number(dh_dz[j]), number(dL_dh[j]), number(dL_dz[j]));
  f.values["forward_rows"] = forward_rows;
  f.values["x"] = fmt::format("[{}, {}]", number(x[0]), number(x[1]));
  f.measure("target", t);
  f.measure("y", v.y);
  f.measure("loss", v.loss);
  f.measure("dl_dy", dL_dy);
  f.measure("max_difference_autograd", vs_autograd);
  f.measure("max_difference_numeric", vs_numeric);
  f.conclusions.insert(vs_autograd < 1e-8 && vs_numeric < 1e-8 ? "agree" : "disagree");
  f.try_next = {"--data", "xor", "--model", "mlp:3", "--activations", "sigmoid,tanh,relu", "--epochs", "20"};
  return f;
}

}  // namespace actlab::lessons
