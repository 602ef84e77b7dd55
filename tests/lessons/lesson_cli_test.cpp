// `actlab lesson` as a program: the list as JSON, a lesson in the language of $LANG with its page,
// and errors that name the valid choices.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "actlab/lessons/lesson.h"
#include "robustness/cli_util.h"

namespace actlab::robustness {
namespace {

TEST(LessonCommand, ListsEveryLessonAsJson) {
  TempDir scratch;
  const Result result = run_actlab({"lesson", "--json", "--lang", "en"}, scratch.path());
  ASSERT_EQ(result.status, 0) << result.output;
  const auto list = nlohmann::json::parse(result.output).at("lessons");
  ASSERT_EQ(list.size(), lessons::lessons().size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i].at("name"), lessons::lessons()[i].name);
    EXPECT_FALSE(list[i].at("title").get<std::string>().empty());
  }
}

TEST(LessonCommand, SpeaksTheLanguageOfLangAndWritesThePage) {
  TempDir scratch;
  const char* saved = std::getenv("LANG");
  const std::string restore = saved ? saved : "";
  setenv("LANG", "zh_CN.UTF-8", 1);
  const fs::path page = scratch.path() / "chain.html";
  const Result result = run_actlab({"lesson", "chain-rule", "--quick", "--html", page.string()}, scratch.path());
  if (saved) setenv("LANG", restore.c_str(), 1); else unsetenv("LANG");
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("链式法则"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("actlab compare --data xor"), std::string::npos) << result.output;
  EXPECT_NE(read_text(page).find("<canvas id=\"lesson-chart-0\""), std::string::npos);
}

TEST(LessonCommand, RefusesAnUnknownLessonOrLanguage) {
  TempDir scratch;
  expect_clean_error(run_actlab({"lesson", "dropout"}, scratch.path()), "no-activation");
  expect_clean_error(run_actlab({"lesson", "myths", "--lang", "fr"}, scratch.path()), "en, zh");
}

}  // namespace
}  // namespace actlab::robustness
