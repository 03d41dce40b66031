// Typed values of the headers the core relies on, with their grammars
// (RFC 3261 §25.1). Parsers take an unfolded header value and return a value or
// an error that names the defect; they never throw. Views point into the text
// they were given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "parley/sip/method.hpp"
#include "parley/sip/uri.hpp"

namespace parley::sip {

/// The RFC 3261 magic cookie every compliant branch starts with (§8.1.1.7).
inline constexpr std::string_view kBranchCookie = "z9hG4bK";

/// One Via element: SIP/2.0/<transport> host[:port] *(;param).
struct Via {
  std::string_view protocol;    // "SIP/2.0" (whitespace removed)
  std::string_view version;     // "2.0" normally; the parser refuses others
  std::string_view transport;   // "UDP", "TCP", ... as written
  std::string_view host;        // with brackets for IPv6
  std::uint16_t port = 0;       // 0 = absent
  std::string_view branch;      // empty when absent
  std::optional<std::string_view> received;
  bool hasRport = false;        // ;rport present (with or without value)
  std::optional<std::uint16_t> rport;  // its value when present
  std::vector<Param> params;    // all params in order, including the above

  [[nodiscard]] bool rfc3261Branch() const { return branch.substr(0, kBranchCookie.size()) == kBranchCookie; }
};

/// name-addr or addr-spec with header parameters (From, To, Contact, Route ...).
struct NameAddr {
  std::string_view displayName;  // unquoted is as written; quoted keeps no quotes (escapes intact)
  Uri uri;
  std::string_view uriText;      // the URI as written
  std::vector<Param> params;     // header params after the URI (tag, expires, q ...)
  bool angleBrackets = false;    // written as <uri>

  [[nodiscard]] std::optional<std::string_view> param(std::string_view name) const;
  [[nodiscard]] std::string_view tag() const { return param("tag").value_or(std::string_view{}); }
};

struct CSeq {
  std::uint32_t number = 0;
  Method method = Method::Unknown;
  std::string_view methodName;
};

enum class ValueError : std::uint8_t {
  Empty,            ///< the value is empty
  BadViaProtocol,   ///< not "SIP/2.0/<transport>"
  BadViaVersion,    ///< SIP version in Via other than 2.0
  BadViaSentBy,     ///< host[:port] in Via malformed
  BadParam,         ///< malformed ;name=value
  BadQuotedString,  ///< unterminated quoted string or bad escape
  BadNameAddr,      ///< missing '>' or garbage around the URI
  BadUri,           ///< the URI itself failed to parse
  BadCSeqNumber,    ///< CSeq number not a 32-bit unsigned integer
  BadCSeqMethod,    ///< CSeq method token missing or invalid
  BadInteger,       ///< not a non-negative decimal integer in range
  BadToken,         ///< a token contains characters outside RFC 3261 `token`
};
[[nodiscard]] std::string_view describe(ValueError e);

[[nodiscard]] tl::expected<Via, ValueError> parseVia(std::string_view value);
[[nodiscard]] tl::expected<NameAddr, ValueError> parseNameAddr(std::string_view value);
[[nodiscard]] tl::expected<CSeq, ValueError> parseCSeq(std::string_view value);
/// Non-negative decimal integer no larger than `max` (Expires, Max-Forwards,
/// Content-Length, Min-Expires ...).
[[nodiscard]] tl::expected<std::uint32_t, ValueError> parseUnsigned(std::string_view value,
                                                                    std::uint32_t max);
/// Splits a list-valued header on top-level commas: commas inside quoted
/// strings and <...> do not split. Elements are trimmed; empty ones dropped.
[[nodiscard]] std::vector<std::string_view> splitList(std::string_view value);
/// The first element splitList() would return, without allocating.
[[nodiscard]] std::string_view firstListElement(std::string_view value);
/// token ;param=value ;param... (Event, Content-Type, Subscription-State ...):
/// returns the leading token (or type/subtype) and its params.
struct TokenParams {
  std::string_view token;
  std::vector<Param> params;
  [[nodiscard]] std::optional<std::string_view> param(std::string_view name) const;
};
[[nodiscard]] tl::expected<TokenParams, ValueError> parseTokenParams(std::string_view value);

/// Case-insensitive ASCII comparison.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

}  // namespace parley::sip
