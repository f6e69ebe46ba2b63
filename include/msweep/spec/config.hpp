// A read-only view of one table of a job file with typed, range-checked getters.
// Every rejection is one line "FILE:LINE: [section] key: expected ..., got ...".
// Keys that nobody asked for are reported by reject_unknown_keys(), so a typo never
// silently falls back to a default. TOML stays behind this interface: experiments read
// their keys through it without including toml++.
//
// Every getter also records the value it returned, the fallback included, so resolved_json()
// can say which value every key a job used had (the results file keeps it, analysis reads it
// instead of copying the engine's defaults).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace msweep {

class ConfigTable {
 public:
  struct Impl;
  ConfigTable(std::shared_ptr<Impl> impl);
  ConfigTable();  // an empty table (section absent from the file)

  const std::string& section() const;
  const std::string& file() const;
  bool has(std::string_view key) const;

  std::string get_string(std::string_view key) const;  // required
  std::string get_string(std::string_view key, std::string_view fallback) const;
  // One of `choices` (listed in the message when the value is not).
  std::string get_choice(std::string_view key, std::string_view fallback, const std::vector<std::string>& choices) const;

  std::int64_t get_int(std::string_view key, std::int64_t min, std::int64_t max) const;  // required
  std::int64_t get_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  double get_double(std::string_view key, double fallback, double min, double max) const;  // integers accepted
  double get_double(std::string_view key, double min, double max) const;                   // required
  bool get_bool(std::string_view key, bool fallback) const;

  std::vector<std::int64_t> get_int_list(std::string_view key, std::int64_t min, std::int64_t max) const;
  std::vector<double> get_double_list(std::string_view key, double min, double max) const;
  std::vector<std::string> get_string_list(std::string_view key) const;
  // The same with a fallback for an absent key (recorded as the value used).
  std::vector<std::int64_t> get_int_list(std::string_view key, const std::vector<std::int64_t>& fallback, std::int64_t min,
                                         std::int64_t max) const;
  std::vector<double> get_double_list(std::string_view key, const std::vector<double>& fallback, double min, double max) const;
  std::vector<std::string> get_string_list(std::string_view key, const std::vector<std::string>& fallback) const;
  // A list of lists of strings, e.g. structures = [["RM", "LSTAT"], []].
  std::vector<std::vector<std::string>> get_string_list_list(std::string_view key) const;
  // True when the key holds a string (as opposed to a number or list): for keys with several forms.
  bool is_string(std::string_view key) const;
  bool is_list(std::string_view key) const;

  // Records `key` as set per task by the axis of `axis_key` (e.g. "[sweep] models"): its value
  // in resolved_json is the text "per task: [sweep] models", never one value for all tasks.
  void record_per_task(std::string_view key, std::string_view axis_key) const;

  // Throws InputError located at the key (or at the table when the key is absent).
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;
  // A check across keys: the value of `key` does not fit those of `related` (prior_means and
  // [sweep] experts). Located at `key` as above, but when `key` was not set by --set and one
  // of `related` was, the message starts with that override, which made the job inconsistent:
  // "--set sweep.experts=[3]: [model] prior_means (job.toml:18): expected ...".
  struct KeyRef {
    const ConfigTable& table;
    std::string_view key;
  };
  [[noreturn]] void fail(std::string_view key, std::string_view message, std::initializer_list<KeyRef> related) const;
  // "--set section.key=value" when the key was set on the command line, else empty.
  std::string override_of(std::string_view key) const;
  // Throws InputError for the first key that no getter asked for.
  void reject_unknown_keys() const;

  // The values the getters returned, as one JSON object {"key": value, ...} in key order.
  // Keys only probed (has, is_string) and never read are left out.
  std::string resolved_json() const;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace msweep
