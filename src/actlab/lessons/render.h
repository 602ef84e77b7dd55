// A lesson's findings in its language's words: for a terminal (Markdown with text charts) or as
// one self-contained HTML page in the report's style, its charts drawn by the report's script.
//
// Requires: findings from run_lesson(lesson, ...). Throws Error as fill() does (text.h).
#pragma once

#include <string>

#include "actlab/lessons/lesson.h"

namespace actlab::lessons {

std::string render_terminal(const std::string& language, const Lesson& lesson, const Findings& findings);
std::string render_html(const std::string& language, const Lesson& lesson, const Findings& findings);

// A chart as text lines: a sparkline per series (lines) or a bar per value (bars), `width`
// characters of plot; the value axis logarithmic when the chart says so.
std::string terminal_chart(const Chart& chart, int width = 48);

}  // namespace actlab::lessons
