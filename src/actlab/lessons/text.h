// The words of the lessons, per language, from the text files embedded at build time
// (src/actlab/lessons/<lang>/<lesson>.md and <lang>/strings.txt).
//
// A lesson file is Markdown: its first line "# Title", then text with placeholders {name} filled
// from Findings::values (plus {try_next}, the command line), conclusion blocks
//     [[if NAME]] ... [[end]]
// kept only when the experiment selected NAME, and chart markers on a line of their own
//     [[chart ID | title | x axis | y axis]]
// strings.txt holds the program's own phrases as `key = text` lines ({name} placeholders too).
//
// Errors: Error for an unknown language or lesson file, a placeholder without a value, a chart
// marker naming no chart, and a conclusion block that is not closed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "actlab/lessons/lesson.h"

namespace actlab::lessons {

// The languages with text files ("en", "zh"), sorted.
std::vector<std::string> languages();
// "zh" when $LANG starts with "zh", else "en".
std::string default_language();
// Throws Error naming the available languages for one without files.
void check_language(const std::string& language);

// The raw text of `file` ("no-activation.md", "strings.txt") in `language`.
const std::string& raw_text(const std::string& language, const std::string& file);
// The lesson's title: its file's first line without "# ".
std::string title(const std::string& language, const std::string& lesson_name);
// A phrase of strings.txt with its {placeholders} filled from `values`.
std::string phrase(const std::string& language, const std::string& key,
                   const std::map<std::string, std::string>& values = {});
// Every [[if NAME]] in a text.
std::vector<std::string> conclusion_names(const std::string& text);

// One piece of a filled lesson: Markdown, or a chart with its titles.
struct Block {
  std::string markdown = {};  // empty for a chart
  const Chart* chart = nullptr;
  std::string chart_title = {}, x_title = {}, y_title = {};
};

// The lesson's text with the findings' conclusions kept, placeholders filled and charts placed.
std::vector<Block> fill(const std::string& language, const Lesson& lesson, const Findings& findings);

// "actlab compare ARGS", each argument quoted for a POSIX shell when it needs it.
std::string compare_command(const std::vector<std::string>& arguments);

}  // namespace actlab::lessons
