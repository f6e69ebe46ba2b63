// One writer per results file (store/output_lock.cpp): OUT.h5.lock names its owner, a live
// owner is refused, a stale lock is taken over, and neither a held lock nor HDF5's file lock
// ever makes resume treat a live file as damaged.
#include "msweep/store/output_lock.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "msweep/store/journal.hpp"
#include "msweep/store/results.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

class OutputLockTest : public StoreFixture {
 protected:
  void TearDown() override {
    ::unsetenv("SLURM_JOB_ID");
    ::unsetenv("SLURM_RESTART_COUNT");
    StoreFixture::TearDown();
  }
  static std::string text_of(const std::string& file) {
    std::ifstream in(file);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }
  static std::string message_of(const std::function<void()>& action) {
    try {
      action();
    } catch (const FileInUseError& error) {
      return error.what();
    }
    ADD_FAILURE() << "expected FileInUseError";
    return "";
  }
  static std::string this_host() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
  }
};

TEST_F(OutputLockTest, NamesItsOwnerAndIsRemovedOnRelease) {
  const std::string out = path("a.h5");
  {
    OutputLock lock = OutputLock::acquire(out);
    EXPECT_TRUE(lock.stale_note().empty());
    const LockOwner owner = read_lock_owner(out);
    EXPECT_EQ(owner.pid, static_cast<long>(::getpid()));
    EXPECT_EQ(owner.host, this_host());
    EXPECT_NE(text_of(lock_path(out)).find("since="), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(lock_path(out)));
  EXPECT_EQ(fs::directory_iterator(dir_), fs::directory_iterator());  // no temporary left either
}

TEST_F(OutputLockTest, ALiveOwnerIsRefusedByName) {
  const std::string out = path("a.h5");
  OutputLock held = OutputLock::acquire(out);
  const std::string message = message_of([&] { OutputLock::acquire(out); });
  EXPECT_NE(message.find("pid " + std::to_string(::getpid())), std::string::npos) << message;
  EXPECT_NE(message.find(lock_path(out)), std::string::npos) << message;
  EXPECT_TRUE(fs::exists(lock_path(out)));
}

// A process killed while holding the lock leaves its file; the next writer on this host
// sees the owner is gone and takes over, saying whose lock it was.
TEST_F(OutputLockTest, AStaleLockOfADeadProcessIsTakenOver) {
  const std::string out = path("a.h5");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    OutputLock lock = OutputLock::acquire(out);
    ::_exit(0);  // as SIGKILL would: no destructor removes the lock file
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(fs::exists(lock_path(out)));
  OutputLock lock = OutputLock::acquire(out);
  EXPECT_NE(lock.stale_note().find("pid " + std::to_string(child)), std::string::npos) << lock.stale_note();
  EXPECT_EQ(read_lock_owner(out).pid, static_cast<long>(::getpid()));
}

TEST_F(OutputLockTest, ALockOfAnotherHostIsRefusedAndKept) {
  const std::string out = path("a.h5");
  std::ofstream(lock_path(out)) << "msweep-lock 1\nhost=node-elsewhere\npid=4242\nslurm_job_id=77\nsince=2026-01-01T00:00:00Z\n";
  const std::string before = text_of(lock_path(out));
  const std::string message = message_of([&] { OutputLock::acquire(out); });
  EXPECT_NE(message.find("host node-elsewhere, pid 4242, Slurm job 77"), std::string::npos) << message;
  EXPECT_NE(message.find("remove " + lock_path(out)), std::string::npos) << message;
  EXPECT_EQ(text_of(lock_path(out)), before);
}

// Slurm requeues a job (same id, higher restart count) only once its earlier run is over.
TEST_F(OutputLockTest, ARequeuedSlurmJobTakesOverItsEarlierRunsLock) {
  const std::string out = path("a.h5");
  std::ofstream(lock_path(out)) << "msweep-lock 1\nhost=node-elsewhere\npid=4242\nslurm_job_id=77\nslurm_restart_count=0\n";
  ::setenv("SLURM_JOB_ID", "77", 1);
  ::setenv("SLURM_RESTART_COUNT", "1", 1);
  OutputLock lock = OutputLock::acquire(out);
  EXPECT_NE(lock.stale_note().find("requeued"), std::string::npos) << lock.stale_note();
}

// The reproduced defect: a second writer moved a live file aside and rebuilt it from the
// journal. Now it is refused with nothing touched, whatever HDF5's own locking does.
TEST_F(OutputLockTest, ASecondWriterTouchesNothing) {
  const std::string out = path("a.h5");
  auto live = ResultWriter::create(out, layout_, {}, {}, false);
  live.append({result(0), result(1)});
  live.flush();
  const auto journal_bytes = fs::file_size(journal_path(out));
  EXPECT_THROW(ResultWriter::resume(out, layout_, {}, {}, false), FileInUseError);
  EXPECT_THROW(ResultWriter::create(out, layout_, {}, {}, true), FileInUseError);
  EXPECT_FALSE(fs::exists(out + ".damaged"));
  EXPECT_EQ(fs::file_size(journal_path(out)), journal_bytes);
  live.append({result(2)});
  live.finish(RunStatus::interrupted, 0);
  EXPECT_FALSE(fs::exists(lock_path(out)));
  EXPECT_EQ(rows_of(out).size(), 3u);
  ResultWriter::resume(out, layout_, {}, {}, false).finish(RunStatus::interrupted, 0);  // free again
}

// Another process holding HDF5's lock (a reader with the file open) makes the file in use,
// not damaged: resume refuses it and moves nothing aside.
TEST_F(OutputLockTest, AFileHdf5HasLockedIsInUseNotDamaged) {
  const char* locking = std::getenv("HDF5_USE_FILE_LOCKING");
  if (locking && std::string(locking) == "FALSE") GTEST_SKIP() << "HDF5 file locking is off";
  const std::string out = path("a.h5");
  {
    auto writer = ResultWriter::create(out, layout_, {}, {}, false);
    writer.append({result(0)});
    writer.finish(RunStatus::interrupted, 0);
  }
  int opened[2], done[2];
  ASSERT_EQ(::pipe(opened), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const hid_t file = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    char byte = file >= 0 ? 'y' : 'n';
    (void)!::write(opened[1], &byte, 1);
    (void)!::read(done[0], &byte, 1);  // holds the file open until the parent is done
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(opened[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  const std::string message = message_of([&] { ResultWriter::resume(out, layout_, {}, {}, false); });
  EXPECT_NE(message.find("in use by another process"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(out + ".damaged"));
  EXPECT_NO_THROW(ResultReader reader(out));  // readers share the lock
  (void)!::write(done[1], "x", 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(ResultWriter::resume(out, layout_, {}, {}, false).rows_committed(), 1u);
}

}  // namespace
}  // namespace msweep
