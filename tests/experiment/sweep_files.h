// The files of a finished sweep as tests compare them: summary.json and the metrics files
// without their wall-clock fields.
#pragma once

#include <filesystem>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "child_process.h"

namespace actlab::test {

// summary.json without its wall-clock fields and its output folder.
inline nlohmann::json summary_of(const fs::path& out) {
  nlohmann::json summary = nlohmann::json::parse(read_text(out / "summary.json"));
  summary.at("settings").erase("out");
  for (auto& run : summary.at("runs")) {
    run.erase("wall_seconds");
    run.erase("samples_per_second");
    for (auto& e : run.at("epochs")) e.erase("seconds");
  }
  for (auto& arm : summary.at("by_activation")) arm.erase("seconds_mean");
  return summary;
}

// metrics.jsonl and metrics.csv without the epoch lines' seconds.
inline std::string metrics_of(const fs::path& out) {
  std::string text;
  std::istringstream jsonl(read_text(out / "metrics.jsonl"));
  for (std::string line; std::getline(jsonl, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("seconds");
    text += j.dump() + '\n';
  }
  std::istringstream csv(read_text(out / "metrics.csv"));
  for (std::string line; std::getline(csv, line);)
    text += (line.find(",epoch,") != std::string::npos ? line.substr(0, line.rfind(',')) : line) + '\n';
  return text;
}

}  // namespace actlab::test
