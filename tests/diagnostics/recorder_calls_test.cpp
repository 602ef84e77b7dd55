// The recorder on a model whose layers run twice per pass: per-call statistics, each call's
// activations paired with that call's gradient, and the aggregate over both calls.
#include <gtest/gtest.h>

#include <cmath>

#include "actlab/actlab.h"
#include "actlab/diagnostics/recorder.h"
#include "actlab/nn/layers.h"
#include "actlab/nn/loss.h"

using namespace actlab;
using diagnostics::Recorder;

namespace {

// h <- tanh(cell(h)) twice, with one cell and one activation module.
struct Twice : nn::Module {
  explicit Twice(Generator& gen) : Module("Twice") {
    cell = register_module("cell", std::make_shared<nn::Linear>(5, 5, nn::LinearOptions{}, gen));
    tanh = register_module("tanh", std::make_shared<nn::Activation>("tanh"));
  }
  Tensor forward(const Tensor& x) override { return (*tanh)((*cell)((*tanh)((*cell)(x)))); }
  std::shared_ptr<nn::Linear> cell;
  std::shared_ptr<nn::Activation> tanh;
};

double norm_of(const std::vector<Tensor>& parts) {
  double squares = 0;
  for (const auto& t : parts)
    for (float v : t.to_vector<float>()) squares += static_cast<double>(v) * v;
  return std::sqrt(squares);
}

double mean_of(const Tensor& t) { return t.mean().item(); }

}  // namespace

TEST(RecorderCalls, ReportsEachCallOfALayerCalledTwice) {
  Generator gen(11);
  auto stem = std::make_shared<nn::Linear>(3, 5, nn::LinearOptions{}, gen);
  auto twice = std::make_shared<Twice>(gen);
  auto head = std::make_shared<nn::Linear>(5, 2, nn::LinearOptions{}, gen);
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{stem, twice, head});
  const data::Batch probe{randn({24, 3}, gen), randint(0, 2, {24}, gen)};
  Recorder recorder(model, probe);
  ASSERT_EQ(recorder.layers().size(), 4u);
  EXPECT_EQ(recorder.layers()[1].name, "1.cell");
  EXPECT_EQ(recorder.layers()[2].name, "1.tanh");
  const auto& snapshot = recorder.record(0);
  const auto& cell = snapshot.layers[1];
  const auto& tanh = snapshot.layers[2];
  EXPECT_TRUE(snapshot.layers[0].calls.empty()) << "a layer called once keeps the single-call format";
  EXPECT_TRUE(snapshot.layers[3].calls.empty());
  ASSERT_EQ(cell.calls.size(), 2u);
  ASSERT_EQ(tanh.calls.size(), 2u);

  // Direct: z[k] the cell's outputs, a[k] = tanh(z[k]), their gradients by tensor hooks.
  auto activation = make_activation("tanh");
  const Tensor a0 = stem->forward(probe.images);
  std::vector<Tensor> z(2), a(2), dz(2), da(2);
  Tensor h = a0;
  for (std::size_t k = 0; k < 2; ++k) {
    z[k] = twice->cell->forward(h);
    z[k].register_hook([&dz, k](const Tensor& g) {
      dz[k] = g.detach();
      return Tensor();
    });
    a[k] = activation->forward(z[k]);
    a[k].register_hook([&da, k](const Tensor& g) {
      da[k] = g.detach();
      return Tensor();
    });
    h = a[k];
  }
  nn::cross_entropy(head->forward(h), probe.labels).backward();
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(cell.calls[k].mean, mean_of(z[k].detach()), 1e-6) << "call " << k;
    EXPECT_NEAR(cell.calls[k].grad_norm, norm_of({dz[k]}), 1e-6) << "call " << k;
    EXPECT_NEAR(tanh.calls[k].mean, mean_of(a[k].detach()), 1e-6) << "call " << k;
    EXPECT_NEAR(tanh.calls[k].grad_norm, norm_of({da[k]}), 1e-6) << "call " << k;
    const auto negative = z[k].detach().to_vector<float>();
    const double fraction =
        static_cast<double>(std::count_if(negative.begin(), negative.end(), [](float v) { return v < 0; })) /
        static_cast<double>(negative.size());
    EXPECT_NEAR(*tanh.calls[k].negative_input_fraction, fraction, 1e-12) << "call " << k;
    EXPECT_FALSE(cell.calls[k].weight_grad_norm.has_value());
  }
  // The aggregate covers both calls: one gradient norm over both, the mean over both outputs.
  EXPECT_NEAR(cell.grad_norm, norm_of(dz), 1e-6);
  EXPECT_NEAR(cell.mean, (mean_of(z[0].detach()) + mean_of(z[1].detach())) / 2, 1e-6);
  EXPECT_NEAR(tanh.grad_norm, norm_of(da), 1e-6);
  ASSERT_TRUE(cell.weight_grad_norm.has_value());
  EXPECT_NEAR(*cell.weight_grad_norm, norm_of({twice->cell->weight.grad()}), 1e-6);
}
