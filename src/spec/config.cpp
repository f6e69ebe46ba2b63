#include "msweep/spec/config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "config_impl.hpp"
#include "msweep/core/error.hpp"

namespace msweep {
namespace {

std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "the string \"" + std::string(*node.value<std::string_view>()) + "\"";
    case toml::node_type::integer: return "the integer " + std::to_string(*node.value<std::int64_t>());
    case toml::node_type::floating_point: {
      std::ostringstream out;
      out << "the number " << *node.value<double>();
      return out.str();
    }
    case toml::node_type::boolean: return *node.value<bool>() ? "true" : "false";
    case toml::node_type::array: return "a list";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

std::string range_text(std::int64_t min, std::int64_t max) {
  if (max == std::numeric_limits<std::int64_t>::max()) return "an integer >= " + std::to_string(min);
  return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

std::string range_text(double min, double max) {
  std::ostringstream out;
  out.precision(10);
  if (std::isinf(max) && std::isinf(min)) out << "a number";
  else if (std::isinf(max)) out << "a number >= " << min;
  else out << "a number from " << min << " to " << max;
  return out.str();
}

// JSON text of the values the getters return (resolved_json). Doubles in their shortest
// round-trip form, always with a '.' or exponent so that readers see a float.
std::string json_value(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}
std::string json_value(const std::string& text) { return json_value(std::string_view(text)); }
std::string json_value(std::int64_t value) { return std::to_string(value); }
std::string json_value(bool value) { return value ? "true" : "false"; }
std::string json_value(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  std::string out(buffer, end);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}
template <class T>
std::string json_value(const std::vector<T>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + json_value(values[i]);
  return out + "]";
}

// Returns `value` after recording it as the value used for `key`.
template <class T>
T used(const ConfigTable::Impl& impl, std::string_view key, T value) {
  impl.read_keys.emplace(key);
  impl.used_values.insert_or_assign(std::string(key), json_value(value));
  return value;
}

}  // namespace

ConfigTable::ConfigTable(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConfigTable::ConfigTable() : impl_(std::make_shared<Impl>()) {}

const std::string& ConfigTable::section() const { return impl_->section; }
const std::string& ConfigTable::file() const { return impl_->file; }

bool ConfigTable::has(std::string_view key) const {
  impl_->read_keys.emplace(key);
  return impl_->table && impl_->table->contains(key);
}

namespace {
// file:line of the key (of the section when the key is absent; the file alone when unknown).
std::string file_line(const ConfigTable::Impl& impl, std::string_view key) {
  std::size_t line = impl.line;
  if (impl.table) {
    if (const toml::node* node = impl.table->get(key)) line = node->source().begin.line;
  }
  return line > 0 ? impl.file + ":" + std::to_string(line) : impl.file;
}
}  // namespace

std::string ConfigTable::override_of(std::string_view key) const {
  const auto it = impl_->overridden.find(key);
  return it == impl_->overridden.end() ? std::string() : it->second;
}

void ConfigTable::fail(std::string_view key, std::string_view message) const { fail(key, message, {}); }

void ConfigTable::fail(std::string_view key, std::string_view message, std::initializer_list<KeyRef> related) const {
  const std::string what = "[" + impl_->section + "] " + std::string(key);
  if (std::string own = override_of(key); !own.empty()) throw InputError(own + ": " + what + ": " + std::string(message));
  for (const KeyRef& other : related)
    if (std::string set = other.table.override_of(other.key); !set.empty())
      throw InputError(set + ": " + what + " (" + file_line(*impl_, key) + "): " + std::string(message));
  throw InputError(file_line(*impl_, key) + ": " + what + ": " + std::string(message));
}

namespace {
const toml::node* lookup(const ConfigTable::Impl& impl, std::string_view key) {
  impl.read_keys.emplace(key);
  return impl.table ? impl.table->get(key) : nullptr;
}
}  // namespace

std::string ConfigTable::get_string(std::string_view key) const {
  const toml::node* node = lookup(*impl_, key);
  if (!node) fail(key, "required key missing (expected a string)");
  if (!node->is_string()) fail(key, "expected a string, got " + describe(*node));
  return used(*impl_, key, std::string(*node->value<std::string_view>()));
}

std::string ConfigTable::get_string(std::string_view key, std::string_view fallback) const {
  return has(key) ? get_string(key) : used(*impl_, key, std::string(fallback));
}

std::string ConfigTable::get_choice(std::string_view key, std::string_view fallback,
                                    const std::vector<std::string>& choices) const {
  std::string value = get_string(key, fallback);
  for (const auto& choice : choices)
    if (choice == value) return value;
  std::string list;
  for (const auto& choice : choices) list += (list.empty() ? "\"" : ", \"") + choice + "\"";
  fail(key, "expected one of " + list + ", got \"" + value + "\"");
}

std::int64_t ConfigTable::get_int(std::string_view key, std::int64_t min, std::int64_t max) const {
  const toml::node* node = lookup(*impl_, key);
  if (!node) fail(key, "required key missing (expected " + range_text(min, max) + ")");
  if (!node->is_integer()) fail(key, "expected " + range_text(min, max) + ", got " + describe(*node));
  const std::int64_t value = *node->value<std::int64_t>();
  if (value < min || value > max) fail(key, "expected " + range_text(min, max) + ", got " + std::to_string(value));
  return used(*impl_, key, value);
}

std::int64_t ConfigTable::get_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const {
  return has(key) ? get_int(key, min, max) : used(*impl_, key, fallback);
}

double ConfigTable::get_double(std::string_view key, double min, double max) const {
  const toml::node* node = lookup(*impl_, key);
  if (!node) fail(key, "required key missing (expected " + range_text(min, max) + ")");
  if (!node->is_number()) fail(key, "expected " + range_text(min, max) + ", got " + describe(*node));
  const double value = *node->value<double>();
  if (!std::isfinite(value) || value < min || value > max)
    fail(key, "expected " + range_text(min, max) + ", got " + describe(*node));
  return used(*impl_, key, value);
}

double ConfigTable::get_double(std::string_view key, double fallback, double min, double max) const {
  return has(key) ? get_double(key, min, max) : used(*impl_, key, fallback);
}

bool ConfigTable::get_bool(std::string_view key, bool fallback) const {
  const toml::node* node = lookup(*impl_, key);
  if (!node) return used(*impl_, key, fallback);
  if (!node->is_boolean()) fail(key, "expected true or false, got " + describe(*node));
  return used(*impl_, key, *node->value<bool>());
}

bool ConfigTable::is_string(std::string_view key) const {
  const toml::node* node = lookup(*impl_, key);
  return node && node->is_string();
}

bool ConfigTable::is_list(std::string_view key) const {
  const toml::node* node = lookup(*impl_, key);
  return node && node->is_array();
}

namespace {
const toml::array& require_array(const ConfigTable& table, const toml::node* node, std::string_view key,
                                 const std::string& expected) {
  if (!node) table.fail(key, "required key missing (expected " + expected + ")");
  if (!node->is_array()) table.fail(key, "expected " + expected + ", got " + describe(*node));
  return *node->as_array();
}
}  // namespace

std::vector<std::int64_t> ConfigTable::get_int_list(std::string_view key, std::int64_t min, std::int64_t max) const {
  const std::string expected = "a list of " + range_text(min, max).substr(3) + "s";
  const auto& array = require_array(*this, lookup(*impl_, key), key, "a list of integers");
  std::vector<std::int64_t> values;
  for (const auto& element : array) {
    if (!element.is_integer()) fail(key, "expected a list of integers, found " + describe(element));
    const std::int64_t value = *element.value<std::int64_t>();
    if (value < min || value > max)
      fail(key, "every element must be " + range_text(min, max) + ", found " + std::to_string(value));
    values.push_back(value);
  }
  return used(*impl_, key, std::move(values));
}

std::vector<double> ConfigTable::get_double_list(std::string_view key, double min, double max) const {
  const auto& array = require_array(*this, lookup(*impl_, key), key, "a list of numbers");
  std::vector<double> values;
  for (const auto& element : array) {
    if (!element.is_number()) fail(key, "expected a list of numbers, found " + describe(element));
    const double value = *element.value<double>();
    if (!std::isfinite(value) || value < min || value > max)
      fail(key, "every element must be " + range_text(min, max) + ", found " + describe(element));
    values.push_back(value);
  }
  return used(*impl_, key, std::move(values));
}

std::vector<std::string> ConfigTable::get_string_list(std::string_view key) const {
  const auto& array = require_array(*this, lookup(*impl_, key), key, "a list of strings");
  std::vector<std::string> values;
  for (const auto& element : array) {
    if (!element.is_string()) fail(key, "expected a list of strings, found " + describe(element));
    values.emplace_back(*element.value<std::string_view>());
  }
  return used(*impl_, key, std::move(values));
}

std::vector<std::vector<std::string>> ConfigTable::get_string_list_list(std::string_view key) const {
  const std::string expected = "a list of lists of strings";
  const auto& array = require_array(*this, lookup(*impl_, key), key, expected);
  std::vector<std::vector<std::string>> values;
  for (const auto& element : array) {
    if (!element.is_array()) fail(key, "expected " + expected + ", found " + describe(element));
    std::vector<std::string> inner;
    for (const auto& item : *element.as_array()) {
      if (!item.is_string()) fail(key, "expected " + expected + ", found " + describe(item));
      inner.emplace_back(*item.value<std::string_view>());
    }
    values.push_back(std::move(inner));
  }
  return used(*impl_, key, std::move(values));
}

std::vector<std::int64_t> ConfigTable::get_int_list(std::string_view key, const std::vector<std::int64_t>& fallback,
                                                    std::int64_t min, std::int64_t max) const {
  return has(key) ? get_int_list(key, min, max) : used(*impl_, key, fallback);
}

std::vector<double> ConfigTable::get_double_list(std::string_view key, const std::vector<double>& fallback, double min,
                                                 double max) const {
  return has(key) ? get_double_list(key, min, max) : used(*impl_, key, fallback);
}

std::vector<std::string> ConfigTable::get_string_list(std::string_view key, const std::vector<std::string>& fallback) const {
  return has(key) ? get_string_list(key) : used(*impl_, key, fallback);
}

void ConfigTable::record_per_task(std::string_view key, std::string_view axis_key) const {
  used(*impl_, key, "per task: " + std::string(axis_key));
}

std::string ConfigTable::resolved_json() const {
  std::string out = "{";
  for (const auto& [key, value] : impl_->used_values) out += (out.size() > 1 ? ", " : "") + json_value(key) + ": " + value;
  return out + "}";
}

namespace {

// Edit distance counting a swap of neighbours as one edit (optimal string alignment), for
// suggesting the key a typo meant ("wrok" is one edit from "work").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// "did you mean \"work\"? " when a known key is within a third of the typo's length, then the
// keys this section takes for this kind (every key the kind read, with or without a value).
std::string unknown_key_hint(std::string_view key, const std::set<std::string, std::less<>>& known) {
  if (known.empty()) return "this section takes no keys in this job; docs/job-spec.md lists the keys of each section";
  std::string closest;
  std::size_t best = std::max<std::size_t>(1, key.size() / 3) + 1;
  for (const auto& candidate : known)
    if (const std::size_t d = edit_distance(key, candidate); d < best) best = d, closest = candidate;
  std::string list;
  for (const auto& candidate : known) list += (list.empty() ? "" : ", ") + candidate;
  return (closest.empty() ? std::string() : "did you mean \"" + closest + "\"? ") + "known here: " + list;
}

}  // namespace

void ConfigTable::reject_unknown_keys() const {
  if (!impl_->table) return;
  for (auto&& [key, node] : *impl_->table) {
    if (!impl_->read_keys.contains(key.str())) {
      std::string where = impl_->file + ":" + std::to_string(key.source().begin.line);
      if (const auto it = impl_->overridden.find(key.str()); it != impl_->overridden.end()) where = it->second;
      throw InputError(where + ": [" + impl_->section + "] " + std::string(key.str()) + ": unknown key (" +
                       unknown_key_hint(key.str(), impl_->read_keys) + ")");
    }
  }
}

}  // namespace msweep
