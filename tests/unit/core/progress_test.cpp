#include "msweep/core/progress.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace msweep {
namespace {

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(ProgressReporter::format_duration(4.24), "4.2s");
  EXPECT_EQ(ProgressReporter::format_duration(185), "3m05s");
  EXPECT_EQ(ProgressReporter::format_duration(3720), "1h02m");
  EXPECT_EQ(ProgressReporter::format_duration(NAN), "?");
}

TEST(Progress, FormatsRatesWithThreeSignificantDigitsBelow100) {
  EXPECT_EQ(ProgressReporter::format_rate(80123.4), "80123");
  EXPECT_EQ(ProgressReporter::format_rate(145.4), "145");
  EXPECT_EQ(ProgressReporter::format_rate(14.54), "14.5");
  EXPECT_EQ(ProgressReporter::format_rate(1.4499), "1.45");
  EXPECT_EQ(ProgressReporter::format_rate(0.01454), "0.0145");
  EXPECT_EQ(ProgressReporter::format_rate(0), "0");
  EXPECT_EQ(ProgressReporter::format_rate(NAN), "?");
}

TEST(Progress, ParsesModes) {
  EXPECT_EQ(parse_progress_mode("auto"), ProgressMode::automatic);
  EXPECT_EQ(parse_progress_mode("bar"), ProgressMode::bar);
  EXPECT_EQ(parse_progress_mode("lines"), ProgressMode::lines);
  EXPECT_EQ(parse_progress_mode("none"), ProgressMode::none);
  EXPECT_FALSE(parse_progress_mode("fancy").has_value());
}

std::string written(std::FILE* stream) {
  std::rewind(stream);
  std::string text;
  for (int c; (c = std::fgetc(stream)) != EOF;) text += static_cast<char>(c);
  return text;
}

// A file is not a terminal: auto writes plain lines there, bar forces the rewriting line (for
// mpirun, whose forwarded stderr is a pipe), none writes nothing.
TEST(Progress, ModeDecidesBetweenBarAndPlainLines) {
  for (const auto mode : {ProgressMode::automatic, ProgressMode::lines, ProgressMode::bar, ProgressMode::none}) {
    std::FILE* stream = std::tmpfile();
    ASSERT_NE(stream, nullptr);
    ProgressOptions options;
    options.mode = mode;
    ProgressReporter progress(10, 2, options, stream);
    progress.add(8, 1);
    progress.finish();
    const std::string text = written(stream);
    std::fclose(stream);
    if (mode == ProgressMode::none) {
      EXPECT_EQ(text, "");
      continue;
    }
    EXPECT_NE(text.find("10/10 tasks (100.0%), 1 failed"), std::string::npos) << text;
    const bool bar = mode == ProgressMode::bar;
    EXPECT_EQ(progress.bar(), bar);
    EXPECT_EQ(text.find('\r') != std::string::npos, bar) << text;  // plain lines hold no control characters
  }
}

}  // namespace
}  // namespace msweep
