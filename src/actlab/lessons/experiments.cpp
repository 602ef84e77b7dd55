#include "actlab/lessons/experiments.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "actlab/autograd/grad_mode.h"
#include "actlab/core/error.h"
#include "actlab/data/registry.h"
#include "actlab/diagnostics/recorder.h"
#include "actlab/nn/loss.h"
#include "actlab/experiment/training.h"
#include "actlab/train/step.h"
#include "actlab/train/task.h"

namespace actlab::lessons {

std::optional<Data> load_data(const std::string& name, std::int64_t train_samples, std::int64_t test_samples,
                              const LessonOptions& options, Findings& findings) {
  const data::LoadOptions load = data::default_load_options(name, train_samples, options.data_dir);
  try {
    data::Dataset train = data::load_dataset(name, data::Split::Train, load);
    data::Dataset test = data::load_dataset(name, data::Split::Test, load);
    train = train.narrow(0, std::min(train_samples, train.size()));
    test = test.narrow(0, std::min(test_samples, test.size()));
    // Sequences are read raw, as `compare` reads them.
    data::Normalization normalization = train.inputs.dim() == 3 ? data::Normalization{} : data::channel_stats(train);
    return Data{std::move(train), std::move(test), std::move(normalization), data::dataset_info(name).target};
  } catch (const Error& e) {
    findings.missing_data = fmt::format("{} ({})", name, e.what());
    return std::nullopt;
  }
}

double TrainResult::final_loss() const {
  if (diverged_at || losses.empty()) return NAN;
  const std::size_t tail = std::max<std::size_t>(1, losses.size() / 10);
  return std::accumulate(losses.end() - static_cast<std::ptrdiff_t>(tail), losses.end(), 0.0) / static_cast<double>(tail);
}

double TrainResult::mean_update_ratio() const {
  return update_ratios.empty() ? NAN
                               : std::accumulate(update_ratios.begin(), update_ratios.end(), 0.0) /
                                     static_cast<double>(update_ratios.size());
}

double TrainResult::max_grad_norm() const {
  double out = 0;
  for (double g : grad_norms) out = std::isfinite(g) ? std::max(out, g) : INFINITY;
  return out;
}

namespace {

double squared_norm(const std::vector<Tensor>& tensors) {
  double sum = 0;
  for (const Tensor& t : tensors) sum += t.to(kFloat64).square().sum().item();
  return sum;
}

}  // namespace

TrainResult train(nn::Module& model, const Data& data, const TrainSpec& spec) {
  experiment::Settings settings;
  settings.optimizer = spec.optimizer;
  settings.lr = spec.lr;
  settings.momentum = spec.momentum;
  const std::vector<Tensor> parameters = model.parameters();
  auto optimizer = experiment::make_optimizer(settings, parameters);
  const std::unique_ptr<train::Task> task_of_data = train::make_task(data.target);
  const train::Task& task = *task_of_data;
  data::DataLoader loader(data.train, data::LoaderOptions()
                                          .batch_size(spec.batch)
                                          .seed(spec.seed)
                                          .normalize(data.normalization)
                                          .prefetch(false));
  TrainResult result;
  model.train();
  for (std::int64_t epoch = 0; epoch < spec.epochs && !result.diverged_at; ++epoch) {
    for (const data::Batch& batch : loader) {
      std::vector<Tensor> before;
      {
        NoGradGuard no_grad;
        for (const Tensor& p : parameters) before.push_back(p.detach().clone());
      }
      const train::StepResult step = train::train_step(model, batch, task, *optimizer, {.clip_norm = spec.clip_norm, .data_parallel = nullptr});
      result.losses.push_back(step.loss);
      result.grad_norms.push_back(step.grad_norm);
      if (!step.finite()) {
        result.diverged_at = static_cast<std::int64_t>(result.losses.size());
        break;
      }
      NoGradGuard no_grad;
      std::vector<Tensor> change;
      for (std::size_t i = 0; i < parameters.size(); ++i) change.push_back(parameters[i].detach() - before[i]);
      result.update_ratios.push_back(std::sqrt(squared_norm(change) / squared_norm(before)));
    }
  }
  const train::Score score = train::evaluate(model, task, data.test, data.normalization);
  result.test_loss = score.loss();
  result.test_accuracy = result.diverged_at ? NAN : score.accuracy();
  return result;
}

std::vector<double> output_grad_norms(nn::Module& model, const data::Batch& probe) {
  std::vector<std::shared_ptr<nn::Module>> weighted;
  for (const auto& [name, module] : model.named_modules())
    for (const auto& [param, p] : module->named_parameters())
      if (param == "weight" && p.dim() >= 2) weighted.push_back(module);
  std::vector<double> norms(weighted.size(), NAN);
  std::vector<nn::HookHandle> hooks;
  for (std::size_t i = 0; i < weighted.size(); ++i)
    hooks.push_back(weighted[i]->register_backward_hook(
        [&norms, i](nn::Module&, std::int64_t, std::size_t, const Tensor& grad) { norms[i] = std::sqrt(squared_norm({grad})); }));
  model.train();
  model.zero_grad();
  nn::cross_entropy(model(probe.images), probe.labels).backward();
  for (nn::HookHandle& hook : hooks) hook.remove();
  model.zero_grad();
  return norms;
}

data::Batch random_probe(std::int64_t features, std::int64_t classes, std::uint64_t seed) {
  Generator gen(seed);
  return {randn({diagnostics::kProbeSamples, features}, gen), randint(0, classes, {diagnostics::kProbeSamples}, gen)};
}

double first_over_last(const std::vector<double>& norms) {
  return norms.size() < 2 ? NAN : norms.front() / norms.back();
}

std::string number(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "NaN" : value > 0 ? "inf" : "-inf";
  if (value == std::round(value) && std::abs(value) < 1e7) return fmt::format("{:.0f}", value);  // counts
  return fmt::format("{:.4g}", value);
}

std::string percent(double fraction) { return std::isfinite(fraction) ? fmt::format("{:.1f}%", fraction * 100.0) : "—"; }

std::vector<double> indices(std::size_t n) {
  std::vector<double> out(n);
  std::iota(out.begin(), out.end(), 1.0);
  return out;
}

void Findings::measure(const std::string& name, double value) {
  numbers[name] = value;
  values[name] = number(value);
}

}  // namespace actlab::lessons
