#include "actlab/experiment/tensorboard.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <set>

#include <nlohmann/json.hpp>

#include "actlab/core/error.h"

namespace actlab::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_event_file(const fs::path& path) { return path.filename().string().find("tfevents") != std::string::npos; }

std::vector<fs::path> event_files(const fs::path& folder) {
  std::vector<fs::path> files;
  if (fs::is_directory(folder))
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file() && is_event_file(entry.path())) files.push_back(entry.path());
  return files;
}

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The recorder's bins over [low, high] as TensorBoard reads a histogram (io::Histogram): the
// empty bins at either end left out, and the outer edges widened to the smallest and largest
// value, since the end bins also hold the values beyond the range.
io::Histogram histogram_of(const std::vector<std::int64_t>& bins, double low, double high, double min, double max,
                           double mean, double std) {
  io::Histogram h;
  const auto first = std::find_if(bins.begin(), bins.end(), [](std::int64_t c) { return c > 0; });
  if (first == bins.end()) return h;
  const auto last = std::find_if(bins.rbegin(), bins.rend(), [](std::int64_t c) { return c > 0; }).base();
  const double width = (high - low) / static_cast<double>(bins.size());
  const auto edge = [&](std::ptrdiff_t i) { return low + static_cast<double>(i) * width; };
  h.min = std::min(min, edge(first - bins.begin()));
  h.max = std::max(max, edge(last - bins.begin()));
  for (auto bin = first; bin != last; ++bin) {
    h.bucket_limit.push_back(edge(bin - bins.begin() + 1));
    h.bucket.push_back(static_cast<double>(*bin));
  }
  h.bucket_limit.back() = h.max;
  h.num = std::accumulate(first, last, 0.0);
  h.sum = mean * h.num;
  h.sum_squares = h.num * (std * std + mean * mean);
  return h;
}

void add_snapshot(io::Summary& summary, const std::vector<diagnostics::LayerInfo>& layers,
                  const diagnostics::Snapshot& snapshot) {
  summary.scalar("diagnostics/probe_loss", snapshot.loss);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const diagnostics::LayerStats& s = snapshot.layers[i];
    const std::string layer = layers[i].name + " " + layers[i].type;
    summary.scalar("gradient_norm/" + layer, s.grad_norm);
    const std::pair<const char*, const std::optional<double>&> measured[] = {
        {"weight_gradient_norm/", s.weight_grad_norm}, {"update_ratio/", s.update_ratio},
        {"dead_fraction/", s.dead_fraction}, {"saturated_fraction/", s.saturated_fraction}};
    for (const auto& [tag, value] : measured)
      if (value) summary.scalar(tag + layer, *value);
    const io::Histogram output = histogram_of(s.histogram, -diagnostics::kHistogramRange, diagnostics::kHistogramRange,
                                              s.min, s.max, s.mean, s.std);
    if (!output.bucket.empty()) summary.histogram("activations/" + layer, output);
    const io::Histogram grad = histogram_of(s.grad_histogram, s.grad_min, s.grad_max, s.grad_min, s.grad_max,
                                            s.grad_mean, s.grad_std);
    if (!grad.bucket.empty()) summary.histogram("gradients/" + layer, grad);
  }
}

// Cuts the files `listed` (name, bytes) back to their sizes and removes the folder's other event files.
void restore_folder(const fs::path& folder, const json& listed) {
  std::set<std::string> names;
  for (const json& file : listed) {
    const std::string name = file.at("name").get<std::string>();
    const auto bytes = file.at("bytes").get<std::uintmax_t>();
    names.insert(name);
    const fs::path path = folder / name;
    if (!fs::exists(path)) continue;  // removed by hand: its steps are gone from TensorBoard, the others stay
    const std::uintmax_t size = fs::file_size(path);
    ACTLAB_CHECK(size >= bytes, "--tensorboard: {} holds {} bytes, but the run's checkpoint recorded {}: it was cut "
                 "short outside actlab; remove {} (TensorBoard then lacks the steps before the checkpoint) and "
                 "resume again", path.string(), size, bytes, folder.string());
    if (size > bytes) fs::resize_file(path, bytes);
  }
  for (const fs::path& path : event_files(folder))
    if (!names.contains(path.filename().string())) fs::remove(path);
}

}  // namespace

void claim_tensorboard_folder(const fs::path& dir, const std::vector<std::string>& run_names,
                              ExistingExperiment existing) {
  std::error_code error;
  fs::create_directories(dir, error);
  ACTLAB_CHECK(!error && fs::is_directory(dir), "--tensorboard {}: cannot create the folder ({}); give a folder that "
               "can be written", dir.string(), error ? error.message() : "a file of that name exists");
  if (existing == ExistingExperiment::Resume) return;
  for (const std::string& name : run_names)
    for (const fs::path& path : event_files(dir / name)) {
      ACTLAB_CHECK(existing == ExistingExperiment::Overwrite, "--tensorboard {}: {} already holds the TensorBoard "
                   "events of an earlier experiment; give another --tensorboard folder, or --overwrite to replace them",
                   dir.string(), (dir / name).string());
      fs::remove(path);
    }
}

