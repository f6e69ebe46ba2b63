#include "msweep/data/loaders.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <memory>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

constexpr std::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) {
      fields.push_back(field);
      field.clear();
    } else if (c != '\r') field += c;
  }
  fields.push_back(field);
  for (auto& f : fields) {  // trim spaces
    const auto first = f.find_first_not_of(" \t");
    const auto last = f.find_last_not_of(" \t");
    f = first == std::string::npos ? std::string() : f.substr(first, last - first + 1);
  }
  return fields;
}

bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && std::isfinite(value);
}

bool looks_like_count_line(const std::vector<std::string>& fields) {
  double ignored;
  return fields.size() >= 2 && parse_number(fields[0], ignored) && parse_number(fields[1], ignored);
}

}  // namespace

void require_regular_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw InputError(path + ": " + what + " not found");
  if (fs::is_directory(status)) throw InputError(path + ": expected a " + what + ", got a directory");
  if (!fs::is_regular_file(status)) throw InputError(path + ": expected a " + what + ", got a special file (a device, pipe or socket)");
}

std::vector<unsigned char> read_gzip_file(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) throw InputError(path + ": cannot open");
  std::vector<unsigned char> bytes;
  std::array<unsigned char, 1 << 16> chunk{};
  for (;;) {
    const int got = gzread(file.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got < 0) throw InputError(path + ": gzip read error");
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
  }
  return bytes;
}

Dataset load_csv(const std::string& path, const std::string& target) {
  require_regular_file(path, "data file");
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read the data file (permission denied?)");
  std::string line;
  std::size_t line_number = 0;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++line_number;
    // Excel saves "CSV UTF-8" with a byte-order mark: invisible, yet it would become part of
    // the first column's name, so a name the user can see would not match.
    if (line_number == 1 && line.starts_with(kUtf8ByteOrderMark)) line.erase(0, kUtf8ByteOrderMark.size());
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    header = split_csv_line(line);
    if (line_number == 1 && looks_like_count_line(header)) continue;  // sklearn's "506,13" line
    break;
  }
  if (header.empty()) throw InputError(path + ": empty data file (expected a header row of column names)");
  std::size_t target_column = header.size();
  for (std::size_t j = 0; j < header.size(); ++j) {
    if (header[j].empty()) throw InputError(path + ":" + std::to_string(line_number) + ": column " + std::to_string(j + 1) + " has no name in the header row");
    // Columns are chosen by name: a repeated name would make the choice ambiguous.
    if (const auto first = std::find(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(j), header[j]);
        first != header.begin() + static_cast<std::ptrdiff_t>(j))
      throw InputError(path + ":" + std::to_string(line_number) + ": column name \"" + header[j] + "\" appears twice in the header (columns " +
                       std::to_string(first - header.begin() + 1) + " and " + std::to_string(j + 1) + ")");
    if (header[j] == target) target_column = j;
  }
  if (target_column == header.size())
    throw InputError(path + ":" + std::to_string(line_number) + ": no column named \"" + target + "\" (the [data] target key)");
  if (header.size() < 2) throw InputError(path + ": expected at least one feature column besides the target");

  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fields = split_csv_line(line);
    if (fields.size() != header.size())
      throw InputError(path + ":" + std::to_string(line_number) + ": expected " + std::to_string(header.size()) +
                       " fields like the header, got " + std::to_string(fields.size()));
    std::vector<double> values(fields.size());
    for (std::size_t j = 0; j < fields.size(); ++j)
      if (!parse_number(fields[j], values[j]))
        throw InputError(path + ":" + std::to_string(line_number) + ": column \"" + header[j] +
                         "\": expected a finite number, got \"" + fields[j] + "\"");
    rows.push_back(std::move(values));
  }
  if (rows.size() < 2) throw InputError(path + ": expected at least 2 data rows, got " + std::to_string(rows.size()));

  Dataset data;
  const auto m = static_cast<Eigen::Index>(rows.size());
  const auto n = static_cast<Eigen::Index>(header.size() - 1);
  data.X.resize(m, n);
  data.y.resize(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    Eigen::Index k = 0;
    for (std::size_t j = 0; j < header.size(); ++j) {
      if (j == target_column) data.y(i) = rows[static_cast<std::size_t>(i)][j];
      else data.X(i, k++) = rows[static_cast<std::size_t>(i)][j];
    }
  }
  for (std::size_t j = 0; j < header.size(); ++j)
    if (j != target_column) data.feature_names.push_back(header[j]);
  data.target_name = target;
  data.description = "csv:" + path;
  data.inputs.push_back(fingerprint_file(path, "csv"));
  return data;
}

