// [storage]: defaults, every key, every error an operator can get (file:line:column, key and
// message), and that the Redis password never shows up in an error.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config_test_util.hpp"

#include "parley/config/config.hpp"

namespace parley::config {
namespace {
using namespace std::chrono_literals;

using test::errorOf;
using Backend = StorageConfig::Backend;

StorageConfig loadStorage(std::string_view text) {
  auto result = loadString(text, "parley.toml");
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().format());
  if (!result) return StorageConfig{};
  return std::move(result)->storage;
}

// The error for `redis_url = "<url>"` on line 2 of [storage].
std::string urlError(std::string_view url) {
  return errorOf("[storage]\nredis_url = \"" + std::string(url) + "\"\n");
}

const std::string kUrlAt = "parley.toml:2:13: storage.redis_url: ";

TEST(StorageTable, DefaultsWhenAbsent) {
  auto c = loadString("", "parley.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->storage, StorageConfig{});
  EXPECT_EQ(c->storage.backend, Backend::Memory);
  EXPECT_EQ(c->storage.redisHost, "127.0.0.1");
  EXPECT_EQ(c->storage.redisPort, 6379);
  EXPECT_EQ(c->storage.redisPassword, "");
  EXPECT_EQ(c->storage.redisDb, 0);
  EXPECT_EQ(c->storage.keyPrefix, "parley:");
  EXPECT_EQ(c->storage.connectTimeout, 2000ms);
  EXPECT_EQ(c->storage.commandTimeout, 1000ms);
  EXPECT_EQ(c->storage.reconnectMin, 100ms);
  EXPECT_EQ(c->storage.reconnectMax, 5000ms);
}

TEST(StorageTable, EmptyTableTakesDefaults) { EXPECT_EQ(loadStorage("[storage]\n"), StorageConfig{}); }

TEST(StorageTable, EveryKeyIsRead) {
  const StorageConfig s = loadStorage(R"([storage]
backend = "redis"
redis_url = "redis://:s3cr3t@10.1.2.3:6380/15"
key_prefix = "Az09:_.-"
connect_timeout_ms = 50
command_timeout_ms = 60000
reconnect_min_ms = 10
reconnect_max_ms = 600000
)");
  EXPECT_EQ(s.backend, Backend::Redis);
  EXPECT_EQ(s.redisHost, "10.1.2.3");
  EXPECT_EQ(s.redisPort, 6380);
  EXPECT_EQ(s.redisPassword, "s3cr3t");
  EXPECT_EQ(s.redisDb, 15);
  EXPECT_EQ(s.keyPrefix, "Az09:_.-");
  EXPECT_EQ(s.connectTimeout, 50ms);
  EXPECT_EQ(s.commandTimeout, 60000ms);
  EXPECT_EQ(s.reconnectMin, 10ms);
  EXPECT_EQ(s.reconnectMax, 600000ms);
}

TEST(StorageTable, RangeBoundsAreInclusive) {
  const StorageConfig s = loadStorage(R"([storage]
backend = "memory"
key_prefix = "p"
connect_timeout_ms = 60000
command_timeout_ms = 10
reconnect_min_ms = 60000
reconnect_max_ms = 60000
)");
  EXPECT_EQ(s.backend, Backend::Memory);
  EXPECT_EQ(s.keyPrefix, "p");
  EXPECT_EQ(s.connectTimeout, 60000ms);
  EXPECT_EQ(s.commandTimeout, 10ms);
  EXPECT_EQ(s.reconnectMin, 60000ms);
  EXPECT_EQ(s.reconnectMax, 60000ms);
  EXPECT_EQ(loadStorage("[storage]\nkey_prefix = \"" + std::string(64, 'k') + "\"\n").keyPrefix,
            std::string(64, 'k'));
}

TEST(StorageTable, RedisUrlPartsAreOptional) {
  const StorageConfig s = loadStorage("[storage]\nbackend = \"redis\"\nredis_url = \"redis://192.168.0.9\"\n");
  EXPECT_EQ(s.redisHost, "192.168.0.9");
  EXPECT_EQ(s.redisPort, 6379);
  EXPECT_EQ(s.redisPassword, "");
  EXPECT_EQ(s.redisDb, 0);

  const StorageConfig withDb = loadStorage("[storage]\nredis_url = \"redis://127.0.0.1/3\"\n");
  EXPECT_EQ(withDb.redisPort, 6379);
  EXPECT_EQ(withDb.redisDb, 3);

  const StorageConfig withPort = loadStorage("[storage]\nredis_url = \"redis://127.0.0.1:1\"\n");
  EXPECT_EQ(withPort.redisPort, 1);
  EXPECT_EQ(withPort.redisDb, 0);
}

TEST(StorageTable, RedisUrlAcceptsBracketedIpv6InCanonicalForm) {
  const StorageConfig s = loadStorage("[storage]\nredis_url = \"redis://[0:0::1]:65535/0\"\n");
  EXPECT_EQ(s.redisHost, "::1");
  EXPECT_EQ(s.redisPort, 65535);
  EXPECT_EQ(loadStorage("[storage]\nredis_url = \"redis://[::1]\"\n").redisHost, "::1");
}

TEST(StorageTable, RedisUrlSchemeIsCaseInsensitive) {
  EXPECT_EQ(loadStorage("[storage]\nredis_url = \"REDIS://127.0.0.2\"\n").redisHost, "127.0.0.2");
}

TEST(StorageTable, PasswordIsPercentDecoded) {
  // '@', ':', '/' and '%' need escaping in a URL; hex digits in either case.
  EXPECT_EQ(loadStorage("[storage]\nredis_url = \"redis://:p%40ss%3a%2Fw%25rd@127.0.0.1\"\n")
                .redisPassword,
            "p@ss:/w%rd");
  // An unescaped '@' or '/' in the password still leaves the host after the last '@'.
  const StorageConfig s = loadStorage("[storage]\nredis_url = \"redis://:a@b/c@127.0.0.1:7000/2\"\n");
  EXPECT_EQ(s.redisPassword, "a@b/c");
  EXPECT_EQ(s.redisHost, "127.0.0.1");
  EXPECT_EQ(s.redisPort, 7000);
  EXPECT_EQ(s.redisDb, 2);
}

TEST(StorageTable, RedisUrlIsOptionalForTheMemoryBackend) {
  EXPECT_EQ(errorOf("[storage]\nbackend = \"memory\"\n"), "<loaded>");
}

TEST(StorageTable, BackendRedisIsValidConfig) {
  // parleyd refuses to start with it until the Redis backend exists; that is server/'s
  // check, the file itself is well-formed.
  EXPECT_EQ(errorOf("[storage]\nbackend = \"redis\"\nredis_url = \"redis://127.0.0.1\"\n"), "<loaded>");
}

// --- errors, one per rule ---

TEST(StorageTableErrors, UnknownKeyAndWrongTypes) {
  EXPECT_EQ(errorOf("[storage]\nredis_host = \"127.0.0.1\"\n"),
            "parley.toml:2:1: storage.redis_host: unknown key");
  EXPECT_EQ(errorOf("[storage]\n[storage.redis]\n"),
            "parley.toml:2:10: storage.redis: unknown table");
  EXPECT_EQ(errorOf("storage = \"memory\"\n"), "parley.toml:1:11: storage: expected a table");
  EXPECT_EQ(errorOf("[[storage]]\nbackend = \"memory\"\n"), "parley.toml:1:1: storage: expected a table");
  EXPECT_EQ(errorOf("[storage]\nbackend = 1\n"), "parley.toml:2:11: storage.backend: expected a string");
  EXPECT_EQ(errorOf("[storage]\nredis_url = 6379\n"),
            "parley.toml:2:13: storage.redis_url: expected a string");
  EXPECT_EQ(errorOf("[storage]\nkey_prefix = [\"a\"]\n"),
            "parley.toml:2:14: storage.key_prefix: expected a string");
  EXPECT_EQ(errorOf("[storage]\nconnect_timeout_ms = \"2000\"\n"),
            "parley.toml:2:22: storage.connect_timeout_ms: expected an integer");
  EXPECT_EQ(errorOf("[storage]\ncommand_timeout_ms = 1.5\n"),
            "parley.toml:2:22: storage.command_timeout_ms: expected an integer");
}

TEST(StorageTableErrors, BackendIsMemoryOrRedis) {
  EXPECT_EQ(errorOf("[storage]\nbackend = \"postgres\"\n"),
            R"(parley.toml:2:11: storage.backend: unknown backend "postgres" (expected memory|redis))");
  EXPECT_EQ(errorOf("[storage]\nbackend = \"Redis\"\n"),
            R"(parley.toml:2:11: storage.backend: unknown backend "Redis" (expected memory|redis))");
}

TEST(StorageTableErrors, RedisUrlIsRequiredForTheRedisBackend) {
  // Absent: blamed on the line that chose Redis.
  EXPECT_EQ(errorOf("[storage]\n\nbackend = \"redis\"\n"),
            R"(parley.toml:3:11: storage.redis_url: required when storage.backend = "redis")");
  // Present but invalid: only that problem is reported.
  EXPECT_EQ(errorOf("[storage]\nbackend = \"redis\"\nredis_url = \"redis://\"\n"),
            "parley.toml:3:13: storage.redis_url: missing host");
  EXPECT_EQ(errorOf("[storage]\nredis_url = \"redis://\"\nbackend = \"redis\"\n"),
            "parley.toml:2:13: storage.redis_url: missing host");
}

TEST(StorageTableErrors, RedisUrlShapeAndScheme) {
  const std::string shape = R"(expected "redis://[:password@]host[:port][/db]")";
  EXPECT_EQ(urlError(""), kUrlAt + shape);
  EXPECT_EQ(urlError("127.0.0.1:6379"), kUrlAt + shape);
  EXPECT_EQ(urlError("redis:/127.0.0.1"), kUrlAt + shape);
  EXPECT_EQ(urlError("http://127.0.0.1"), kUrlAt + R"(unsupported scheme "http" ()" + shape + ")");
  EXPECT_EQ(urlError("unix:///run/redis.sock"), kUrlAt + R"(unsupported scheme "unix" ()" + shape + ")");
  EXPECT_EQ(urlError("rediss://127.0.0.1"),
            kUrlAt + "TLS (rediss://) is not supported; use redis:// to Redis on loopback or a "
                     "trusted network");
  // Text before "://" that is not a scheme is not quoted: it may be a pasted password.
  EXPECT_EQ(urlError(":pw@x://127.0.0.1"), kUrlAt + shape);
}

TEST(StorageTableErrors, RedisUrlHostMustBeAnIpLiteral) {
  EXPECT_EQ(urlError("redis://"), kUrlAt + "missing host");
  EXPECT_EQ(urlError("redis://:6379"), kUrlAt + "missing host");
  EXPECT_EQ(urlError("redis:///0"), kUrlAt + "missing host");
  EXPECT_EQ(urlError("redis://[]:6379"), kUrlAt + "missing host");
  EXPECT_EQ(urlError("redis://localhost:6379"),
            kUrlAt + R"(host "localhost" is not an IP literal; only IP literals are accepted because name lookups would block)");
  EXPECT_EQ(urlError("redis://127.0.0.256"), kUrlAt + R"(invalid IPv4 address "127.0.0.256")");
  EXPECT_EQ(urlError("redis://127.1"), kUrlAt + R"(invalid IPv4 address "127.1")");
  EXPECT_EQ(urlError("redis://[::g]:6379"), kUrlAt + R"(invalid IPv6 address "::g")");
  EXPECT_EQ(urlError("redis://[::1:6379"), kUrlAt + "missing ']' after IPv6 address");
  EXPECT_EQ(urlError("redis://[::1]6379"),
            kUrlAt + R"(expected "redis://[:password@]host[:port][/db]")");
  EXPECT_EQ(urlError("redis://::1"),
            kUrlAt + R"(IPv6 address "::1" must be in brackets, e.g. "redis://[::1]:6379")");
}

TEST(StorageTableErrors, RedisUrlPortAndDatabase) {
  EXPECT_EQ(urlError("redis://127.0.0.1:0"), kUrlAt + R"(invalid port "0" (expected 1..65535))");
  EXPECT_EQ(urlError("redis://127.0.0.1:65536"), kUrlAt + R"(invalid port "65536" (expected 1..65535))");
  EXPECT_EQ(urlError("redis://127.0.0.1:"), kUrlAt + R"(invalid port "" (expected 1..65535))");
  EXPECT_EQ(urlError("redis://127.0.0.1:+80"), kUrlAt + R"(invalid port "+80" (expected 1..65535))");
  EXPECT_EQ(urlError("redis://[::1]:x"), kUrlAt + R"(invalid port "x" (expected 1..65535))");
  EXPECT_EQ(urlError("redis://127.0.0.1/16"), kUrlAt + R"(invalid database "16" (expected 0..15))");
  EXPECT_EQ(urlError("redis://127.0.0.1/"), kUrlAt + R"(invalid database "" (expected 0..15))");
  EXPECT_EQ(urlError("redis://127.0.0.1/-1"), kUrlAt + R"(invalid database "-1" (expected 0..15))");
  EXPECT_EQ(urlError("redis://127.0.0.1/007"), kUrlAt + R"(invalid database "007" (expected 0..15))");
  // Query parameters (timeouts, db=...) have their own keys here.
  EXPECT_EQ(urlError("redis://127.0.0.1:6379/0?timeout=1"),
            kUrlAt + R"(invalid database "0?timeout=1" (expected 0..15))");
}

TEST(StorageTableErrors, RedisUrlPasswordRules) {
  EXPECT_EQ(urlError("redis://user:pw@127.0.0.1"),
            kUrlAt + R"(only a password may precede '@', written ":password@" (user names are not supported))");
  EXPECT_EQ(urlError("redis://pw@127.0.0.1"),
            kUrlAt + R"(only a password may precede '@', written ":password@" (user names are not supported))");
  EXPECT_EQ(urlError("redis://@127.0.0.1"),
            kUrlAt + R"(only a password may precede '@', written ":password@" (user names are not supported))");
  EXPECT_EQ(urlError("redis://:@127.0.0.1"),
            kUrlAt + R"(empty password after ':'; leave out ":@" when Redis needs none)");
  const std::string badEscape = kUrlAt + "invalid %-escape in the password (expected '%' and two hex digits)";
  EXPECT_EQ(urlError("redis://:pw%zz@127.0.0.1"), badEscape);
  EXPECT_EQ(urlError("redis://:pw%4@127.0.0.1"), badEscape);
  EXPECT_EQ(urlError("redis://:pw%@127.0.0.1"), badEscape);
}

TEST(StorageTableErrors, PasswordNeverAppearsInAnError) {
  // Every kind of URL error, each with the password (or what may be one) in it.
  const std::string secret = "hunter2-secret";
  for (const std::string& url : {
           "redis://:" + secret + "@localhost",
           "redis://:" + secret + "@127.0.0.1:0",
           "redis://:" + secret + "@127.0.0.1/99",
           "redis://:" + secret + "@[::1",
           "redis://:" + secret + "%zz@127.0.0.1",
           "redis://user:" + secret + "@127.0.0.1",
           "redis://" + secret + "@127.0.0.1",
           "redis://:" + secret,            // '@' forgotten
           "redis://:" + secret + "/0",     // '@' forgotten, with a database
           "redis:/:" + secret + "@127.0.0.1",
           "http://:" + secret + "@127.0.0.1",
           "rediss://:" + secret + "@127.0.0.1",
           ":" + secret + "@127.0.0.1",
           secret,
       }) {
    const std::string e = urlError(url);
    EXPECT_NE(e, "<loaded>") << url;
    EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  }
  // Errors in other keys never show the URL either.
  const std::string other = errorOf("[storage]\nbackend = \"redis\"\nredis_url = \"redis://:" + secret +
                                    "@127.0.0.1\"\nconnect_timeout_ms = 1\n");
  EXPECT_EQ(other, "parley.toml:4:22: storage.connect_timeout_ms: 1 is out of range 50..60000");
}

TEST(StorageTableErrors, KeyPrefixRules) {
  EXPECT_EQ(errorOf("[storage]\nkey_prefix = \"\"\n"),
            R"(parley.toml:2:14: storage.key_prefix: invalid key prefix "" (expected 1..64 characters of A-Z a-z 0-9 : _ . -))");
  EXPECT_EQ(errorOf("[storage]\nkey_prefix = \"" + std::string(65, 'k') + "\"\n"),
            "parley.toml:2:14: storage.key_prefix: invalid key prefix \"" + std::string(65, 'k') +
                "\" (expected 1..64 characters of A-Z a-z 0-9 : _ . -)");
  EXPECT_EQ(errorOf("[storage]\nkey_prefix = \"parley {1}\"\n"),
            R"(parley.toml:2:14: storage.key_prefix: invalid key prefix "parley {1}" (expected 1..64 characters of A-Z a-z 0-9 : _ . -))");
  EXPECT_EQ(errorOf("[storage]\nkey_prefix = \"a\\nb\"\n"),
            R"(parley.toml:2:14: storage.key_prefix: invalid key prefix "a\x0ab" (expected 1..64 characters of A-Z a-z 0-9 : _ . -))");
}

TEST(StorageTableErrors, TimeoutRanges) {
  EXPECT_EQ(errorOf("[storage]\nconnect_timeout_ms = 49\n"),
            "parley.toml:2:22: storage.connect_timeout_ms: 49 is out of range 50..60000");
  EXPECT_EQ(errorOf("[storage]\nconnect_timeout_ms = 60001\n"),
            "parley.toml:2:22: storage.connect_timeout_ms: 60001 is out of range 50..60000");
  EXPECT_EQ(errorOf("[storage]\ncommand_timeout_ms = 9\n"),
            "parley.toml:2:22: storage.command_timeout_ms: 9 is out of range 10..60000");
  EXPECT_EQ(errorOf("[storage]\ncommand_timeout_ms = 60001\n"),
            "parley.toml:2:22: storage.command_timeout_ms: 60001 is out of range 10..60000");
}

TEST(StorageTableErrors, ReconnectBounds) {
  EXPECT_EQ(errorOf("[storage]\nreconnect_min_ms = 9\n"),
            "parley.toml:2:20: storage.reconnect_min_ms: 9 is out of range 10..60000");
  EXPECT_EQ(errorOf("[storage]\nreconnect_min_ms = 60001\n"),
            "parley.toml:2:20: storage.reconnect_min_ms: 60001 is out of range 10..60000");
  EXPECT_EQ(errorOf("[storage]\nreconnect_min_ms = 1000\nreconnect_max_ms = 999\n"),
            "parley.toml:3:20: storage.reconnect_max_ms: 999 is out of range 1000..600000");
  EXPECT_EQ(errorOf("[storage]\nreconnect_max_ms = 99\n"),
            "parley.toml:2:20: storage.reconnect_max_ms: 99 is out of range 100..600000");
  EXPECT_EQ(errorOf("[storage]\nreconnect_max_ms = 600001\n"),
            "parley.toml:2:20: storage.reconnect_max_ms: 600001 is out of range 100..600000");
  // A minimum above the default maximum must not silently invert the backoff.
  EXPECT_EQ(errorOf("[storage]\nreconnect_min_ms = 5001\n"),
            "parley.toml:2:20: storage.reconnect_min_ms: 5001 is above the default reconnect_max_ms "
            "(5000); set reconnect_max_ms too");
  EXPECT_EQ(errorOf("[storage]\nreconnect_min_ms = 5000\n"), "<loaded>");
  // With reconnect_max_ms given but invalid, only its own problem is reported.
  EXPECT_EQ(errorOf("[storage]\nreconnect_max_ms = true\nreconnect_min_ms = 6000\n"),
            "parley.toml:2:20: storage.reconnect_max_ms: expected an integer");
}

TEST(StorageTableErrors, EarliestErrorInTheTableWins) {
  EXPECT_EQ(errorOf("[storage]\nkey_prefix = \"\"\nbackend = \"disk\"\n"),
            R"(parley.toml:2:14: storage.key_prefix: invalid key prefix "" (expected 1..64 characters of A-Z a-z 0-9 : _ . -))");
}

}  // namespace
}  // namespace parley::config
