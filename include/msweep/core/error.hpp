// Typed errors shared by every layer. Each kind maps to one documented exit status,
// so the CLI can turn any failure into a one-line message and a predictable code.
#pragma once
#include <stdexcept>
#include <string>

namespace msweep {

// Exit statuses of the msweep CLI (docs/cli.md lists them for users).
enum class ExitStatus : int {
  ok = 0,            // every task finished and succeeded
  tasks_failed = 1,  // the job completed, but at least one task failed (see its error column)
  bad_input = 2,     // command line, job file, data or results file rejected before any work
  runtime_error = 3, // I/O, HDF5 or MPI failure while running
  interrupted = 4,   // stopped by a signal; the results file is consistent and resumable
};

// Base of all msweep errors: the message is one line meant for the user.
class Error : public std::runtime_error {
 public:
  Error(std::string message, ExitStatus status)
      : std::runtime_error(std::move(message)), status_(status) {}
  ExitStatus status() const noexcept { return status_; }

 private:
  ExitStatus status_;
};

// Anything the user supplied is wrong: arguments, job file, data files, results file.
class InputError : public Error {
 public:
  explicit InputError(std::string message) : Error(std::move(message), ExitStatus::bad_input) {}
};

// A function was called with arguments outside its contract (a programming error
// or unvalidated input reaching a numeric routine). Names the function and argument.
class ArgumentError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// HDF5 or file-system failure while reading or writing results.
class StoreError : public Error {
 public:
  explicit StoreError(std::string message) : Error(std::move(message), ExitStatus::runtime_error) {}
};

// MPI failure or a broken message protocol.
class FarmError : public Error {
 public:
  explicit FarmError(std::string message) : Error(std::move(message), ExitStatus::runtime_error) {}
};

// Throws ArgumentError("function: argument: expected") when the condition is false.
inline void require(bool condition, const char* function, const char* argument, const std::string& expected) {
  if (!condition) throw ArgumentError(std::string(function) + ": " + argument + ": expected " + expected);
}

}  // namespace msweep
