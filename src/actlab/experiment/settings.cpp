#include "actlab/experiment/settings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <toml++/toml.h>

#include "actlab/core/error.h"
#include "actlab/core/parse.h"
#include "actlab/data/registry.h"
#include "actlab/experiment/training.h"
#include "actlab/nn/init.h"

namespace actlab::experiment {
namespace {

// Splits "relu,softplus:beta=2,threshold=20,elu" into specs: a part that is only a parameter
// ("threshold=20" or "0.5") continues the spec before it.
std::vector<std::string> split_specs(const std::string& text) {
  std::vector<std::string> specs;
  for (auto& part : split_list(text, ',')) {
    const auto colon = part.find(':');
    const auto equals = part.find('=');
    const bool parameter_only = !part.empty() && ((equals != std::string::npos && (colon == std::string::npos || equals < colon)) ||
                                std::isdigit(static_cast<unsigned char>(part[0])) || part[0] == '-' || part[0] == '.');
    if (parameter_only && !specs.empty())
      specs.back() += "," + part;
    else
      specs.push_back(part);
  }
  return specs;
}

std::int64_t parse_int(const std::string& text, const std::string& key, const std::string& origin) {
  const std::optional<std::int64_t> value = parse_integer(text);
  ACTLAB_CHECK(value.has_value(), "{}: {} must be an integer, got '{}'", origin, key, text);
  return *value;
}

double parse_float(const std::string& text, const std::string& key, const std::string& origin) {
  const std::optional<double> value = parse_number(text);
  ACTLAB_CHECK(value.has_value(), "{}: {} must be a number, got '{}'", origin, key, text);
  return *value;
}

struct Key {
  SettingInfo info;
  std::function<void(Settings&, const std::string& value, const std::string& origin)> set;
  std::function<std::string(const Settings&)> get;
};

Key string_key(std::string name, std::string Settings::*member, std::vector<std::string> choices, std::string help) {
  if (!choices.empty()) help += fmt::format(" ({})", fmt::join(choices, "|"));
  return {{name, "string", help},
          [name, member, choices](Settings& s, const std::string& value, const std::string& origin) {
            ACTLAB_CHECK(choices.empty() || std::find(choices.begin(), choices.end(), value) != choices.end(),
                         "{}: unknown {} '{}'; valid choices: {}", origin, name, value, fmt::join(choices, ", "));
            s.*member = value;
          },
          [member](const Settings& s) { return s.*member; }};
}

Key int_key(std::string name, std::int64_t Settings::*member, std::int64_t min, std::string help) {
  return {{name, "int", help},
          [name, member, min](Settings& s, const std::string& value, const std::string& origin) {
            const std::int64_t v = parse_int(value, name, origin);
            ACTLAB_CHECK(v >= min, "{}: {} must be at least {}, got {}", origin, name, min, v);
            s.*member = v;
          },
          [member](const Settings& s) { return std::to_string(s.*member); }};
}

Key float_key(std::string name, double Settings::*member, double min, double max, std::string help) {
  return {{name, "float", help},
          [name, member, min, max](Settings& s, const std::string& value, const std::string& origin) {
            const double v = parse_float(value, name, origin);
            ACTLAB_CHECK(std::isfinite(v), "{}: {} must be a finite number, got {}", origin, name, value);
            ACTLAB_CHECK(v >= min && v <= max, "{}: {} must be in [{}, {}], got {}", origin, name, min, max, v);
            s.*member = v;
          },
          [member](const Settings& s) { return fmt::format("{}", s.*member); }};
}

Key bool_key(std::string name, bool Settings::*member, std::string help) {
  return {{name, "bool", help},
          [name, member](Settings& s, const std::string& value, const std::string& origin) {
            ACTLAB_CHECK(value == "true" || value == "false", "{}: {} must be true or false, got '{}'", origin, name, value);
            s.*member = value == "true";
          },
          [member](const Settings& s) { return std::string(s.*member ? "true" : "false"); }};
}

const std::vector<std::string> kNorms = {"none", "batch", "layer"};

const std::vector<Key>& keys() {
  static const std::vector<Key> table = {
      string_key("name", &Settings::name, {}, "experiment name (used in the output folder)"),
      {{"data", "string", fmt::format("dataset ({})", fmt::join(data::dataset_names(), "|"))},
       [](Settings& s, const std::string& value, const std::string& origin) {
         try {
           data::dataset_info(value);
         } catch (const Error& e) {
           fail("{}: {}", origin, e.what());
         }
         s.data = value;
       },
       [](const Settings& s) { return s.data; }},
      string_key("data_dir", &Settings::data_dir, {}, "dataset folder (default $ACTLAB_DATA, then ~/.cache/actlab/datasets)"),
      string_key("model", &Settings::model, {}, model_syntaxes()),
      int_key("max_parameters", &Settings::max_parameters, 1,
              "largest model to build, in parameters (checked from the model spec before allocating)"),
      {{"activations", "list",
        "activation specs to compare, e.g. relu,leaky_relu:0.1,elu:alpha=0.5 (rnn: models: the nonlinearity; lstm: "
        "and gru: the candidate's and cell output's, the gates stay sigmoid)"},
       [](Settings& s, const std::string& value, const std::string& origin) {
         s.activations = split_specs(value);
         ACTLAB_CHECK(!s.activations.empty(), "{}: activations must name at least one activation", origin);
       },
       [](const Settings& s) { return fmt::format("{}", fmt::join(s.activations, ",")); }},
      int_key("epochs", &Settings::epochs, 1, "training epochs"),
      int_key("batch", &Settings::batch, 1, "mini-batch size"),
      int_key("accumulate", &Settings::accumulate, 1,
              "split each batch into this many micro-batches and accumulate their gradients: the same update in "
              "the memory of one micro-batch (1: off; at most --batch)"),
      string_key("optimizer", &Settings::optimizer, optimizer_names(), "optimizer"),
      float_key("lr", &Settings::lr, 0, 1e3, "learning rate"),
      float_key("momentum", &Settings::momentum, 0, 1, "momentum for sgd-momentum/nesterov/rmsprop"),
      string_key("schedule", &Settings::schedule, {}, "learning-rate schedule: " + schedule_syntaxes()),
      float_key("weight_decay", &Settings::weight_decay, 0, 1, "weight decay"),
      string_key("init", &Settings::init, {},
                 fmt::format("weight init: {} (NAME:gain=auto|G for an explicit gain; docs/DIAGNOSTICS.md)",
                             fmt::join(nn::init::names(), " | "))),
      string_key("norm", &Settings::norm, kNorms, "normalization after each hidden layer"),
      float_key("dropout", &Settings::dropout, 0, 0.99, "dropout probability after each hidden activation"),
      float_key("forget_bias", &Settings::forget_bias, -10, 10,
                "lstm models: the forget gate's bias b_if + b_hf at init, e.g. 1 (0: keep the init's)"),
      float_key("clip_norm", &Settings::clip_norm, 0, 1e9, "clip the global gradient L2 norm to this (0: off)"),
      {{"seeds", "list", "number of seeds (3 = seeds 1,2,3) or a list (1,5,9)"},
       [](Settings& s, const std::string& value, const std::string& origin) { s.seeds = parse_seeds(value, origin); },
       [](const Settings& s) { return fmt::format("{}", fmt::join(s.seeds, ",")); }},
      int_key("threads", &Settings::threads, 0, "threads (0: every core)"),
      bool_key("deterministic", &Settings::deterministic,
               "bit-identical results whatever the thread count (matrix products in fixed tiles; slower)"),
      int_key("limit_train", &Settings::limit_train, 0, "use only the first N training samples (0: all)"),
      int_key("val_size", &Settings::val_size, 0, "training samples held out for validation (the last N)"),
      float_key("target_acc", &Settings::target_acc, 0, 1, "accuracy for the epochs-to-reach column"),
      int_key("log_every", &Settings::log_every, 1, "steps between logged training losses"),
      int_key("diagnostics_every", &Settings::diagnostics_every, 0,
              "steps between gradient-flow snapshots on a fixed probe batch, besides init and the end (0: off)"),
      float_key("vanishing_ratio", &Settings::vanishing_ratio, 0, 1,
                "vanishing verdict: first/last layer gradient norm below this"),
      float_key("exploding_ratio", &Settings::exploding_ratio, 1, 1e30,
                "exploding verdict: gradient norm growth across layers or since init above this"),
      float_key("dead_threshold", &Settings::dead_threshold, 0, 1, "dead-units verdict: dead fraction of a layer above this"),
      float_key("saturation_threshold", &Settings::saturation_threshold, 0, 1,
                "saturation verdict: saturated fraction of a layer above this"),
      int_key("checkpoint_every", &Settings::checkpoint_every, 0,
              "steps between checkpoints for --resume (0: only at epoch ends)"),
      string_key("out", &Settings::out, {}, "output folder (default runs/<timestamp>-<name>)"),
      {{"tensorboard", "string",
        "write TensorBoard event files into this folder, one folder per run (empty: none; view with tensorboard --logdir DIR)"},
       [](Settings& s, const std::string& value, const std::string& origin) {
         ACTLAB_CHECK(value.empty() || !std::filesystem::exists(value) || std::filesystem::is_directory(value),
                      "{}: tensorboard must name a folder, but {} is a file; give a folder (it is created if missing)",
                      origin, value);
         s.tensorboard = value;
       },
       [](const Settings& s) { return s.tensorboard; }},
  };
  return table;
}

const Key& find_key(const std::string& key, const std::string& origin) {
  for (const auto& k : keys())
    if (k.info.key == key) return k;
  std::vector<std::string> names;
  for (const auto& k : keys()) names.push_back(k.info.key);
  fail("{}: unknown setting '{}'; valid settings: {}", origin, key, fmt::join(names, ", "));
}

std::string where(const std::string& path, const toml::node& node) {
  return fmt::format("{}:{}", path, node.source().begin.line);
}

// How an error message names the values a key takes.
std::string expected_kind(const SettingInfo& info) {
  if (info.type == "int") return "an integer";
  if (info.type == "bool") return "true or false";
  return "a " + info.type;
}

// The text form of a TOML scalar, checked against the key's type.
std::string scalar_text(const toml::node& node, const SettingInfo& info, const std::string& origin) {
  if (auto s = node.as_string()) {
    ACTLAB_CHECK(info.type == "string" || info.type == "list", "{}: {} must be {}, got a string{}", origin, info.key,
                 expected_kind(info), info.type == "bool" ? " (write true or false without quotes)" : "");
    return s->get();
  }
  if (auto b = node.as_boolean()) {
    ACTLAB_CHECK(info.type == "bool", "{}: {} must be {}, got true/false", origin, info.key, expected_kind(info));
    return b->get() ? "true" : "false";
  }
  if (auto i = node.as_integer()) {
    ACTLAB_CHECK(info.type != "string" && info.type != "bool", "{}: {} must be {}, got an integer", origin, info.key,
                 expected_kind(info));
    return std::to_string(i->get());
  }
  if (auto f = node.as_floating_point()) {
    ACTLAB_CHECK(info.type == "float", "{}: {} must be {}, got a number with a fraction", origin, info.key,
                 expected_kind(info));
    return fmt::format("{}", f->get());
  }
  fail("{}: {} has an unsupported value type (use a string, a number or true/false)", origin, info.key);
}

std::vector<std::string> value_list(const toml::node& node, const SettingInfo& info, const std::string& origin) {
  std::vector<std::string> values;
  if (auto array = node.as_array()) {
    for (const auto& item : *array) values.push_back(scalar_text(item, info, origin));
  } else {
    values.push_back(scalar_text(node, info, origin));
  }
  return values;
}

std::string toml_value(const SettingInfo& info, const std::string& text) {
  if (info.type == "int" || info.type == "float" || info.type == "bool") return text;
  if (info.key == "seeds") return fmt::format("[{}]", text);
  if (info.type == "list") {
    std::vector<std::string> quoted;
    for (const auto& v : split_list(text, ',')) quoted.push_back(fmt::format("\"{}\"", v));
    return fmt::format("[{}]", fmt::join(quoted, ", "));
  }
  std::string escaped;
  for (char c : text) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return fmt::format("\"{}\"", escaped);
}

// One [[published]] table: the arm's values, one metric and its source.
PublishedFigure published_figure(const toml::node& node, const std::string& origin) {
  const auto* entry = node.as_table();
  ACTLAB_CHECK(entry != nullptr, "{}: published must be an array of tables: [[published]] followed by the arm's "
               "values, test_error or test_accuracy (percent) and source", origin);
  PublishedFigure figure;
  for (const auto& [name, value] : *entry) {
    const std::string key(name.str());
    if (key == "test_error" || key == "test_accuracy") {
      ACTLAB_CHECK(figure.metric.empty(), "{}: a published figure has one metric, got {} and {}", origin, figure.metric, key);
      const auto number = value.value<double>();
      ACTLAB_CHECK(number && *number >= 0 && *number <= 100, "{}: {} must be a percentage in [0, 100]", origin, key);
      figure.metric = key;
      figure.value = *number;
    } else if (key == "source") {
      ACTLAB_CHECK(value.is_string(), "{}: source must be a string naming the paper and its table or figure", origin);
      figure.source = value.as_string()->get();
    } else {
      const SettingInfo& info = find_key(key == "activation" ? "activations" : key, origin).info;
      figure.arm[key] = scalar_text(value, info.key == "activations" ? SettingInfo{key, "string", ""} : info, origin);
    }
  }
  ACTLAB_CHECK(!figure.metric.empty() && !figure.source.empty() && !figure.arm.empty(),
               "{}: a published figure needs the arm (activation and swept settings), test_error or test_accuracy, "
               "and source", origin);
  return figure;
}

// Every key of a figure's arm is the activation or a swept setting, and some arm has its values.
void check_published(const Experiment& experiment, const PublishedFigure& figure, const std::string& path) {
  for (const auto& [key, value] : figure.arm)
    ACTLAB_CHECK(key == "activation" || std::any_of(experiment.sweep.begin(), experiment.sweep.end(),
                                                    [&](const SweepAxis& a) { return a.key == key; }),
                 "{}: published figure from '{}' names {} = {}, but {} is not swept (name the activation and swept "
                 "settings only)", path, figure.source, key, value, key);
  for (std::size_t i = 0; i < experiment.arm_count(); ++i)
    if (matches(figure, experiment.arm(i).axis_values)) return;
  fail("{}: published figure from '{}' matches no arm of the sweep; check its values", path, figure.source);
}

}  // namespace

std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    parts.push_back(part);
  }
  return parts;
}

