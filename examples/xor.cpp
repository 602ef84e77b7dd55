// Learns XOR with a 2-16-1 MLP written directly on tensors and autograd: the smallest
// demonstration that a hidden non-linearity is what lets a network fit a non-linear function.
#include <fmt/format.h>

#include "actlab/actlab.h"

using namespace actlab;

int main() {
  const Tensor x = from_vector<float>({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor y = from_vector<float>({0, 1, 1, 0}, {4, 1});

  Generator gen(0);
  Tensor w1 = (randn({2, 16}, gen) * 0.7).detach().requires_grad_();
  Tensor b1 = zeros({16}).requires_grad_();
  Tensor w2 = (randn({16, 1}, gen) * 0.25).detach().requires_grad_();
  Tensor b2 = zeros({1}).requires_grad_();
  std::vector<Tensor> params{w1, b1, w2, b2};

  const double lr = 0.1;
  Tensor prediction;
  for (int step = 0; step <= 2000; ++step) {
    const Tensor hidden = (x.matmul(w1) + b1).clamp_min(0.0);  // ReLU
    prediction = hidden.matmul(w2) + b2;
    const Tensor loss = (prediction - y).square().mean();
    for (auto& p : params) p.set_grad(Tensor());
    loss.backward();
    {
      NoGradGuard no_grad;
      for (auto& p : params) p.add_(p.grad(), -lr);
    }
    if (step % 400 == 0) fmt::print("step {:4d}  mse {:.6f}\n", step, loss.item());
  }
  fmt::print("\n x1 x2 | target | prediction\n");
  int correct = 0;
  for (int i = 0; i < 4; ++i) {
    const double p = prediction.at<float>({i, 0});
    correct += (p > 0.5) == (y.at<float>({i, 0}) > 0.5);
    fmt::print("  {}  {} |   {}    | {:.3f}\n", x.at<float>({i, 0}), x.at<float>({i, 1}), y.at<float>({i, 0}), p);
  }
  fmt::print("\n{}/4 correct\n", correct);
  return correct == 4 ? 0 : 1;
}
