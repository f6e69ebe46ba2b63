// The journal (store/journal.cpp): retried commits, bounded reads of corrupt records, the
// record checksum, the older formats, fsync retried on EINTR.
#include "msweep/store/journal.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "msweep/core/error.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

class JournalTest : public StoreFixture {
 protected:
  void TearDown() override {
    ::unsetenv("MSWEEP_TEST_FAIL_AT");
    StoreFixture::TearDown();
  }
  static std::vector<TaskId> ids_in(const std::string& file) {
    std::vector<TaskId> ids;
    scan_journal(file, [&](TaskResult&& row) { ids.push_back(row.id); });
    return ids;
  }
  // A journal of one record holding task 3; returns the header's length.
  std::size_t one_record(const std::string& file) const {
    auto journal = JournalWriter::create(file, {"0123456789abcdef", 0, 1});
    journal.add(result(3));
    journal.commit();
    return 8 + 4 + std::string("job_hash=0123456789abcdef\nshard=0/1\n").size() + 8;
  }
};

// A commit that fails part way keeps its rows pending; the retry writes one record where the
// failed one began, never a second copy and never behind a torn one.
TEST_F(JournalTest, ARetriedCommitNeitherRepeatsNorHidesRows) {
  for (const char* step : {"journal.payload", "journal.fsync"}) {
    SCOPED_TRACE(step);
    const std::string file = path(std::string(step) + ".journal");
    auto journal = JournalWriter::create(file, {"0123456789abcdef", 0, 1});
    journal.add(result(0));
    journal.commit();
    journal.add(result(1));
    journal.add(result(2));
    ::setenv("MSWEEP_TEST_FAIL_AT", step, 1);
    EXPECT_THROW(journal.commit(), StoreError);
    ::unsetenv("MSWEEP_TEST_FAIL_AT");
    EXPECT_EQ(journal.pending_rows(), 2u);
    journal.add(result(3));
    journal.commit();
    journal.close();
    EXPECT_EQ(ids_in(file), (std::vector<TaskId>{0, 1, 2, 3}));
    const JournalScan scan = scan_journal(file, [](TaskResult&&) {});
    EXPECT_EQ(scan.valid_bytes, scan.file_bytes);  // no torn bytes left behind
  }
}

// A corrupt row count must not be allocated (it once asked for hundreds of GB): it is under
// the checksum and bounded by the record's size.
TEST_F(JournalTest, ACorruptRowCountEndsTheValidPrefixWithoutAllocating) {
  const std::string file = path("count.journal");
  const std::size_t header = one_record(file);
  auto bytes = bytes_of(file);
  const std::uint32_t huge = 0xffffffffu;
  std::memcpy(bytes.data() + header + 4, &huge, 4);  // the record's row count
  write_bytes(file, bytes);
  const JournalScan scan = scan_journal(file, [](TaskResult&&) { ADD_FAILURE() << "no row is valid"; });
  EXPECT_EQ(scan.rows, 0u);
  EXPECT_EQ(scan.valid_bytes, header);
  // One more row than the record holds passes the size bound: the checksum catches it.
  const std::uint32_t two = 2;
  std::memcpy(bytes.data() + header + 4, &two, 4);
  write_bytes(file, bytes);
  EXPECT_EQ(scan_journal(file, [](TaskResult&&) {}).rows, 0u);
}

// Version 3 records are checksummed with zlib's CRC-32 of the row count, the payload length
// and the payload (docs/results-format.md, "Journal").
TEST_F(JournalTest, RecordsCarryTheCrc32OfTheirCountLengthAndPayload) {
  const std::string file = path("crc.journal");
  const std::size_t header = one_record(file);
  const auto bytes = bytes_of(file);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "MSWJRNL3");
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + header + 8 + 8, 8);
  uLong crc = crc32_z(0, nullptr, 0);
  crc = crc32_z(crc, bytes.data() + header + 4, 12);                         // row count, payload length
  crc = crc32_z(crc, bytes.data() + header + 24, bytes.size() - header - 24);  // payload
  EXPECT_EQ(stored, crc);
  EXPECT_EQ(ids_in(file), (std::vector<TaskId>{3}));
}

TEST_F(JournalTest, OlderVersionsAreStillRead) {
  for (const int version : {1, 2}) {
    SCOPED_TRACE(version);
    const std::string file = path("v" + std::to_string(version) + ".journal");
    one_record(file);
    rewrite_journal_as_version(file, version);
    const JournalScan scan = scan_journal(file, [](TaskResult&&) {});
    EXPECT_EQ(scan.header.version, version);
    EXPECT_EQ(scan.valid_bytes, scan.file_bytes);
    EXPECT_EQ(ids_in(file), (std::vector<TaskId>{3}));
    EXPECT_EQ(read_journal_header(file).version, version);
  }
}

// fsync interrupted by a signal (no SA_RESTART; some network file systems) is retried.
TEST_F(JournalTest, FsyncInterruptedBySignalIsRetried) {
  const std::string file = path("eintr.journal");
  ::setenv("MSWEEP_TEST_FAIL_AT", "fsync.eintr", 1);
  auto journal = JournalWriter::create(file, {"0123456789abcdef", 0, 1});
  journal.add(result(1));
  journal.commit();
  EXPECT_EQ(ids_in(file), (std::vector<TaskId>{1}));
}

// A new journal replaces the old one only when complete (seeding writes many records).
TEST_F(JournalTest, AnUnpublishedJournalLeavesTheOldOneInPlace) {
  const std::string file = path("seed.journal");
  one_record(file);
  const auto before = bytes_of(file);
  auto journal = JournalWriter::create_unpublished(file, {"fedcba9876543210", 0, 1});
  journal.add(result(7));
  journal.commit();
  EXPECT_EQ(bytes_of(file), before);
  journal.publish();
  EXPECT_EQ(ids_in(file), (std::vector<TaskId>{7}));
  EXPECT_FALSE(fs::exists(file + ".new"));
  journal.add(result(8));
  journal.commit();
  EXPECT_EQ(ids_in(file), (std::vector<TaskId>{7, 8}));
}

}  // namespace
}  // namespace msweep
