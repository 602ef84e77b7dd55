// TensorBoard event files for `actlab compare --tensorboard DIR`: one folder per run,
// DIR/<arm>-seed<k> (run_file_name), so `tensorboard --logdir DIR` shows the runs side by side.
//
// TensorBoardWriter, an observer of the training loop (train/loop.h), writes (io/event_file.h):
//   text        settings                    the run's settings as a markdown table, at step 0
//   scalars     loss/train                  at each logged step: its mean training loss since the
//                                           last one (metrics.jsonl "step" lines)
//               optimizer/learning_rate,    at each logged step: the learning rate and the global
//               optimizer/gradient_norm     gradient norm (before clipping) of that step
//               loss/train_epoch, loss/validation, loss/test, accuracy/train,
//               accuracy/validation, accuracy/test   at each epoch's last step ("epoch" lines)
//               diagnostics/probe_loss, gradient_norm/L, weight_gradient_norm/L, update_ratio/L,
//               dead_fraction/L, saturated_fraction/L   at each diagnostics snapshot, per layer L
//                                           ("<name> <type>") where the recorder measures it
//   histograms  activations/L, gradients/L  at each snapshot: the recorder's bins of the layer's
//                                           output and of the gradient reaching it, without the
//                                           empty bins at either end, the outer edges widened to
//                                           the smallest and largest value
// Values are those of the metrics files and summary.json, as float32 for scalars.
//
// Kill and resume: every write is handed to the operating system at once, and the run's state
// (state.observers["tensorboard"], saved by every checkpoint) lists its event files with their
// sizes and what they hold. A resumed run cuts its listed files back to the sizes of its
// checkpoint, removes the folder's other event files (written after it), and goes on in a new
// event file that opens with a SessionLog START at the next step; so each step is in the files
// once, and a TensorBoard that watched the killed run drops what it saw after the checkpoint.
//
// Errors: a file that cannot be written (a full disk) throws Error naming it, the system's reason
// and how to continue; so does a listed file shorter than its checkpoint says (changed outside).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "actlab/diagnostics/recorder.h"
#include "actlab/experiment/output_folder.h"
#include "actlab/experiment/settings.h"
#include "actlab/io/event_file.h"
#include "actlab/train/loop.h"

namespace actlab::experiment {

// Before any training: makes `dir` a folder and settles the event files that the folders of
// `run_names` in it already hold: Refuse throws Error naming the folder and the fix, Overwrite
// removes them, Resume keeps them for the runs to continue.
void claim_tensorboard_folder(const std::filesystem::path& dir, const std::vector<std::string>& run_names,
                              ExistingExperiment existing);

class TensorBoardWriter final : public train::Observer {
 public:
  // `folder`: the run's own; `title`: the run as the progress names it ("relu · seed 1");
  // `recorder`: the run's diagnostics, read at each snapshot (null: none).
  TensorBoardWriter(std::filesystem::path folder, std::string title, const Settings& settings,
                    const diagnostics::Recorder* recorder);
  void on_run_begin(train::Run& run) override;
  void on_step_end(train::Run& run, const train::StepResult& r) override;
  void on_epoch_end(train::Run& run, const train::EpochMetrics&) override;
  void on_run_end(train::Run& run) override;

 private:
  // Writes what the state holds and the files do not yet; `step` is the step just taken, if any.
  void write_new(train::Run& run, const train::StepResult* step);
  void write(std::string_view event);
  std::string settings_markdown() const;

  std::filesystem::path folder_;
  std::string title_;
  const Settings& settings_;
  const diagnostics::Recorder* recorder_;
  std::optional<io::EventFile> file_;
};

}  // namespace actlab::experiment
