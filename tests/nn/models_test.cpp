// Activation layer, model builders, and a small network learning a synthetic task end to end.
#include <gtest/gtest.h>

#include "actlab/actlab.h"

using namespace actlab;

TEST(ActivationLayer, WrapsTheRegistry) {
  nn::Activation relu("relu");
  EXPECT_EQ(relu(tensor({-1.0f, 2.0f})).to_vector<float>(), (std::vector<float>{0.0f, 2.0f}));
  EXPECT_NEAR(relu.gain(), std::sqrt(2.0), 1e-12);
  EXPECT_THROW(nn::Activation("no_such_activation"), Error);
}

TEST(ActivationLayer, RegistersLearnableParametersAndTrainsThem) {
  auto prelu = std::make_shared<nn::Activation>("prelu:channels=3");
  ASSERT_EQ(prelu->named_parameters().size(), 1u);
  const Tensor slope = prelu->parameters()[0];
  EXPECT_EQ(slope.numel(), 3);
  nn::Sequential net{std::make_shared<nn::Linear>(4, 3), prelu};
  EXPECT_EQ(net.named_parameters().back().first, "1." + prelu->named_parameters()[0].first);
  const std::vector<float> before = slope.to_vector<float>();
  optim::SGD sgd(net.parameters(), {.lr = 0.5});
  (net(randn({8, 4})) * -1.0).sum().backward();
  sgd.step();
  EXPECT_NE(slope.to_vector<float>(), before);  // the slope received a gradient and moved
  net.to(kFloat64);
  EXPECT_EQ(net(randn({2, 4}, default_generator(), kFloat64)).dtype(), kFloat64);
}

TEST(Models, ShapesAndParameterCounts) {
  auto net = nn::mlp(784, {256, 256}, 10);
  EXPECT_EQ((*net)(zeros({2, 1, 28, 28})).shape(), (Shape{2, 10}));
  EXPECT_EQ(net->num_parameters(), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  auto lenet = nn::lenet5();
  EXPECT_EQ((*lenet)(zeros({2, 1, 28, 28})).shape(), (Shape{2, 10}));
  EXPECT_EQ(lenet->num_parameters(), 61706);  // the classic count
  NoGradGuard no_grad;
  auto cnn = nn::cifar_cnn({.norm = nn::Norm::Batch, .dropout = 0.5});
  cnn->eval();
  EXPECT_EQ((*cnn)(zeros({1, 3, 32, 32})).shape(), (Shape{1, 10}));
  auto resnet = nn::resnet_small({.norm = nn::Norm::Batch}, 10, 1);
  resnet->eval();
  EXPECT_EQ((*resnet)(zeros({1, 3, 32, 32})).shape(), (Shape{1, 10}));
  auto resnet20 = nn::resnet_small({.norm = nn::Norm::Batch});
  EXPECT_NEAR(static_cast<double>(resnet20->num_parameters()), 0.27e6, 0.01e6);  // He et al.: 0.27M
}

TEST(Models, OptionsShapeTheLayers) {
  auto net = nn::mlp(8, {16}, 2, {.activation = "tanh", .init = "xavier_normal", .norm = nn::Norm::Layer, .dropout = 0.1});
  std::vector<std::string> kinds;
  for (std::size_t i = 0; i < net->size(); ++i) kinds.push_back((*net)[i]->type_name());
  EXPECT_EQ(kinds, (std::vector<std::string>{"Flatten", "Linear", "LayerNorm", "Activation", "Dropout", "Linear"}));
  // Named init: biases zeroed.
  EXPECT_EQ(std::dynamic_pointer_cast<nn::Linear>((*net)[1])->bias.abs().max().item(), 0.0);
  EXPECT_THROW(nn::mlp(8, {16}, 2, {.init = "nope"}), Error);
  EXPECT_THROW(nn::mlp(8, {16}, 2, {.activation = "nope"}), Error);
  // Same seed, same model.
  auto a = nn::mlp(8, {16}, 2, {.init = "kaiming_uniform", .seed = 5});
  auto b = nn::mlp(8, {16}, 2, {.init = "kaiming_uniform", .seed = 5});
  EXPECT_TRUE(allclose(a->parameters()[0], b->parameters()[0], 0, 0));
}

TEST(Models, MlpTakesOneActivationPerHiddenLayer) {
  auto net = nn::mlp(2, {4, 3}, 2, {.layer_activations = {"relu", "leaky_relu:0.2"}, .init = "xavier:gain=auto"});
  std::vector<std::string> specs;
  for (std::size_t i = 0; i < net->size(); ++i)
    if (auto act = std::dynamic_pointer_cast<nn::Activation>((*net)[i])) specs.push_back(act->spec());
  EXPECT_EQ(specs, (std::vector<std::string>{"relu", "leaky_relu:negative_slope=0.2"}));
  EXPECT_THROW(nn::mlp(2, {4, 3}, 2, {.layer_activations = {"relu"}}), Error);
}

TEST(Models, MlpLearnsASyntheticTask) {
  // Four Gaussian blobs on a circle, one per class.
  Generator gen(11);
  const std::int64_t n = 512;
  const Tensor labels = randint(0, 4, {n}, gen);
  const auto ids = labels.to_vector<std::int64_t>();
  std::vector<float> points;
  for (std::int64_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(ids[static_cast<std::size_t>(i)]) * 3.14159265 / 2;
    points.push_back(static_cast<float>(2 * std::cos(a) + 0.3 * gen.normal()));
    points.push_back(static_cast<float>(2 * std::sin(a) + 0.3 * gen.normal()));
  }
  const Tensor x = from_vector(points, {n, 2});
  auto net = nn::mlp(2, {32}, 4, {.init = "kaiming_normal", .seed = 3});
  optim::Adam adam(net->parameters(), {.lr = 0.05});
  double first_loss = 0, loss_value = 0;
  for (int epoch = 0; epoch < 60; ++epoch) {
    adam.zero_grad();
    const Tensor loss = nn::cross_entropy((*net)(x), labels);
    loss.backward();
    adam.step();
    loss_value = loss.item();
    if (epoch == 0) first_loss = loss_value;
  }
  EXPECT_LT(loss_value, 0.1 * first_loss);
  net->eval();
  NoGradGuard no_grad;
  const double accuracy = (*net)(x).argmax(1).eq(labels).to(kFloat64).mean().item();
  EXPECT_GT(accuracy, 0.97);
}

TEST(Models, LenetTrainingStepReducesTheLoss) {
  Generator gen(1);
  const Tensor x = randn({4, 1, 28, 28}, gen);
  const Tensor labels = randint(0, 10, {4}, gen);
  auto net = nn::lenet5({.norm = nn::Norm::Batch, .dropout = 0.2});
  optim::SGD sgd(net->parameters(), {.lr = 0.05, .momentum = 0.9});
  double first = 0, last = 0;
  for (int step = 0; step < 12; ++step) {
    sgd.zero_grad();
    const Tensor loss = nn::cross_entropy((*net)(x), labels);
    loss.backward();
    optim::clip_grad_norm_(net->parameters(), 5.0);
    sgd.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_LT(last, 0.5 * first);  // memorizes 4 samples
}
