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

// A port 1..65535 written as 1-5 decimal digits, or nothing.
inline std::optional<std::uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace parley::config::detail
