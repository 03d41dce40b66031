// [http]: the HTTP API and live dashboard: sockets, bearer tokens, CORS and client limits.
//
// Only validation lives here; parleyd decides what runs. Values are checked even while
// enabled = false, so turning the API on later cannot reveal old mistakes.
//
// Tokens are secrets and config errors end up in logs and terminals, so no error quotes a
// token: errors name its key and index ("http.tokens[1].token: shorter than 16 characters").
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "host_util.hpp"
#include "listen_list.hpp"
#include "tables.hpp"
#include "text_util.hpp"

namespace parley::config::detail {
namespace {

constexpr std::string_view kListenShape =
    R"(expected "<IP>:<port>", e.g. "127.0.0.1:8080" or "[::1]:8080")";
constexpr std::string_view kOriginShape =
    R"(expected "<scheme>://<host>[:<port>]", e.g. "https://dash.example.com", or "*")";
constexpr std::size_t kMaxListen = 8;
constexpr std::size_t kMaxTokenNameLength = 64;
constexpr std::size_t kMinTokenLength = 16;  // 16 printable characters: ~100 bits when random
constexpr std::size_t kMaxTokenLength = 256;


bool isDigit(char c) { return c >= '0' && c <= '9'; }

// "<IPv4>:<port>" or "[<IPv6>]:<port>", port 0..65535. A host name would need a DNS lookup,
// which would block start-up.
tl::expected<HttpListenAddress, std::string> parseListen(std::string_view text) {
  auto split = splitHostPort(text, kListenShape, "[::1]:8080");
  if (!split) return tl::unexpected(std::move(split.error()));
  // "0" asks the kernel for a free port (as in sip.listen); any other spelling of zero is refused.
  const auto port = split->port == "0" ? std::optional<std::uint16_t>{0} : parsePort(split->port);
  if (!port) return tl::unexpected("invalid port " + quote(split->port) + " (expected 0..65535)");
  return HttpListenAddress{std::move(split->host), *port, split->ipv6, std::string(text)};
}


// Token names appear in logs and metrics in place of the token, so they are kept to a safe
// alphabet (the same as node ids).
bool isValidTokenName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTokenNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || isDigit(c) || c == '.' ||
           c == '_' || c == '-';
  });
}

// Why `token` is unusable, never quoting it; or nothing. Printable ASCII without spaces fits
// an HTTP header value (e.g. "Authorization: Bearer", RFC 6750 §2.1) without escaping.
std::optional<std::string> tokenProblem(std::string_view token) {
  if (token.size() < kMinTokenLength) {
    return "shorter than " + std::to_string(kMinTokenLength) + " characters";
  }
  if (token.size() > kMaxTokenLength) {
    return "longer than " + std::to_string(kMaxTokenLength) + " characters";
  }
  const auto printable = [](char c) { return c > ' ' && c < '\x7f'; };
  if (!std::all_of(token.begin(), token.end(), printable)) {
    return std::string("only printable ASCII characters other than space are allowed");
  }
  return std::nullopt;
}

// Case-sensitive, like the names in the API that will check them.
std::optional<HttpScopes> readScopes(TableReader& reader) {
  auto list = reader.stringArray("scopes");
  if (!list) return std::nullopt;
  if (list->value.empty()) {
    reader.fail(*list, "must list at least one scope");
    return std::nullopt;
  }
  HttpScopes scopes;
  bool ok = true;
  for (const StringField& item : list->value) {
    bool* flag = nullptr;
    if (item.value == "read") flag = &scopes.read;
    else if (item.value == "publish") flag = &scopes.publish;
    else if (item.value == "admin") flag = &scopes.admin;
    if (flag == nullptr) {
      reader.fail(item, "unknown scope " + quote(item.value) + " (expected read|publish|admin)");
      ok = false;
    } else if (*flag) {
      reader.fail(item, "duplicate scope " + quote(item.value));
      ok = false;
    } else {
      *flag = true;
    }
  }
  if (!ok) return std::nullopt;
  return scopes;
}

