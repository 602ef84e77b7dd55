// Lesson 6: a small CNN on CIFAR-10 with different activations after its convolutions, and what
// the first layer's feature maps look like after each.
#include <fmt/format.h>

#include "actlab/autograd/grad_mode.h"
#include "actlab/lessons/experiments.h"
#include "actlab/nn/layers.h"
#include "actlab/nn/nn.h"

namespace actlab::lessons {

namespace {

// conv3x3(16) act avgpool conv3x3(32) act avgpool fc(10): small enough for seconds on two cores.
// Average pooling is linear, so with `identity` the whole network is one linear map.
std::shared_ptr<nn::Sequential> small_cnn(const std::string& activation) {
  Generator gen(1);
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Conv2d>(3, 16, 3, nn::Conv2dOptions{.padding = {1, 1}}, gen))
      .push_back(std::make_shared<nn::Activation>(activation))
      .push_back(std::make_shared<nn::AvgPool2d>(2))
      .push_back(std::make_shared<nn::Conv2d>(16, 32, 3, nn::Conv2dOptions{.padding = {1, 1}}, gen))
      .push_back(std::make_shared<nn::Activation>(activation))
      .push_back(std::make_shared<nn::AvgPool2d>(2))
      .push_back(std::make_shared<nn::Flatten>())
      .push_back(std::make_shared<nn::Linear>(32 * 8 * 8, 10, nn::LinearOptions{}, gen));
  return model;
}

}  // namespace

Findings conv_activation(const LessonOptions& options) {
  Findings f;
  const auto data = load_data("cifar10", options.quick ? 256 : 6000, options.quick ? 256 : 1000, options, f);
  if (!data) return f;
  const std::vector<std::string> activations = {"identity", "relu", "leaky_relu", "elu"};
  const Tensor images = data::to_float32(data->test.narrow(0, std::min<std::int64_t>(256, data->test.size())),
                                         data->normalization);
  Chart accuracy{.id = "accuracy", .kind = "bars"}, maps{.id = "maps", .kind = "bars"};
  Series acc_series{"CIFAR-10"}, zero_series{"= 0"}, negative_series{"< 0"};
  std::string rows;
  for (const std::string& activation : activations) {
    auto model = small_cnn(activation);
    const TrainResult run = train(*model, *data, {.epochs = options.quick ? 1 : 2});
    Tensor features;
    {
      NoGradGuard no_grad;
      model->eval();
      features = (*(*model)[1])((*(*model)[0])(images));  // the first convolution, then its activation
    }
    const auto total = static_cast<double>(features.numel());
    const Tensor zeros = zeros_like(features);
    const double zero = features.eq(zeros).to(kFloat64).sum().item() / total;
    const double negative = features.lt(zeros).to(kFloat64).sum().item() / total;
    const double mean = features.to(kFloat64).mean().item();
    f.measure(activation + "_accuracy", run.test_accuracy);
    f.measure(activation + "_zero", zero);
    f.measure(activation + "_negative", negative);
    f.measure(activation + "_mean", mean);
    f.values[activation + "_zero"] = percent(zero);
    f.values[activation + "_negative"] = percent(negative);
    rows += fmt::format("| {} | {} | {} | {} | {} |\n", activation, percent(zero), percent(negative), number(mean),
                        percent(run.test_accuracy));
    for (Chart* chart : {&accuracy, &maps}) chart->categories.push_back(activation);
    acc_series.y.push_back(run.test_accuracy * 100);
    zero_series.y.push_back(zero * 100);
    negative_series.y.push_back(negative * 100);
  }
  accuracy.series = {acc_series};
  maps.series = {zero_series, negative_series};
  f.charts = {maps, accuracy};
  f.values["rows"] = rows;
  f.measure("train_samples", static_cast<double>(data->train.size()));
  const auto& n = f.numbers;
  double best_nonlinear = 0;
  for (const std::string a : {"relu", "leaky_relu", "elu"}) best_nonlinear = std::max(best_nonlinear, n.at(a + "_accuracy"));
  f.measure("gain_points", (best_nonlinear - n.at("identity_accuracy")) * 100);
  f.conclusions.insert(best_nonlinear > n.at("identity_accuracy") + 0.02 ? "activation_helps" : "activation_close");
  f.conclusions.insert(n.at("relu_zero") > 0.3 && n.at("relu_negative") == 0 ? "relu_sparse" : "relu_dense");
  f.conclusions.insert(n.at("leaky_relu_zero") < 0.01 && n.at("elu_negative") > 0.1 ? "negatives_kept" : "negatives_rare");
  f.try_next = {"--data", "cifar10", "--model", "cifar-cnn", "--activations", "identity,relu,leaky_relu,elu",
                "--epochs", "2", "--limit-train", "10000"};
  return f;
}

}  // namespace actlab::lessons