const std::vector<SettingInfo>& setting_keys() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> out;
    for (const auto& k : keys()) out.push_back(k.info);
    return out;
  }();
  return infos;
}

void override_setting(Experiment& experiment, const std::string& key, const std::string& value,
                      const std::string& origin) {
  set_setting(experiment.base, key, value, origin);
  std::erase_if(experiment.sweep, [&](const SweepAxis& axis) { return axis.key == key; });
  // A figure published for the fixed value still has its arm, now without that axis; one for
  // another value has none.
  const std::string fixed = get_setting(experiment.base, key);
  std::vector<PublishedFigure> kept;
  for (PublishedFigure& figure : experiment.published) {
    if (const auto named = figure.arm.find(key); named != figure.arm.end()) {
      Settings as_published = experiment.base;
      set_setting(as_published, key, named->second, origin);
      if (get_setting(as_published, key) != fixed) continue;
      figure.arm.erase(named);
    }
    kept.push_back(std::move(figure));
  }
  experiment.published = std::move(kept);
}

void set_setting(Settings& settings, const std::string& key, const std::string& value, const std::string& origin) {
  find_key(key, origin).set(settings, value, origin);
}

std::string get_setting(const Settings& settings, const std::string& key) { return find_key(key, key).get(settings); }

std::vector<std::uint64_t> parse_seed_list(const std::vector<std::string>& parts, const std::string& origin) {
  ACTLAB_CHECK(!parts.empty(), "{}: seeds is an empty list; give at least one seed", origin);
  std::vector<std::uint64_t> seeds;
  for (const auto& p : parts) {
    const std::int64_t s = parse_int(p, "seeds", origin);
    ACTLAB_CHECK(s >= 0, "{}: seeds must be non-negative, got {}", origin, s);
    ACTLAB_CHECK(std::find(seeds.begin(), seeds.end(), static_cast<std::uint64_t>(s)) == seeds.end(),
                 "{}: seed {} appears twice in the seeds list; each seed runs once, so list it once", origin, s);
    seeds.push_back(static_cast<std::uint64_t>(s));
  }
  return seeds;
}

