// Running a benchmark's peer (a Python script) and collecting what it prints: shared by the
// benchmarks that compare against PyTorch. A peer that refuses (missing, or on the reference
// BLAS: it says why on stderr) ends the benchmark with its status, so no ratio is printed.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace msweep::bench {

// The peer's stdout; removes `scratch` (the inputs written for the peer) either way, and exits
// with the peer's status (1 if it had none) when it did not succeed.
inline std::string run_peer_or_exit(const std::string& command, const std::filesystem::path& scratch, const char* benchmark) {
  std::string output;
  int status = -1;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    status = ::pclose(pipe);
  }
  std::filesystem::remove(scratch);
  if (status != 0) {
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    std::fprintf(stderr, "%s: the PyTorch side did not run (status %d; its reason is above); no ratio printed\n", benchmark, code);
    std::exit(code == 0 ? 1 : code);
  }
  return output;
}

}  // namespace msweep::bench
