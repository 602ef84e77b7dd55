// Loading a generated HTML page in headless Chromium, for the tests of pages with charts
// (report.js draws them and counts them in <body data-charts="N">).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <regex>
#include <string>

namespace actlab::testing {

inline constexpr const char* kNoChromium =
    "chromium is not installed (scripts/test.sh installs it): the HTML page was not loaded";

inline std::string run_command(const std::string& command) {
  std::array<char, 4096> buffer{};
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return out;
  while (fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) out += buffer.data();
  return out;
}

// The page as headless Chromium leaves it after running its scripts; empty without chromium.
inline std::string rendered_dom(const std::filesystem::path& html) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0) return "";
  const auto profile = html.parent_path() / "profile";
  const std::string command =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --enable-logging=stderr --v=0 --user-data-dir=" +
      profile.string() + " --virtual-time-budget=5000 --dump-dom file://" + html.string() + " 2>&1";
  return run_command(command);
}

// Checks that report.js finished without an error and drew `charts` canvases.
inline void expect_charts_drawn(const std::string& dom, const std::string& charts) {
  std::smatch match;
  ASSERT_TRUE(std::regex_search(dom, match, std::regex("<body data-charts=\"(\\d+)\"")))
      << "report.js did not finish; chromium printed:\n" << dom.substr(0, 4000);
  EXPECT_EQ(match[1], charts);
  EXPECT_EQ(dom.find("data-error"), std::string::npos);
  EXPECT_EQ(dom.find("Uncaught"), std::string::npos) << dom.substr(0, 4000);
  const std::regex drawn_canvas("<canvas[^>]*data-drawn=\"1\"");
  EXPECT_EQ(std::to_string(std::distance(std::sregex_iterator(dom.begin(), dom.end(), drawn_canvas), std::sregex_iterator())),
            charts);
}

}  // namespace actlab::testing
