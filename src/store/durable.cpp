#include "durable.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fault_injection.hpp"
#include "msweep/core/error.hpp"

namespace msweep::store_detail {

void fsync_fd(int fd, const std::string& path) {
  for (;;) {
    int status = ::fsync(fd);
    if (fault_due("fsync.eintr")) {  // test-only: what an interrupted fsync returns
      status = -1;
      errno = EINTR;
    }
    if (status == 0) return;
    if (errno != EINTR) throw StoreError(path + ": cannot fsync: " + std::strerror(errno));
  }
}

void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path + ": cannot open to fsync: " + std::strerror(errno));
  try {
    fsync_fd(fd, path);
  } catch (...) {
    ::close(fd);  // read-only descriptor: closing it cannot lose data; the fsync result is what counts
    throw;
  }
  ::close(fd);
}

void sync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path + ": cannot open its directory to fsync it: " + std::strerror(errno));
  try {
    fsync_fd(fd, dir);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void replace_durably(const std::string& from, const std::string& to, const std::string& what) {
  sync_file(from);
  fault_point("rename");
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  if (ec) throw StoreError(to + ": cannot move " + what + " into place: " + ec.message());
  sync_directory_of(to);
}

}  // namespace msweep::store_detail
