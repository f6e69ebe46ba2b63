// The journal of a results file (docs/results-format.md, "Journal"): an append-only file of
// checksummed records holding every row a flush commits, fsync'd before the HDF5 file is
// touched. HDF5 files can be left unopenable by a kill or a crash mid-write; the journal is
// plain appends, so at worst its last record is torn, and the valid prefix rebuilds the file.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "msweep/core/task.hpp"

namespace msweep {

// The format version JournalWriter writes (versions 1 and 2 are still read; resume replaces
// such a journal with one of this version).
inline constexpr int kJournalVersion = 3;

// What a journal belongs to: resume refuses a journal of another job or shard.
struct JournalHeader {
  std::string job_hash;
  std::uint64_t shard_index = 0, shard_count = 1;
  int version = kJournalVersion;  // as read from the file
};

// Appends rows to a journal. Not copyable; closes its descriptor when destroyed.
class JournalWriter {
 public:
  JournalWriter() = default;
  // Creates a new empty journal at `path`, replacing any old one atomically: written as
  // PATH.new, fsync'd, renamed over PATH, directory fsync'd.
  static JournalWriter create(const std::string& path, const JournalHeader& header);
  // The same, but records are committed into PATH.new until publish() renames it over PATH
  // (seeding a journal from a file: a kill meanwhile leaves the old journal untouched).
  static JournalWriter create_unpublished(const std::string& path, const JournalHeader& header);
  void publish();
  // Opens an existing journal for appending after its first valid_bytes (a torn tail is cut off).
  static JournalWriter reopen(const std::string& path, std::uint64_t valid_bytes);
  ~JournalWriter();
  JournalWriter(JournalWriter&& other) noexcept;
  JournalWriter& operator=(JournalWriter&& other) noexcept;
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  explicit operator bool() const { return fd_ >= 0; }
  // Encodes one row into the pending record (nothing is written yet).
  void add(const TaskResult& row);
  std::uint64_t pending_rows() const { return pending_rows_; }
  // Writes the pending rows as one record and fsyncs. Throws StoreError (e.g. disk full);
  // the rows then stay pending, a partly written record is ignored by readers, and the next
  // commit (a retry) truncates it before writing: a retry never leaves a record behind a
  // torn one, and a record whose fsync failed is rewritten, not repeated.
  void commit();
  void close();

 private:
  JournalWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
  std::vector<unsigned char> pending_;
  std::uint64_t pending_rows_ = 0;
  std::uint64_t committed_bytes_ = 0;  // end of the last record whose commit succeeded
  bool torn_ = false;                  // a commit failed after it began writing at committed_bytes_
  bool building_ = false;              // writing PATH.new (create_unpublished) until publish()
};

struct JournalScan {
  JournalHeader header;
  std::uint64_t rows = 0;         // rows in valid records
  std::uint64_t valid_bytes = 0;  // length of the valid prefix (header and whole records)
  std::uint64_t file_bytes = 0;   // length on disk; more than valid_bytes after a torn write
};

// Reads a journal, calling visit for each row of each valid record, and stops at the first
// torn or corrupt record. Throws InputError when the file is missing or its header is bad.
JournalScan scan_journal(const std::string& path, const std::function<void(TaskResult&&)>& visit);
// Only the header (cheap): throws InputError like scan_journal.
JournalHeader read_journal_header(const std::string& path);

}  // namespace msweep
