// `actlab eval MODEL.safetensors` measures a saved model on a dataset split; `actlab predict
// MODEL.safetensors IMAGES...` prints its top classes for each image of PNG or IDX files. Both rebuild
// the model from the file's metadata (see experiment/checkpoint.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "actlab/activations/functional.h"
#include "actlab/autograd/grad_mode.h"
#include "actlab/core/parallel.h"
#include "actlab/data/image.h"
#include "actlab/data/loader.h"
#include "actlab/data/registry.h"
#include "actlab/experiment/checkpoint.h"
#include "actlab/experiment/runner.h"
#include "actlab/nn/loss.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

constexpr std::int64_t kBatch = 1000;

struct EvalArgs {
  std::string model;
  std::string data;      // empty: the data the model was trained on
  std::string data_dir;  // empty: $ACTLAB_DATA, then ~/.cache/actlab/datasets
  std::string split = "test";
  int threads = 0;
};

// The names of the model's floating-point tensors holding NaN or infinite values, with their counts.
std::vector<std::string> non_finite_tensors(const nn::Module& model) {
  std::vector<std::string> found;
  for (const auto& [name, tensor] : model.state_dict()) {
    if (tensor.dtype() != kFloat32 && tensor.dtype() != kFloat64) continue;
    const std::vector<double> values = tensor.to(kFloat64).to_vector<double>();
    const auto bad = std::count_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); });
    if (bad > 0) found.push_back(fmt::format("{} ({} of {})", name, bad, values.size()));
  }
  return found;
}

void describe(const experiment::SavedModel& saved, const std::string& path) {
  std::cout << fmt::format("{}: {} with {}, trained on {} (seed {}, {} steps)\n", path, saved.settings.model,
                           saved.settings.activations.front(), saved.settings.data, saved.metadata.at("seed"),
                           saved.metadata.at("step"));
  const std::vector<std::string> bad = non_finite_tensors(*saved.model);
  if (!bad.empty())
    std::cerr << fmt::format("actlab: warning: {} holds non-finite weights (NaN or infinite) in {}; the run that "
                             "wrote it diverged, so its outputs below mean nothing\n",
                             path, fmt::join(bad, ", "));
}

void run_eval(const EvalArgs& args) {
  if (args.threads > 0) set_num_threads(static_cast<int>(capped_threads(args.threads)));
  const experiment::SavedModel saved = experiment::load_model(args.model);
  describe(saved, args.model);
  experiment::Settings settings = saved.settings;
  if (!args.data.empty()) settings.data = args.data;
  if (!args.data_dir.empty()) settings.data_dir = args.data_dir;
  check_folder_option(settings.data_dir, "--data-dir");
  const data::Dataset dataset = data::load_dataset(settings.data, args.split == "train" ? data::Split::Train : data::Split::Test,
                                                   experiment::load_options(settings));
  ACTLAB_CHECK(dataset.sample_shape() == saved.sample_shape,
               "{} has samples of shape {} but the model was trained on {} (shape {})", dataset.name,
               shape_str(dataset.sample_shape()), saved.settings.data, shape_str(saved.sample_shape));
  ACTLAB_CHECK(dataset.num_classes() == static_cast<std::int64_t>(saved.class_names.size()),
               "{} has {} classes but the model predicts {}", dataset.name, dataset.num_classes(), saved.class_names.size());

  NoGradGuard no_grad;
  data::DataLoader loader(dataset, data::LoaderOptions().batch_size(kBatch).shuffle(false).normalize(saved.normalization));
  const std::size_t classes = saved.class_names.size();
  std::vector<std::int64_t> total(classes), correct(classes);
  double loss = 0;
  for (data::Batch& batch : loader) {
    const Tensor logits = (*saved.model)(batch.images);
    loss += nn::cross_entropy(logits, batch.labels, {.reduction = nn::Reduction::Sum}).item();
    const auto predicted = logits.argmax(1).to_vector<std::int64_t>();
    const auto labels = batch.labels.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto label = static_cast<std::size_t>(labels[i]);
      ++total[label];
      correct[label] += predicted[i] == labels[i];
    }
  }
  const auto n = static_cast<double>(dataset.size());
  const auto right = std::accumulate(correct.begin(), correct.end(), std::int64_t{0});
  std::cout << fmt::format("{}: {} samples, loss {:.4f}, accuracy {:.2f}%\n", dataset.name, dataset.size(), loss / n,
                           100.0 * static_cast<double>(right) / n);
  for (std::size_t c = 0; c < classes; ++c)
    if (total[c] > 0)
      std::cout << fmt::format("  {:<14} {:6.2f}%  ({} of {})\n", saved.class_names[c],
                               100.0 * static_cast<double>(correct[c]) / static_cast<double>(total[c]), correct[c], total[c]);
}

