// [storage]: which backend holds the state, and how to reach Redis.
//
// Only validation lives here. Whether parleyd can run the chosen backend is server/'s call:
// a file naming a backend this build cannot run yet is still a well-formed file.
//
// redis_url carries the password, and config errors end up in logs and terminals, so no
// error quotes the URL or anything before its last '@'; only the scheme, host, port and
// database number, which cannot hold the password, are ever quoted.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "host_util.hpp"
#include "tables.hpp"
#include "text_util.hpp"

namespace parley::config::detail {
namespace {

constexpr std::string_view kUrlShape = R"(expected "redis://[:password@]host[:port][/db]")";
constexpr std::size_t kMaxKeyPrefixLength = 64;
constexpr int kMaxRedisDb = 15;  // Redis' default `databases 16`

struct RedisAddress {
  std::string host;  ///< canonical IP literal, no brackets
  std::uint16_t port = 6379;
  std::string password;  ///< %-decoded; empty = no AUTH
  int db = 0;
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAsciiLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool isScheme(std::string_view text) {
  if (text.empty() || !isAsciiLetter(text.front())) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return isAsciiLetter(c) || isDigit(c) || c == '+' || c == '-' || c == '.';
  });
}

// Key prefixes end up inside every Redis key and in redis-cli output, so they are kept to
// characters that need no quoting there.
bool isKeyPrefixChar(char c) {
  return isAsciiLetter(c) || isDigit(c) || c == ':' || c == '_' || c == '.' || c == '-';
}

std::optional<int> hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// RFC 3986 §2.1 percent-decoding; nothing on a malformed escape.
std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const auto high = hexValue(text[i + 1]);
    const auto low = hexValue(text[i + 2]);
    if (!high || !low) return std::nullopt;
    out += static_cast<char>((*high << 4) | *low);
    i += 2;
  }
  return out;
}


// "0".."15", decimal digits only.
std::optional<int> parseDb(std::string_view text) {
  if (text.empty() || text.size() > 2) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), isDigit)) return std::nullopt;
  int value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  if (value > kMaxRedisDb) return std::nullopt;
  return value;
}

// The part before '@': ":<password>". Its content is never quoted back.
tl::expected<std::string, std::string> parseUserinfo(std::string_view userinfo) {
  if (userinfo.empty() || userinfo.front() != ':') {
    // "user:pass@" (Redis 6 ACL users) or "pass@" (colon forgotten): either way the text may
    // be a password, so it is not shown.
    return tl::unexpected(std::string(
        "only a password may precede '@', written \":password@\" (user names are not supported)"));
  }
  auto password = percentDecode(userinfo.substr(1));
  if (!password) {
    return tl::unexpected(
        std::string("invalid %-escape in the password (expected '%' and two hex digits)"));
  }
  if (password->empty()) {
    // Most likely an unset variable in a template; without a password, leave out ":@".
    return tl::unexpected(std::string("empty password after ':'; leave out \":@\" when Redis needs none"));
  }
  return std::move(*password);
}

// "<IPv4>" or "[<IPv6>]", then optionally ":<port>". Host names are refused: hiredis resolves
// them with a blocking getaddrinfo, on the event loop at every reconnect.
tl::expected<void, std::string> parseHostPort(std::string_view text, RedisAddress& out) {
  std::string_view host;
  std::optional<std::string_view> port;
  bool ipv6 = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return tl::unexpected(std::string("missing ']' after IPv6 address"));
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return tl::unexpected(std::string(kUrlShape));
      port = rest.substr(1);
    }
    ipv6 = true;
  } else {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port->find(':') != std::string_view::npos) {
        return tl::unexpected("IPv6 address " + quote(text) +
                              " must be in brackets, e.g. \"redis://[::1]:6379\"");
      }
    }
  }
  if (host.empty()) return tl::unexpected(std::string("missing host"));
  auto canonical = ipLiteral(host, ipv6);
  if (!canonical) return tl::unexpected(std::move(canonical.error()));
  out.host = std::move(*canonical);
  if (port) {
    const auto value = parsePort(*port);
    if (!value) return tl::unexpected("invalid port " + quote(*port) + " (expected 1..65535)");
    out.port = *value;
  }
  return {};
}

