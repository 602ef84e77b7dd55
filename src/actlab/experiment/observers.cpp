#include "actlab/experiment/observers.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace actlab::experiment {

MetricsFiles::MetricsFiles(const std::filesystem::path& dir)
    : dir_(dir), jsonl_(dir / "metrics.jsonl", std::ios::app), csv_(dir / "metrics.csv", std::ios::app) {
  ACTLAB_CHECK(jsonl_ && csv_, "cannot write metrics into {}", dir.string());
  if (std::filesystem::file_size(dir / "metrics.csv") == 0)
    csv_ << "arm,activation,seed,kind,epoch,step,loss,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds\n";
}

MetricsFiles::MetricsFiles(const MetricsPaths& run) : jsonl_(run.jsonl, std::ios::app), csv_(run.csv, std::ios::app) {
  ACTLAB_CHECK(jsonl_ && csv_, "cannot write metrics into {}", run.jsonl.parent_path().string());
}

void MetricsFiles::step(const RunResult& run, const StepMetrics& s) {
  jsonl_ << nlohmann::json{{"kind", "step"}, {"arm", run.arm}, {"activation", run.activation}, {"seed", run.seed},
                           {"step", s.step}, {"epoch", s.epoch}, {"loss", s.loss}}.dump() << '\n';
  csv_ << fmt::format("\"{}\",\"{}\",{},step,{:.4f},{},{},,,,,,,,\n", run.arm, run.activation, run.seed, s.epoch, s.step, s.loss);
  flush();
}

void MetricsFiles::epoch(const RunResult& run, const EpochMetrics& e, std::int64_t step) {
  auto optional = [](const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string(); };
  nlohmann::json line = train::to_json(e);
  line.update({{"kind", "epoch"}, {"arm", run.arm}, {"activation", run.activation}, {"seed", run.seed}, {"step", step}});
  jsonl_ << line.dump() << '\n';
  csv_ << fmt::format("\"{}\",\"{}\",{},epoch,{},{},,{},{},{},{},{},{},{},{}\n", run.arm, run.activation, run.seed, e.epoch,
                      step, e.train_loss, e.train_acc, optional(e.val_loss), optional(e.val_acc), e.test_loss, e.test_acc,
                      e.lr, e.seconds);
  flush();
}

void MetricsFiles::flush() {
  errno = 0;
  jsonl_.flush();
  csv_.flush();
  ACTLAB_CHECK(jsonl_ && csv_, "cannot write metrics into {} ({}); free some space, then continue with --resume",
               dir_.string(), errno != 0 ? std::strerror(errno) : "write failed");
}

void MetricsWriter::on_step_end(train::Run& run, const train::StepResult&) {
  const auto& steps = run.state.steps;
  if (!steps.empty() && steps.back().step == run.state.step) files_.step(run_, steps.back());
}

void MetricsWriter::on_epoch_end(train::Run& run, const EpochMetrics& e) { files_.epoch(run_, e, run.state.step); }

void ProgressReporter::on_step_end(train::Run& run, const train::StepResult&) {
  const train::TrainState& s = run.state;
  progress_.step(s.epoch, s.step_in_epoch, s.epoch_score.loss(), s.epoch_score.accuracy(),
                 s.train_seconds > 0 ? static_cast<double>(s.samples) / s.train_seconds : 0);
}

namespace {

// " acc 97.12%", or nothing for a task without an accuracy (regression).
std::string accuracy_text(double accuracy) {
  return std::isnan(accuracy) ? "" : fmt::format(" acc {:.2f}%", accuracy * 100);
}

}  // namespace

void ProgressReporter::on_epoch_end(train::Run&, const EpochMetrics& e) {
  progress_.print(fmt::format("  epoch {:>2}  train loss {:.4f}{}  {}  test loss {:.4f}{}  ({:.1f}s)", e.epoch,
                              e.train_loss, accuracy_text(e.train_acc),
                              e.val_acc ? fmt::format("val loss {:.4f}{}", *e.val_loss, accuracy_text(*e.val_acc)) : "",
                              e.test_loss, accuracy_text(e.test_acc), e.seconds));
}

GradientFlow::GradientFlow(std::shared_ptr<nn::Module> model, data::Batch probe, Tensor dead_samples, std::int64_t every,
                           diagnostics::ProbeLoss loss)
    : model_(model),
      recorder_(std::move(model), std::move(probe), std::move(loss)),
      dead_samples_(std::move(dead_samples)),
      every_(every) {}

std::vector<diagnostics::DeadUnits> GradientFlow::count_dead_units() const {
  return diagnostics::count_dead_units(*model_, dead_samples_);
}

