// SIP/SIPS URIs (RFC 3261 §19.1, §25.1) and opaque absolute URIs (tel:, pres:,
// im:, anything else). Views point into storage owned by whoever owns the text
// that was parsed (normally a Message).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace parley::sip {

enum class Scheme : std::uint8_t { Sip, Sips, Tel, Other };

struct Param {
  std::string_view name;
  std::string_view value;  // empty when the parameter has no value
  bool hasValue = false;
};

struct Uri {
  Scheme scheme = Scheme::Other;
  std::string_view schemeText;  // as written
  // sip/sips only:
  std::string_view user;        // still %-escaped
  std::string_view password;
  std::string_view host;        // IPv6 references keep their brackets: "[::1]"
  std::uint16_t port = 0;       // 0 = absent
  std::vector<Param> params;    // ;name[=value] in order
  std::string_view headers;     // ?h=v&... (raw, without '?')
  // any scheme: everything after "scheme:" for non-SIP URIs
  std::string_view opaque;

  [[nodiscard]] bool isSip() const { return scheme == Scheme::Sip || scheme == Scheme::Sips; }
  [[nodiscard]] std::optional<std::string_view> param(std::string_view name) const;
  [[nodiscard]] bool hasParam(std::string_view name) const;
  [[nodiscard]] bool hostIsIpv6() const { return !host.empty() && host.front() == '['; }
};

enum class UriError : std::uint8_t {
  Empty,          ///< nothing to parse
  NoScheme,       ///< no "scheme:" prefix
  BadScheme,      ///< scheme contains characters RFC 3986 does not allow
  BadUser,        ///< userinfo contains unescaped reserved characters
  BadHost,        ///< host is not a hostname, IPv4 address or bracketed IPv6 reference
  BadPort,        ///< port is not a number in 1..65535
  BadParam,       ///< malformed ;param
  BadEscape,      ///< a '%' not followed by two hex digits
};
[[nodiscard]] std::string_view describe(UriError e);

/// Parses a complete URI (no surrounding '<' '>').
[[nodiscard]] tl::expected<Uri, UriError> parseUri(std::string_view text);

/// Writes the URI back in canonical form (scheme lower-case, params in order).
void appendUri(std::string& out, const Uri& uri);
[[nodiscard]] std::string toString(const Uri& uri);

/// RFC 3261 §19.1.4 comparison: scheme, user (case-sensitive, after %-decoding),
/// host (case-insensitive), port, and the parameters §19.1.4 lists.
[[nodiscard]] bool equivalent(const Uri& a, const Uri& b);

/// The canonical address-of-record of a SIP URI, the key Parley files state
/// under: "sip:alice@sip.localhost" — scheme, unescaped user, lower-case host;
/// no port or parameters. Empty when the URI is not SIP/SIPS with a user part.
[[nodiscard]] std::string addressOfRecord(const Uri& uri);

/// %-decodes once (no recursion). Invalid escapes are copied verbatim.
[[nodiscard]] std::string unescape(std::string_view text);

}  // namespace parley::sip
