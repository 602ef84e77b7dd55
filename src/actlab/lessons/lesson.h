// Lessons: a learner's question answered by an experiment that runs in seconds.
//
// A lesson is one definition (lessons.cpp): its name, the conclusion variants it can reach and
// the experiment, a function that measures and returns Findings: numbers, the placeholder values
// its text needs, the conclusions the numbers support, charts, and the `actlab compare` arguments
// that extend it. Its words live in text files per language (lessons/<lang>/<name>.md, embedded
// at build time; see text.h), so the conclusion printed is always the one the numbers chose, and
// adding a language is adding files.
//
// Errors: run_lesson throws Error for an unknown name (listing the known ones); an experiment
// whose dataset is missing returns Findings with `missing_data` set instead of throwing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace actlab::lessons {

// One line of a chart: y over x (lines), or one value per category (bars: x unused).
struct Series {
  std::string label = {};
  std::vector<double> x = {}, y = {};
};

// A chart the text places with [[chart ID | title | x axis | y axis]].
struct Chart {
  std::string id = {};
  std::string kind = "lines";  // "lines" or "bars"
  bool log_scale = false;      // the value axis
  std::vector<std::string> categories = {};  // bars: the category of each y
  std::vector<Series> series = {};
};

struct Findings {
  std::map<std::string, double> numbers;       // what was measured, by name (tests read these)
  std::map<std::string, std::string> values;   // placeholder -> text (numbers formatted, table rows)
  std::set<std::string> conclusions;           // the variant blocks ([[if NAME]]) the numbers select
  std::vector<Chart> charts;
  std::vector<std::string> try_next;           // arguments of `actlab compare`, one per element
  std::optional<std::string> missing_data;     // the dataset that was not found: nothing was run

  // Stores `value` under `name` in numbers and, formatted, in values.
  void measure(const std::string& name, double value);
};

struct LessonOptions {
  bool quick = false;  // a much smaller experiment (tests, a first look)
  std::optional<std::filesystem::path> data_dir = {};
};

struct Lesson {
  std::string name;                      // "no-activation"; also the text files' name
  std::vector<std::string> conclusions;  // every variant the experiment may select
  std::function<Findings(const LessonOptions&)> run;
};

// Every lesson, in teaching order.
const std::vector<Lesson>& lessons();
// Throws Error listing the lesson names for an unknown one.
const Lesson& lesson(const std::string& name);

// Runs the experiment; throws Error when it selects a conclusion the lesson does not declare.
Findings run_lesson(const Lesson& lesson, const LessonOptions& options);

}  // namespace actlab::lessons
