// Shared by the fuzz targets: the readers under test take a path, so each input is written
// to a scratch file first (on /dev/shm when it exists: one write per execution).
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace msweep::fuzz {

// A private directory for this process, removed at exit.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    path_ = base / ("msweep-fuzz-" + std::to_string(getpid()));
    fs::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  // Writes `bytes` to `name` in this directory (truncating) and returns its path.
  std::string write(const std::string& name, const std::uint8_t* data, std::size_t size) const {
    const std::string path = (path_ / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out.flush()) std::abort();  // the harness, not the code under test, failed
    return path;
  }

 private:
  std::filesystem::path path_;
};

inline const ScratchDirectory& scratch() {
  static const ScratchDirectory directory;
  return directory;
}

}  // namespace msweep::fuzz
