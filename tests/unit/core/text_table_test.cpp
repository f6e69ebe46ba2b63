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

// The wide summary of `msweep inspect`: two key columns, then many metric columns.
TextTable wide_table() {
  std::vector<std::string> header = {"structure", "restart"};
  for (int m = 0; m < 6; ++m) header.push_back("metric_" + std::to_string(m) + "_mean");
  TextTable table(header, {TextTable::Align::left, TextTable::Align::left});
  for (int r = 0; r < 3; ++r) {
    std::vector<std::string> row = {r == 0 ? "RM+LSTAT+PTRATIO" : "RM", std::to_string(r)};
    for (int m = 0; m < 6; ++m) row.push_back(std::to_string(1000 * r + m) + ".25");
    table.add_row(row);
  }
  return table;
}

TEST(TextTable, AWideTableSplitsIntoBlocksThatRepeatTheKeyColumnsAndFitTheWidth) {
  const TextTable table = wide_table();
  const auto whole = lines_of(table.str("  "));
  ASSERT_EQ(whole.size(), 4u);
  ASSERT_GT(whole[0].size(), 60u);
  const auto lines = lines_of(table.str("  ", 60, 2));
  std::vector<std::vector<std::string>> blocks(1);
  for (const auto& line : lines) {
    if (line.empty()) blocks.emplace_back();
    else blocks.back().push_back(line);
  }
  ASSERT_GE(blocks.size(), 2u);
  std::string metrics_seen;
  for (const auto& block : blocks) {
    ASSERT_EQ(block.size(), 4u);  // header and the three rows, every block
    EXPECT_EQ(block[0].find("structure"), 2u);
    EXPECT_EQ(block[0].find("restart"), whole[0].find("restart"));  // key columns at their offsets
    EXPECT_EQ(block[1].find("RM+LSTAT+PTRATIO"), 2u);
    EXPECT_EQ(block[3].find("RM  "), 2u);
    for (const auto& line : block) {
      EXPECT_LE(line.size(), 60u) << line;
      EXPECT_NE(line.back(), ' ');
    }
    metrics_seen += block[0].substr(whole[0].find("restart") + 7);
  }
  for (int m = 0; m < 6; ++m)  // every column once, in order: nothing lost
    EXPECT_EQ(metrics_seen.find("metric_" + std::to_string(m)), metrics_seen.rfind("metric_" + std::to_string(m)));
  EXPECT_LT(metrics_seen.find("metric_2"), metrics_seen.find("metric_3"));
  EXPECT_NE(lines.back().find("2005.25"), std::string::npos);
}

TEST(TextTable, NoWidthOrAWideEnoughOneGivesOneBlockAndANarrowOneStillPrintsEveryCell) {
  const TextTable table = wide_table();
  EXPECT_EQ(table.str("", 0, 2), table.str());
  EXPECT_EQ(table.str("", 1000, 2), table.str());
  const auto narrow = lines_of(table.str("", 10, 2));  // narrower than the keys: a column per block
  EXPECT_EQ(narrow.size(), 6u * 4u + 5u);
  EXPECT_NE(narrow.back().find("2005.25"), std::string::npos);
}

TEST(TextTable, AColumnKeptWithThePreviousOneNeverStartsABlock) {
  TextTable table({"group", "a_mean", "a_sem", "b_mean", "b_sem"});
  table.add_row({"x", "1.5", "0.1", "2.5", "0.2"});
  for (std::size_t sem : {2u, 4u}) table.keep_with_previous(sem);
  // 30 columns hold "group  a_mean  a_sem  b_mean" (28), but b_sem keeps b_mean in its block.
  EXPECT_EQ(table.blocks("", 30, 1), 2u);
  const auto lines = lines_of(table.str("", 30, 1));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "group  a_mean  a_sem");
  EXPECT_EQ(lines[3], "group  b_mean  b_sem");
  EXPECT_EQ(table.blocks("", 0, 1), 1u);
  EXPECT_THROW(table.keep_with_previous(0), std::logic_error);
}

TEST(TextTable, WidthsCountCharactersNotBytes) {
  EXPECT_EQ(display_width("±σ ok"), 5u);
  TextTable table({"method", "S"});
  table.add_row({"μ-prior", "1.5 ± 0.2"});
  table.add_row({"x", "12"});
  const auto lines = lines_of(table.str());
  EXPECT_EQ(display_width(lines[1]), display_width(lines[2]));  // right-aligned: equal widths
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