std::vector<std::uint64_t> parse_seeds(const std::string& text, const std::string& origin) {
  // "[5]" is the list of the one seed 5, as in TOML.
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    return parse_seed_list(split_list(text.substr(1, text.size() - 2), ','), origin);
  const auto parts = split_list(text, ',');
  ACTLAB_CHECK(!parts.empty(), "{}: seeds is empty", origin);
  if (parts.size() > 1) return parse_seed_list(parts, origin);
  const std::int64_t count = parse_int(parts[0], "seeds", origin);
  ACTLAB_CHECK(count >= 1 && count <= 1000,
               "{}: seeds must be a count in 1..1000 or a list of seeds (0,1 or [0] for the one seed 0), got {}",
               origin, count);
  std::vector<std::uint64_t> seeds;
  for (std::int64_t s = 1; s <= count; ++s) seeds.push_back(static_cast<std::uint64_t>(s));
  return seeds;
}

// The experiment of a parsed config; errors name `path` and the line.
static Experiment experiment_from_table(const toml::table& table, const std::string& path);

[[noreturn]] static void fail_to_parse(const toml::parse_error& e, const std::string& path) {
  fail("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column, e.description());
}

Experiment load_config(const std::string& path) {
  ACTLAB_CHECK(std::filesystem::is_regular_file(path), "{}: cannot read the config: no such file", path);
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail_to_parse(e, path);
  } catch (const std::exception& e) {
    fail("{}: cannot read the config: {}", path, e.what());
  }
  return experiment_from_table(table, path);
}

