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
  EXPECT_EQ(mismatch->reason, "belongs to another job (job hash " + job_hash(layout_.job_text) + ", but other.toml has " +
                                  job_hash(other.job_text) + ")");
  EXPECT_FALSE(check_compatible(layout_, other, "other.toml", {.same_job = false}));
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
