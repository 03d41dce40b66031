// Entry points: read the file, parse TOML, dispatch each top-level table to its reader.
#include "parley/config/config.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tables.hpp"
#include "text_util.hpp"

namespace parley::config {
namespace {

// A config file is a few KiB; a huge one is a mistake (wrong path), not a config.
constexpr std::uintmax_t kMaxFileBytes = 1024 * 1024;

constexpr std::array<std::pair<std::string_view, LogLevel>, 5> kLogLevels{{
    {"trace", LogLevel::Trace},
    {"debug", LogLevel::Debug},
    {"info", LogLevel::Info},
    {"warn", LogLevel::Warn},
    {"error", LogLevel::Error},
}};
constexpr std::array<std::pair<std::string_view, LogFormat>, 2> kLogFormats{{
    {"text", LogFormat::Text},
    {"json", LogFormat::Json},
}};

template <typename Enum, std::size_t N>
std::string_view nameOf(const std::array<std::pair<std::string_view, Enum>, N>& names, Enum value) {
  for (const auto& [name, candidate] : names) {
    if (candidate == value) return name;
  }
  return "?";
}

template <typename Enum, std::size_t N>
std::optional<Enum> valueOf(const std::array<std::pair<std::string_view, Enum>, N>& names,
                            std::string_view text) {
  for (const auto& [name, value] : names) {
    if (detail::iequals(name, text)) return value;
  }
  return std::nullopt;
}

ConfigError fileError(const std::string& path, std::string message) {
  return ConfigError{path, 0, 0, "", std::move(message)};
}

// One row per known top-level table (see tables.hpp for how to add one).
using TableFn = void (*)(const toml::table*, detail::ErrorList&, Config&);
struct TableSpec {
  std::string_view name;
  TableFn read;
};
constexpr std::array kTables{
    TableSpec{"node", [](const toml::table* t, detail::ErrorList& e, Config& c) {
                detail::readNodeTable(t, e, c.node);
              }},
    TableSpec{"sip", [](const toml::table* t, detail::ErrorList& e, Config& c) {
                detail::readSipTable(t, e, c.sip);
              }},
    TableSpec{"registrar", [](const toml::table* t, detail::ErrorList& e, Config& c) {
                detail::readRegistrarTable(t, e, c.registrar);
              }},
    TableSpec{"presence", [](const toml::table* t, detail::ErrorList& e, Config& c) {
                detail::readPresenceTable(t, e, c.presence);
              }},
    // After "sip" (rows run in this order, not file order): [xmpp] is checked against c.sip.
    TableSpec{"xmpp", [](const toml::table* t, detail::ErrorList& e, Config& c) {
                detail::readXmppTable(t, e, c.sip, c.xmpp);
              }},
    TableSpec{"storage", [](const toml::table* t, detail::ErrorList& e, Config& c) {
                detail::readStorageTable(t, e, c.storage);
              }},
    TableSpec{"http", [](const toml::table* t, detail::ErrorList& e, Config& c) {
                detail::readHttpTable(t, e, c.http);
              }},
};

void readRoot(const toml::table& root, detail::ErrorList& errors, Config& out) {
  std::vector<std::string_view> names;
  for (const TableSpec& spec : kTables) names.push_back(spec.name);
  detail::TableReader reader(&root, "", std::move(names), errors);
  for (const TableSpec& spec : kTables) spec.read(reader.table(spec.name), errors, out);
}

}  // namespace

std::string_view toString(LogLevel level) { return nameOf(kLogLevels, level); }
std::string_view toString(LogFormat format) { return nameOf(kLogFormats, format); }
std::optional<LogLevel> parseLogLevel(std::string_view text) { return valueOf(kLogLevels, text); }
std::optional<LogFormat> parseLogFormat(std::string_view text) {
  return valueOf(kLogFormats, text);
}

tl::expected<Config, ConfigError> loadString(std::string_view text, std::string_view sourceName) {
  const std::string file(sourceName);
  toml::table root;
  try {
    root = toml::parse(text, sourceName);
  } catch (const toml::parse_error& e) {
    // toml++ reports syntax errors by exception; turn them into the same shape as ours.
    const detail::Position pos = detail::positionOf(e.source());
    return tl::unexpected(ConfigError{file, pos.line, pos.column, "", std::string(e.description())});
  }

  Config config;
  config.sourcePath = file;
  detail::ErrorList errors(file);
  readRoot(root, errors, config);
  if (!errors.empty()) return tl::unexpected(errors.first());
  return config;
}

tl::expected<Config, ConfigError> loadFile(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return tl::unexpected(fileError(path, "cannot read file: " + ec.message()));
  if (!std::filesystem::is_regular_file(status)) {
    return tl::unexpected(fileError(path, "cannot read file: not a regular file"));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return tl::unexpected(fileError(path, "cannot read file: " + ec.message()));
  if (size > kMaxFileBytes) {
    return tl::unexpected(fileError(path, "file is larger than " + std::to_string(kMaxFileBytes) +
                                              " bytes"));
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return tl::unexpected(fileError(path, std::string("cannot read file: ") + std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return tl::unexpected(fileError(path, "cannot read file: read error"));
  return loadString(text.str(), path);
}

}  // namespace parley::config
