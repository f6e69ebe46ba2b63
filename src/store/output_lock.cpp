// OUT.h5.lock (output_lock.hpp). The lock file is created complete and atomically: its text
// is written to a private temporary, which holds a flock, and link()ed to the
// lock's name (link is atomic on local file systems and on NFS, unlike O_EXCL on NFSv2).
// Whoever finds the name taken reads the owner and decides:
//   - a flock held by another open file: the owner is alive: refuse;
//   - same host (name and boot id): the flock free means the owner is gone (it holds the
//     flock from before the lock file exists); without file locks, alive when its pid runs
//     (not a zombie) with the recorded start time: refuse; dead: stale, take over (the flock, now ours, serializes takers: the lock file is
//     rewritten in place, never unlinked under a concurrent taker);
//   - same Slurm job id, earlier restart count: Slurm requeued this job, so the earlier run
//     is over (wherever it ran): stale, take over;
//   - another host: nothing here can tell whether it lives (locks do not always cross hosts:
//     Lustre's localflock): refuse, naming it, and say how to remove a stale lock.
#include "msweep/store/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "durable.hpp"
#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"

namespace msweep {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string first_line_of(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

// Field 22 of /proc/PID/stat: the start time in clock ticks since boot ("" if unknown).
std::string start_ticks_of(long pid) {
  const std::string stat = first_line_of("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return "";
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int n = 3; n <= 22 && fields >> field; ++n)
    if (n == 22) return field;
  return "";
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

LockOwner this_process() {
  LockOwner me;
  me.host = host_name();
  me.pid = static_cast<long>(::getpid());
  me.boot_id = first_line_of("/proc/sys/kernel/random/boot_id");
  me.start_ticks = start_ticks_of(me.pid);
  me.slurm_job_id = env_or_empty("SLURM_JOB_ID");
  me.slurm_restart_count = std::atol(env_or_empty("SLURM_RESTART_COUNT").c_str());
  me.since = iso8601_utc(unix_time_now());
  return me;
}

std::string lock_text(const LockOwner& owner) {
  return "msweep-lock 1\nhost=" + owner.host + "\npid=" + std::to_string(owner.pid) + "\nboot_id=" + owner.boot_id +
         "\nstart_ticks=" + owner.start_ticks + "\nslurm_job_id=" + owner.slurm_job_id +
         "\nslurm_restart_count=" + std::to_string(owner.slurm_restart_count) + "\nsince=" + owner.since + "\n";
}

LockOwner parse_lock(const std::string& text) {
  LockOwner owner;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "host") owner.host = value;
    else if (key == "pid") owner.pid = std::atol(value.c_str());
    else if (key == "boot_id") owner.boot_id = value;
    else if (key == "start_ticks") owner.start_ticks = value;
    else if (key == "slurm_job_id") owner.slurm_job_id = value;
    else if (key == "slurm_restart_count") owner.slurm_restart_count = std::atol(value.c_str());
    else if (key == "since") owner.since = value;
  }
  return owner;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    at += n;
    if (text.size() > 65536) break;  // not a lock file of ours
  }
  return text;
}

void write_text(int fd, const std::string& text, const std::string& path) {
  if (::ftruncate(fd, 0) != 0) throw StoreError(path + ": cannot write the lock file: " + errno_text());
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw StoreError(path + ": cannot write the lock file: " + errno_text());
    done += static_cast<std::size_t>(n);
  }
  store_detail::fsync_fd(fd, path);
}

enum class FileLock { taken, held_elsewhere, unsupported };

// flock, not fcntl: an fcntl lock is the process's and vanishes when the process closes any
// descriptor of the file (reading the owner for a message would drop it); a flock belongs to
// this open file. On NFS Linux implements flock with the server's byte-range locks.
FileLock try_file_lock(int fd) {
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return FileLock::taken;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return FileLock::held_elsewhere;
    return FileLock::unsupported;  // ENOLCK, EINVAL, EOPNOTSUPP: a file system without locks
  }
}

// True when the descriptor is still the file at `path` (not unlinked or replaced meanwhile).
bool still_linked(int fd, const std::string& path) {
  struct stat by_fd {}, by_path {};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 && by_fd.st_dev == by_path.st_dev &&
         by_fd.st_ino == by_path.st_ino;
}

// Field 3 of /proc/PID/stat: 'Z' (zombie) and 'X' (dead) hold no descriptors any more.
bool exited(long pid) {
  const std::string stat = first_line_of("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X');
}

// Whether the owner is certainly gone; the reason when it is. `unlocked`: we could take the
// flock, which a live owner holds from before its lock file exists.
std::string why_stale(const LockOwner& owner, const LockOwner& me, bool unlocked) {
  if (!owner.slurm_job_id.empty() && owner.slurm_job_id == me.slurm_job_id && owner.slurm_restart_count < me.slurm_restart_count)
    return "Slurm requeued job " + me.slurm_job_id + " since";
  // Another machine (another name, or the same name with another boot id: containers on
  // several nodes can share a host name) cannot be judged from here.
  if (owner.host != me.host || owner.boot_id != me.boot_id || owner.pid <= 0) return "";
  if (unlocked) return "it holds its lock no more: the process is gone";
  // Without file locks (flock unsupported) only the process table can tell.
  if (::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH) return "the process is gone";
  if (exited(owner.pid)) return "the process has exited";
  if (!owner.start_ticks.empty() && start_ticks_of(owner.pid) != owner.start_ticks) return "the process is gone (its pid was reused)";
  return "";
}

[[noreturn]] void refuse(const std::string& output, const std::string& path, const LockOwner& owner) {
  const LockOwner me = this_process();
  std::string advice = "wait for it to finish or stop it";
  if (owner.host != me.host || owner.boot_id != me.boot_id)
    advice += "; if no msweep runs there any more (a crashed or rebooted node), remove " + path;
  throw FileInUseError(output + ": in use by another msweep (" + owner.describe() + "; lock " + path + "): " + advice);
}

}  // namespace

