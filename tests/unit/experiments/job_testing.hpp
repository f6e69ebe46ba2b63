// Helpers the experiment kinds' tests share: build an experiment from a job text as the CLI
// does (unknown keys rejected), expect a bad key's one-line InputError, compare results bitwise.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/spec/job.hpp"

namespace msweep::experiment_testing {

// A job of experiment `kind` with the given [data], [model] and [sweep] bodies. The layout is
// fixed, so tests may name a key's line: [job] is lines 1-4, a blank line, then [data].
inline std::string kind_job_text(const std::string& kind, int seed, const std::string& data, const std::string& model,
                                 const std::string& sweep) {
  return "[job]\nname = \"t\"\nexperiment = \"" + kind + "\"\nseed = " + std::to_string(seed) + "\n\n[data]\n" + data +
         "\n[model]\n" + model + "\n[sweep]\n" + sweep + "\n";
}

// The experiment of a job text read as if from `path`, with every key checked.
inline std::unique_ptr<Experiment> build_job(const std::string& text, const std::string& path = "test.toml") {
  const JobSpec spec = parse_job(text, path);
  auto experiment = make_experiment(spec);
  spec.reject_unknown_keys();
  return experiment;
}

// Building `text` fails with an InputError that names the job file's line and `fragment`
// (the key, or a "test.toml:LINE" location).
inline void expect_input_error(const std::string& text, const std::string& fragment) {
  SCOPED_TRACE(fragment);
  try {
    build_job(text);
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("test.toml:"), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

inline bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace msweep::experiment_testing
