#include "actlab/experiment/checkpoint.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <fstream>

#include <nlohmann/json.hpp>

#include "actlab/core/parse.h"
#include "actlab/core/version.h"
#include "actlab/io/state.h"

namespace actlab::experiment {

std::string run_file_name(const std::string& arm_label, std::uint64_t seed) {
  std::string name;
  for (char c : arm_label) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (keep)
      name += c;
    else if (!name.empty() && name.back() != '-')
      name += '-';
  }
  return fmt::format("{}-seed{}", name, seed);
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string file_name(const std::string& arm, std::uint64_t seed) { return run_file_name(arm, seed) + ".safetensors"; }

const std::string& required(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto it = metadata.find(key);
  ACTLAB_CHECK(it != metadata.end(), "{}: the metadata has no '{}'; it was not written by actlab compare", path, key);
  return it->second;
}

json parse_json(const std::string& text, const std::string& key, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: metadata '{}' is not valid JSON ({})", path, key, e.what());
  }
}

// A positive integer, or nullopt when `text` is not one (make_model then says what is wrong).
std::optional<std::uint64_t> positive_count(std::string_view text) {
  const std::optional<std::int64_t> value = parse_integer(text);
  if (!value || *value <= 0) return std::nullopt;
  return static_cast<std::uint64_t>(*value);
}

// The model the metadata names must fit the tensors the file holds. Checked before the model is
// built, so metadata cannot make a small file allocate a huge model: the sample and the classes
// each feed a weight of the file, an MLP's weights between consecutive widths add up to at most
// the file's values, and every MLP layer and ResNet block holds at least one of the file's tensors.
void check_fits_file(const Settings& s, const Shape& sample_shape, std::uint64_t classes,
                     const io::SafetensorsContents& contents, const std::string& path) {
  std::uint64_t total = 0, largest = 0, tensors = 0;
  for (const auto& [name, tensor] : contents.tensors) {
    if (name.starts_with(io::kOptimizerPrefix)) continue;
    const auto n = static_cast<std::uint64_t>(tensor.numel());
    total += n;
    largest = std::max(largest, n);
    ++tensors;
  }
  const std::string_view mismatch = "the metadata does not describe this file's weights";
  ACTLAB_CHECK(!sample_shape.empty(), "{}: metadata 'sample_shape' is empty; {}", path, mismatch);
  std::uint64_t inputs = 1;
  for (const std::int64_t d : sample_shape)
    ACTLAB_CHECK(d >= 1 && !__builtin_mul_overflow(inputs, static_cast<std::uint64_t>(d), &inputs) && inputs <= largest,
                 "{}: metadata 'sample_shape' {} has more values per sample than the largest tensor in the file ({} "
                 "values); {}", path, shape_str(sample_shape), largest, mismatch);
  ACTLAB_CHECK(classes <= largest, "{}: metadata 'class_names' lists {} classes, more than the largest tensor in the "
               "file holds ({} values); {}", path, classes, largest, mismatch);

  const auto colon = s.model.find(':');
  if (colon == std::string::npos) return;
  const std::string kind = s.model.substr(0, colon), args = s.model.substr(colon + 1);
  const auto too_big = [&] {
    fail("{}: model '{}' needs more than the {} values in {} tensors the file holds; {}", path, s.model, total, tensors,
         mismatch);
  };
  if (kind == "resnet-small") {
    if (const auto blocks = positive_count(args); blocks && *blocks > tensors) too_big();
    return;
  }
  if (kind != "mlp") return;
  std::uint64_t width = inputs, weights = 0, layers = 0;
  const auto add_layer = [&](std::uint64_t next) {
    std::uint64_t product = 0;
    if (++layers > tensors || __builtin_mul_overflow(width, next, &product) ||
        __builtin_add_overflow(weights, product, &weights) || weights > total)
      too_big();
    width = next;
  };
  for (const std::string& part : split_list(args, ',')) {
    const auto x = part.find('x');
    const auto hidden = positive_count(std::string_view(part).substr(0, x));
    const auto repeat = x == std::string::npos ? std::optional<std::uint64_t>(1)
                                               : positive_count(std::string_view(part).substr(x + 1));
    if (!hidden || !repeat) return;
    if (*repeat > tensors) too_big();
    for (std::uint64_t i = 0; i < *repeat; ++i) add_layer(*hidden);
  }
  add_layer(classes);
}

}  // namespace

