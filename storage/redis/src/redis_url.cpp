#include "parley/redis/redis_url.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>

namespace parley::redis {

namespace {

constexpr std::string_view kScheme = "redis://";
constexpr int kMaxDb = 15;  // Redis's default `databases 16`

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool isIpv4Literal(const std::string& host) {
  std::array<unsigned char, 4> buf{};
  return inet_pton(AF_INET, host.c_str(), buf.data()) == 1;
}

bool isIpv6Literal(const std::string& host) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1 percent-decoding. The message never quotes the input: it is a password.
tl::expected<std::string, std::string> percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    const int hi = i + 2 < in.size() ? hexValue(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? hexValue(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) return tl::unexpected(std::string("password has a bad %-escape (write % as %25)"));
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

template <class Int>
bool parseDecimal(std::string_view s, Int& value) {
  if (s.empty() || s.size() > 5) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size();
}

tl::expected<void, std::string> checkHost(const std::string& host) {
  if (host.empty()) return tl::unexpected(std::string("no host"));
  if (isIpv4Literal(host) || isIpv6Literal(host)) return {};
  return tl::unexpected("host '" + host +
                        "' is not an IP address: give an IPv4 literal or an [IPv6] literal (hiredis resolves "
                        "names with a blocking DNS lookup, which would stall the event loop)");
}

}  // namespace

tl::expected<RedisEndpoint, std::string> parseRedisUrl(std::string_view url) {
  if (startsWithNoCase(url, "rediss://"))
    return tl::unexpected(std::string("rediss:// (TLS) is not supported: hiredis 0.14.1 has no TLS"));
  if (!startsWithNoCase(url, kScheme)) return tl::unexpected(std::string("not a redis:// URL"));
  std::string_view rest = url.substr(kScheme.size());

  // The authority ends at the first '/', '?' or '#' (RFC 3986 §3.2); a
  // password holding those characters must %-encode them.
  const std::size_t authorityEnd = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authorityEnd);
  std::string_view tail = authorityEnd == std::string_view::npos ? std::string_view{} : rest.substr(authorityEnd);

  RedisEndpoint ep;
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (userinfo.empty() || userinfo.front() != ':')
      return tl::unexpected(std::string(
          "user names are not supported (hiredis 0.14.1 sends the one-argument AUTH): write redis://:password@host"));
    auto password = percentDecode(userinfo.substr(1));
    if (!password) return tl::unexpected(password.error());
    ep.password = std::move(*password);
  }

  std::string_view portText;
  bool hasPort = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return tl::unexpected(std::string("IPv6 host without a closing ']'"));
    ep.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return tl::unexpected(std::string("unexpected text after the IPv6 host"));
      portText = after.substr(1);
      hasPort = true;
    }
    if (!isIpv6Literal(ep.host)) return tl::unexpected("'[" + ep.host + "]' is not an IPv6 address");
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
      return tl::unexpected(std::string("write an IPv6 host in brackets: redis://[::1]:6379"));
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
      hasPort = true;
    }
    if (auto ok = checkHost(ep.host); !ok) return tl::unexpected(ok.error());
  }

  if (hasPort) {
    unsigned port = 0;
    if (!parseDecimal(portText, port) || port == 0 || port > 65535)
      return tl::unexpected("port '" + std::string(portText) + "' is not a number in 1..65535");
    ep.port = static_cast<std::uint16_t>(port);
  }

  if (!tail.empty()) {
    if (tail.front() != '/') return tl::unexpected(std::string("query strings and fragments are not supported"));
    const std::string_view db = tail.substr(1);
    if (!db.empty()) {
      int n = -1;
      if (!parseDecimal(db, n) || n < 0 || n > kMaxDb)
        return tl::unexpected("database '" + std::string(db) + "' is not a number in 0..15");
      ep.db = n;
    }
  }
  return ep;
}

tl::expected<void, std::string> checkEndpoint(const RedisEndpoint& endpoint) {
  if (auto ok = checkHost(endpoint.host); !ok) return ok;
  if (endpoint.port == 0) return tl::unexpected(std::string("port 0"));
  if (endpoint.db < 0 || endpoint.db > kMaxDb)
    return tl::unexpected("database " + std::to_string(endpoint.db) + " is not in 0..15");
  return {};
}

std::string redactedUrl(const RedisEndpoint& endpoint) {
  std::string out(kScheme);
  if (!endpoint.password.empty()) out += ":***@";
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  if (v6) out.push_back('[');
  out += endpoint.host;
  if (v6) out.push_back(']');
  out += ':' + std::to_string(endpoint.port) + '/' + std::to_string(endpoint.db);
  return out;
}

}  // namespace parley::redis
