#include "parley/redis/redis_url.hpp"

#include <arpa/inet.h>

#include <array>

namespace parley::redis {

namespace {

constexpr std::string_view kScheme = "redis://";
constexpr int kMaxDb = 15;  // Redis's default `databases 16`

bool isIpv4Literal(const std::string& host) {
  std::array<unsigned char, 4> buf{};
  return inet_pton(AF_INET, host.c_str(), buf.data()) == 1;
}

bool isIpv6Literal(const std::string& host) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET6, host.c_str(), buf.data()) == 1;
}

tl::expected<void, std::string> checkHost(const std::string& host) {
  if (host.empty()) return tl::unexpected(std::string("no host"));
  if (isIpv4Literal(host) || isIpv6Literal(host)) return {};
  return tl::unexpected("host '" + host +
                        "' is not an IP address: give an IPv4 literal or an [IPv6] literal (hiredis resolves "
                        "names with a blocking DNS lookup, which would stall the event loop)");
}

}  // namespace

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
