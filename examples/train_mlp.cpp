// Trains an MLP on a synthetic 10-class problem with the LibTorch-style API: model builder,
// Adam, a cosine schedule with warmup, gradient clipping, train/eval modes and a state dict.
//
//   build/train_mlp
//
// The data: 10 Gaussian clusters in 784 dimensions (the shape of flattened MNIST) whose means
// are close enough that the classes overlap a little.
#include <cstdio>

#include "actlab/actlab.h"

using namespace actlab;

struct Split {
  Tensor images, labels;
};

Split synthetic(const Tensor& centres, std::int64_t n, Generator& gen) {
  const Tensor labels = randint(0, 10, {n}, gen);
  return {centres.index_select(0, labels) + randn({n, 784}, gen), labels};
}

int main() {
  Generator gen(0);
  const Tensor centres = randn({10, 784}, gen) * 0.15;
  const Split train = synthetic(centres, 8192, gen), test = synthetic(centres, 2048, gen);

  auto model = nn::mlp(784, {256, 256}, 10, {.activation = "relu", .init = "kaiming_normal", .dropout = 0.1});
  std::printf("%s\n", model->summary({128, 784}).c_str());

  optim::Adam optimizer(model->parameters(), {.lr = 1e-3});
  const std::int64_t epochs = 5, batch = 128, steps = train.images.size(0) / batch;
  optim::CosineLR schedule(optimizer, epochs * steps, 0.0, steps);

  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    model->train();
    const Tensor order = randperm(train.images.size(0), gen);
    double total = 0;
    for (std::int64_t step = 0; step < steps; ++step) {
      const Tensor index = order.narrow(0, step * batch, batch);
      optimizer.zero_grad();
      const Tensor loss = nn::cross_entropy((*model)(train.images.index_select(0, index)), train.labels.index_select(0, index));
      loss.backward();
      optim::clip_grad_norm_(model->parameters(), 5.0);
      optimizer.step();
      schedule.step();
      total += loss.item();
    }
    model->eval();
    NoGradGuard no_grad;
    const double accuracy = (*model)(test.images).argmax(1).eq(test.labels).to(kFloat64).mean().item();
    std::printf("epoch %lld  train loss %.4f  test accuracy %.2f%%\n", static_cast<long long>(epoch + 1),
                total / static_cast<double>(steps), 100 * accuracy);
  }

  // Weights and running statistics by name, e.g. to restore the best epoch later.
  const nn::StateDict weights = model->state_dict();
  model->load_state_dict(weights);
  return 0;
}
