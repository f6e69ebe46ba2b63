// What the C++ drivers of the PyTorch comparisons share (bench/mlp_vs_torch, bench/structure_vs_torch,
// bench/multistart_entropy_vs_torch):
// their command line, the check that the peer can import torch before any timing, and running
// the Python side through a pipe, stopping with the peer's status when it refused.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace msweep::bench {

struct TorchPeerArguments {
  double steps_scale = 1.0;
  int repeats = 3;
  bool allow_reference_blas = false;
  std::string python = "/usr/bin/python3";
};

// [--steps-scale S] [--repeats N] [--python PATH] [--allow-reference-blas]; anything else prints
// the usage and exits 2.
inline TorchPeerArguments parse_torch_peer_arguments(int argc, char** argv, const char* program) {
  TorchPeerArguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key == "--allow-reference-blas") a.allow_reference_blas = true;
    else if (key == "--steps-scale" && i + 1 < argc) a.steps_scale = std::atof(argv[++i]);
    else if (key == "--repeats" && i + 1 < argc) a.repeats = std::max(1, std::atoi(argv[++i]));
    else if (key == "--python" && i + 1 < argc) a.python = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--steps-scale S] [--repeats N] [--python PATH] [--allow-reference-blas]\n", program);
      std::exit(2);
    }
  }
  return a;
}

// Exits 3 (a peer not ready, as bench/common.py's PEER_NOT_READY), naming the package, when
// `python` cannot import torch: checked before minutes of msweep timings, so a missing peer
// costs nothing.
inline void require_torch(const std::string& python, const char* program) {
  if (std::system((python + " -c 'import torch' 2>/dev/null").c_str()) != 0) {
    std::fprintf(stderr, "%s: %s cannot import torch: install the Debian package python3-torch "
                         "(scripts/setup.sh --bench installs every benchmark peer)\n", program, python.c_str());
    std::exit(3);
  }
}

// The peer's stdout; returns its exit status in `status` (0 when it ran; its reason for refusing
// is on stderr). The caller cleans up, then stops with stop_on_peer_failure.
inline std::string run_torch_peer(const std::string& command, int& status) {
  std::string output;
  status = 1;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    const int raw = ::pclose(pipe);
    status = raw == 0 ? 0 : WIFEXITED(raw) && WEXITSTATUS(raw) != 0 ? WEXITSTATUS(raw) : 1;
  }
  return output;
}

inline void stop_on_peer_failure(int status, const char* program) {
  if (status == 0) return;
  std::fprintf(stderr, "%s: the PyTorch side did not run (status %d; its reason is above); no ratio printed\n", program, status);
  std::exit(status);
}

// run_torch_peer, then removes `scratch` (the inputs written for the peer) either way, then
// stop_on_peer_failure: the whole exchange for a driver with one peer call.
inline std::string run_peer_or_exit(const std::string& command, const std::filesystem::path& scratch, const char* program) {
  int status = 0;
  std::string output = run_torch_peer(command, status);
  std::filesystem::remove(scratch);
  stop_on_peer_failure(status, program);
  return output;
}

}  // namespace msweep::bench
