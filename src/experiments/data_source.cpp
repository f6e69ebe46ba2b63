#include "msweep/experiments/data_source.hpp"

#include <algorithm>
#include <filesystem>

#include "msweep/core/error.hpp"
#include "msweep/data/digits.hpp"
#include "msweep/data/fashion_mnist.hpp"
#include "msweep/data/loaders.hpp"

namespace msweep {

DataOptions read_data_options(const ConfigTable& data) {
  DataOptions options;
  options.source = data.get_string("source");
  const bool csv = options.source.rfind("csv:", 0) == 0;
  if (csv) {
    std::filesystem::path path = options.source.substr(4);
    if (path.empty()) data.fail("source", "expected csv:PATH with a file path after the colon");
    if (path.is_relative()) path = std::filesystem::path(data.file()).parent_path() / path;
    options.source = "csv:" + path.lexically_normal().string();
    options.target = data.get_string("target");
  } else if (options.source == "synthetic-regression" || options.source == "synthetic-classification") {
    options.objects = data.get_int("objects", 200, 4, 100'000'000);
    options.features = data.get_int("features", 200, 1, 100'000);
    if (options.source == "synthetic-regression") options.noise = data.get_double("noise", 1.0, 0.0, 1e6);
  } else if (options.source == "polynomial") {
    options.objects = data.get_int("objects", 40, 4, 100'000'000);
    options.degree = static_cast<int>(data.get_int("degree", 9, 1, 30));
    options.trigonometric = data.get_bool("trigonometric", true);
    options.noise = data.get_double("noise", 1.0, 0.0, 1e6);
  } else if (options.source == "fashion-mnist") {
    options.train_objects = data.get_int("train_objects", 60000, 1, 60000);
    options.test_objects = data.get_int("test_objects", 10000, 0, 10000);
    options.scale_unit = data.get_bool("scale", true);
  } else if (options.source == "digits") {
    for (auto c : data.get_int_list("classes", {}, 0, 9)) {
      if (std::find(options.classes.begin(), options.classes.end(), c) != options.classes.end())
        data.fail("classes", "digit " + std::to_string(c) + " is listed twice");
      options.classes.push_back(static_cast<int>(c));
    }
    if (options.classes.size() == 1) data.fail("classes", "expected at least two digits (or none for all ten)");
  } else if (options.source != "boston") {
    data.fail("source", "expected \"boston\", \"csv:PATH\", \"synthetic-regression\", \"synthetic-classification\", \"polynomial\", \"fashion-mnist\" or \"digits\", got \"" +
                            options.source + "\"");
  }
  if (csv || options.source == "boston") {  // tabular data with named columns
    if (data.has("features") && data.has("exclude")) data.fail("exclude", "give either features or exclude, not both");
    if (data.has("features")) {
      options.feature_columns = data.get_string_list("features");
      if (options.feature_columns.empty()) data.fail("features", "expected at least one column name");
    }
    if (data.has("exclude")) options.excluded_columns = data.get_string_list("exclude");
  }
  options.standardize = data.get_bool("standardize", true);
  options.test_fraction = data.get_double("test_fraction", 0.2, 0.0, 0.9);
  return options;
}

Dataset load_dataset(const DataOptions& options, std::uint64_t job_seed) {
  RandomStream rng(derive_seed(job_seed, "data", {}));
  if (options.source == "boston") return load_boston();
  if (options.source.rfind("csv:", 0) == 0) return load_csv(options.source.substr(4), options.target);
  if (options.source == "synthetic-regression")
    return make_synthetic_regression(options.objects, options.features, options.noise, rng);
  if (options.source == "synthetic-classification")
    return make_synthetic_classification(options.objects, options.features, rng);
  if (options.source == "polynomial")
    return make_polynomial(options.objects, options.degree, options.trigonometric, options.noise, rng);
  if (options.source == "fashion-mnist") {
    FashionMnistOptions fashion;
    fashion.train_objects = options.train_objects;
    fashion.test_objects = options.test_objects;
    fashion.scale_unit = options.scale_unit;
    return load_fashion_mnist(fashion, rng);
  }
  if (options.source == "digits") return load_digits(options.classes);
  throw ArgumentError("load_dataset: options.source: unknown source " + options.source);
}

Dataset load_job_data(const ConfigTable& section, std::uint64_t job_seed) {
  const DataOptions options = read_data_options(section);
  Dataset data;
  try {
    data = load_dataset(options, job_seed);
  } catch (const InputError& error) {
    // The loader names the data file; the user also needs the job line that chose it.
    section.fail("source", error.what());
  }
  if (options.feature_columns.empty() && options.excluded_columns.empty()) return data;
  const auto& names = data.feature_names;
  auto column_of = [&](const std::string& key, const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      section.fail(key, "no feature column named \"" + name + "\" in the data (its feature columns: " + known + "; target " +
                            data.target_name + ")");
    }
    return static_cast<Eigen::Index>(it - names.begin());
  };
  Indices columns;
  if (!options.feature_columns.empty()) {
    for (const auto& name : options.feature_columns) {
      const Eigen::Index j = column_of("features", name);
      if (std::find(columns.begin(), columns.end(), j) != columns.end()) section.fail("features", "column \"" + name + "\" is listed twice");
      columns.push_back(j);
    }
  } else {
    std::vector<bool> dropped(names.size(), false);
    for (const auto& name : options.excluded_columns) dropped[static_cast<std::size_t>(column_of("exclude", name))] = true;
    for (std::size_t j = 0; j < names.size(); ++j)
      if (!dropped[j]) columns.push_back(static_cast<Eigen::Index>(j));
    if (columns.empty()) section.fail("exclude", "excludes every feature column");
  }
  return select_features(data, columns);
}

bool is_classification_source(const std::string& source) {
  return source == "synthetic-classification" || source == "fashion-mnist" || source == "digits";
}

bool has_fixed_test(const DataOptions& data) { return data.source == "fashion-mnist"; }

}  // namespace msweep
