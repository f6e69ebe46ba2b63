#include <gtest/gtest.h>

#include <utility>

#include "msweep/core/error.hpp"
#include "msweep/spec/job.hpp"

namespace msweep {
namespace {

const char* kValid = R"([job]
name = "t"
experiment = "subset-evidence"
seed = 3
[sweep]
folds = 4
runs = 2
)";

std::string error_of(const std::string& text) {
  try {
    JobSpec spec = parse_job(text, "jobs/x.toml");
    spec.sweep.get_string("structures", "all");
    spec.reject_unknown_keys();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(JobSpec, ParsesStandardKeys) {
  JobSpec spec = parse_job(kValid, "jobs/x.toml");
  EXPECT_EQ(spec.name, "t");
  EXPECT_EQ(spec.kind, "subset-evidence");
  EXPECT_EQ(spec.seed, 3u);
  EXPECT_EQ(spec.folds, 4);
  EXPECT_EQ(spec.restarts, 1);
  EXPECT_EQ(spec.runs, 2);
  EXPECT_EQ(spec.output_path, "results/t.h5");
}

TEST(JobSpec, OverridesApplyAsTomlValuesAndJoinTheText) {
  const JobSpec spec = parse_job(kValid, "jobs/x.toml", {"sweep.runs=5", "job.seed=7", "data.source=csv:d.csv", "output.path=\"o.h5\""});
  EXPECT_EQ(spec.runs, 5);
  EXPECT_EQ(spec.seed, 7u);
  EXPECT_EQ(spec.data.get_string("source"), "csv:d.csv");  // not a TOML value: taken as a string
  EXPECT_EQ(spec.output_path, "o.h5");
  EXPECT_EQ(spec.text.rfind(kValid, 0), 0u);
  EXPECT_NE(spec.text.find("\n# --set sweep.runs=5\n# --set job.seed=7\n"), std::string::npos);
  EXPECT_EQ(spec.overrides.size(), 4u);
  EXPECT_EQ(parse_job(kValid, "jobs/x.toml").text, kValid);  // no overrides: the file verbatim
}

TEST(JobSpec, BadOverridesNameTheOverride) {
  auto error = [](const std::vector<std::string>& overrides) {
    try {
      JobSpec spec = parse_job(kValid, "jobs/x.toml", overrides);
      spec.reject_unknown_keys();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error({"sweep.runs=x"}).rfind("--set sweep.runs=x: [sweep] runs: expected an integer", 0), 0u) << error({"sweep.runs=x"});
  EXPECT_EQ(error({"sweep.rnus=2"}).rfind("--set sweep.rnus=2: [sweep] rnus: unknown key", 0), 0u);
  EXPECT_EQ(error({"swep.runs=2"}), "--set swep.runs=2: unknown section swep (expected job, data, model, sweep or output)");
  EXPECT_EQ(error({"runs=2"}), "--set runs=2: expected SECTION.KEY=VALUE (e.g. --set sweep.runs=2)");
  EXPECT_EQ(error({"sweep.a.b=2"}), "--set sweep.a.b=2: expected SECTION.KEY=VALUE (e.g. --set sweep.runs=2)");
}

TEST(ConfigTable, ACrossKeyFailureNamesTheOverrideThatMadeTheKeysInconsistent) {
  auto error = [](const std::vector<std::string>& overrides) {
    try {
      const JobSpec spec = parse_job(std::string(kValid) + "[model]\nprior = [1, 2]\n", "jobs/x.toml", overrides);
      spec.model.fail("prior", "expected one number per fold", {{spec.sweep, "runs"}, {spec.sweep, "folds"}});
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // Only the file: its line, as for a single key.
  EXPECT_EQ(error({}), "jobs/x.toml:9: [model] prior: expected one number per fold");
  // The other key came from --set: the override leads, the key's line follows.
  EXPECT_EQ(error({"sweep.folds=3"}), "--set sweep.folds=3: [model] prior (jobs/x.toml:9): expected one number per fold");
  // The key itself came from --set: that override, as for a single key.
  EXPECT_EQ(error({"model.prior=[1]", "sweep.folds=3"}), "--set model.prior=[1]: [model] prior: expected one number per fold");
  // An override of an unrelated key is not named.
  EXPECT_EQ(error({"job.seed=9"}), "jobs/x.toml:9: [model] prior: expected one number per fold");
}

TEST(ConfigTable, ResolvedJsonHoldsEveryValueUsedWithTheDefaults) {
  const JobSpec spec = parse_job(std::string(kValid) + "label = \"a \\\"b\\\"\"\n", "jobs/x.toml");
  spec.sweep.get_string("label", "");
  spec.sweep.get_double("rate", 0.5, 0.0, 1.0);
  spec.sweep.get_double("whole", 2.0, 0.0, 10.0);
  spec.sweep.get_int_list("sizes", {3, 4}, 1, 10);
  spec.sweep.get_bool("flag", true);
  spec.sweep.has("probed");  // probed, never read: not a value used
  EXPECT_EQ(spec.sweep.resolved_json(),
            "{\"flag\": true, \"folds\": 4, \"label\": \"a \\\"b\\\"\", \"rate\": 0.5, \"restarts\": 1, \"runs\": 2, "
            "\"sizes\": [3, 4], \"whole\": 2.0}");
  const std::string all = spec.resolved_json();
  EXPECT_EQ(all.rfind("{\"job\": {\"experiment\": \"subset-evidence\", \"name\": \"t\", \"seed\": 3}, \"data\": {}", 0), 0u) << all;
  EXPECT_NE(all.find("\"output\": {\"flush_rows\": 0, \"flush_seconds\": 2.0, \"path\": \"results/t.h5\", \"summary_seconds\": 30.0}"), std::string::npos) << all;
}

TEST(JobSpec, SyntaxErrorNamesFileAndLine) {
  EXPECT_EQ(error_of("[job]\nname = \"t\"\nseed = = 3\n").rfind("jobs/x.toml:3: not valid TOML", 0), 0u);
}

// toml++'s parser vocabulary ("Error while parsing key-value pair", "bare key", "saw") never
// reaches the user: each error says what was expected in a job file's words, at file:line.
TEST(JobSpec, SyntaxErrorsSpeakTheUsersWords) {
  const std::pair<const char*, const char*> cases[] = {
      {"[job\nname = \"t\"\n", "jobs/x.toml:1: not valid TOML: a [section] header is missing its closing ']' (found the end of the line)"},
      {"[job]\nname = \n", "jobs/x.toml:2: not valid TOML: expected a value after '='"},
      {"[job]\nname \"t\"\n", "jobs/x.toml:2: not valid TOML: expected '=' between the key and its value"},
      {"[job]\nname = 't\n", "jobs/x.toml:2: not valid TOML: a string is missing its closing quote"},
      {"[job]\nseed = 1 2\n", "jobs/x.toml:2: not valid TOML: expected the end of the line after the value"},
      {"[job]\nseed = 1\nseed = 2\n", "jobs/x.toml:3: not valid TOML: this key is defined twice in its section"},
      {"[job]\n[job]\n", "jobs/x.toml:2: not valid TOML: this [section] is defined twice"},
      {"[sweep]\nfolds = [1, 2\n", "not valid TOML: the file ends inside a value"},
      {"= 3\n", "jobs/x.toml:1: not valid TOML: expected a key name or a [section] at the start of the line"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string error = error_of(text);
    EXPECT_NE(error.find(expected), std::string::npos) << error;
    EXPECT_EQ(error.find("Error while parsing"), std::string::npos) << error;
    EXPECT_EQ(error.find("saw"), std::string::npos) << error;
  }
}

TEST(JobSpec, UnknownKeyNamesFileLineSectionKey) {
  std::string text = std::string(kValid) + "fodls = 3\n";
  EXPECT_EQ(error_of(text),
            "jobs/x.toml:8: [sweep] fodls: unknown key (did you mean \"folds\"? known here: folds, restarts, runs, structures)");
  // Nothing close: only the list of the keys the section takes.
  EXPECT_EQ(error_of(std::string(kValid) + "colour = 3\n"),
            "jobs/x.toml:8: [sweep] colour: unknown key (known here: folds, restarts, runs, structures)");
  // A section this job reads nothing from (here [data]): one sentence, no nested parentheses.
  EXPECT_EQ(error_of(std::string(kValid) + "[data]\nsource = \"x\"\n"),
            "jobs/x.toml:9: [data] source: unknown key (this section takes no keys in this job; docs/job-spec.md lists the keys "
            "of each section)");
}

TEST(JobSpec, UnknownSection) {
  EXPECT_NE(error_of(std::string(kValid) + "[modle]\nx = 1\n").find("[modle]: unknown section"), std::string::npos);
}

// A key above every [section] is a misplaced key, not an unknown section.
TEST(JobSpec, TopLevelKeyIsNotCalledASection) {
  const std::string error = error_of("seed = 3\n" + std::string(kValid));
  EXPECT_EQ(error, "jobs/x.toml:1: seed: a key outside any section (every key belongs under [job], [data], [model], [sweep] or [output])");
}

TEST(JobSpec, WrongTypeAndRange) {
  std::string text = kValid;
  EXPECT_EQ(error_of(text.replace(text.find("folds = 4"), 9, "folds = \"4\"")),
            "jobs/x.toml:6: [sweep] folds: expected an integer from 1 to 1000, got the string \"4\"");
  text = kValid;
  EXPECT_EQ(error_of(text.replace(text.find("runs = 2"), 8, "runs = 0")),
            "jobs/x.toml:7: [sweep] runs: expected an integer from 1 to 100000, got 0");
}

TEST(JobSpec, MissingRequiredKey) {
  EXPECT_EQ(error_of("[job]\nname = \"t\"\n"), "jobs/x.toml:1: [job] experiment: required key missing (expected a string)");
}

TEST(JobSpec, BadJobName) {
  EXPECT_NE(error_of("[job]\nname = \"a b\"\nexperiment = \"x\"\n").find("[job] name: expected letters"), std::string::npos);
}

TEST(JobSpec, MissingFile) {
  EXPECT_THROW(load_job("/nonexistent/job.toml"), InputError);
}

TEST(ConfigTable, ChoiceListsAlternatives) {
  JobSpec spec = parse_job(std::string(kValid) + "[model]\nprior = \"evidnce\"\n", "j.toml");
  try {
    spec.model.get_choice("prior", "evidence", {"evidence", "fixed"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "j.toml:9: [model] prior: expected one of \"evidence\", \"fixed\", got \"evidnce\"");
  }
}

TEST(ConfigTable, ListsOfListsAndNumbers) {
  JobSpec spec = parse_job(std::string(kValid) + "s = [[\"a\", \"b\"], []]\nd = [1, 2.5]\n", "j.toml");
  const auto lists = spec.sweep.get_string_list_list("s");
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0], (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(lists[1].empty());
  EXPECT_EQ(spec.sweep.get_double_list("d", 0, 10), (std::vector<double>{1, 2.5}));
  EXPECT_THROW(spec.sweep.get_double_list("d", 0, 2), InputError);
}

}  // namespace
}  // namespace msweep