std::vector<diagnostics::DeadUnits> GradientFlow::dead_at_init(const train::TrainState& state) const {
  std::vector<diagnostics::DeadUnits> counts;
  for (const auto& d : state.observers.value("dead_at_init", nlohmann::json::array()))
    counts.push_back({d.at("layer").get<std::string>(), d.at("units").get<std::int64_t>(), d.at("dead").get<std::int64_t>(),
                      d.at("samples").get<std::int64_t>()});
  return counts;
}

void GradientFlow::record(train::Run& run) {
  run.state.observers["diagnostics"].push_back(to_json(recorder_.record(run.state.step)));
}

void GradientFlow::on_run_begin(train::Run& run) {
  const auto saved = run.state.observers.find("diagnostics");
  if (saved == run.state.observers.end()) {
    record(run);
    nlohmann::json& dead = run.state.observers["dead_at_init"] = nlohmann::json::array();
    for (const auto& d : count_dead_units())
      dead.push_back({{"layer", d.layer}, {"units", d.units}, {"dead", d.dead}, {"samples", d.samples}});
    return;
  }
  std::vector<diagnostics::Snapshot> snapshots;
  for (const auto& s : *saved) snapshots.push_back(diagnostics::snapshot_from_json(s));
  recorder_.restore(std::move(snapshots));
}

void GradientFlow::on_after_backward(train::Run& run, const data::Batch&, const train::StepResult& r) {
  if (r.finite() && run.state.step % every_ == 0) recorder_.before_update();
}

void GradientFlow::on_step_end(train::Run& run, const train::StepResult&) {
  if (run.state.step % every_ == 0) record(run);
}

void GradientFlow::on_run_end(train::Run& run) {
  const auto& snapshots = recorder_.snapshots();
  if (run.state.finished && run.state.status == "ok" && (snapshots.empty() || snapshots.back().step != run.state.step))
    record(run);
}

ThroughTime::ThroughTime(std::shared_ptr<nn::SequenceModel> model, data::Batch probe, diagnostics::ProbeLoss loss,
                         std::int64_t every)
    : model_(std::move(model)), probe_(std::move(probe)), loss_(std::move(loss)), every_(every) {}

void ThroughTime::record(train::Run& run) {
  const auto& saved = run.state.observers["through_time"];
  if (!saved.empty() && saved.back().at("step").get<std::int64_t>() == run.state.step) return;
  run.state.observers["through_time"].push_back(
      to_json(diagnostics::measure_through_time(*model_, probe_, loss_, run.state.step)));
}

void ThroughTime::on_run_begin(train::Run& run) {
  if (!run.state.observers.contains("through_time")) record(run);
}

void ThroughTime::on_step_end(train::Run& run, const train::StepResult&) {
  if (run.state.step % every_ == 0) record(run);
}

void ThroughTime::on_run_end(train::Run& run) {
  if (run.state.finished && run.state.status == "ok") record(run);
}

std::vector<diagnostics::ThroughTimeSnapshot> ThroughTime::snapshots(const train::TrainState& state) {
  std::vector<diagnostics::ThroughTimeSnapshot> out;
  for (const auto& s : state.observers.value("through_time", nlohmann::json::array()))
    out.push_back(diagnostics::through_time_from_json(s));
  return out;
}

DivergenceLocator::DivergenceLocator(std::shared_ptr<nn::Module> model) : model_(std::move(model)) {
  for (const auto& [name, generator] : model_->named_generators()) generators_.push_back(generator);
  generators_.push_back(&default_generator());
}

void DivergenceLocator::on_step_begin(train::Run&, const data::Batch&) {
  step_start_.clear();
  for (const Generator* generator : generators_) step_start_.emplace_back(generator->seed(), generator->offset());
}

void DivergenceLocator::on_after_backward(train::Run& run, const data::Batch& batch, const train::StepResult& r) {
  if (r.finite()) return;
  // The parameters are still those the step started from: rerun it with every check on.
  for (std::size_t i = 0; i < generators_.size(); ++i)
    generators_[i]->set_state(step_start_[i].first, step_start_[i].second);
  run.optimizer.zero_grad();
  diagnostics::Locator locator(model_);
  try {
    const Tensor loss = run.task.loss(locator.forward(run.state.step, batch.images), batch);
    if (std::isfinite(loss.item())) locator.backward(run.state.step, loss);
  } catch (const diagnostics::AnomalyError& e) {
    anomaly_ = e.anomaly;
  }
}

void Checkpointer::on_step_end(train::Run& run, const train::StepResult&) {
  if (checkpoint_.due(run.state.step)) checkpoint_.save(run.model, run.optimizer, run.state);
}

void Checkpointer::on_epoch_end(train::Run& run, const EpochMetrics&) {
  if (run.state.status == "ok") checkpoint_.save(run.model, run.optimizer, run.state);
}

void Checkpointer::on_interrupt(train::Run& run) { checkpoint_.save(run.model, run.optimizer, run.state); }

}  // namespace actlab::experiment
