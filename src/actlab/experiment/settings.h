// Experiment settings: every knob of `actlab compare`, from defaults, a TOML config and the
// command line, and the sweep they describe.
//
// One table of keys (settings.cpp) drives all of it: each key has a type, a default, a check
// and a one-line help, so the TOML file, the CLI options, the sweep axes and the resolved
// config.toml can never disagree.
//
// A config file holds fixed settings at the top level and axes to sweep under [sweep]:
//
//     name = "init-vs-activation"
//     data = "mnist"
//     model = "mlp:256x4"
//     epochs = 3
//     activations = ["sigmoid", "tanh", "relu"]
//     [sweep]
//     init = ["standard", "he"]
//
// Errors: an unknown key, a wrong type or an invalid value throws Error naming the file and
// line (or the option), what was wrong, and the valid choices.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace actlab::experiment {

struct Settings {
  std::string name = "default";
  std::string data = "mnist";
  std::string data_dir;  // empty: $ACTLAB_DATA, then ~/.cache/actlab/datasets
  std::string model = "mlp:256x4";
  std::int64_t max_parameters = 200'000'000;  // make_model refuses larger models before allocating
  std::vector<std::string> activations = {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu"};
  std::int64_t epochs = 5;
  std::int64_t batch = 128;
  std::int64_t accumulate = 1;  // micro-batches per batch, gradients accumulated (train/step.h)
  std::string optimizer = "adam";
  double lr = 1e-3;
  double momentum = 0.9;
  std::string schedule = "cosine";
  double weight_decay = 0;
  std::string init = "standard";
  std::string norm = "none";
  double dropout = 0;
  double forget_bias = 0;  // LSTM models: the forget gate's bias at init (0: the init's own)
  double clip_norm = 0;  // 0: no clipping
  std::vector<std::uint64_t> seeds = {1};
  std::int64_t threads = 0;      // 0: every core
  bool deterministic = false;    // bit-identical results whatever the thread count (core/parallel.h)
  std::int64_t limit_train = 0;  // 0: the whole training set
  std::int64_t val_size = 5000;
  double target_acc = 0.97;      // for "epochs to reach"
  std::int64_t log_every = 50;   // steps between logged training losses
  std::int64_t diagnostics_every = 100;  // steps between gradient-flow snapshots (0: off)
  double vanishing_ratio = 1e-2;         // see diagnostics/verdicts.h
  double exploding_ratio = 1e2;
  double dead_threshold = 0.5;
  double saturation_threshold = 0.5;
  std::int64_t checkpoint_every = 500;  // steps between checkpoints (0: only at epoch ends)
  std::string out;               // empty: runs/<timestamp>-<name>
  std::string tensorboard;       // folder for TensorBoard event files (empty: none)
};

// One axis of a sweep: a settings key and the values it takes.
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

// One arm of a sweep (all settings fixed but the seed) and the seeds it runs.
struct Arm {
  std::string label;                                 // e.g. "relu" or "relu, init=he"
  std::map<std::string, std::string> axis_values;    // key -> value, activation included
  Settings settings;                                 // with activations = {this arm's one}
};

// A figure a paper published for one arm, shown in the report beside the measured one. In a
// config:
//     [[published]]
//     activation = "tanh"        # the arm: its activation and any swept settings
//     init = "xavier"
//     test_error = 1.64          # percent; or test_accuracy
//     source = "Glorot & Bengio 2010, Table 1"
struct PublishedFigure {
  std::map<std::string, std::string> arm;  // "activation" and sweep keys -> values
  std::string metric;                      // "test_error" or "test_accuracy", in percent
  double value = 0;
  std::string source;
};

// Whether an arm with these axis values (Arm::axis_values) is the figure's arm.
bool matches(const PublishedFigure& figure, const std::map<std::string, std::string>& axis_values);

struct Experiment {
  Settings base;
  std::vector<SweepAxis> sweep;  // besides activations
  std::vector<PublishedFigure> published;
  // Arms in a stable order: activations outermost, then each axis in file order.
  std::vector<Arm> arms() const;
  // How many arms there are, without building them (saturates at SIZE_MAX).
  std::size_t arm_count() const;
  // The arm at `index` (< arm_count()) of that order, built alone.
  Arm arm(std::size_t index) const;
};

struct SettingInfo {
  std::string key;
  std::string type;  // "string", "int", "float", "list"
  std::string help;
};
// Every settings key, in display order.
const std::vector<SettingInfo>& setting_keys();

// Sets `key` from its text form (as on the command line); throws Error naming `origin`.
void set_setting(Settings& settings, const std::string& key, const std::string& value, const std::string& origin);
// Sets `key` in the experiment's fixed settings, as a command-line option does: a value given there
// replaces the config's, so a swept key stops being swept: its axis is dropped, and so are the
// published figures that name another value of it (those for the fixed value keep their arm).
// Throws Error naming `origin`.
void override_setting(Experiment& experiment, const std::string& key, const std::string& value,
                      const std::string& origin);
// The text form of `key` (lists comma-separated).
std::string get_setting(const Settings& settings, const std::string& key);

// Reads a TOML config. Throws Error with file:line on any problem.
Experiment load_config(const std::string& path);
// The same from TOML text; errors name `source` and the line.
Experiment parse_config(const std::string& toml_text, const std::string& source);

// The fully resolved experiment as TOML (written to config.toml; loads back to the same).
std::string to_toml(const Experiment& experiment);

// Splits "a, b,c" at `separator` into trimmed parts (empty parts kept, so "a,,b" has three).
std::vector<std::string> split_list(const std::string& text, char separator);

// Parses "3" (seeds 1..3), "1,5,9" or "[5]" (those seeds). Throws Error on a repeated seed.
std::vector<std::uint64_t> parse_seeds(const std::string& text, const std::string& origin);
// The seeds of a list, whatever its length: ["5"] is seed 5. Throws Error on a repeated seed.
std::vector<std::uint64_t> parse_seed_list(const std::vector<std::string>& parts, const std::string& origin);

}  // namespace actlab::experiment
