// Journal layout (little-endian, this machine's native order; docs/results-format.md):
//   header:  "MSWJRNL3", u32 text length, text ("job_hash=H\nshard=I/N\n"), u64 FNV-1a of text
//   record:  u32 "ROWS" magic, u32 rows, u64 payload bytes, u64 CRC-32 (zlib's) of (rows,
//            payload bytes, payload), payload
//   row:     u64 id, i8 status, u32 error bytes, error, f64 wall, i32 rank,
//            u32 metric count, f64 each, u32 array count, per array u64 count and f64 each
// Older versions are still read, and resume replaces them with a version 3 journal: version 2
// ("MSWJRNL2") checksummed records with FNV-1a 64, byte by byte, which was the largest part of
// the journal's CPU cost; version 1 checksummed the payload only (the row count then bounded
// by the payload size).
#include "msweep/store/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <utility>

#include "durable.hpp"
#include "fault_injection.hpp"
#include "msweep/core/error.hpp"

namespace msweep {
namespace {

// The header's magic of each version, index = version - 1 (the last is kJournalVersion's).
constexpr char kMagics[3][8] = {{'M', 'S', 'W', 'J', 'R', 'N', 'L', '1'},
                                {'M', 'S', 'W', 'J', 'R', 'N', 'L', '2'},
                                {'M', 'S', 'W', 'J', 'R', 'N', 'L', '3'}};
static_assert(std::size(kMagics) == std::size_t{kJournalVersion});
const char (&kMagic)[8] = kMagics[kJournalVersion - 1];
constexpr std::uint32_t kRecordMagic = 0x53574f52;  // "ROWS"
constexpr std::uint64_t kRecordHeadBytes = 24;
// A record larger than this is taken as corruption, not allocated.
constexpr std::uint64_t kMaxRecordBytes = std::uint64_t{1} << 34;
// The smallest encoded row (no error text, metrics or arrays): a count claiming more rows
// than the payload can hold is corruption, found before anything is allocated for it.
constexpr std::uint64_t kMinRowBytes = 8 + 1 + 4 + 8 + 4 + 4 + 4;

constexpr std::uint64_t kFnvBasis = 0xcbf29ce484222325ULL;

std::uint64_t fnv1a(const unsigned char* data, std::size_t size, std::uint64_t h = kFnvBasis) {
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string errno_text() { return std::strerror(errno); }

// Encodes into memory sized beforehand: one resize per row, not one per field.
class Encoder {
 public:
  explicit Encoder(unsigned char* out) : out_(out) {}
  template <class T>
  void put(const T& value) {
    std::memcpy(out_, &value, sizeof(T));
    out_ += sizeof(T);
  }
  void put_bytes(const void* data, std::size_t size) {
    if (size > 0) std::memcpy(out_, data, size);  // data() of an empty container may be null
    out_ += size;
  }
  void put_doubles(const std::vector<double>& values) { put_bytes(values.data(), values.size() * sizeof(double)); }

 private:
  unsigned char* out_;
};

// Writes all of data at `offset` (pwrite: the descriptor's position plays no part, so a
// retried commit lands where the failed one began).
void write_all_at(int fd, std::uint64_t offset, const unsigned char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;  // a stop signal arrived; the write is still wanted
    if (n < 0) throw StoreError(path + ": cannot write the journal: " + errno_text());
    data += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
}

// The checksum of a record of a journal of `version`. Since version 2 it covers the record's
// row count and size too: a flipped count cannot pass as a valid record. Version 3 uses
// zlib's CRC-32 (table-driven, several bytes per step) where version 2 used FNV-1a 64, a
// multiply per byte: the same detection of torn and garbled records (a CRC-32 catches every
// burst of up to 32 bits and misses other damage with probability 2^-32) at a fraction of
// the CPU time.
std::uint64_t record_checksum(int version, std::uint32_t rows, std::uint64_t bytes, const unsigned char* payload) {
  if (version == 1) return fnv1a(payload, bytes);
  unsigned char head[12];
  std::memcpy(head, &rows, 4);
  std::memcpy(head + 4, &bytes, 8);
  if (version == 2) return fnv1a(payload, bytes, fnv1a(head, sizeof head));
  return crc32_z(crc32_z(crc32_z(0, nullptr, 0), head, sizeof head), payload, static_cast<z_size_t>(bytes));
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }  // read-only: nothing to lose on close
};

class Cursor {
 public:
  Cursor(const unsigned char* data, std::size_t size) : data_(data), size_(size) {}
  template <class T>
  bool get(T& value) {
    if (size_ - at_ < sizeof(T)) return false;
    std::memcpy(&value, data_ + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool get_doubles(std::vector<double>& out, std::uint64_t count) {
    if ((size_ - at_) / sizeof(double) < count) return false;
    out.resize(count);
    // An empty vector's data() may be null, and memcpy from or to null is undefined even for
    // 0 bytes (UBSan, asan preset: a row without metrics).
    if (count > 0) std::memcpy(out.data(), data_ + at_, count * sizeof(double));
    at_ += count * sizeof(double);
    return true;
  }
  bool get_string(std::string& out, std::uint32_t bytes) {
    if (size_ - at_ < bytes) return false;
    out.assign(reinterpret_cast<const char*>(data_ + at_), bytes);
    at_ += bytes;
    return true;
  }
  bool done() const { return at_ == size_; }
  std::size_t remaining() const { return size_ - at_; }

 private:
  const unsigned char* data_;
  std::size_t size_, at_ = 0;
};

bool decode_row(Cursor& in, TaskResult& row) {
  std::int8_t status = 0;
  std::uint32_t error_bytes = 0, metric_count = 0, array_count = 0;
  if (!in.get(row.id) || !in.get(status) || !in.get(error_bytes) || !in.get_string(row.error, error_bytes) ||
      !in.get(row.wall_seconds) || !in.get(row.rank) || !in.get(metric_count) || !in.get_doubles(row.metrics, metric_count) ||
      !in.get(array_count) || array_count > in.remaining() / sizeof(std::uint64_t))  // each array needs its count
    return false;
  row.status = static_cast<TaskStatus>(status);
  row.arrays.resize(array_count);
  for (auto& array : row.arrays) {
    std::uint64_t count = 0;
    if (!in.get(count) || !in.get_doubles(array, count)) return false;
  }
  return true;
}

// Reads and checks the header; returns the header and its length in bytes.
std::pair<JournalHeader, std::uint64_t> read_header(std::FILE* file, const std::string& path) {
  char magic[8];
  std::uint32_t length = 0;
  int version = 0;
  if (std::fread(magic, 1, 8, file) == 8)
    for (int v = 1; v <= kJournalVersion; ++v)
      if (std::memcmp(magic, kMagics[v - 1], 8) == 0) version = v;
  if (version == 0 || std::fread(&length, 4, 1, file) != 1 || length > 4096)
    throw InputError(path + ": not an msweep journal (bad header)");
  std::string text(length, '\0');
  std::uint64_t checksum = 0;
  if (std::fread(text.data(), 1, length, file) != length || std::fread(&checksum, 8, 1, file) != 1 ||
      checksum != fnv1a(reinterpret_cast<const unsigned char*>(text.data()), text.size()))
    throw InputError(path + ": damaged msweep journal header");
  JournalHeader header;
  unsigned long long index = 0, count = 0;
  char hash[17] = {};
  if (std::sscanf(text.c_str(), "job_hash=%16s\nshard=%llu/%llu\n", hash, &index, &count) != 3 || count == 0)
    throw InputError(path + ": damaged msweep journal header");
  header.job_hash = hash;
  header.shard_index = index;
  header.shard_count = count;
  header.version = version;
  return {header, 8 + 4 + length + 8};
}

std::unique_ptr<std::FILE, FileCloser> open_for_reading(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw InputError(path + ": cannot read the journal: " + errno_text());
  return file;
}

}  // namespace

JournalWriter JournalWriter::create_unpublished(const std::string& path, const JournalHeader& header) {
  const std::string building = path + ".new";
  const int fd = ::open(building.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw StoreError(building + ": cannot create the journal: " + errno_text());
  JournalWriter writer(path, fd);
  writer.building_ = true;
  const std::string text = "job_hash=" + header.job_hash + "\nshard=" + std::to_string(header.shard_index) + "/" +
                           std::to_string(header.shard_count) + "\n";
  std::string bytes(8 + 4 + text.size() + 8, '\0');
  Encoder out(reinterpret_cast<unsigned char*>(bytes.data()));
  out.put(kMagic);
  out.put(static_cast<std::uint32_t>(text.size()));
  out.put_bytes(text.data(), text.size());
  out.put(fnv1a(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
  write_all_at(fd, 0, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), building);
  writer.committed_bytes_ = bytes.size();
  return writer;
}

void JournalWriter::publish() {
  if (!building_) return;
  store_detail::replace_durably(path_ + ".new", path_, "the new journal");
  building_ = false;
}

JournalWriter JournalWriter::create(const std::string& path, const JournalHeader& header) {
  JournalWriter writer = create_unpublished(path, header);
  writer.publish();
  return writer;
}

JournalWriter JournalWriter::reopen(const std::string& path, std::uint64_t valid_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path + ": cannot open the journal for appending: " + errno_text());
  JournalWriter writer(path, fd);
  // A torn tail (a kill or a full disk mid-record) must not sit between valid records.
  if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) != 0) throw StoreError(path + ": cannot truncate the journal: " + errno_text());
  store_detail::fsync_fd(fd, path);
  writer.committed_bytes_ = valid_bytes;
  return writer;
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);  // every commit was fsync'd; nothing is lost by ignoring close errors here
}

JournalWriter::JournalWriter(JournalWriter&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      pending_(std::move(other.pending_)),
      pending_rows_(std::exchange(other.pending_rows_, 0)),
      committed_bytes_(other.committed_bytes_),
      torn_(other.torn_),
      building_(other.building_) {}

JournalWriter& JournalWriter::operator=(JournalWriter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    pending_ = std::move(other.pending_);
    pending_rows_ = std::exchange(other.pending_rows_, 0);
    committed_bytes_ = other.committed_bytes_;
    torn_ = other.torn_;
    building_ = other.building_;
  }
  return *this;
}

void JournalWriter::add(const TaskResult& row) {
  std::size_t bytes = kMinRowBytes + row.error.size() + row.metrics.size() * sizeof(double);
  for (const auto& array : row.arrays) bytes += sizeof(std::uint64_t) + array.size() * sizeof(double);
  const std::size_t at = pending_.size();
  pending_.resize(at + bytes);
  Encoder out(pending_.data() + at);
  out.put(row.id);
  out.put(static_cast<std::int8_t>(row.status));
  out.put(static_cast<std::uint32_t>(row.error.size()));
  out.put_bytes(row.error.data(), row.error.size());
  out.put(row.wall_seconds);
  out.put(row.rank);
  out.put(static_cast<std::uint32_t>(row.metrics.size()));
  out.put_doubles(row.metrics);
  out.put(static_cast<std::uint32_t>(row.arrays.size()));
  for (const auto& array : row.arrays) {
    out.put(static_cast<std::uint64_t>(array.size()));
    out.put_doubles(array);
  }
  ++pending_rows_;
}

void JournalWriter::commit() {
  if (pending_rows_ == 0) return;
  const std::string& where = building_ ? path_ + ".new" : path_;
  // A commit that failed part way left a torn record at committed_bytes_: cut it off, so the
  // retry's record follows the last valid one (readers stop at the first bad record).
  if (torn_ && ::ftruncate(fd_, static_cast<off_t>(committed_bytes_)) != 0)
    throw StoreError(where + ": cannot truncate the journal: " + errno_text());
  torn_ = true;
  const auto rows = static_cast<std::uint32_t>(pending_rows_);
  const auto bytes = static_cast<std::uint64_t>(pending_.size());
  std::array<unsigned char, kRecordHeadBytes> head;
  Encoder out(head.data());
  out.put(kRecordMagic);
  out.put(rows);
  out.put(bytes);
  out.put(record_checksum(kJournalVersion, rows, bytes, pending_.data()));
  write_all_at(fd_, committed_bytes_, head.data(), head.size(), where);
  store_detail::fault_point("journal.payload");  // test-only: a torn record (head without payload)
  write_all_at(fd_, committed_bytes_ + head.size(), pending_.data(), pending_.size(), where);
  store_detail::fault_point("journal.fsync");  // test-only: a whole record whose commit failed
  store_detail::fsync_fd(fd_, where);
  // Only now is the record committed: a failure above leaves pending_ for the retry.
  committed_bytes_ += head.size() + pending_.size();
  torn_ = false;
  pending_.clear();
  pending_rows_ = 0;
}

void JournalWriter::close() {
  if (fd_ < 0) return;
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) throw StoreError(path_ + ": cannot close the journal: " + errno_text());
}

