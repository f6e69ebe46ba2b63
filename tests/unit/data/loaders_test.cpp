#include "msweep/data/loaders.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("msweep_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(const std::string& path, const std::string& target) {
  try {
    load_csv(path, target);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(LoadCsv, ReadsHeaderAndTarget) {
  const auto path = write_temp("ok.csv", "a,y,b\n1,2,3\n4,5,6\n");
  const Dataset d = load_csv(path, "y");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.X(1, 1), 6.0);
  EXPECT_EQ(d.y(0), 2.0);
}

TEST(LoadCsv, ErrorsNameFileLineAndColumn) {
  const auto bad = write_temp("bad.csv", "a,y\n1,2\n3,x\n");
  EXPECT_EQ(error_of(bad, "y"), bad + ":3: column \"y\": expected a finite number, got \"x\"");
  const auto ragged = write_temp("ragged.csv", "a,y\n1,2,3\n");
  EXPECT_EQ(error_of(ragged, "y"), ragged + ":2: expected 2 fields like the header, got 3");
  EXPECT_EQ(error_of(bad, "z"), bad + ":1: no column named \"z\" (the [data] target key)");
  EXPECT_EQ(error_of("/nonexistent.csv", "y"), "/nonexistent.csv: data file not found");
}

TEST(LoadCsv, RepeatedColumnNameIsRefused) {
  const auto twice = write_temp("twice.csv", "a,y,b,a\n1,2,3,4\n5,6,7,8\n");
  EXPECT_EQ(error_of(twice, "y"), twice + ":1: column name \"a\" appears twice in the header (columns 1 and 4)");
}

// Excel's "CSV UTF-8" starts with a byte-order mark; it must not become part of the first name.
TEST(LoadCsv, LeadingUtf8ByteOrderMarkIsIgnored) {
  const Dataset d = load_csv(write_temp("bom.csv", "\xEF\xBB\xBF" "a,b,y\r\n1,2,3\r\n4,5,6\r\n"), "y");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.X(1, 0), 4.0);
  const Dataset target_first = load_csv(write_temp("bom-target.csv", "\xEF\xBB\xBF" "y,a\n1,2\n3,4\n"), "y");
  EXPECT_EQ(target_first.y(1), 3.0);
}

TEST(SelectFeatures, KeepsTheChosenColumnsInOrder) {
  const Dataset d = load_csv(write_temp("select.csv", "a,y,b,c\n1,2,3,4\n5,6,7,8\n"), "y");
  const Dataset chosen = select_features(d, {2, 0});
  EXPECT_EQ(chosen.feature_names, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(chosen.X(1, 0), 8.0);
  EXPECT_EQ(chosen.X(1, 1), 5.0);
  EXPECT_EQ(chosen.y, d.y);
  // The file read stays recorded: the job's identity (and the check that -o spares it) needs it.
  ASSERT_EQ(chosen.inputs.size(), 1u);
  EXPECT_EQ(chosen.inputs[0].path, d.inputs[0].path);
  EXPECT_EQ(chosen.inputs[0].digest, d.inputs[0].digest);
}

// A path that exists but is not a file is not "not found": the message says what it is.
TEST(LoadCsv, DirectoryOrDeviceIsNamedAsSuch) {
  EXPECT_EQ(error_of("/tmp", "y"), "/tmp: expected a data file, got a directory");
  EXPECT_EQ(error_of("/dev/null", "y"), "/dev/null: expected a data file, got a special file (a device, pipe or socket)");
}

TEST(Boston, LoadsFromDebianPackage) {
  const Dataset d = load_boston();
  EXPECT_EQ(d.objects(), 506);
  EXPECT_EQ(d.features(), 13);
  EXPECT_EQ(d.feature_names.front(), "CRIM");
  EXPECT_EQ(d.target_name, "MEDV");
}

TEST(Splits, HoldoutAndFoldsPartitionTheObjects) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    RandomStream rng(seed);
    const auto split = holdout_split(101, 0.2, rng);
    EXPECT_EQ(split.test.size(), 20u);
    std::set<Eigen::Index> all(split.train.begin(), split.train.end());
    all.insert(split.test.begin(), split.test.end());
    EXPECT_EQ(all.size(), 101u);
    const auto folds = fold_assignment(81, 5, rng);
    std::vector<int> sizes(5, 0);
    for (int f : folds) ++sizes[static_cast<std::size_t>(f)];
    for (int s : sizes) EXPECT_TRUE(s == 16 || s == 17);
  }
}

TEST(Standardizer, ConstantColumnsStayFinite) {
  Eigen::MatrixXd X(3, 2);
  X << 1, 5, 2, 5, 3, 5;
  const auto s = Standardizer::fit(X);
  const Eigen::MatrixXd Z = s.apply(X);
  EXPECT_TRUE(Z.allFinite());
  EXPECT_NEAR(Z.col(0).mean(), 0.0, 1e-15);
  EXPECT_EQ(Z.col(1).squaredNorm(), 0.0);
}

}  // namespace
}  // namespace msweep
