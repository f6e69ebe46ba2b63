// Private: the toml++ side of ConfigTable, shared by config.cpp and job.cpp only.
#pragma once
#include <toml++/toml.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "msweep/spec/config.hpp"

namespace msweep {

struct ConfigTable::Impl {
  std::shared_ptr<const toml::table> document;  // keeps the parsed file alive
  const toml::table* table = nullptr;           // null when the section is absent
  std::string file;
  std::string section;
  std::size_t line = 0;                         // where the section starts (0: unknown)
  mutable std::set<std::string, std::less<>> read_keys;
  mutable std::map<std::string, std::string, std::less<>> used_values;  // key -> JSON of the value returned
  // Keys set on the command line (key -> "--set section.key=value"): messages name the
  // override instead of a line of the file.
  std::map<std::string, std::string, std::less<>> overridden;
};

}  // namespace msweep