struct PredictArgs {
  std::string model;
  std::vector<std::string> images;
  std::int64_t top = 3;
  std::int64_t limit = 20;
  bool invert = false;
};

void run_predict(const PredictArgs& args) {
  const experiment::SavedModel saved = experiment::load_model(args.model);
  describe(saved, args.model);
  const data::ImageSet images = data::read_images({args.images.begin(), args.images.end()}, saved.sample_shape,
                                                  {.invert = args.invert});
  for (const std::string& note : images.notes) std::cout << "note: " << note << '\n';
  const std::int64_t total = images.pixels.size(0);
  const std::int64_t count = std::min(total, args.limit);
  const data::Dataset shown{"images", images.pixels.narrow(0, 0, count), zeros({count}, kInt64), saved.class_names};

  NoGradGuard no_grad;
  const Tensor probabilities = softmax((*saved.model)(data::to_float32(shown, saved.normalization)), 1);
  const std::int64_t top = std::min<std::int64_t>(args.top, static_cast<std::int64_t>(saved.class_names.size()));
  for (std::int64_t i = 0; i < count; ++i) {
    const auto p = probabilities.select(0, i).to_vector<float>();
    std::vector<std::size_t> order(p.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](auto a, auto b) { return p[a] > p[b]; });
    std::string line = fmt::format("{}:", images.names[static_cast<std::size_t>(i)]);
    for (std::int64_t k = 0; k < top; ++k)
      line += fmt::format("  {} {:.1f}%", saved.class_names[order[static_cast<std::size_t>(k)]],
                          100.0 * static_cast<double>(p[order[static_cast<std::size_t>(k)]]));
    std::cout << line << '\n';
  }
  if (count < total) std::cout << fmt::format("({} more images; show them with --limit)\n", total - count);
}

const CommandRegistration eval_registration([](CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "Evaluate a saved model (e.g. OUT/models/relu-seed1.safetensors) on a dataset");
  auto args = std::make_shared<EvalArgs>();
  eval->add_option("model", args->model, "A model file written by actlab compare")->required()->check(CLI::ExistingFile);
  eval->add_option("--data", args->data, "Dataset (default: the one the model was trained on)");
  eval->add_option("--data-dir", args->data_dir, "Dataset folder (default $ACTLAB_DATA, then ~/.cache/actlab/datasets)");
  eval->add_option("--split", args->split, "Which split")->check(CLI::IsMember({"test", "train"}));
  eval->add_option("--threads", args->threads, "Threads (0: every core)")->check(CLI::NonNegativeNumber);
  eval->callback([args] { run_eval(*args); });
});

const CommandRegistration predict_registration([](CLI::App& app) {
  auto* predict = app.add_subcommand("predict", "Print a saved model's top classes for each image (PNG or IDX files)");
  auto args = std::make_shared<PredictArgs>();
  predict->add_option("model", args->model, "A model file written by actlab compare")->required()->check(CLI::ExistingFile);
  predict->add_option("images", args->images,
                      "PNG images (any size and colour; fitted to the model's input) or IDX image files (raw or .gz)")
      ->required()
      ->check(CLI::ExistingFile);
  predict->add_option("--top", args->top, "Classes to show per image")->check(CLI::PositiveNumber);
  predict->add_option("--limit", args->limit, "Images to show")->check(CLI::PositiveNumber);
  predict->add_flag("--invert", args->invert, "Invert pixel values (for dark strokes on a light background)");
  predict->callback([args] { run_predict(*args); });
});

}  // namespace
}  // namespace actlab::cli
