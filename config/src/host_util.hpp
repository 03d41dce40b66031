// Host-name and IP-literal checks shared by the config readers (internal).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "text_util.hpp"

namespace parley::config::detail {

constexpr std::size_t kMaxDomainLength = 253;  // RFC 1035 §2.3.4 (255 octets on the wire)
constexpr std::size_t kMaxLabelLength = 63;    // RFC 1035 §2.3.4

inline bool isDomainChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.';
}

// Returns why `domain` is not a DNS host name (RFC 1123 §2.1 letters/digits/hyphen labels),
// or nothing if it is one.
inline std::optional<std::string> domainProblem(std::string_view domain) {
  const std::string prefix = "invalid domain " + quote(domain) + ": ";
  if (domain.size() > kMaxDomainLength) return prefix + "longer than 253 characters";
  if (!std::all_of(domain.begin(), domain.end(), isDomainChar)) {
    return prefix + "only letters, digits, '-' and '.' are allowed";
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty()) return prefix + "empty label";
    if (label.size() > kMaxLabelLength) return prefix + "label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') {
      return prefix + "a label may not start or end with '-'";
    }
    if (dot == domain.size()) return std::nullopt;
    start = dot + 1;
  }
}

// Returns the canonical text of an IP literal (inet_ntop), or nothing if `host` is not one.
inline std::optional<std::string> canonicalIp(const std::string& host, int family) {
  std::array<unsigned char, sizeof(in6_addr)> binary{};
  if (inet_pton(family, host.c_str(), binary.data()) != 1) return std::nullopt;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(family, binary.data(), text.data(), text.size()) == nullptr) return std::nullopt;
  return std::string(text.data());
}

// The canonical text of the IP literal `host` (bracket-less; `ipv6` when it was written in
// brackets), or why it is not one: a host name is refused, since resolving it would block.
inline tl::expected<std::string, std::string> ipLiteral(std::string_view host, bool ipv6) {
  if (auto canonical = canonicalIp(std::string(host), ipv6 ? AF_INET6 : AF_INET)) return *canonical;
  if (ipv6) return tl::unexpected("invalid IPv6 address " + quote(host));
  const bool letters = std::any_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
  if (letters)
    return tl::unexpected("host " + quote(host) +
                          " is not an IP literal; only IP literals are accepted because name lookups would block");
  return tl::unexpected("invalid IPv4 address " + quote(host));
}

// A port 1..65535 (0..65535 with `allowZero`: a listener's "any free port") written as 1-5
// decimal digits, or nothing.
inline std::optional<std::uint16_t> parsePort(std::string_view text, bool allowZero = false) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if ((value == 0 && !allowZero) || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

struct HostPort {
  std::string host;       ///< canonical IP literal, no brackets
  std::string_view port;  ///< as written; the caller decides its range
  bool ipv6 = false;      ///< the host was written in brackets
};

// Splits "<IPv4>:<port>" or "[<IPv6>]:<port>" (an IPv6 host is bracketed, RFC 3986 §3.2.2,
// because its colons would be ambiguous with the port separator) and checks the host is an IP
// literal. `shape` is the error for text without a port; `example` (e.g. "[::1]:8080") is
// shown when an IPv6 address comes without brackets.
inline tl::expected<HostPort, std::string> splitHostPort(std::string_view text, std::string_view shape,
                                                         std::string_view example) {
  HostPort out;
  std::string_view host;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return tl::unexpected(std::string("missing ']' after IPv6 address"));
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return tl::unexpected(std::string(shape));
    out.port = text.substr(close + 2);
    out.ipv6 = true;
  } else {
    const auto last = text.rfind(':');
    if (last == std::string_view::npos) return tl::unexpected(std::string(shape));
    host = text.substr(0, last);
    out.port = text.substr(last + 1);
    if (host.find(':') != std::string_view::npos) {
      return tl::unexpected("IPv6 address " + quote(host) + " must be in brackets, e.g. \"" + std::string(example) +
                            "\"");
    }
  }
  if (host.empty()) return tl::unexpected(std::string("missing host"));
  auto canonical = ipLiteral(host, out.ipv6);
  if (!canonical) return tl::unexpected(std::move(canonical.error()));
  out.host = std::move(*canonical);
  return out;
}

}  // namespace parley::config::detail