JournalHeader read_journal_header(const std::string& path) {
  auto file = open_for_reading(path);
  return read_header(file.get(), path).first;
}

JournalScan scan_journal(const std::string& path, const std::function<void(TaskResult&&)>& visit) {
  auto file = open_for_reading(path);
  JournalScan scan;
  auto [header, header_bytes] = read_header(file.get(), path);
  scan.header = header;
  scan.valid_bytes = header_bytes;
  struct stat info {};
  if (::fstat(::fileno(file.get()), &info) != 0) throw InputError(path + ": cannot stat the journal: " + errno_text());
  scan.file_bytes = static_cast<std::uint64_t>(info.st_size);
  std::vector<unsigned char> payload;
  std::vector<TaskResult> rows;
  for (;;) {
    std::uint32_t magic = 0, count = 0;
    std::uint64_t bytes = 0, checksum = 0;
    if (std::fread(&magic, 4, 1, file.get()) != 1 || std::fread(&count, 4, 1, file.get()) != 1 ||
        std::fread(&bytes, 8, 1, file.get()) != 1 || std::fread(&checksum, 8, 1, file.get()) != 1)
      break;
    if (magic != kRecordMagic || bytes > kMaxRecordBytes || bytes > scan.file_bytes - scan.valid_bytes - kRecordHeadBytes ||
        count > bytes / kMinRowBytes)
      break;
    payload.resize(bytes);
    if (std::fread(payload.data(), 1, bytes, file.get()) != bytes) break;
    if (record_checksum(header.version, count, bytes, payload.data()) != checksum) break;
    // Decode the whole record before visiting any row: a record counts entirely or not at all.
    if (count > bytes / kMinRowBytes) break;
    Cursor in(payload.data(), payload.size());
    rows.assign(count, {});
    bool good = true;
    for (auto& row : rows) good = good && decode_row(in, row);
    if (!good || !in.done()) break;
    for (auto& row : rows) visit(std::move(row));
    scan.rows += count;
    scan.valid_bytes += kRecordHeadBytes + bytes;
  }
  return scan;
}

}  // namespace msweep
