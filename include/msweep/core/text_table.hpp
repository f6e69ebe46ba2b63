// One aligned text table for every table printed to a terminal (plan's axes, the experiments'
// end-of-run reports): each column is padded to its widest cell, so rows line up whatever the
// labels' lengths, instead of each printer guessing fixed widths (setw) that long labels overrun.
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
  // Header, then rows; every line starts with `indent`, columns are separated by two spaces,
  // column k starts (left-aligned) or ends (right-aligned) at the same offset in every line;
  // no trailing spaces.
  std::string str(std::string_view indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

// `value` with `digits` significant digits ("%.*g"); "nan" for NaN, as in the tables' numbers.
std::string format_number(double value, int digits = 4);

}  // namespace msweep
