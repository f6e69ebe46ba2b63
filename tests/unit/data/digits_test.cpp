// The 8x8 digits from Debian's python3-sklearn (gzip CSV): sizes and class counts of the real
// file, the classes filter and relabelling, and file:line errors for a malformed file.
#include "msweep/data/digits.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

std::string write_gzip(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("msweep_" + std::to_string(::getpid()) + "_" + name);
  gzFile file = gzopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  EXPECT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  EXPECT_EQ(gzclose(file), Z_OK);
  return path.string();
}

std::string digits_line(int first_pixel, int digit) {
  std::string line = std::to_string(first_pixel);
  for (int j = 1; j < 64; ++j) line += "," + std::to_string(j % 17);
  return line + "," + std::to_string(digit) + "\n";
}

std::string input_error_of(const std::string& path, const std::vector<int>& classes) {
  try {
    load_digits_file(path, classes);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Digits, LoadsTheDebianFileWithAllTenClasses) {
  const Dataset all = load_digits({});
  EXPECT_EQ(all.objects(), 1797);
  EXPECT_EQ(all.features(), 64);
  EXPECT_EQ(all.feature_names[9], "px_1_1");
  EXPECT_EQ(all.y.minCoeff(), 0.0);
  EXPECT_EQ(all.y.maxCoeff(), 9.0);
  EXPECT_EQ(all.X.maxCoeff(), 16.0);
  EXPECT_EQ((all.y.array() == 8.0).count(), 174);
  ASSERT_EQ(all.inputs.size(), 1u);  // fingerprinted: a changed file is noticed on resume
}

TEST(Digits, ClassesFilterAndRelabelInListOrder) {
  const Dataset all = load_digits({});
  const Dataset pair = load_digits({8, 3});
  EXPECT_EQ(pair.objects(), 174 + 183);
  EXPECT_EQ((pair.y.array() == 0.0).count(), 174);  // 8 is listed first: class 0
  EXPECT_EQ((pair.y.array() == 1.0).count(), 183);
  // Rows keep file order: the first kept row is the first 3 or 8 of the whole file.
  Eigen::Index first = 0;
  while (all.y[first] != 3.0 && all.y[first] != 8.0) ++first;
  EXPECT_EQ(pair.X.row(0), all.X.row(first));
  EXPECT_EQ(pair.y[0], all.y[first] == 8.0 ? 0.0 : 1.0);
}

TEST(Digits, SmallFileAndMalformedLinesNameFileAndLine) {
  const auto ok = write_gzip("digits_ok.csv.gz", digits_line(0, 3) + digits_line(5, 8) + "\n" + digits_line(7, 1));
  const Dataset d = load_digits_file(ok, {3, 8});
  ASSERT_EQ(d.objects(), 2);
  EXPECT_EQ(d.X(1, 0), 5.0);
  EXPECT_EQ(d.y[1], 1.0);
  const auto short_line = write_gzip("digits_short.csv.gz", digits_line(0, 3) + "1,2,3\n");
  EXPECT_EQ(input_error_of(short_line, {}), short_line + ":2: expected 64 numbers (pixels) and a digit 0..9, comma-separated");
  const auto bad_digit = write_gzip("digits_bad.csv.gz", digits_line(0, 3) + digits_line(0, 3) + digits_line(0, 12));
  EXPECT_EQ(input_error_of(bad_digit, {}), bad_digit + ":3: expected 64 numbers (pixels) and a digit 0..9, comma-separated");
  const auto text = write_gzip("digits_text.csv.gz", "x" + digits_line(0, 3));
  EXPECT_NE(input_error_of(text, {}).find(":1: expected 64 numbers"), std::string::npos);
  EXPECT_EQ(input_error_of(ok, {5, 6}), ok + ": expected at least 2 rows of the chosen digits, got 0");
  EXPECT_EQ(input_error_of("/nonexistent/digits.csv.gz", {}), "/nonexistent/digits.csv.gz: data file not found");
  EXPECT_THROW(load_digits_file(ok, {3, 3}), ArgumentError);
  EXPECT_THROW(load_digits_file(ok, {10, 3}), ArgumentError);
  for (const auto& path : {ok, short_line, bad_digit, text}) std::filesystem::remove(path);
}

}  // namespace
}  // namespace msweep
