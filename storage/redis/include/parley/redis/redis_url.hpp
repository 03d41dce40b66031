// Where Redis is: what [storage] redis_url = "redis://[:password@]host[:port][/db]"
// says (config/src/storage_table.cpp parses and checks it).
//
// The host must be an IP literal (IPv4, or IPv6 in brackets). hiredis 0.14.1
// resolves names with a blocking getaddrinfo() inside redisAsyncConnect(),
// which would stall the one event loop (docs/architecture.md), so a name is
// refused at parse time rather than looked up later.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace parley::redis {

struct RedisEndpoint {
  std::string host;           ///< an IPv4 or IPv6 literal; IPv6 without the brackets
  std::uint16_t port = 6379;
  std::string password;       ///< empty: no AUTH. Never logged: use redactedUrl()
  int db = 0;                 ///< 0..15, SELECTed on every new command connection
};

/// Checks an endpoint (built from [storage] redis_url, which config/ parses,
/// or by tests): IP-literal host, port > 0, db 0..15. The client refuses to
/// start with a bad one.
[[nodiscard]] tl::expected<void, std::string> checkEndpoint(const RedisEndpoint& endpoint);

/// The endpoint as a URL fit for logs: "redis://:***@127.0.0.1:6379/0"
/// (no userinfo when there is no password).
[[nodiscard]] std::string redactedUrl(const RedisEndpoint& endpoint);

}  // namespace parley::redis
