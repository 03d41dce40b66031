// [node]: identity of this process and how it logs.
#include <algorithm>

#include "tables.hpp"
#include "text_util.hpp"

namespace parley::config::detail {
namespace {

constexpr std::size_t kMaxNodeIdLength = 64;

// Node ids appear in logs, metrics and storage keys, so they are kept to a safe alphabet.
bool isValidNodeId(std::string_view id) {
  if (id.empty() || id.size() > kMaxNodeIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

void readNodeTable(const toml::table* table, ErrorList& errors, NodeConfig& out) {
  TableReader reader(table, "node", {"id", "log_level", "log_format", "shutdown_timeout"}, errors);

  if (auto id = reader.string("id")) {
    if (isValidNodeId(id->value)) {
      out.id = id->value;
    } else {
      reader.fail(*id, "invalid node id " + quote(id->value) +
                           " (expected 1..64 characters of A-Z a-z 0-9 . _ -)");
    }
  }
  if (auto level = reader.string("log_level")) {
    if (auto parsed = parseLogLevel(level->value)) {
      out.logLevel = *parsed;
    } else {
      reader.fail(*level, "unknown log level " + quote(level->value) +
                              " (expected trace|debug|info|warn|error)");
    }
  }
  if (auto format = reader.string("log_format")) {
    if (auto parsed = parseLogFormat(format->value)) {
      out.logFormat = *parsed;
    } else {
      reader.fail(*format, "unknown log format " + quote(format->value) + " (expected text|json)");
    }
  }
  reader.read("shutdown_timeout", 0, 60, out.shutdownTimeout);
}

}  // namespace parley::config::detail
