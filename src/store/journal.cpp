// Journal layout (little-endian, this machine's native order; docs/results-format.md):
//   header:  "MSWJRNL1", u32 text length, text ("job_hash=H\nshard=I/N\n"), u64 FNV-1a of text
//   record:  u32 "ROWS" magic, u32 rows, u64 payload bytes, u64 FNV-1a of payload, payload
//   row:     u64 id, i8 status, u32 error bytes, error, f64 wall, i32 rank,
//            u32 metric count, f64 each, u32 array count, per array u64 count and f64 each
#include "msweep/store/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

constexpr char kMagic[8] = {'M', 'S', 'W', 'J', 'R', 'N', 'L', '1'};
constexpr std::uint32_t kRecordMagic = 0x53574f52;  // "ROWS"
// A record larger than this is taken as corruption, not allocated.
constexpr std::uint64_t kMaxRecordBytes = std::uint64_t{1} << 34;
// The smallest encoded row (no error text, metrics or arrays): id, status, error length,
// wall, rank, metric count, array count. The row count and the array counts are checked
// against it before anything is allocated: the checksum covers the payload, not the record
// header, so a damaged count must read as corruption, not as a 4-billion-row allocation
// (found by tests/fuzz, journal target).
constexpr std::uint64_t kMinRowBytes = 8 + 1 + 4 + 8 + 4 + 4 + 4;

std::uint64_t fnv1a(const unsigned char* data, std::size_t size) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string errno_text() { return std::strerror(errno); }

template <class T>
void put(std::vector<unsigned char>& out, const T& value) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

void write_all(int fd, const unsigned char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;  // a stop signal arrived; the write is still wanted
    if (n < 0) throw StoreError(path + ": cannot write the journal: " + errno_text());
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void sync_fd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) throw StoreError(path + ": cannot fsync the journal: " + errno_text());
}

// A new directory entry is durable only once its directory is fsync'd.
void sync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path + ": cannot open its directory to fsync it: " + errno_text());
  const int status = ::fsync(fd);
  const std::string error = status != 0 ? errno_text() : "";
  ::close(fd);  // read-only directory descriptor: nothing to lose on close
  if (status != 0) throw StoreError(path + ": cannot fsync its directory: " + error);
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
      !in.get(array_count) || array_count > in.remaining() / sizeof(std::uint64_t))  // each array holds a u64 count
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
  if (std::fread(magic, 1, 8, file) != 8 || std::memcmp(magic, kMagic, 8) != 0 || std::fread(&length, 4, 1, file) != 1 ||
      length > 4096)
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
  return {header, 8 + 4 + length + 8};
}

std::unique_ptr<std::FILE, FileCloser> open_for_reading(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw InputError(path + ": cannot read the journal: " + errno_text());
  return file;
}

}  // namespace

JournalWriter JournalWriter::create(const std::string& path, const JournalHeader& header) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw StoreError(path + ": cannot create the journal: " + errno_text());
  JournalWriter writer(path, fd);
  const std::string text = "job_hash=" + header.job_hash + "\nshard=" + std::to_string(header.shard_index) + "/" +
                           std::to_string(header.shard_count) + "\n";
  std::vector<unsigned char> bytes(kMagic, kMagic + 8);
  put(bytes, static_cast<std::uint32_t>(text.size()));
  bytes.insert(bytes.end(), text.begin(), text.end());
  put(bytes, fnv1a(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
  write_all(fd, bytes.data(), bytes.size(), path);
  sync_fd(fd, path);
  sync_directory_of(path);
  return writer;
}

JournalWriter JournalWriter::reopen(const std::string& path, std::uint64_t valid_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path + ": cannot open the journal for appending: " + errno_text());
  JournalWriter writer(path, fd);
  // A torn tail (a kill or a full disk mid-record) must not sit between valid records.
  if (::ftruncate(fd, static_cast<off_t>(valid_bytes)) != 0) throw StoreError(path + ": cannot truncate the journal: " + errno_text());
  if (::lseek(fd, static_cast<off_t>(valid_bytes), SEEK_SET) < 0) throw StoreError(path + ": cannot seek in the journal: " + errno_text());
  sync_fd(fd, path);
  return writer;
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);  // every commit was fsync'd; nothing is lost by ignoring close errors here
}

JournalWriter::JournalWriter(JournalWriter&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), pending_(std::move(other.pending_)),
      pending_rows_(std::exchange(other.pending_rows_, 0)) {}

JournalWriter& JournalWriter::operator=(JournalWriter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    pending_ = std::move(other.pending_);
    pending_rows_ = std::exchange(other.pending_rows_, 0);
  }
  return *this;
}

void JournalWriter::add(const TaskResult& row) {
  put(pending_, row.id);
  put(pending_, static_cast<std::int8_t>(row.status));
  put(pending_, static_cast<std::uint32_t>(row.error.size()));
  pending_.insert(pending_.end(), row.error.begin(), row.error.end());
  put(pending_, row.wall_seconds);
  put(pending_, row.rank);
  put(pending_, static_cast<std::uint32_t>(row.metrics.size()));
  for (double value : row.metrics) put(pending_, value);
  put(pending_, static_cast<std::uint32_t>(row.arrays.size()));
  for (const auto& array : row.arrays) {
    put(pending_, static_cast<std::uint64_t>(array.size()));
    for (double value : array) put(pending_, value);
  }
  ++pending_rows_;
}

void JournalWriter::commit() {
  if (pending_rows_ == 0) return;
  std::vector<unsigned char> head;
  put(head, kRecordMagic);
  put(head, static_cast<std::uint32_t>(pending_rows_));
  put(head, static_cast<std::uint64_t>(pending_.size()));
  put(head, fnv1a(pending_.data(), pending_.size()));
  write_all(fd_, head.data(), head.size(), path_);
  write_all(fd_, pending_.data(), pending_.size(), path_);
  sync_fd(fd_, path_);
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
    if (magic != kRecordMagic || bytes > kMaxRecordBytes || bytes > scan.file_bytes - scan.valid_bytes) break;
    payload.resize(bytes);
    if (std::fread(payload.data(), 1, bytes, file.get()) != bytes || fnv1a(payload.data(), payload.size()) != checksum) break;
    // Decode the whole record before visiting any row: a record counts entirely or not at all.
    if (count > bytes / kMinRowBytes) break;
    Cursor in(payload.data(), payload.size());
    rows.assign(count, {});
    bool good = true;
    for (auto& row : rows) good = good && decode_row(in, row);
    if (!good || !in.done()) break;
    for (auto& row : rows) visit(std::move(row));
    scan.rows += count;
    scan.valid_bytes += 24 + bytes;
  }
  return scan;
}

}  // namespace msweep