// One entry of http.tokens, with the fields the checks across entries blame.
struct TokenEntry {
  HttpToken value;
  std::optional<StringField> name;
  std::optional<StringField> token;
};

std::optional<TokenEntry> readToken(const toml::table& entry, const std::string& path,
                                    ErrorList& errors) {
  TableReader reader(&entry, path, {"name", "token", "scopes"}, errors);
  TokenEntry out;
  bool ok = true;
  // A missing key is blamed on the entry: there is no line of its own to point at.
  const Position entryPos = positionOf(entry.source());
  for (const std::string_view key : {"name", "token", "scopes"}) {
    if (entry.get(key) == nullptr) {
      errors.add(entryPos, reader.keyPath(key), "required");
      ok = false;
    }
  }

  out.name = reader.string("name");
  if (out.name) {
    if (isValidTokenName(out.name->value)) {
      out.value.name = out.name->value;
    } else {
      reader.fail(*out.name, "invalid token name " + quote(out.name->value) +
                                 " (expected 1..64 characters of A-Z a-z 0-9 . _ -)");
      out.name.reset();
      ok = false;
    }
  }
  out.token = reader.string("token");
  if (out.token) {
    if (auto problem = tokenProblem(out.token->value)) {
      reader.fail(*out.token, std::move(*problem));
      out.token.reset();
      ok = false;
    } else {
      out.value.token = out.token->value;
    }
  }
  if (auto scopes = readScopes(reader)) out.value.scopes = *scopes;
  else if (entry.get("scopes") != nullptr) ok = false;

  if (!ok || !out.name || !out.token) return std::nullopt;
  return out;
}

// Array of tables, written `[[http.tokens]]` or `tokens = [{ ... }]`. Names and tokens must
// be unique: a token must identify one name in the logs.
void readTokens(const toml::table* table, const TableReader& reader, ErrorList& errors,
                std::vector<HttpToken>& out) {
  if (table == nullptr) return;
  const toml::node* node = table->get("tokens");
  if (node == nullptr) return;
  const std::string key = reader.keyPath("tokens");
  const auto* array = node->as_array();
  if (array == nullptr) {
    errors.add(positionOf(node->source()), key, "expected an array of tables");
    return;
  }
  std::vector<TokenEntry> entries;
  bool ok = true;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string path = indexKey(key, i);
    const auto* entryTable = element.as_table();
    if (entryTable == nullptr) {
      errors.add(positionOf(element.source()), path, "expected a table");
      ok = false;
      continue;
    }
    auto entry = readToken(*entryTable, path, errors);
    if (!entry) {
      ok = false;
      continue;
    }
    for (const TokenEntry& earlier : entries) {
      if (earlier.name->value == entry->name->value) {
        errors.add(entry->name->pos, entry->name->key,
                   "duplicate token name " + quote(entry->name->value));
        ok = false;
      }
      if (earlier.token->value == entry->token->value) {
        // Names the earlier key, never the value.
        errors.add(entry->token->pos, entry->token->key, "same token as " + earlier.token->key);
        ok = false;
      }
    }
    entries.push_back(std::move(*entry));
  }
  if (!ok) return;
  out.clear();
  for (TokenEntry& entry : entries) out.push_back(std::move(entry.value));
}