// "redis://[:password@]host[:port][/db]".
tl::expected<RedisAddress, std::string> parseRedisUrl(std::string_view text) {
  const auto schemeEnd = text.find("://");
  if (schemeEnd == std::string_view::npos) return tl::unexpected(std::string(kUrlShape));
  const std::string_view scheme = text.substr(0, schemeEnd);
  if (!iequals(scheme, "redis")) {  // schemes are case-insensitive (RFC 3986 §3.1)
    if (iequals(scheme, "rediss")) {
      // hiredis 0.14 (Debian 12) has no TLS support.
      return tl::unexpected(std::string(
          "TLS (rediss://) is not supported; use redis:// to Redis on loopback or a trusted "
          "network"));
    }
    if (!isScheme(scheme)) return tl::unexpected(std::string(kUrlShape));
    return tl::unexpected("unsupported scheme " + quote(scheme) + " (" +
                          std::string(kUrlShape) + ")");
  }
  std::string_view rest = text.substr(schemeEnd + 3);

  RedisAddress out;
  // The last '@', not the first: an unencoded '@' or '/' in the password must not spill the
  // password into the host part, which errors quote.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto password = parseUserinfo(rest.substr(0, at));
    if (!password) return tl::unexpected(std::move(password.error()));
    out.password = std::move(*password);
    rest = rest.substr(at + 1);
  }

  const auto slash = rest.find('/');
  if (auto hostPort = parseHostPort(rest.substr(0, slash), out); !hostPort) {
    return tl::unexpected(std::move(hostPort.error()));
  }
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    const auto value = parseDb(db);
    if (!value) {
      return tl::unexpected("invalid database " + quote(db) + " (expected 0.." +
                            std::to_string(kMaxRedisDb) + ")");
    }
    out.db = *value;
  }
  return out;
}

}  // namespace

void readStorageTable(const toml::table* table, ErrorList& errors, StorageConfig& out) {
  TableReader reader(table, "storage",
                     {"backend", "redis_url", "key_prefix", "connect_timeout_ms",
                      "command_timeout_ms", "reconnect_min_ms", "reconnect_max_ms"},
                     errors);

  const auto backend = reader.string("backend");
  if (backend) {
    if (backend->value == "memory") out.backend = StorageConfig::Backend::Memory;
    else if (backend->value == "redis") out.backend = StorageConfig::Backend::Redis;
    else reader.fail(*backend, "unknown backend " + quote(backend->value) + " (expected memory|redis)");
  }
  // Checked with the memory backend too, so switching to Redis later cannot reveal old
  // mistakes.
  if (auto url = reader.string("redis_url")) {
    if (auto parsed = parseRedisUrl(url->value)) {
      out.redisHost = std::move(parsed->host);
      out.redisPort = parsed->port;
      out.redisPassword = std::move(parsed->password);
      out.redisDb = parsed->db;
    } else {
      reader.fail(*url, std::move(parsed.error()));
    }
  } else if (out.backend == StorageConfig::Backend::Redis && table->get("redis_url") == nullptr) {
    // Blamed on the line that chose Redis. Not when redis_url is there but invalid: that
    // problem is reported already. (backend is set, so table is not null.)
    errors.add(backend->pos, reader.keyPath("redis_url"), "required when storage.backend = \"redis\"");
  }
  if (auto prefix = reader.string("key_prefix")) {
    const std::string& value = prefix->value;
    if (value.empty() || value.size() > kMaxKeyPrefixLength ||
        !std::all_of(value.begin(), value.end(), isKeyPrefixChar)) {
      reader.fail(*prefix, "invalid key prefix " + quote(value) +
                               " (expected 1..64 characters of A-Z a-z 0-9 : _ . -)");
    } else {
      out.keyPrefix = value;
    }
  }
  if (const auto ms = reader.integer("connect_timeout_ms", 50, 60000)) {
    out.connectTimeout = std::chrono::milliseconds{ms->value};
  }
  if (const auto ms = reader.integer("command_timeout_ms", 10, 60000)) {
    out.commandTimeout = std::chrono::milliseconds{ms->value};
  }
  const auto reconnectMin = reader.integer("reconnect_min_ms", 10, 60000);
  if (reconnectMin) out.reconnectMin = std::chrono::milliseconds{reconnectMin->value};
  // The range starts where reconnect_min_ms ended up.
  const auto reconnectMax = reader.integer("reconnect_max_ms", out.reconnectMin.count(), 600000);
  if (reconnectMax) out.reconnectMax = std::chrono::milliseconds{reconnectMax->value};
  // A minimum above the default maximum must not silently invert the backoff. When
  // reconnect_max_ms is given, its range check above already covers this.
  if (reconnectMin && table->get("reconnect_max_ms") == nullptr &&
      out.reconnectMax < out.reconnectMin) {
    reader.fail(*reconnectMin, std::to_string(reconnectMin->value) +
                                   " is above the default reconnect_max_ms (" +
                                   std::to_string(out.reconnectMax.count()) +
                                   "); set reconnect_max_ms too");
  }
}

}  // namespace parley::config::detail
