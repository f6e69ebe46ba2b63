// ResultLayout: job identity, shards, run status names, and check_compatible's rules and
// messages (store/layout.cpp).
#include "msweep/store/layout.hpp"

#include <gtest/gtest.h>

#include "msweep/core/error.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

using Rule = Incompatibility::Rule;

TEST(JobHash, IsStableHex) {
  EXPECT_EQ(job_hash(""), "cbf29ce484222325");
  EXPECT_EQ(job_hash("a").size(), 16u);
  EXPECT_NE(job_hash("a"), job_hash("b"));
}

TEST(RunStatus, NamesAreTheStoredTexts) {
  EXPECT_STREQ(run_status_name(RunStatus::running), "running");
  EXPECT_STREQ(run_status_name(RunStatus::complete), "complete");
  EXPECT_STREQ(run_status_name(RunStatus::interrupted), "interrupted");
  EXPECT_EQ(parse_run_status("interrupted", "f.h5"), RunStatus::interrupted);
  EXPECT_THROW(parse_run_status("done", "f.h5"), InputError);
}

class CompatibilityTest : public StoreFixture {};

TEST_F(CompatibilityTest, SameLayoutIsCompatible) {
  EXPECT_FALSE(check_compatible(layout_, layout_, "t.toml"));
  ResultLayout renamed = layout_;
  renamed.job_path = "elsewhere/t.toml";  // where the job file lives is no part of the identity
  renamed.metrics[0].description = "reworded";
  EXPECT_FALSE(check_compatible(layout_, renamed, "t.toml"));
}

TEST_F(CompatibilityTest, AnotherJobUnlessWaived) {
  ResultLayout other = layout_;
  other.job_text += "# changed\n";
  const auto mismatch = check_compatible(layout_, other, "other.toml");
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->rule, Rule::job);
  EXPECT_EQ(mismatch->reason, "belongs to another job (only the job text's comments or layout differ from other.toml)");
  EXPECT_TRUE(mismatch->force_accepts);
  EXPECT_FALSE(check_compatible(layout_, other, "other.toml", {.same_job = false}));
}

TEST_F(CompatibilityTest, ForceAcceptsOnlyKeysThatCannotChangeNumbers) {
  ResultLayout harmless = layout_;
  harmless.job_text += "[output]\nflush_seconds = 5\n";
  harmless.resolved_job = R"({"job": {"name": "t2", "seed": 9}, "output": {"flush_seconds": 5.0}})";
  auto mismatch = check_compatible(layout_, harmless, "j.toml");
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->reason, "belongs to another job (changed in j.toml: job.name \"t\" -> \"t2\", output.flush_seconds 2.0 -> 5.0)");
  EXPECT_TRUE(mismatch->force_accepts);
  EXPECT_FALSE(check_compatible(layout_, harmless, "j.toml", {.same_job = false}));

  ResultLayout reseeded = layout_;
  reseeded.job_text += "# seed 10\n";
  reseeded.resolved_job = R"({"job": {"name": "t", "seed": 10}, "output": {"flush_seconds": 5.0}, "sweep": {"runs": 2}})";
  mismatch = check_compatible(layout_, reseeded, "j.toml", {.same_job = false});
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->rule, Rule::job);
  EXPECT_FALSE(mismatch->force_accepts);
  EXPECT_NE(mismatch->reason.find("not to job.seed 9 -> 10, sweep.runs (unset) -> 2"), std::string::npos) << mismatch->reason;

  ResultLayout unknown = layout_;  // a file written before resolved_job: nothing says what changed
  unknown.resolved_job.clear();
  unknown.job_text += "# x\n";
  mismatch = check_compatible(unknown, layout_, "j.toml", {.same_job = false});
  ASSERT_TRUE(mismatch);
  EXPECT_FALSE(mismatch->force_accepts);
}

TEST_F(CompatibilityTest, ChangedInputDataAreNeverAccepted) {
  ResultLayout stored = layout_;
  stored.inputs = {{"d/data.csv", "csv", 120, "fnv1a64:00000000000000aa"}};
  ResultLayout wanted = stored;
  wanted.inputs[0].path = "moved.csv";  // same bytes elsewhere: the same data
  EXPECT_FALSE(check_compatible(stored, wanted, "j.toml"));
  wanted.inputs[0].digest = "fnv1a64:00000000000000bb";
  for (bool same_job : {true, false}) {
    const auto mismatch = check_compatible(stored, wanted, "j.toml", {.same_job = same_job, .same_shard = false});
    ASSERT_TRUE(mismatch);
    EXPECT_EQ(mismatch->rule, Rule::inputs);
    EXPECT_FALSE(mismatch->force_accepts);
    EXPECT_EQ(mismatch->reason, "its input data changed: moved.csv is now 120 bytes, fnv1a64:00000000000000bb, but the file's rows "
                                "were computed from d/data.csv (csv, 120 bytes, fnv1a64:00000000000000aa)");
  }
  EXPECT_NE(job_identity(stored), job_identity(wanted));  // the journal tells them apart too
  wanted.inputs.clear();
  EXPECT_EQ(check_compatible(stored, wanted, "j.toml")->rule, Rule::inputs);
}