Experiment parse_config(const std::string& toml_text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    fail_to_parse(e, source);
  }
  return experiment_from_table(table, source);
}

static Experiment experiment_from_table(const toml::table& table, const std::string& path) {
  Experiment experiment;
  for (const auto& [name, node] : table) {
    const std::string key(name.str());
    const std::string origin = where(path, node);
    if (key == "sweep") {
      const auto* axes = node.as_table();
      ACTLAB_CHECK(axes != nullptr, "{}: sweep must be a table: [sweep] followed by key = [values]", origin);
      for (const auto& [axis_name, axis_node] : *axes) {
        const std::string axis_key(axis_name.str());
        const std::string axis_origin = where(path, axis_node);
        const Key& k = find_key(axis_key, axis_origin);
        ACTLAB_CHECK(axis_key != "seeds" && axis_key != "name" && axis_key != "out" && axis_key != "tensorboard",
                     "{}: '{}' cannot be a sweep axis (set it at the top level)", axis_origin, axis_key);
        auto values = value_list(axis_node, k.info, axis_origin);
        ACTLAB_CHECK(!values.empty(), "{}: sweep axis '{}' has no values", axis_origin, axis_key);
        if (axis_key == "activations") {
          experiment.base.activations = values;
          continue;
        }
        for (const auto& v : values) k.set(experiment.base, v, axis_origin);  // checks each value
        experiment.sweep.push_back({axis_key, values});
      }
      continue;
    }
    if (key == "published") {
      const auto* figures = node.as_array();
      ACTLAB_CHECK(figures != nullptr, "{}: published must be an array of tables: [[published]]", origin);
      for (const auto& figure : *figures) experiment.published.push_back(published_figure(figure, where(path, figure)));
      continue;
    }
    const Key& k = find_key(key, origin);
    const auto values = value_list(node, k.info, origin);
    if (key == "seeds" && node.is_array()) {
      experiment.base.seeds = parse_seed_list(values, origin);  // a TOML list is always seeds, [5] too
    } else if (k.info.type == "list") {
      k.set(experiment.base, fmt::format("{}", fmt::join(values, ",")), origin);
    } else {
      ACTLAB_CHECK(values.size() == 1, "{}: {} takes one value; to compare several, put it under [sweep]", origin, key);
      k.set(experiment.base, values[0], origin);
    }
  }
  for (const auto& figure : experiment.published) check_published(experiment, figure, path);
  return experiment;
}

