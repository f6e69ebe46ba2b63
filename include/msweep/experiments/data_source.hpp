// The [data] section every experiment shares: which data set, how it is standardized and
// split. Reading it validates every key; loading it checks files before any MPI work.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "msweep/data/dataset.hpp"
#include "msweep/spec/config.hpp"

namespace msweep {

struct DataOptions {
  std::string source;           // boston | csv:PATH | synthetic-regression | synthetic-classification | polynomial | fashion-mnist | digits
  std::string target;           // csv: target column
  std::int64_t objects = 0;     // synthetic sets: rows
  std::int64_t features = 0;    // synthetic sets: columns
  double noise = 1.0;           // synthetic regression and polynomial: noise standard deviation
  int degree = 9;               // polynomial: highest power
  bool trigonometric = true;    // polynomial: add sin x, cos x
  bool standardize = true;      // scale features with training-part statistics
  double test_fraction = 0.2;   // held-out part, redrawn per run
  // fashion-mnist: rows subsampled from the 60000 training and 10000 test images; the Dataset
  // holds the training rows first and the last test_objects rows are the fixed official test part.
  std::int64_t train_objects = 0, test_objects = 0;
  bool scale_unit = true;       // fashion-mnist: pixels / 255 in [0, 1]
  // digits: the digits kept, y their position in this list (classes = [3, 8]: a 0/1 target);
  // empty keeps all ten with y the digit.
  std::vector<int> classes;
  // csv and boston: the feature columns to keep, by name (empty: all but the target), or
  // those to drop; at most one of the two is given.
  std::vector<std::string> feature_columns, excluded_columns;
};

// Sources whose targets are class indices (cross-entropy is the default loss for them).
bool is_classification_source(const std::string& source);
// Sources with a fixed official test part (fashion-mnist: the last test_objects rows) instead of
// a held-out fraction redrawn per run.
bool has_fixed_test(const DataOptions& data);

// Reads [data]; relative csv paths are resolved against the job file's directory.
DataOptions read_data_options(const ConfigTable& data);

// Loads or generates the data set. Generators use the job seed's "data" stream, so the data
// are the same on every rank and in every run; runs differ in their splits.
Dataset load_dataset(const DataOptions& options, std::uint64_t job_seed);

// What experiments use: reads [data], loads the data set and keeps the chosen feature columns
// ([data] features or exclude), with file:line messages for names the data do not have.
Dataset load_job_data(const ConfigTable& data, std::uint64_t job_seed);

}  // namespace msweep
