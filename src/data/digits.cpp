#include "msweep/data/digits.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "msweep/core/error.hpp"
#include "msweep/data/loaders.hpp"

namespace msweep {
namespace {

constexpr int kPixels = 64;

// One line "p0,...,p63,digit" into pixels and digit; false when it is not that.
bool parse_digits_line(std::string_view line, Eigen::Ref<Eigen::RowVectorXd> pixels, int& digit) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  for (int field = 0; field <= kPixels; ++field) {
    const std::size_t comma = field < kPixels ? line.find(',') : line.size();
    if (comma == std::string_view::npos) return false;
    const std::string_view text = line.substr(0, comma);
    double value = 0.0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return false;
    if (field < kPixels) pixels[field] = value;
    else if (value != static_cast<int>(value) || value < 0 || value > 9) return false;
    else digit = static_cast<int>(value);
    line.remove_prefix(std::min(comma + 1, line.size()));
  }
  return true;
}

}  // namespace

std::string digits_csv_path() { return sklearn_data_file("digits.csv.gz", "digits"); }

Dataset load_digits_file(const std::string& path, const std::vector<int>& classes) {
  for (std::size_t i = 0; i < classes.size(); ++i) {
    require(classes[i] >= 0 && classes[i] <= 9, "load_digits", "classes", "digits 0..9");
    require(std::find(classes.begin(), classes.begin() + static_cast<std::ptrdiff_t>(i), classes[i]) ==
                classes.begin() + static_cast<std::ptrdiff_t>(i),
            "load_digits", "classes", "each digit once");
  }
  require_regular_file(path, "data file");
  const auto bytes = read_gzip_file(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<Eigen::RowVectorXd> rows;
  std::vector<double> targets;
  Eigen::RowVectorXd pixels(kPixels);
  std::size_t line_number = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \r") == std::string_view::npos) continue;
    int digit = 0;
    if (!parse_digits_line(line, pixels, digit))
      throw InputError(path + ":" + std::to_string(line_number) + ": expected 64 numbers (pixels) and a digit 0..9, comma-separated");
    if (classes.empty()) targets.push_back(digit);
    else if (const auto it = std::find(classes.begin(), classes.end(), digit); it != classes.end())
      targets.push_back(static_cast<double>(it - classes.begin()));
    else continue;
    rows.push_back(pixels);
  }
  if (rows.size() < 2) throw InputError(path + ": expected at least 2 rows of the chosen digits, got " + std::to_string(rows.size()));
  Dataset data;
  data.X.resize(static_cast<Eigen::Index>(rows.size()), kPixels);
  for (std::size_t i = 0; i < rows.size(); ++i) data.X.row(static_cast<Eigen::Index>(i)) = rows[i];
  data.y = Eigen::Map<const Eigen::VectorXd>(targets.data(), static_cast<Eigen::Index>(targets.size()));
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) data.feature_names.push_back("px_" + std::to_string(r) + "_" + std::to_string(c));
  data.target_name = "class";
  std::string chosen;
  for (int c : classes) chosen += (chosen.empty() ? "" : ", ") + std::to_string(c);
  data.description = "digits 8x8 (Debian python3-sklearn)" + (classes.empty() ? std::string() : ", digits " + chosen + " as classes 0..");
  data.inputs.push_back(fingerprint_file(path, "csv.gz"));
  return data;
}

}  // namespace msweep