std::string sklearn_data_file(const std::string& file, const std::string& source) {
  // Debian's python3-sklearn; the python3.X directory layout differs between releases.
  const std::vector<std::string> candidates = {"/usr/lib/python3/dist-packages/sklearn/datasets/data/" + file,
                                               "/usr/share/sklearn/datasets/data/" + file};
  std::error_code ec;
  for (const auto& path : candidates)
    if (std::filesystem::is_regular_file(path, ec)) return path;
  throw InputError("[data] source \"" + source + "\": " + candidates[0] +
                   " not found (it comes with the Debian package python3-sklearn: apt-get install -y python3-sklearn)");
}

std::string boston_csv_path() { return sklearn_data_file("boston_house_prices.csv", "boston"); }

Dataset load_boston() {
  Dataset data = load_csv(boston_csv_path(), "MEDV");
  data.description = "boston (Debian python3-sklearn)";
  return data;
}

Dataset make_synthetic_regression(Eigen::Index objects, Eigen::Index features, double noise, RandomStream& rng) {
  require(objects > 0 && features > 0, "make_synthetic_regression", "objects, features", "positive sizes");
  Dataset data;
  Eigen::VectorXd w(features);
  for (Eigen::Index j = 0; j < features; ++j) w(j) = rng.normal();
  data.X.resize(objects, features);
  for (Eigen::Index i = 0; i < objects; ++i)
    for (Eigen::Index j = 0; j < features; ++j) data.X(i, j) = rng.normal();
  data.y = data.X * w;
  for (Eigen::Index i = 0; i < objects; ++i) data.y(i) += noise * rng.normal();
  for (Eigen::Index j = 0; j < features; ++j) data.feature_names.push_back("x" + std::to_string(j));
  data.target_name = "y";
  data.description = "synthetic regression " + std::to_string(objects) + "x" + std::to_string(features);
  return data;
}

Dataset make_synthetic_classification(Eigen::Index objects, Eigen::Index features, RandomStream& rng) {
  Dataset data = make_synthetic_regression(objects, features, 0.0, rng);
  for (Eigen::Index i = 0; i < objects; ++i) {
    const double p = 1.0 / (1.0 + std::exp(-data.y(i)));
    data.y(i) = rng.uniform() < p ? 1.0 : 0.0;
  }
  data.description = "synthetic classification " + std::to_string(objects) + "x" + std::to_string(features);
  return data;
}

Dataset make_polynomial(Eigen::Index objects, int degree, bool trigonometric, double noise, RandomStream& rng) {
  require(objects > 0, "make_polynomial", "objects", "a positive count");
  require(degree >= 1 && degree <= 30, "make_polynomial", "degree", "1 to 30");
  Dataset data;
  const Eigen::Index n = degree + (trigonometric ? 2 : 0);
  data.X.resize(objects, n);
  data.y.resize(objects);
  for (Eigen::Index i = 0; i < objects; ++i) {
    const double x = rng.normal();
    double power = 1.0;
    for (int d = 0; d < degree; ++d) data.X(i, d) = (power *= x);
    if (trigonometric) {
      data.X(i, degree) = std::sin(x);
      data.X(i, degree + 1) = std::cos(x);
    }
    data.y(i) = x + noise * rng.normal();
  }
  for (int d = 1; d <= degree; ++d) data.feature_names.push_back(d == 1 ? "x" : "x^" + std::to_string(d));
  if (trigonometric) {
    data.feature_names.push_back("sin_x");
    data.feature_names.push_back("cos_x");
  }
  data.target_name = "y";
  data.description = "polynomial degree " + std::to_string(degree);
  return data;
}

}  // namespace msweep
