// TextTable: every line of a table has the same width and its column separators at the same
// offsets, whatever the cells' lengths (the terminal reports' alignment).
#include "msweep/core/text_table.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace msweep {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(TextTable, ColumnsLineUpWhateverTheCellLengths) {
  TextTable table({"K / method / model", "uniform", "noisy-radius"});
  table.add_row({"K=2 prior-regularizer per-expert+background", "0.1234", "12.5"});
  table.add_row({"K=3 no-prior", "123456.7", "nan"});
  table.add_row({"x", "1"});  // a short row prints empty cells
  const auto lines = lines_of(table.str("  "));
  ASSERT_EQ(lines.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {  // the last column is right-aligned: the same width
    EXPECT_EQ(lines[i].size(), lines[0].size()) << lines[i];
    EXPECT_EQ(lines[i].substr(0, 2), "  ");
  }
  // Each column's right edge (right-aligned numbers) is at the same offset in every row.
  const std::size_t first = lines[1].find("0.1234") + 6;
  EXPECT_EQ(lines[0].find("uniform") + 7, first);
  EXPECT_EQ(lines[2].find("123456.7") + 8, first);
  EXPECT_EQ(lines[3].rfind('1') + 1, first);  // the short row: its cell in place, nothing after it
  EXPECT_EQ(lines[1].find("12.5") + 4, lines[0].size());
  EXPECT_EQ(lines[2].find("nan") + 3, lines[0].size());
  // The left-aligned first column: the second column starts at the same offset everywhere.
  EXPECT_EQ(lines[0].find("K / method"), 2u);
  EXPECT_EQ(lines[2].find("K=3"), 2u);
}

TEST(TextTable, LeftAlignedColumnsStartAtOneOffsetAndLinesHaveNoTrailingSpaces) {
  TextTable table({"model", "[model] expert_noise", "[model] background"}, std::vector<TextTable::Align>(3, TextTable::Align::left));
  table.add_row({"shared", "shared", "false"});
  table.add_row({"per-expert+background", "per-expert", "true"});
  const auto lines = lines_of(table.str());
  for (const auto& line : lines) EXPECT_NE(line.back(), ' ') << line;
  EXPECT_EQ(lines[1].find("shared", 1), lines[0].find("[model] expert_noise"));
  EXPECT_EQ(lines[2].find("per-expert", 1), lines[0].find("[model] expert_noise"));
  EXPECT_EQ(lines[1].find("false"), lines[0].find("[model] background"));
  EXPECT_EQ(lines[2].find("true"), lines[0].find("[model] background"));
}

TEST(TextTable, RejectsARowWiderThanTheHeader) {
  TextTable table({"a"});
  EXPECT_THROW(table.add_row({"1", "2"}), std::logic_error);
}

TEST(FormatNumber, SignificantDigitsAndNan) {
  EXPECT_EQ(format_number(3.14159265, 4), "3.142");
  EXPECT_EQ(format_number(std::numeric_limits<double>::quiet_NaN()), "nan");
}

}  // namespace
}  // namespace msweep