TEST_F(CompatibilityTest, FilesWithoutInputRecordsNeedForce) {
  ResultLayout old_file = layout_;
  old_file.inputs_recorded = false;
  EXPECT_FALSE(check_compatible(old_file, layout_, "j.toml"));  // generated data: nothing to check
  ResultLayout wanted = layout_;
  wanted.inputs = {{"data.csv", "csv", 120, "fnv1a64:00000000000000aa"}};
  const auto mismatch = check_compatible(old_file, wanted, "j.toml");
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->rule, Rule::inputs);
  EXPECT_TRUE(mismatch->force_accepts);
  EXPECT_FALSE(check_compatible(old_file, wanted, "j.toml", {.same_job = false}));
}

TEST(ChangedJobKeys, ListsKeysOnEitherSide) {
  EXPECT_TRUE(changed_job_keys("", R"({"job": {"seed": 1}})").empty());
  const auto changed = changed_job_keys(R"({"data": {"source": "csv:a, b.csv", "x": [1, [2, 3]]}, "job": {"seed": 1}})",
                                        R"({"data": {"source": "csv:a, b.csv", "x": [1, [2, 4]]}, "model": {"k": true}})");
  EXPECT_EQ(changed, (std::vector<std::string>{"data.x [1, [2, 3]] -> [1, [2, 4]]", "job.seed 1 -> (unset)", "model.k (unset) -> true"}));
}

TEST_F(CompatibilityTest, SchemaIsNeverWaivedAndNamesWhatDiffers) {
  const CompatibilityRules lenient{.same_job = false, .same_shard = false};
  auto reason = [&](const ResultLayout& wanted) {
    const auto mismatch = check_compatible(layout_, wanted, "j.toml", lenient);
    EXPECT_TRUE(mismatch && mismatch->rule == Rule::schema);
    return mismatch ? mismatch->reason : std::string();
  };
  const std::string suffix = "j.toml (written by another msweep version, or the job changed?)";
  ResultLayout wanted = layout_;
  wanted.axes.pop_back();
  EXPECT_EQ(reason(wanted), "its axes (structure, fold, restart, run) differ from those of " + suffix);
  wanted = layout_;
  wanted.axes[0].labels[1] = "renamed";
  EXPECT_EQ(reason(wanted), "the labels of its axis structure differ from those of " + suffix);
  wanted = layout_;
  wanted.metrics[1].name = "z";
  EXPECT_EQ(reason(wanted), "its metrics (x, y) differ from those of " + suffix);
  wanted = layout_;
  wanted.arrays[0].shape = {3, 2};
  EXPECT_EQ(reason(wanted), "its arrays (curve[2x3]) differ from those of " + suffix);
}

TEST_F(CompatibilityTest, AnotherShardUnlessWaived) {
  ResultLayout wanted = layout_;
  wanted.shard_index = 1;
  wanted.shard_count = 4;
  const auto mismatch = check_compatible(layout_, wanted, "j.toml");
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->rule, Rule::shard);
  EXPECT_EQ(mismatch->reason, "holds shard 0/1, not the requested shard 1/4 (pass the same --shard as the run that created it)");
  EXPECT_FALSE(check_compatible(layout_, wanted, "j.toml", {.same_shard = false}));
}

TEST_F(CompatibilityTest, JobIsCheckedBeforeSchemaAndShard) {
  ResultLayout wanted = layout_;
  wanted.job_text += "# changed\n";
  wanted.metrics.pop_back();
  wanted.shard_count = 2;
  EXPECT_EQ(check_compatible(layout_, wanted, "j.toml")->rule, Rule::job);
  EXPECT_EQ(check_compatible(layout_, wanted, "j.toml", {.same_job = false})->rule, Rule::schema);
}

TEST_F(CompatibilityTest, ShardTaskCounts) {
  ResultLayout shard = layout_;
  shard.shard_index = 1;
  shard.shard_count = 5;
  EXPECT_EQ(grid_task_count(shard), 12u);
  EXPECT_EQ(shard_task_count(shard), 3u);  // ids 1, 6, 11
  EXPECT_TRUE(in_shard(shard, 6));
  EXPECT_FALSE(in_shard(shard, 7));
}

}  // namespace
}  // namespace msweep
