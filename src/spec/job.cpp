#include "msweep/spec/job.hpp"

#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "config_impl.hpp"
#include "msweep/core/error.hpp"

namespace msweep {
namespace {

constexpr const char* kSections[] = {"job", "data", "model", "sweep", "output"};

using Overridden = std::map<std::string, std::map<std::string, std::string, std::less<>>>;

// Applies "section.key=value" overrides to the parsed file. A value is read as a TOML value
// (2, 0.5, true, "text", [1, 2]); anything that is not one is taken as a string, as Hydra
// users expect (--set data.source=csv:x.csv). Returns section -> key -> the override's text.
Overridden apply_overrides(toml::table& document, const std::vector<std::string>& overrides) {
  Overridden overridden;
  for (const auto& override : overrides) {
    const std::string label = "--set " + override;
    const auto equals = override.find('=');
    const auto dot = override.find('.');
    if (equals == std::string::npos || dot == std::string::npos || dot > equals || dot == 0 || dot + 1 == equals ||
        override.find('.', dot + 1) < equals)
      throw InputError(label + ": expected SECTION.KEY=VALUE (e.g. --set sweep.runs=2)");
    const std::string section = override.substr(0, dot), key = override.substr(dot + 1, equals - dot - 1);
    const std::string value = override.substr(equals + 1);
    bool known = false;
    for (const char* name : kSections) known = known || section == name;
    if (!known) throw InputError(label + ": unknown section " + section + " (expected job, data, model, sweep or output)");
    toml::table parsed;
    try {
      parsed = toml::parse("value = " + value, label);
    } catch (const toml::parse_error&) {
      toml::table as_string;
      as_string.insert("value", value);
      parsed = std::move(as_string);
    }
    if (!document.contains(section)) document.insert(section, toml::table{});
    toml::table* table = document.get(section)->as_table();
    if (!table) throw InputError(label + ": " + section + " is not a table in the job file");
    parsed.get("value")->visit([&](auto&& node) { table->insert_or_assign(key, node); });
    overridden[section][key] = label;
  }
  return overridden;
}

ConfigTable section_of(const std::shared_ptr<const toml::table>& document, const std::string& path,
                       const std::string& name, const Overridden& overridden) {
  auto impl = std::make_shared<ConfigTable::Impl>();
  impl->document = document;
  impl->file = path;
  impl->section = name;
  if (const toml::node* node = document->get(name)) {
    impl->table = node->as_table();
    impl->line = node->source().begin.line;
  }
  if (const auto it = overridden.find(name); it != overridden.end()) impl->overridden = it->second;
  return ConfigTable(std::move(impl));
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
  return name[0] != '.';
}

// toml++ describes a syntax error in parser terms ("Error while parsing key-value pair:
// expected bare key starting character or string delimiter, saw '='"). Say the same in the
// words of a job file's author; unknown descriptions keep toml++'s text without its prefix.
std::string plain_toml_error(std::string_view description) {
  static const std::pair<std::string_view, std::string_view> kPlain[] = {
      {"table header: expected ']'", "a [section] header is missing its closing ']'"},
      {"expected keys, tables, whitespace or comments", "expected a key name or a [section] at the start of the line"},
      {"expected bare key starting character", "expected a key name (letters, digits, '-', '_') or a \"quoted key\""},
      {"expected value", "expected a value after '=' (a number, \"a string\", true/false or a [list])"},
      {"control characters other than TAB", "a string is missing its closing quote (a string ends on its own line)"},
      {"expected '='", "expected '=' between the key and its value"},
      {"encountered end-of-file", "the file ends inside a value (an unclosed list, string or { table })"},
      {"expected a comment or whitespace", "expected the end of the line after the value (one key = value per line)"},
      {"cannot redefine existing table", "this [section] is defined twice"},
      {"cannot redefine existing", "this key is defined twice in its section"},
      {"unknown escape sequence", "a \"string\" holds an unknown escape sequence (write \\\\ for a backslash, or use 'single quotes')"},
      {"boolean: expected", "expected true or false"},
      {"expected key or closing '}'", "an inline { table } is missing its closing '}' (it must end on the same line)"},
  };
  std::string text(description);
  std::string plain;
  for (const auto& [needle, words] : kPlain)
    if (text.find(needle) != std::string::npos) {
      plain = words;
      break;
    }
  if (const auto saw = text.rfind(", saw "); !plain.empty() && saw != std::string::npos) {
    std::string found = text.substr(saw + 6);
    std::erase(found, '\n');  // toml++ quotes some tokens with their line end
    plain += found == "'\\n'" ? " (found the end of the line)" : " (found " + found + ")";
  }
  if (!plain.empty()) return plain;
  if (text.rfind("Error while parsing ", 0) == 0) {
    const auto colon = text.find(": ");
    if (colon != std::string::npos) return text.substr(colon + 2);
  }
  return text;
}

}  // namespace

JobSpec parse_job(const std::string& text, const std::string& path, const std::vector<std::string>& overrides) {
  toml::table parsed;
  try {
    parsed = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    throw InputError(path + ":" + std::to_string(error.source().begin.line) + ": not valid TOML: " +
                     plain_toml_error(error.description()));
  }
  for (auto&& [key, node] : parsed) {
    bool known = false;
    for (const char* section : kSections) known = known || key.str() == section;
    const std::string where = path + ":" + std::to_string(key.source().begin.line);
    if (!known && node.is_table())
      throw InputError(where + ": [" + std::string(key.str()) +
                       "]: unknown section (expected [job], [data], [model], [sweep] or [output])");
    if (!known)
      throw InputError(where + ": " + std::string(key.str()) +
                       ": a key outside any section (every key belongs under [job], [data], [model], [sweep] or [output])");
    if (!node.is_table())
      throw InputError(where + ": " + std::string(key.str()) + ": expected a table [" + std::string(key.str()) + "]");
  }

  const Overridden overridden = apply_overrides(parsed, overrides);
  const auto document = std::make_shared<const toml::table>(std::move(parsed));

  JobSpec spec;
  spec.path = path;
  spec.text = text;
  spec.overrides = overrides;
  if (!overrides.empty()) {
    // The stored text says which values were not the file's: the job's identity covers them.
    if (!spec.text.empty() && spec.text.back() != '\n') spec.text += '\n';
    spec.text += "\n# msweep --set overrides, applied over the keys above:\n";
    for (const auto& override : overrides) spec.text += "# --set " + override + "\n";
  }
  for (auto [table, name] : {std::pair{&spec.job, "job"}, {&spec.data, "data"}, {&spec.model, "model"}, {&spec.sweep, "sweep"},
                             {&spec.output, "output"}})
    *table = section_of(document, path, name, overridden);

  spec.name = spec.job.get_string("name");
  if (!valid_name(spec.name)) spec.job.fail("name", "expected letters, digits, '-', '_' or '.' (at most 100), got \"" + spec.name + "\"");
  spec.kind = spec.job.get_string("experiment");
  spec.seed = static_cast<std::uint64_t>(spec.job.get_int("seed", 0, 0, std::numeric_limits<std::int64_t>::max()));

  spec.folds = spec.sweep.get_int("folds", 1, 1, 1000);
  spec.restarts = spec.sweep.get_int("restarts", 1, 1, 100000);
  spec.runs = spec.sweep.get_int("runs", 1, 1, 100000);

  spec.output_path = spec.output.get_string("path", "results/" + spec.name + ".h5");
  if (spec.output_path.empty()) spec.output.fail("path", "expected a file path, got an empty string");
  spec.store_batch_rows = spec.output.get_int("flush_rows", 0, 0, 10'000'000);
  spec.flush_seconds = spec.output.get_double("flush_seconds", 2.0, 0.0, 3600.0);
  spec.summary_seconds = spec.output.get_double("summary_seconds", spec.summary_seconds, 0.0, 86400.0);
  return spec;
}

JobSpec load_job(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": job file not found");
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": expected a job file (.toml), got a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read the job file (permission denied?)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_job(buffer.str(), path, overrides);
}

void JobSpec::reject_unknown_keys() const {
  for (const ConfigTable* table : {&job, &data, &model, &sweep, &output}) table->reject_unknown_keys();
}

std::string JobSpec::resolved_json() const {
  std::string out = "{";
  for (const ConfigTable* table : {&job, &data, &model, &sweep, &output})
    out += (out.size() > 1 ? ", \"" : "\"") + table->section() + "\": " + table->resolved_json();
  return out + "}";
}

}  // namespace msweep
