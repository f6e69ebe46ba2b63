// Private to the store: making files and directory entries durable. H5Fflush, close and
// rename do not fsync; these do, retrying fsync on EINTR (a stop signal arrives without
// SA_RESTART, and some network file systems return EINTR from fsync).
#pragma once
#include <string>

namespace msweep::store_detail {

// fsync(fd), retried on EINTR; throws StoreError naming `path` otherwise.
void fsync_fd(int fd, const std::string& path);
// Opens `path` read-only and fsyncs it.
void sync_file(const std::string& path);
// A new or renamed directory entry is durable only once its directory is fsync'd.
void sync_directory_of(const std::string& path);
// fsyncs `from`, renames it to `to` and fsyncs the directory: after a crash `to` is either
// the old file or the complete new one. Throws StoreError with `what` in the message.
void replace_durably(const std::string& from, const std::string& to, const std::string& what);

}  // namespace msweep::store_detail
