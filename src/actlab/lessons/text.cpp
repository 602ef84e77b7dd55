#include "actlab/lessons/text.h"

#include <fmt/format.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include "actlab/core/error.h"
#include "actlab/lessons/embedded.h"

namespace actlab::lessons {
namespace {

// language -> file name -> text
const std::map<std::string, std::map<std::string, std::string>>& files() {
  static const auto table = [] {
    std::map<std::string, std::map<std::string, std::string>> out;
    for (std::size_t i = 0; i < k_embedded_file_count; ++i) {
      const std::string path = k_embedded_files[i].path;
      const auto slash = path.find('/');
      out[path.substr(0, slash)][path.substr(slash + 1)] = k_embedded_files[i].text;
    }
    return out;
  }();
  return table;
}

// Replaces every {name} in `text` by values[name]; `where` names the text in the error.
std::string fill_placeholders(const std::string& text, const std::map<std::string, std::string>& values,
                              const std::string& where) {
  static const std::regex placeholder(R"(\{([a-z0-9_]+)\})");
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), placeholder), end; it != end; ++it) {
    const std::string key = (*it)[1];
    const auto value = values.find(key);
    ACTLAB_CHECK(value != values.end(), "{}: the placeholder {{{}}} has no value; the lesson's experiment must set it",
                 where, key);
    out.append(last, (*it)[0].first);
    out += value->second;
    last = (*it)[0].second;
  }
  out.append(last, text.cend());
  return out;
}

// The text without the [[if NAME]] ... [[end]] blocks whose NAME is not in `keep`.
std::string select_conclusions(const std::string& text, const std::set<std::string>& keep, const std::string& where) {
  static const std::regex block_start(R"(\[\[if ([a-z0-9_]+)\]\]\n?)");
  std::string out;
  std::size_t pos = 0;
  std::smatch match;
  auto begin = text.cbegin();
  while (std::regex_search(begin, text.cend(), match, block_start)) {
    out.append(begin, match[0].first);
    const auto body = static_cast<std::size_t>(match[0].second - text.cbegin());
    const auto close = text.find("[[end]]", body);
    ACTLAB_CHECK(close != std::string::npos, "{}: [[if {}]] has no [[end]]", where, match[1].str());
    if (keep.contains(match[1])) {
      const std::string kept = text.substr(body, close - body);
      // A paragraph stands apart from the next block; list items stay one list.
      out += kept.starts_with("- ") || kept.starts_with("  ") ? kept : kept + "\n";
    }
    pos = close + 7;
    if (pos < text.size() && text[pos] == '\n') ++pos;
    begin = text.cbegin() + static_cast<std::ptrdiff_t>(pos);
  }
  out.append(begin, text.cend());
  return out;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(' ');
  return first == std::string::npos ? "" : s.substr(first, s.find_last_not_of(' ') - first + 1);
}

}  // namespace

std::vector<std::string> languages() {
  std::vector<std::string> out;
  for (const auto& [language, _] : files()) out.push_back(language);
  return out;
}

std::string default_language() {
  const char* lang = std::getenv("LANG");
  return lang && std::string_view(lang).starts_with("zh") ? "zh" : "en";
}

void check_language(const std::string& language) {
  ACTLAB_CHECK(files().contains(language), "--lang {}: no lesson texts in that language; choose one of {}", language,
               fmt::join(languages(), ", "));
}

const std::string& raw_text(const std::string& language, const std::string& file) {
  check_language(language);
  const auto& texts = files().at(language);
  const auto it = texts.find(file);
  ACTLAB_CHECK(it != texts.end(), "lessons: {}/{} is missing; every lesson needs a text file in every language",
               language, file);
  return it->second;
}

std::string title(const std::string& language, const std::string& lesson_name) {
  const std::string& text = raw_text(language, lesson_name + ".md");
  ACTLAB_CHECK(text.starts_with("# "), "lessons: {}/{}.md must start with '# Title'", language, lesson_name);
  return text.substr(2, text.find('\n') - 2);
}

namespace {

// Every `key = text` line of the language's strings.txt.
std::map<std::string, std::string> phrases(const std::string& language) {
  std::map<std::string, std::string> out;
  std::istringstream lines(raw_text(language, "strings.txt"));
  for (std::string line; std::getline(lines, line);)
    if (const auto equals = line.find('='); equals != std::string::npos && !line.starts_with("#"))
      out[trim(line.substr(0, equals))] = trim(line.substr(equals + 1));
  return out;
}

}  // namespace

std::string phrase(const std::string& language, const std::string& key, const std::map<std::string, std::string>& values) {
  const auto all = phrases(language);
  const auto it = all.find(key);
  ACTLAB_CHECK(it != all.end(), "lessons: {}/strings.txt has no phrase '{}'", language, key);
  return fill_placeholders(it->second, values, language + "/strings.txt " + key);
}

std::vector<std::string> conclusion_names(const std::string& text) {
  static const std::regex block_start(R"(\[\[if ([a-z0-9_]+)\]\])");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), block_start), end; it != end; ++it) out.push_back((*it)[1]);
  return out;
}

std::vector<Block> fill(const std::string& language, const Lesson& lesson, const Findings& findings) {
  const std::string where = language + "/" + lesson.name + ".md";
  // Values may name a phrase as {s_KEY} (a word in a table row): a second pass fills those.
  std::map<std::string, std::string> values = findings.values;
  values["try_next"] = compare_command(findings.try_next);
  for (const auto& [key, text] : phrases(language)) values["s_" + key] = text;
  const std::string text = fill_placeholders(
      fill_placeholders(select_conclusions(raw_text(language, lesson.name + ".md"), findings.conclusions, where),
                        values, where),
      values, where);
  static const std::regex chart_marker(R"(\[\[chart ([a-z0-9_-]+) \|([^|\]]*)\|([^|\]]*)\|([^|\]]*)\]\]\n?)");
  std::vector<Block> blocks;
  auto begin = text.cbegin();
  std::smatch match;
  while (std::regex_search(begin, text.cend(), match, chart_marker)) {
    blocks.push_back({std::string(begin, match[0].first)});
    const Chart* chart = nullptr;
    for (const Chart& c : findings.charts)
      if (c.id == match[1]) chart = &c;
    ACTLAB_CHECK(chart, "{}: [[chart {}]] names no chart of the experiment", where, match[1].str());
    blocks.push_back({"", chart, trim(match[2]), trim(match[3]), trim(match[4])});
    begin = match[0].second;
  }
  blocks.push_back({std::string(begin, text.cend())});
  return blocks;
}

std::string compare_command(const std::vector<std::string>& arguments) {
  std::string out = "actlab compare";
  static const std::regex plain(R"([A-Za-z0-9_.,:=/+-]+)");
  for (const std::string& argument : arguments)
    out += " " + (std::regex_match(argument, plain) ? argument : "'" + argument + "'");
  return out;
}

}  // namespace actlab::lessons