TensorBoardWriter::TensorBoardWriter(fs::path folder, std::string title, const Settings& settings,
                                     const diagnostics::Recorder* recorder)
    : folder_(std::move(folder)), title_(std::move(title)), settings_(settings), recorder_(recorder) {}

void TensorBoardWriter::on_run_begin(train::Run& run) {
  json& record = run.state.observers["tensorboard"];
  if (record.is_null())
    record = {{"files", json::array()}, {"settings", false}, {"steps", 0}, {"epochs", 0}, {"snapshots", 0}};
  std::error_code error;
  fs::create_directories(folder_, error);
  ACTLAB_CHECK(!error, "--tensorboard: cannot create {}: {}", folder_.string(), error.message());
  json& files = record.at("files");
  restore_folder(folder_, files);
  // Names sort in writing order, as TensorBoard reads a run's files.
  auto started = static_cast<std::int64_t>(wall_time());
  if (!files.empty()) started = std::max(started, files.back().at("started").get<std::int64_t>());
  const std::string name = fmt::format("events.out.tfevents.{:010}.actlab.{:03}", started, files.size());
  file_.emplace(folder_ / name);
  write(io::file_version_event(wall_time()));
  if (!files.empty()) write(io::session_start_event(wall_time(), run.state.step + 1));
  files.push_back({{"name", name}, {"bytes", file_->bytes()}, {"started", started}});
  write_new(run, nullptr);
}

void TensorBoardWriter::on_step_end(train::Run& run, const train::StepResult& r) { write_new(run, &r); }
void TensorBoardWriter::on_epoch_end(train::Run& run, const train::EpochMetrics&) { write_new(run, nullptr); }
void TensorBoardWriter::on_run_end(train::Run& run) { write_new(run, nullptr); }

void TensorBoardWriter::write_new(train::Run& run, const train::StepResult* step) {
  const train::TrainState& state = run.state;
  json& record = run.state.observers.at("tensorboard");
  const double now = wall_time();
  if (!record.at("settings").get<bool>()) {
    write(io::Summary().text("settings", settings_markdown()).event(now, 0));
    record["settings"] = true;
  }
  for (auto i = record.at("steps").get<std::size_t>(); i < state.steps.size(); ++i) {
    const train::StepMetrics& s = state.steps[i];
    io::Summary summary;
    summary.scalar("loss/train", s.loss);
    if (step && s.step == state.step)
      summary.scalar("optimizer/learning_rate", run.optimizer.lr()).scalar("optimizer/gradient_norm", step->grad_norm);
    write(summary.event(now, s.step));
  }
  record["steps"] = state.steps.size();
  for (auto i = record.at("epochs").get<std::size_t>(); i < state.epochs.size(); ++i) {
    const train::EpochMetrics& e = state.epochs[i];
    io::Summary summary;
    summary.scalar("loss/train_epoch", e.train_loss).scalar("accuracy/train", e.train_acc);
    if (e.val_loss) summary.scalar("loss/validation", *e.val_loss).scalar("accuracy/validation", *e.val_acc);
    summary.scalar("loss/test", e.test_loss).scalar("accuracy/test", e.test_acc);
    // An epoch ends after its last batch, or at the step where the run diverged.
    write(summary.event(now, std::min(e.epoch * run.loader.batches_per_epoch(), state.step)));
  }
  record["epochs"] = state.epochs.size();
  if (recorder_) {
    const auto& snapshots = recorder_->snapshots();
    for (auto i = record.at("snapshots").get<std::size_t>(); i < snapshots.size(); ++i) {
      io::Summary summary;
      add_snapshot(summary, recorder_->layers(), snapshots[i]);
      write(summary.event(now, snapshots[i].step));
    }
    record["snapshots"] = snapshots.size();
  }
  record.at("files").back()["bytes"] = file_->bytes();
}

void TensorBoardWriter::write(std::string_view event) {
  try {
    file_->write(event);
  } catch (const Error& e) {
    fail("--tensorboard: {}. The events up to the run's last checkpoint are kept: make room (or fix the folder) and "
         "continue the experiment with `actlab compare --resume OUT`", e.what());
  }
}

std::string TensorBoardWriter::settings_markdown() const {
  std::string text = fmt::format("**{}**\n\n| setting | value |\n|---|---|\n", title_);
  for (const SettingInfo& key : setting_keys()) {
    std::string value;
    for (char c : get_setting(settings_, key.key)) value += c == '|' ? std::string("\\|") : std::string(1, c);
    text += fmt::format("| {} | {} |\n", key.key, value);
  }
  return text;
}

}  // namespace actlab::experiment