bool matches(const PublishedFigure& figure, const std::map<std::string, std::string>& axis_values) {
  return std::all_of(figure.arm.begin(), figure.arm.end(), [&](const auto& entry) {
    const auto found = axis_values.find(entry.first);
    return found != axis_values.end() && found->second == entry.second;
  });
}

std::size_t Experiment::arm_count() const {
  std::size_t count = base.activations.size();
  for (const auto& axis : sweep)
    if (__builtin_mul_overflow(count, axis.values.size(), &count)) return SIZE_MAX;
  return count;
}

Arm Experiment::arm(std::size_t index) const {
  ACTLAB_CHECK(index < arm_count(), "arm {} of a sweep of {} arms", index, arm_count());
  // The index in mixed radix: the last axis varies fastest, the activation slowest.
  std::vector<std::size_t> picks(sweep.size());
  for (std::size_t a = sweep.size(); a-- > 0;) {
    picks[a] = index % sweep[a].values.size();
    index /= sweep[a].values.size();
  }
  Arm arm;
  arm.settings = base;
  const std::string& activation = base.activations[index];
  arm.settings.activations = {activation};
  arm.axis_values["activation"] = activation;
  arm.label = activation;
  for (std::size_t a = 0; a < sweep.size(); ++a) {
    const SweepAxis& axis = sweep[a];
    const std::string& value = axis.values[picks[a]];
    set_setting(arm.settings, axis.key, value, "sweep");
    arm.axis_values[axis.key] = value;
    arm.label += fmt::format(", {}={}", axis.key, value);
  }
  return arm;
}

