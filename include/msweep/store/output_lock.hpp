// One writer per results file. msweep's own lock, independent of HDF5's file locking (which
// is often off on Lustre and GPFS, HDF5_USE_FILE_LOCKING=FALSE): OUT.h5.lock names the owner
// (host, pid, Slurm job) and is taken before anything is opened for writing (run, resume,
// the output of merge). docs/architecture.md, "One writer per file", gives the semantics,
// on NFS too.
#pragma once
#include <string>

#include "msweep/core/error.hpp"

namespace msweep {

// A results file in use by another process (another msweep holds its lock, or any process
// holds HDF5's lock on it): exit status 2, and never a reason to treat the file as damaged.
class FileInUseError : public InputError {
 public:
  using InputError::InputError;
};

// Who holds a lock, as written in its lock file.
struct LockOwner {
  std::string host;
  long pid = 0;
  std::string boot_id;        // /proc/sys/kernel/random/boot_id: a reboot frees every lock of the host
  std::string start_ticks;    // the owner's start time (/proc/PID/stat): a reused pid is not the owner
  std::string slurm_job_id;   // SLURM_JOB_ID, empty outside Slurm
  long slurm_restart_count = 0;  // SLURM_RESTART_COUNT: a requeued job's earlier run is over
  std::string since;          // ISO 8601 UTC
  // "host H, pid P (Slurm job J), since T"
  std::string describe() const;
};

// Holds OUT.h5.lock while alive; releasing removes the file. Move-only.
class OutputLock {
 public:
  OutputLock() = default;
  // Takes the lock of `output` (the lock file is OUTPUT + ".lock"). Throws FileInUseError (exit
  // status 2) naming the holder when another live process holds it; takes over a stale lock
  // (its owner is dead on this host, or an earlier run of this very Slurm job) and says so
  // in stale_owner(). Touches nothing else.
  static OutputLock acquire(const std::string& output);
  ~OutputLock();
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&& other) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  explicit operator bool() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // Non-empty when a stale lock was taken over: "the stale lock of host H, pid P ... was taken over".
  const std::string& stale_note() const { return stale_note_; }
  // Removes the lock file (if it is still ours) and closes it.
  void release();

 private:
  std::string path_;
  int fd_ = -1;
  std::string stale_note_;
};

// The lock file of a results file: OUTPUT + ".lock".
std::string lock_path(const std::string& output);
// The owner recorded in the lock file of `output`, or an empty owner (pid 0) when there is
// none or it cannot be read. For messages ("in use by ...").
LockOwner read_lock_owner(const std::string& output);
// "host H, pid P (...)" of the msweep holding `output`'s lock, or "" when there is no lock or
// its owner is certainly gone (the rules OutputLock::acquire takes a stale lock by; another
// host's owner counts as alive, as there). Only reads: no flock is tried, so a writer taking
// the lock at the same moment is never disturbed. For plan ("run would be refused").
std::string live_lock_holder(const std::string& output);

}  // namespace msweep