SavedModel load_model(const std::string& path) {
  io::SafetensorsContents contents = io::load_safetensors(path);
  const io::Metadata& m = contents.metadata;
  SavedModel saved;
  Settings& s = saved.settings;
  s.data = required(m, "data", path);
  s.model = required(m, "model", path);
  s.activations = {required(m, "activation", path)};
  s.init = required(m, "init", path);
  s.norm = required(m, "norm", path);
  try {
    const std::string dropout = required(m, "dropout", path);
    const std::optional<double> rate = parse_number(dropout);
    ACTLAB_CHECK(rate.has_value(), "{}: metadata 'dropout' is '{}', not a number", path, dropout);
    s.dropout = *rate;
    saved.sample_shape = parse_json(required(m, "sample_shape", path), "sample_shape", path).get<Shape>();
    saved.class_names = parse_json(required(m, "class_names", path), "class_names", path).get<std::vector<std::string>>();
    const json normalization = parse_json(required(m, "normalization", path), "normalization", path);
    saved.normalization.mean = normalization.at("mean").get<std::vector<float>>();
    saved.normalization.std = normalization.at("std").get<std::vector<float>>();
  } catch (const json::exception& e) {
    fail("{}: malformed metadata ({})", path, e.what());
  } catch (const std::logic_error& e) {
    fail("{}: malformed metadata ({})", path, e.what());
  }
  ACTLAB_CHECK(!saved.class_names.empty(), "{}: metadata 'class_names' is empty", path);
  check_fits_file(s, saved.sample_shape, saved.class_names.size(), contents, path);
  try {
    saved.model = make_model(s, saved.sample_shape, static_cast<std::int64_t>(saved.class_names.size()), 0);
  } catch (const Error& e) {
    fail("{}: cannot rebuild the model: {}", path, e.what());
  }
  io::load_state(contents, path, *saved.model);
  saved.model->eval();
  saved.metadata = std::move(contents.metadata);
  return saved;
}

RunCheckpoint::RunCheckpoint(const fs::path& out_dir, const Arm& arm, std::uint64_t seed, const Shape& sample_shape,
                             std::vector<std::string> class_names, data::Normalization normalization,
                             MetricsPaths metrics)
    : out_dir_(out_dir),
      arm_(arm),
      seed_(seed),
      sample_shape_(sample_shape),
      class_names_(std::move(class_names)),
      normalization_(std::move(normalization)),
      file_name_(file_name(arm.label, seed)),
      metrics_(std::move(metrics)) {}

fs::path RunCheckpoint::checkpoint_path() const { return out_dir_ / "checkpoints" / file_name_; }
fs::path RunCheckpoint::model_path() const { return out_dir_ / "models" / file_name_; }

bool RunCheckpoint::due(std::int64_t step) const {
  const std::int64_t every = arm_.settings.checkpoint_every;
  return every > 0 && step % every == 0;
}

io::Metadata RunCheckpoint::model_metadata(std::int64_t step) const {
  const Settings& s = arm_.settings;
  return {{"actlab_version", std::string(kVersion)},
          {"arm", arm_.label},
          {"data", s.data},
          {"model", s.model},
          {"activation", s.activations.front()},
          {"init", s.init},
          {"norm", s.norm},
          {"dropout", fmt::format("{}", s.dropout)},
          {"sample_shape", json(sample_shape_).dump()},
          {"class_names", json(class_names_).dump()},
          {"normalization", json{{"mean", normalization_.mean}, {"std", normalization_.std}}.dump()},
          {"seed", std::to_string(seed_)},
          {"step", std::to_string(step)}};
}

void RunCheckpoint::save(nn::Module& model, const optim::Optimizer& optimizer, const train::TrainState& state) const {
  save_with(model, optimizer, state, json());
}

void RunCheckpoint::save_with(nn::Module& model, const optim::Optimizer& optimizer, const train::TrainState& state,
                              const json& result) const {
  io::Metadata metadata = model_metadata(state.step);
  metadata["training"] =
      json{{"state", train::to_json(state)},
           {"generators", train::generator_states(model)},
           {"result", result},
           {"metrics_files", {fs::relative(metrics_.jsonl, out_dir_), fs::relative(metrics_.csv, out_dir_)}},
           {"metrics_bytes", {fs::file_size(metrics_.jsonl), fs::file_size(metrics_.csv)}}}
          .dump();
  fs::create_directories(checkpoint_path().parent_path());
  io::save_state(checkpoint_path().string(), model, metadata, &optimizer);
}

