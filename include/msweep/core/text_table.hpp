// One aligned text table for every table printed to a terminal (plan's axes, the experiments'
// end-of-run reports): each column is padded to its widest cell, so rows line up whatever the
// labels' lengths, instead of each printer guessing fixed widths (setw) that long labels overrun;
// a table wider than the terminal splits into column blocks that repeat the key columns.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace msweep {

class TextTable {
 public:
  enum class Align { left, right };
  // `align` per column; columns beyond it are right-aligned (numbers), the first defaults to left.
  explicit TextTable(std::vector<std::string> header, std::vector<Align> align = {});
  // A row of at most as many cells as the header (missing cells print empty).
  void add_row(std::vector<std::string> cells);
  std::size_t rows() const { return rows_.size(); }
  // When str() splits the table into blocks, `column` stays in the block of the column before it
  // (a metric's sem beside its mean).
  void keep_with_previous(std::size_t column);
  // Header, then rows; every line starts with `indent`, columns are separated by two spaces,
  // column k starts (left-aligned) or ends (right-aligned) at the same offset in every line;
  // no trailing spaces. Widths count characters (UTF-8 code points), not bytes.
  //
  // max_width > 0 fits a wide table in a terminal of that many columns without losing a cell:
  // when the lines would be wider, the columns after the first `key_columns` are split into
  // blocks, in order, each printed as a table of its own that repeats the key columns (what
  // identifies a row), blocks separated by an empty line. A block holds at least one column,
  // so a single column wider than max_width still prints whole. max_width 0: never split.
  std::string str(std::string_view indent = "", std::size_t max_width = 0, std::size_t key_columns = 1) const;
  // How many blocks str(indent, max_width, key_columns) prints (1 when the table fits).
  std::size_t blocks(std::string_view indent, std::size_t max_width, std::size_t key_columns) const;

 private:
  std::vector<std::string> header_;
  std::vector<Align> align_;
  std::vector<bool> kept_with_previous_;
  std::vector<std::vector<std::string>> rows_;

  std::vector<std::size_t> widths() const;
  std::vector<std::vector<std::size_t>> split(const std::vector<std::size_t>& width, std::string_view indent,
                                              std::size_t max_width, std::size_t key_columns) const;
};

// Characters `text` shows as (UTF-8 code points: "±" is one), for aligning columns.
std::size_t display_width(std::string_view text);

// `value` with `digits` significant digits ("%.*g"); "nan" for NaN, as in the tables' numbers.
std::string format_number(double value, int digits = 4);

}  // namespace msweep
