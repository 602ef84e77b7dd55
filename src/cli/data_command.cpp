// `actlab data fetch NAME` and `actlab data info NAME`.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "actlab/data/fetch.h"
#include "actlab/data/registry.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

struct DataArgs {
  std::string name;
  std::string data_dir;
  std::string mirror;
  bool force = false;
  data::FetchOptions fetch;  // the timeouts
};

std::optional<std::filesystem::path> data_dir_of(const DataArgs& args) {
  if (args.data_dir.empty()) return std::nullopt;
  check_folder_option(args.data_dir, "--data-dir");
  return args.data_dir;
}

void print_split(const data::Dataset& set) {
  std::cout << set.name << ": " << set.size() << " samples of shape " << shape_str(set.sample_shape()) << " ("
            << dtype_name(set.inputs.dtype()) << ")\n  class counts:";
  const std::vector<std::int64_t> counts = data::class_counts(set);
  for (std::size_t c = 0; c < counts.size(); ++c)
    std::cout << (c % 5 == 0 ? "\n    " : "  ") << fmt::format("{:>12} {:>6}", set.class_names[c], counts[c]);
  const data::Normalization stats = data::channel_stats(set);
  std::cout << fmt::format("\n  per-channel mean: {:.4f}\n  per-channel std:  {:.4f}\n", fmt::join(stats.mean, ", "),
                           fmt::join(stats.std, ", "));
}

const CommandRegistration registration([](CLI::App& app) {
  auto* data_cmd = app.add_subcommand("data", "Fetch datasets and describe them");
  data_cmd->require_subcommand(1);
  auto args = std::make_shared<DataArgs>();
  const std::string names = fmt::format("{}", fmt::join(data::dataset_names(), ", "));

  auto* fetch = data_cmd->add_subcommand("fetch", "Download a dataset, verify its SHA-256 sums, store it atomically");
  fetch->add_option("name", args->name, "Dataset: " + names)->required();
  fetch->add_option("--data-dir", args->data_dir, "Data dir (default: $ACTLAB_DATA, else ~/.cache/actlab/datasets)");
  fetch->add_option("--mirror", args->mirror,
                    "Base URL serving the data-dir layout, instead of upstream (or set ACTLAB_DATA_MIRROR)");
  fetch->add_flag("--force", args->force, "Download again even files that are present and valid");
  fetch->add_option("--timeout", args->fetch.timeout_seconds, "Seconds one file's download may take (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  fetch->add_option("--stall-timeout", args->fetch.low_speed_seconds,
                    "Give up on a download slower than --min-speed for this many seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  fetch->add_option("--min-speed", args->fetch.low_speed_bytes, "Bytes per second below which a download is stalled")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  fetch->callback([args] {
    data::FetchOptions options = args->fetch;
    options.data_dir = data_dir_of(*args);
    options.mirror = args->mirror;
    options.force = args->force;
    options.progress = ::isatty(STDERR_FILENO) != 0;
    const StopSignals signals;
    data::FetchResult result;
    try {
      result = data::fetch_dataset(args->name, options);
    } catch (const Error& e) {
      if (signals.received() == 0) throw;
      std::cerr << "actlab: " << e.what() << '\n';
      std::exit(128 + signals.received());
    }
    for (const auto& path : result.already_present) std::cout << "present and verified: " << path.string() << '\n';
    for (const auto& path : result.downloaded) std::cout << "downloaded and verified: " << path.string() << '\n';
  });

  auto* info = data_cmd->add_subcommand("info", "Counts, shapes, class balance and per-channel mean/std");
  info->add_option("name", args->name, "Dataset: " + names)->required();
  info->add_option("--data-dir", args->data_dir, "Data dir (default: $ACTLAB_DATA, else ~/.cache/actlab/datasets)");
  info->callback([args] {
    data::LoadOptions options;
    options.data_dir = data_dir_of(*args);
    for (const data::Split split : {data::Split::Train, data::Split::Test})
      print_split(data::load_dataset(args->name, split, options));
  });
});

}  // namespace
}  // namespace actlab::cli