std::vector<Arm> Experiment::arms() const {
  std::vector<Arm> arms;
  for (std::size_t i = 0; i < arm_count(); ++i) arms.push_back(arm(i));
  return arms;
}

std::string to_toml(const Experiment& experiment) {
  std::string out = "# actlab compare: the fully resolved settings of this experiment.\n";
  std::vector<std::string> swept;
  for (const auto& axis : experiment.sweep) swept.push_back(axis.key);
  for (const auto& k : keys()) {
    if (std::find(swept.begin(), swept.end(), k.info.key) != swept.end()) continue;
    out += fmt::format("{} = {}\n", k.info.key, toml_value(k.info, k.get(experiment.base)));
  }
  if (!experiment.sweep.empty()) {
    out += "\n[sweep]\n";
    for (const auto& axis : experiment.sweep) {
      std::vector<std::string> values;
      const auto& info = find_key(axis.key, "sweep").info;
      for (const auto& v : axis.values) values.push_back(toml_value(info.type == "list" ? SettingInfo{info.key, "string", ""} : info, v));
      out += fmt::format("{} = [{}]\n", axis.key, fmt::join(values, ", "));
    }
  }
  for (const auto& figure : experiment.published) {
    out += "\n[[published]]\n";
    for (const auto& [key, value] : figure.arm) {
      const SettingInfo info = key == "activation" ? SettingInfo{key, "string", ""} : find_key(key, "published").info;
      out += fmt::format("{} = {}\n", key, toml_value(info, value));
    }
    out += fmt::format("{} = {}\nsource = {}\n", figure.metric, figure.value, toml_value({"source", "string", ""}, figure.source));
  }
  return out;
}

}  // namespace actlab::experiment
