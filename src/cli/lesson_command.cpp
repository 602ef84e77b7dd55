// `actlab lesson`: lists the lessons; `actlab lesson NAME` runs one's experiment and explains what
// it measured, in the chosen language (see actlab/lessons/lesson.h).
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "actlab/core/parallel.h"
#include "actlab/io/safetensors.h"
#include "actlab/lessons/lesson.h"
#include "actlab/lessons/render.h"
#include "actlab/lessons/text.h"
#include "cli/commands.h"

namespace actlab::cli {
namespace {

struct LessonArgs {
  std::string name;
  std::string language;
  std::string html;
  std::string data_dir;
  std::int64_t threads = 1;
  bool quick = false;
  bool json = false;
};

void list_lessons(const std::string& language, bool json) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& l : lessons::lessons()) list.push_back({{"name", l.name}, {"title", lessons::title(language, l.name)}});
  if (json) {
    std::cout << nlohmann::json{{"lessons", list}}.dump(2) << '\n';
    return;
  }
  std::cout << lessons::phrase(language, "list_header") << "\n\n";
  std::size_t width = 0;
  for (const auto& l : lessons::lessons()) width = std::max(width, l.name.size());
  for (std::size_t i = 0; i < list.size(); ++i)
    std::cout << fmt::format("  {:<{}}  {}\n", list[i]["name"].get<std::string>(), width, list[i]["title"].get<std::string>());
  std::cout << '\n' << lessons::phrase(language, "list_footer") << '\n';
}

void run(const LessonArgs& args) {
  const std::string language = args.language.empty() ? lessons::default_language() : args.language;
  lessons::check_language(language);
  if (args.name.empty()) {
    ACTLAB_CHECK(args.html.empty() && !args.quick, "--html and --quick need a lesson: actlab lesson NAME --html FILE");
    list_lessons(language, args.json);
    return;
  }
  ACTLAB_CHECK(!args.json, "--json lists the lessons; it is not used with a lesson name ({})", args.name);
  check_folder_option(args.data_dir, "--data-dir");
  if (const std::int64_t threads = capped_threads(args.threads); threads > 0) set_num_threads(static_cast<int>(threads));
  const lessons::Lesson& lesson = lessons::lesson(args.name);
  lessons::LessonOptions options{.quick = args.quick};
  if (!args.data_dir.empty()) options.data_dir = args.data_dir;
  std::cerr << lessons::phrase(language, "running", {{"lesson", lesson.name}}) << '\n';
  const lessons::Findings findings = lessons::run_lesson(lesson, options);
  std::cout << lessons::render_terminal(language, lesson, findings);
  if (!args.html.empty()) {
    io::write_file_atomically(args.html, lessons::render_html(language, lesson, findings));
    std::cout << '\n' << lessons::phrase(language, "wrote", {{"file", args.html}}) << '\n';
  }
}

const CommandRegistration registration([](CLI::App& app) {
  auto* command = app.add_subcommand("lesson", "Lessons: a question answered by an experiment you can run and change");
  auto args = std::make_shared<LessonArgs>();
  command->add_option("name", args->name, "The lesson to run (without one: the list)");
  command->add_option("--lang", args->language, "Language of the text: en or zh (default: from $LANG)");
  command->add_option("--html", args->html, "Also write the lesson as an HTML page with its charts")->type_name("FILE");
  command->add_flag("--quick", args->quick, "A much smaller experiment: a first look in a few seconds");
  command->add_option("--data-dir", args->data_dir, "Where the datasets are (default: $ACTLAB_DATA)")->type_name("DIR");
  command->add_option("--threads", args->threads,
                      "Threads (0: every core; default 1, as the lessons' models are small)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--json", args->json, "With no lesson name: the list as JSON");
  command->callback([args] { run(*args); });
  std::vector<std::string> names;
  for (const auto& l : lessons::lessons()) names.push_back(l.name);
  command->footer(fmt::format("Lessons: {}. See docs/LESSONS.md.", fmt::join(names, ", ")));
});

}  // namespace
}  // namespace actlab::cli