// An origin as a browser serializes it in the Origin header (RFC 6454 §6.2): lower-case
// scheme and host, IP literals canonical, the scheme's default port left out. Comparing
// against the header is then a plain string comparison.
tl::expected<std::string, std::string> parseOrigin(std::string_view text) {
  const auto schemeEnd = text.find("://");
  if (schemeEnd == std::string_view::npos) return tl::unexpected(std::string(kOriginShape));
  const std::string scheme = asciiLower(text.substr(0, schemeEnd));
  if (scheme != "http" && scheme != "https") {
    return tl::unexpected("unsupported scheme " + quote(text.substr(0, schemeEnd)) +
                          " (expected http or https)");
  }
  const std::string_view rest = text.substr(schemeEnd + 3);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return tl::unexpected(
        std::string("an origin has no path, query or fragment (not even a trailing '/')"));
  }
  if (rest.find('@') != std::string_view::npos) {
    return tl::unexpected(std::string("an origin has no user name or password"));
  }

  std::string_view host;
  std::optional<std::string_view> port;
  std::string hostText;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return tl::unexpected(std::string("missing ']' after IPv6 address"));
    }
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return tl::unexpected(std::string(kOriginShape));
      port = after.substr(1);
    }
    if (host.empty()) return tl::unexpected(std::string("missing host"));
    auto canonical = ipLiteral(host, true);
    if (!canonical) return tl::unexpected(std::move(canonical.error()));
    hostText = "[" + *canonical + "]";
  } else {
    const auto colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    if (host.empty()) return tl::unexpected(std::string("missing host"));
    const bool numeric = std::all_of(host.begin(), host.end(),
                                     [](char c) { return isDigit(c) || c == '.'; });
    if (numeric) {
      // Browsers read an all-numeric host as IPv4 (WHATWG URL), never as a name.
      auto canonical = ipLiteral(host, false);
      if (!canonical) return tl::unexpected(std::move(canonical.error()));
      hostText = std::move(*canonical);
    } else if (auto problem = domainProblem(host)) {
      return tl::unexpected(std::move(*problem));
    } else {
      hostText = asciiLower(host);
    }
  }

  std::string out = scheme + "://" + hostText;
  if (port) {
    const auto value = parsePort(*port);
    if (!value) return tl::unexpected("invalid port " + quote(*port) + " (expected 1..65535)");
    const std::uint16_t defaultPort = scheme == "https" ? 443 : 80;
    if (*value != defaultPort) out += ":" + std::to_string(*value);
  }
  return out;
}

void readCorsOrigins(TableReader& reader, std::vector<std::string>& out) {
  auto list = reader.stringArray("cors_origins");
  if (!list) return;
  std::vector<std::string> origins;
  bool ok = true;
  for (const StringField& item : list->value) {
    std::string origin;
    if (item.value == "*") {
      origin = "*";
    } else if (auto parsed = parseOrigin(item.value)) {
      origin = std::move(*parsed);
    } else {
      reader.fail(item, "invalid origin " + quote(item.value) + ": " + parsed.error());
      ok = false;
      continue;
    }
    if (std::find(origins.begin(), origins.end(), origin) != origins.end()) {
      reader.fail(item, "duplicate origin " + quote(origin));
      ok = false;
      continue;
    }
    origins.push_back(std::move(origin));
  }
  // "*" already allows every origin; next to others it is most likely a leftover.
  if (ok && origins.size() > 1 && std::find(origins.begin(), origins.end(), "*") != origins.end()) {
    reader.fail(*list, R"("*" allows every origin; list it alone)");
    ok = false;
  }
  if (ok) out = std::move(origins);
}

}  // namespace

void readHttpTable(const toml::table* table, ErrorList& errors, HttpConfig& out) {
  TableReader reader(table, "http",
                     {"enabled", "listen", "tokens", "allow_anonymous_read", "max_body_bytes",
                      "cors_origins", "max_clients", "client_queue", "requests_per_second"},
                     errors);

  if (const auto enabled = reader.boolean("enabled")) out.enabled = enabled->value;
  readListenList(reader, kMaxListen, parseListen,
                 [](const HttpListenAddress& a, const HttpListenAddress& b) { return a.host == b.host && a.port == b.port; },
                 out.listen);
  readTokens(table, reader, errors, out.tokens);
  if (const auto anonymous = reader.boolean("allow_anonymous_read")) {
    out.allowAnonymousRead = anonymous->value;
  }
  reader.read("max_body_bytes", 256, 1048576, out.maxBodyBytes);
  readCorsOrigins(reader, out.corsOrigins);
  reader.read("max_clients", 1, 100000, out.maxClients);
  reader.read("client_queue", 1, 100000, out.clientQueue);
  reader.read("requests_per_second", 0, 1000000, out.requestsPerSecond);
  // enabled with no token and no anonymous reads is valid on purpose: the API answers 401
  // and the dashboard's static files still load (docs/configuration.md).
}

}  // namespace parley::config::detail
