#include "msweep/core/text_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace msweep {

TextTable::TextTable(std::vector<std::string> header, std::vector<Align> align)
    : header_(std::move(header)), align_(std::move(align)) {
  if (align_.empty() && !header_.empty()) align_.push_back(Align::left);
  align_.resize(header_.size(), Align::right);
}

void TextTable::add_row(std::vector<std::string> cells) {
  if (cells.size() > header_.size()) throw std::logic_error("TextTable: a row has more cells than the header");
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::str(std::string_view indent) const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) width[c] = std::max(width[c], cells[c].size());
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    out += indent;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string padding(width[c] - cells[c].size(), ' ');
      if (c > 0) out += "  ";
      out += align_[c] == Align::left ? cells[c] + padding : padding + cells[c];
    }
    // No padding after the last cell: column k starts at the same offset in every line anyway.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  line(header_);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string format_number(double value, int digits) {
  if (std::isnan(value)) return "nan";
  char text[40];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

}  // namespace msweep