std::optional<RunCheckpoint::Restored> RunCheckpoint::restore(nn::Module& model, optim::Optimizer& optimizer,
                                                              Schedule& schedule, bool cut_metrics) const {
  const std::string path = checkpoint_path().string();
  if (!fs::exists(path)) return std::nullopt;
  io::SafetensorsContents contents = io::load_safetensors(path);
  const io::Metadata& m = contents.metadata;
  const io::Metadata expected = model_metadata(0);
  for (const char* key : {"arm", "data", "model", "activation", "init", "norm", "dropout", "seed", "sample_shape"})
    ACTLAB_CHECK(required(m, key, path) == expected.at(key),
                 "{}: the checkpoint has {} '{}' but this run has '{}'; it belongs to another experiment (delete it to "
                 "start this run afresh)", path, key, m.at(key), expected.at(key));
  const json training = parse_json(required(m, "training", path), "training", path);

  Restored restored;
  try {
    restored.state = train::state_from_json(training.at("state"));
    if (!training.at("result").is_null()) restored.result = run_from_json(training.at("result"));
    train::restore_generators(model, training.at("generators"));
    // The schedule's state (epoch counter, plateau's best and patience) follows from the
    // monitored losses of the finished epochs; the optimizer's state, loaded next, holds the
    // same rates.
    for (const EpochMetrics& e : restored.state.epochs) schedule.epoch_end(e.val_loss.value_or(e.test_loss));
    io::load_state(contents, path, model, &optimizer);
    // The files the checkpoint was written against: a run resumed into its own metrics files
    // continues after the lines it left in the shared ones.
    const auto& sizes = training.at("metrics_bytes");
    const json files = training.value("metrics_files", json{"metrics.jsonl", "metrics.csv"});
    for (int i = 0; i < 2 && cut_metrics; ++i) fs::resize_file(out_dir_ / files.at(i).get<std::string>(), sizes.at(i).get<std::uintmax_t>());
  } catch (const json::exception& e) {
    fail("{}: malformed training state ({})", path, e.what());
  } catch (const fs::filesystem_error& e) {
    fail("{}: cannot restore the metrics files ({})", path, e.what());
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
  return restored;
}

void RunCheckpoint::finish(nn::Module& model, const optim::Optimizer& optimizer, const train::TrainState& state,
                           const RunResult& result) const {
  save_with(model, optimizer, state, to_json(result));
  write_model(model, state.step);
}

void RunCheckpoint::write_model(const nn::Module& model, std::int64_t step) const {
  fs::create_directories(model_path().parent_path());
  io::save_state(model_path().string(), model, model_metadata(step));
}

void RunCheckpoint::remove() const {
  fs::remove(checkpoint_path());
  std::error_code not_empty;
  fs::remove(checkpoint_path().parent_path(), not_empty);  // only once no run is left to resume
}

MetricsPaths shared_metrics(const fs::path& out_dir) { return {out_dir / "metrics.jsonl", out_dir / "metrics.csv"}; }

MetricsPaths run_metrics(const fs::path& out_dir, const std::string& arm, std::uint64_t seed) {
  const fs::path stem = out_dir / kRunMetricsFolder / fs::path(file_name(arm, seed)).stem();
  return {fs::path(stem).concat(".jsonl"), fs::path(stem).concat(".csv")};
}

namespace {

const char* const kSharedBytes = "shared-bytes.json";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  ACTLAB_CHECK(in, "cannot read {}", path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

void begin_run_metrics(const fs::path& out_dir) {
  const fs::path folder = out_dir / kRunMetricsFolder;
  if (fs::exists(folder / kSharedBytes)) return;
  fs::create_directories(folder);
  const MetricsPaths shared = shared_metrics(out_dir);
  io::write_file_atomically((folder / kSharedBytes).string(),
                            json{fs::file_size(shared.jsonl), fs::file_size(shared.csv)}.dump());
}

void assemble_run_metrics(const fs::path& out_dir, const std::vector<std::pair<std::string, std::uint64_t>>& runs) {
  const fs::path folder = out_dir / kRunMetricsFolder;
  const fs::path bytes_path = folder / kSharedBytes;
  if (!fs::exists(bytes_path)) return;
  const json bytes = json::parse(read_text(bytes_path));
  const MetricsPaths shared = shared_metrics(out_dir);
  std::array<std::pair<fs::path, std::string>, 2> files = {{{shared.jsonl, {}}, {shared.csv, {}}}};
  for (int i = 0; i < 2; ++i) {
    // A restore may have cut a shared file below the recorded size; never read past either.
    auto& [path, text] = files[static_cast<std::size_t>(i)];
    text = read_text(path).substr(0, bytes.at(i).get<std::size_t>());
    for (const auto& [arm, seed] : runs) {
      const MetricsPaths own = run_metrics(out_dir, arm, seed);
      if (fs::exists(i == 0 ? own.jsonl : own.csv)) text += read_text(i == 0 ? own.jsonl : own.csv);
    }
  }
  for (const auto& [path, text] : files) io::write_file_atomically(path.string(), text);
  fs::remove_all(folder);
}

std::vector<RunResult> finished_runs(const fs::path& out_dir) {
  const fs::path path = out_dir / "summary.json";
  if (!fs::exists(path)) return {};
  std::ifstream in(path);
  json summary;
  try {
    summary = json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({}); cannot tell which runs finished", path.string(), e.what());
  }
  std::vector<RunResult> runs;
  for (RunResult& run : summary_from_json(summary).runs)
    if (run.status != "interrupted") runs.push_back(std::move(run));
  return runs;
}

}  // namespace actlab::experiment