std::string LockOwner::describe() const {
  std::string text = "host " + (host.empty() ? std::string("?") : host) + ", pid " + std::to_string(pid);
  if (!slurm_job_id.empty()) text += ", Slurm job " + slurm_job_id;
  if (!since.empty()) text += ", since " + since;
  return text;
}

std::string lock_path(const std::string& output) { return output + ".lock"; }

LockOwner read_lock_owner(const std::string& output) {
  const int fd = ::open(lock_path(output).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  LockOwner owner = parse_lock(read_all(fd));
  ::close(fd);  // read-only
  return owner;
}

std::string live_lock_holder(const std::string& output) {
  const LockOwner owner = read_lock_owner(output);
  if (owner.pid <= 0 && owner.host.empty()) return "";
  return why_stale(owner, this_process(), false).empty() ? owner.describe() : "";
}

OutputLock OutputLock::acquire(const std::string& output) {
  const std::string path = lock_path(output);
  const LockOwner me = this_process();
  const std::string text = lock_text(me);
  // Bounded: each round either takes the lock, refuses, or saw the lock file vanish (its
  // owner released it meanwhile).
  for (int round = 0; round < 100; ++round) {
    const std::string temporary = path + "." + me.host + "." + std::to_string(me.pid);
    const int fd = ::open(temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      // The temporary is an internal name: the message names the lock file the user can look
      // for, and, when the name is too long, that files with longer names lie beside the output.
      const std::string why = errno == ENAMETOOLONG
                                  ? errno_text() + " (msweep writes files beside the output with suffixes up to " +
                                        ".lock.HOST.PID: use a shorter file name)"
                                  : errno_text();
      throw InputError(output + ": cannot create the lock file " + path + ": " + why);
    }
    OutputLock lock;
    lock.path_ = path;
    lock.fd_ = fd;
    try_file_lock(fd);  // best effort: without file locks the owner record alone decides
    write_text(fd, text, temporary);
    const int linked = ::link(temporary.c_str(), path.c_str());
    const int link_errno = errno;
    struct stat info {};
    // NFS: link may report failure after succeeding (a lost reply); two links tell the truth.
    const bool ours = linked == 0 || (::fstat(fd, &info) == 0 && info.st_nlink == 2);
    ::unlink(temporary.c_str());
    if (ours) {
      store_detail::sync_directory_of(path);
      return lock;
    }
    lock.fd_ = -1;
    ::close(fd);
    if (link_errno != EEXIST) throw InputError(output + ": cannot create the lock file " + path + ": " + std::strerror(link_errno));

    const int held = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (held < 0) {
      if (errno == ENOENT) continue;  // released meanwhile: try again
      throw InputError(output + ": cannot read the lock file " + path + ": " + errno_text());
    }
    const FileLock state = try_file_lock(held);
    const LockOwner owner = parse_lock(read_all(held));
    if (state == FileLock::held_elsewhere) {
      ::close(held);
      refuse(output, path, owner);
    }
    if (!still_linked(held, path)) {  // released (unlinked) between our open and our lock
      ::close(held);
      continue;
    }
    const std::string reason = why_stale(owner, me, state == FileLock::taken);
    if (reason.empty()) {
      ::close(held);
      refuse(output, path, owner);
    }
    if (state == FileLock::unsupported) {
      // No file locks to serialize takers: remove the stale file and race for the name again.
      ::unlink(path.c_str());
      ::close(held);
      continue;
    }
    // The flock is ours, so no other taker is past this point: rewrite in place.
    lock.fd_ = held;
    write_text(held, text, path);
    lock.stale_note_ = path + ": took over the stale lock of " + owner.describe() + " (" + reason + ")";
    return lock;
  }
  throw InputError(output + ": cannot take the lock " + path + " (it keeps changing hands)");
}

OutputLock::~OutputLock() {
  try {
    release();
  } catch (...) {
  }
}

OutputLock::OutputLock(OutputLock&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), stale_note_(std::move(other.stale_note_)) {}

OutputLock& OutputLock::operator=(OutputLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    stale_note_ = std::move(other.stale_note_);
  }
  return *this;
}

void OutputLock::release() {
  if (fd_ < 0) return;
  // Unlinked while the flock is still held, and only if the name is still ours: a taker
  // waiting on this inode finds it unlinked and starts over.
  if (still_linked(fd_, path_)) ::unlink(path_.c_str());
  ::close(std::exchange(fd_, -1));  // the lock file's content does not matter any more
}

}  // namespace msweep
