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

std::size_t display_width(std::string_view text) {
  // Every byte but UTF-8 continuation bytes (10xxxxxx) starts a character.
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void TextTable::keep_with_previous(std::size_t column) {
  if (column == 0 || column >= header_.size())
    throw std::logic_error("TextTable: keep_with_previous needs a column after the first");
  kept_with_previous_.resize(header_.size(), false);
  kept_with_previous_[column] = true;
}

std::vector<std::size_t> TextTable::widths() const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) width[c] = std::max(width[c], display_width(cells[c]));
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  return width;
}

// The columns after the keys in blocks that fit max_width beside the keys (one block when it is
// 0); columns kept with their previous one move as a unit.
std::vector<std::vector<std::size_t>> TextTable::split(const std::vector<std::size_t>& width, std::string_view indent,
                                                       std::size_t max_width, std::size_t key_columns) const {
  const std::size_t columns = header_.size();
  std::size_t keys_width = display_width(indent);
  for (std::size_t c = 0; c < key_columns; ++c) keys_width += (c > 0 ? 2 : 0) + width[c];
  auto kept = [&](std::size_t c) { return c < kept_with_previous_.size() && kept_with_previous_[c]; };
  std::vector<std::vector<std::size_t>> blocks(1);
  std::size_t used = keys_width;
  for (std::size_t first = key_columns; first < columns;) {
    std::size_t last = first + 1;
    while (last < columns && kept(last)) ++last;
    std::size_t unit = 0;
    for (std::size_t c = first; c < last; ++c) unit += (c > first ? 2 : 0) + width[c];
    // A block holding a column already ends where the next unit (and its separator) would pass.
    if (max_width > 0 && !blocks.back().empty() && used + 2 + unit > max_width) {
      blocks.emplace_back();
      used = keys_width;
    }
    used += (key_columns > 0 || !blocks.back().empty() ? 2 : 0) + unit;
    for (std::size_t c = first; c < last; ++c) blocks.back().push_back(c);
    first = last;
  }
  return blocks;
}

std::size_t TextTable::blocks(std::string_view indent, std::size_t max_width, std::size_t key_columns) const {
  return split(widths(), indent, max_width, std::min(key_columns, header_.size())).size();
}

std::string TextTable::str(std::string_view indent, std::size_t max_width, std::size_t key_columns) const {
  const std::vector<std::size_t> width = widths();
  key_columns = std::min(key_columns, header_.size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, const std::vector<std::size_t>& shown) {
    out += indent;
    for (std::size_t k = 0; k < shown.size(); ++k) {
      const std::size_t c = shown[k];
      const std::string padding(width[c] - display_width(cells[c]), ' ');
      if (k > 0) out += "  ";
      out += align_[c] == Align::left ? cells[c] + padding : padding + cells[c];
    }
    // No padding after the last cell: column k starts at the same offset in every line anyway.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  const auto blocks = split(width, indent, max_width, key_columns);
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    std::vector<std::size_t> shown(key_columns);
    for (std::size_t c = 0; c < key_columns; ++c) shown[c] = c;
    shown.insert(shown.end(), blocks[b].begin(), blocks[b].end());
    if (b > 0) out += '\n';
    line(header_, shown);
    for (const auto& row : rows_) line(row, shown);
  }
  return out;
}

std::string format_number(double value, int digits) {
  if (std::isnan(value)) return "nan";
  char text[40];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

}  // namespace msweep
