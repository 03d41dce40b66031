// [http]: defaults, every key at its bounds, every error an operator can get (file:line:column,
// key and message), and that no error ever shows a token.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "config_test_util.hpp"

#include "parley/config/config.hpp"

namespace parley::config {
namespace {

using test::errorOf;

constexpr std::string_view kToken = "0123456789abcdef";  // 16 characters: the shortest allowed

HttpConfig loadHttp(std::string_view text) {
  auto result = loadString(text, "parley.toml");
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().format());
  return result ? result->http : HttpConfig{};
}

std::string httpError(std::string_view body) { return errorOf("[http]\n" + std::string(body)); }

TEST(HttpTable, DefaultsWhenAbsent) {
  auto c = loadString("", "parley.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->http, HttpConfig{});
  EXPECT_FALSE(c->http.enabled);
  EXPECT_EQ(c->http.listen, (std::vector<HttpListenAddress>{{"127.0.0.1", 8080, false, "127.0.0.1:8080"}}));
  EXPECT_TRUE(c->http.tokens.empty());
  EXPECT_FALSE(c->http.allowAnonymousRead);
  EXPECT_EQ(c->http.maxBodyBytes, 65536u);
  EXPECT_TRUE(c->http.corsOrigins.empty());
  EXPECT_EQ(c->http.maxClients, 1000u);
  EXPECT_EQ(c->http.clientQueue, 256u);
  EXPECT_EQ(c->http.requestsPerSecond, 0u);
}

TEST(HttpTable, EmptyTableTakesDefaults) { EXPECT_EQ(loadHttp("[http]\n"), HttpConfig{}); }

TEST(HttpTable, EveryKeyIsRead) {
  const HttpConfig h = loadHttp(R"([http]
enabled = true
listen = ["0.0.0.0:80", "[::]:8443"]
allow_anonymous_read = true
max_body_bytes = 1048576
cors_origins = ["https://dash.example.com", "http://127.0.0.1:3000"]
max_clients = 100000
client_queue = 100000
requests_per_second = 1000000

[[http.tokens]]
name = "wallboard"
token = "wb-0123456789abcdef"
scopes = ["read"]

[[http.tokens]]
name = "ops.Admin_1"
token = "~!#$%&'()*+,-./:;<=>?@[\\]^_`{|}"
scopes = ["admin", "publish", "read"]
)");
  EXPECT_TRUE(h.enabled);
  EXPECT_EQ(h.listen, (std::vector<HttpListenAddress>{{"0.0.0.0", 80, false, "0.0.0.0:80"},
                                                      {"::", 8443, true, "[::]:8443"}}));
  ASSERT_EQ(h.tokens.size(), 2u);
  EXPECT_EQ(h.tokens[0], (HttpToken{"wallboard", "wb-0123456789abcdef", {true, false, false}}));
  EXPECT_EQ(h.tokens[1], (HttpToken{"ops.Admin_1", "~!#$%&'()*+,-./:;<=>?@[\\]^_`{|}", {true, true, true}}));
  EXPECT_TRUE(h.allowAnonymousRead);
  EXPECT_EQ(h.maxBodyBytes, 1048576u);
  EXPECT_EQ(h.corsOrigins, (std::vector<std::string>{"https://dash.example.com", "http://127.0.0.1:3000"}));
  EXPECT_EQ(h.maxClients, 100000u);
  EXPECT_EQ(h.clientQueue, 100000u);
  EXPECT_EQ(h.requestsPerSecond, 1000000u);
}

TEST(HttpTable, LowerBoundsAreInclusive) {
  const HttpConfig h = loadHttp(R"([http]
max_body_bytes = 256
max_clients = 1
client_queue = 1
requests_per_second = 0
)");
  EXPECT_EQ(h.maxBodyBytes, 256u);
  EXPECT_EQ(h.maxClients, 1u);
  EXPECT_EQ(h.clientQueue, 1u);
  EXPECT_EQ(h.requestsPerSecond, 0u);
}

TEST(HttpTable, EnabledWithoutTokensOrAnonymousReadIsValid) {
  // The API then answers 401 to everything but the dashboard's static files.
  const HttpConfig h = loadHttp("[http]\nenabled = true\n");
  EXPECT_TRUE(h.enabled);
  EXPECT_TRUE(h.tokens.empty());
  EXPECT_FALSE(h.allowAnonymousRead);
}

TEST(HttpTable, TokensAsInlineTables) {
  const HttpConfig h = loadHttp(
      "[http]\ntokens = [{ name = \"wallboard\", token = \"" + std::string(kToken) +
      "\", scopes = [\"read\"] }]\n");
  ASSERT_EQ(h.tokens.size(), 1u);
  EXPECT_EQ(h.tokens[0].name, "wallboard");
  EXPECT_EQ(h.tokens[0].token, kToken);
  EXPECT_EQ(h.tokens[0].scopes, (HttpScopes{true, false, false}));
  EXPECT_TRUE(loadHttp("[http]\ntokens = []\n").tokens.empty());
}

TEST(HttpTable, TokenLengthBoundsAreInclusive) {
  const std::string longest(256, 'x');
  const HttpConfig h = loadHttp("[http]\ntokens = [{ name = \"a\", token = \"" + longest +
                                "\", scopes = [\"publish\"] }]\n");
  ASSERT_EQ(h.tokens.size(), 1u);
  EXPECT_EQ(h.tokens[0].token, longest);
  EXPECT_EQ(h.tokens[0].scopes, (HttpScopes{false, true, false}));
  const std::string longestName(64, 'n');
  EXPECT_EQ(loadHttp("[http]\ntokens = [{ name = \"" + longestName + "\", token = \"" +
                     std::string(kToken) + "\", scopes = [\"admin\"] }]\n")
                .tokens.at(0)
                .name,
            longestName);
}

TEST(HttpTable, ListenAcceptsIpv6PortZeroAndEightEntries) {
  const HttpConfig h = loadHttp(
      "[http]\nlisten = [\"[0:0::1]:0\", \"127.0.0.1:0\", \"127.0.0.1:65535\", \"10.0.0.1:1\", "
      "\"10.0.0.2:1\", \"10.0.0.3:1\", \"10.0.0.4:1\", \"10.0.0.5:1\"]\n");
  ASSERT_EQ(h.listen.size(), 8u);
  EXPECT_EQ(h.listen[0], (HttpListenAddress{"::1", 0, true, "[0:0::1]:0"}));
  EXPECT_EQ(h.listen[1], (HttpListenAddress{"127.0.0.1", 0, false, "127.0.0.1:0"}));
  EXPECT_EQ(h.listen[2].port, 65535);
}

TEST(HttpTable, CorsOriginsAreStoredAsBrowsersSendThem) {
  const HttpConfig h = loadHttp(R"([http]
cors_origins = ["HTTPS://Dash.Example.COM:443", "http://localhost:80", "http://[0:0::1]:3000",
                "https://example.com:8443"]
)");
  EXPECT_EQ(h.corsOrigins,
            (std::vector<std::string>{"https://dash.example.com", "http://localhost",
                                      "http://[::1]:3000", "https://example.com:8443"}));
  EXPECT_EQ(loadHttp("[http]\ncors_origins = [\"*\"]\n").corsOrigins, std::vector<std::string>{"*"});
  EXPECT_TRUE(loadHttp("[http]\ncors_origins = []\n").corsOrigins.empty());
}

TEST(HttpTable, ValuesAreCheckedWhileDisabled) {
  EXPECT_EQ(httpError("enabled = false\nmax_clients = 0\n"),
            "parley.toml:3:15: http.max_clients: 0 is out of range 1..100000");
}

// --- errors, one per rule ---

TEST(HttpTableErrors, UnknownKeysAndWrongTypes) {
  EXPECT_EQ(httpError("port = 8080\n"), "parley.toml:2:1: http.port: unknown key");
  EXPECT_EQ(httpError("[http.extra]\n"), "parley.toml:2:7: http.extra: unknown table");
  EXPECT_EQ(errorOf("http = 1\n"), "parley.toml:1:8: http: expected a table");
  EXPECT_EQ(errorOf("[[http]]\n"), "parley.toml:1:1: http: expected a table");
  EXPECT_EQ(httpError("enabled = \"yes\"\n"), "parley.toml:2:11: http.enabled: expected a boolean");
  EXPECT_EQ(httpError("allow_anonymous_read = 1\n"),
            "parley.toml:2:24: http.allow_anonymous_read: expected a boolean");
  EXPECT_EQ(httpError("listen = \"127.0.0.1:8080\"\n"),
            "parley.toml:2:10: http.listen: expected an array of strings");
  EXPECT_EQ(httpError("cors_origins = [1]\n"), "parley.toml:2:17: http.cors_origins[0]: expected a string");
  EXPECT_EQ(httpError("max_body_bytes = \"64k\"\n"),
            "parley.toml:2:18: http.max_body_bytes: expected an integer");
}

TEST(HttpTableErrors, NumbersPastTheirBounds) {
  EXPECT_EQ(httpError("max_body_bytes = 255\n"),
            "parley.toml:2:18: http.max_body_bytes: 255 is out of range 256..1048576");
  EXPECT_EQ(httpError("max_body_bytes = 1048577\n"),
            "parley.toml:2:18: http.max_body_bytes: 1048577 is out of range 256..1048576");
  EXPECT_EQ(httpError("max_clients = 0\n"), "parley.toml:2:15: http.max_clients: 0 is out of range 1..100000");
  EXPECT_EQ(httpError("max_clients = 100001\n"),
            "parley.toml:2:15: http.max_clients: 100001 is out of range 1..100000");
  EXPECT_EQ(httpError("client_queue = 0\n"), "parley.toml:2:16: http.client_queue: 0 is out of range 1..100000");
  EXPECT_EQ(httpError("client_queue = 100001\n"),
            "parley.toml:2:16: http.client_queue: 100001 is out of range 1..100000");
  EXPECT_EQ(httpError("requests_per_second = -1\n"),
            "parley.toml:2:23: http.requests_per_second: -1 is out of range 0..1000000");
  EXPECT_EQ(httpError("requests_per_second = 1000001\n"),
            "parley.toml:2:23: http.requests_per_second: 1000001 is out of range 0..1000000");
}

TEST(HttpTableErrors, ListenMustBeIpLiteralsAndPorts) {
  const auto listenError = [](std::string_view value) {
    return httpError("listen = [\"" + std::string(value) + "\"]\n");
  };
  const std::string at = "parley.toml:2:11: http.listen[0]: ";
  const std::string shape = R"(expected "<IP>:<port>", e.g. "127.0.0.1:8080" or "[::1]:8080")";
  EXPECT_EQ(listenError("localhost:8080"),
            at + R"(host "localhost" is not an IP literal; only IP literals are accepted because name lookups would block)");
  EXPECT_EQ(listenError("127.0.0.1"), at + shape);
  EXPECT_EQ(listenError("[::1]8080"), at + shape);
  EXPECT_EQ(listenError("[::1"), at + "missing ']' after IPv6 address");
  EXPECT_EQ(listenError("::1:8080"), at + R"(IPv6 address "::1" must be in brackets, e.g. "[::1]:8080")");
  EXPECT_EQ(listenError(":8080"), at + "missing host");
  EXPECT_EQ(listenError("[]:8080"), at + "missing host");
  EXPECT_EQ(listenError("127.0.0.256:8080"), at + R"(invalid IPv4 address "127.0.0.256")");
  EXPECT_EQ(listenError("[::g]:8080"), at + R"(invalid IPv6 address "::g")");
  EXPECT_EQ(listenError("[127.0.0.1]:8080"), at + R"(invalid IPv6 address "127.0.0.1")");
  EXPECT_EQ(listenError("127.0.0.1:65536"), at + R"(invalid port "65536" (expected 0..65535))");
  EXPECT_EQ(listenError("127.0.0.1:"), at + R"(invalid port "" (expected 0..65535))");
  EXPECT_EQ(listenError("127.0.0.1:-1"), at + R"(invalid port "-1" (expected 0..65535))");
  EXPECT_EQ(listenError("127.0.0.1:00"), at + R"(invalid port "00" (expected 0..65535))");
}

TEST(HttpTableErrors, ListenCountAndDuplicates) {
  EXPECT_EQ(httpError("listen = []\n"), "parley.toml:2:10: http.listen: must list at least one address");
  std::string nine = "listen = [";
  for (int i = 1; i <= 9; ++i) nine += "\"10.0.0." + std::to_string(i) + ":80\", ";
  nine += "]\n";
  EXPECT_EQ(httpError(nine), "parley.toml:2:10: http.listen: lists 9 addresses; at most 8 are allowed");
  // Canonical hosts: the same socket however it is written.
  EXPECT_EQ(httpError("listen = [\"[::1]:8080\", \"[0::1]:8080\"]\n"),
            R"(parley.toml:2:25: http.listen[1]: duplicate listen address "[0::1]:8080")");
  EXPECT_EQ(httpError("listen = [\"127.0.0.1:0\", \"127.0.0.1:0\"]\n"),
            R"(parley.toml:2:26: http.listen[1]: duplicate listen address "127.0.0.1:0")");
  // Same port on another address is another socket.
  EXPECT_EQ(httpError("listen = [\"127.0.0.1:8080\", \"[::1]:8080\"]\n"), "<loaded>");
}

TEST(HttpTableErrors, TokensMustBeAnArrayOfTables) {
  EXPECT_EQ(httpError("tokens = \"abc\"\n"), "parley.toml:2:10: http.tokens: expected an array of tables");
  EXPECT_EQ(httpError("[http.tokens]\nname = \"a\"\n"),
            "parley.toml:2:1: http.tokens: expected an array of tables");
  EXPECT_EQ(httpError("tokens = [\"abc\"]\n"), "parley.toml:2:11: http.tokens[0]: expected a table");
}

TEST(HttpTableErrors, TokenEntryKeys) {
  EXPECT_EQ(httpError("tokens = [{ name = \"a\", scopes = [\"read\"] }]\n"),
            "parley.toml:2:11: http.tokens[0].token: required");
  EXPECT_EQ(httpError("tokens = [{ token = \"" + std::string(kToken) + "\", scopes = [\"read\"] }]\n"),
            "parley.toml:2:11: http.tokens[0].name: required");
  EXPECT_EQ(httpError("tokens = [{ name = \"a\", token = \"" + std::string(kToken) + "\" }]\n"),
            "parley.toml:2:11: http.tokens[0].scopes: required");
  // A [[http.tokens]] block is blamed at its header.
  EXPECT_EQ(httpError("\n[[http.tokens]]\nname = \"a\"\nscopes = [\"read\"]\n"),
            "parley.toml:3:1: http.tokens[0].token: required");
  EXPECT_EQ(httpError("\n[[http.tokens]]\nname = \"a\"\ntoken = \"" + std::string(kToken) +
                      "\"\nscopes = [\"read\"]\nscope = [\"admin\"]\n"),
            "parley.toml:7:1: http.tokens[0].scope: unknown key");
  EXPECT_EQ(httpError("tokens = [{ name = 1, token = \"" + std::string(kToken) + "\", scopes = [\"read\"] }]\n"),
            "parley.toml:2:20: http.tokens[0].name: expected a string");
}

TEST(HttpTableErrors, TokenNameRules) {
  const auto nameError = [](std::string_view name) {
    return httpError("tokens = [{ name = \"" + std::string(name) + "\", token = \"" + std::string(kToken) +
                     "\", scopes = [\"read\"] }]\n");
  };
  const std::string at = "parley.toml:2:20: http.tokens[0].name: ";
  const std::string alphabet = " (expected 1..64 characters of A-Z a-z 0-9 . _ -)";
  EXPECT_EQ(nameError(""), at + R"(invalid token name "")" + alphabet);
  EXPECT_EQ(nameError(std::string(65, 'n')),
            at + "invalid token name \"" + std::string(65, 'n') + "\"" + alphabet);
  EXPECT_EQ(nameError("wall board"), at + R"(invalid token name "wall board")" + alphabet);
  EXPECT_EQ(nameError("wall/board"), at + R"(invalid token name "wall/board")" + alphabet);

  EXPECT_EQ(httpError("tokens = [\n  { name = \"a\", token = \"aaaaaaaaaaaaaaaa\", scopes = [\"read\"] },\n"
                      "  { name = \"a\", token = \"bbbbbbbbbbbbbbbb\", scopes = [\"read\"] },\n]\n"),
            R"(parley.toml:4:12: http.tokens[1].name: duplicate token name "a")");
}

TEST(HttpTableErrors, ScopeRules) {
  const auto scopesError = [](std::string_view scopes) {
    return httpError("tokens = [{ name = \"a\", token = \"" + std::string(kToken) + "\", scopes = " +
                     std::string(scopes) + " }]\n");
  };
  EXPECT_EQ(scopesError("[]"), "parley.toml:2:62: http.tokens[0].scopes: must list at least one scope");
  EXPECT_EQ(scopesError("\"read\""), "parley.toml:2:62: http.tokens[0].scopes: expected an array of strings");
  EXPECT_EQ(scopesError("[\"read\", \"write\"]"),
            R"(parley.toml:2:71: http.tokens[0].scopes[1]: unknown scope "write" (expected read|publish|admin))");
  // Case-sensitive, like the other enumerations read by the API.
  EXPECT_EQ(scopesError("[\"Read\"]"),
            R"(parley.toml:2:63: http.tokens[0].scopes[0]: unknown scope "Read" (expected read|publish|admin))");
  EXPECT_EQ(scopesError("[\"read\", \"admin\", \"read\"]"),
            R"(parley.toml:2:80: http.tokens[0].scopes[2]: duplicate scope "read")");
}

TEST(HttpTableErrors, TokenRules) {
  const auto tokenError = [](std::string_view token) {
    return httpError("tokens = [{ name = \"a\", token = \"" + std::string(token) +
                     "\", scopes = [\"read\"] }]\n");
  };
  const std::string at = "parley.toml:2:33: http.tokens[0].token: ";
  EXPECT_EQ(tokenError("0123456789abcde"), at + "shorter than 16 characters");
  EXPECT_EQ(tokenError(""), at + "shorter than 16 characters");
  EXPECT_EQ(tokenError(std::string(257, 't')), at + "longer than 256 characters");
  EXPECT_EQ(tokenError("0123456789 abcdef"),
            at + "only printable ASCII characters other than space are allowed");
  EXPECT_EQ(tokenError("0123456789\\tabcdef"),
            at + "only printable ASCII characters other than space are allowed");
  EXPECT_EQ(tokenError("0123456789abcdef\\u00e9"),
            at + "only printable ASCII characters other than space are allowed");
  EXPECT_EQ(tokenError("0123456789abcdef\\u007f"),
            at + "only printable ASCII characters other than space are allowed");
  EXPECT_EQ(httpError("tokens = [{ name = \"a\", token = 1234567890123456789, scopes = [\"read\"] }]\n"),
            "parley.toml:2:33: http.tokens[0].token: expected a string");

  // Unique: blamed on the later entry, naming the earlier one's key.
  EXPECT_EQ(httpError("\n[[http.tokens]]\nname = \"a\"\ntoken = \"" + std::string(kToken) +
                      "\"\nscopes = [\"read\"]\n\n[[http.tokens]]\nname = \"b\"\ntoken = \"" +
                      std::string(kToken) + "\"\nscopes = [\"admin\"]\n"),
            "parley.toml:10:9: http.tokens[1].token: same token as http.tokens[0].token");
}

TEST(HttpTableErrors, TokenNeverAppearsInAnError) {
  // Every token error, each with a recognisable secret in the token.
  const std::string secret = "hunter2-secret";
  const std::vector<std::string> configs = {
      // too short, too long, a space, a control byte, non-ASCII
      "tokens = [{ name = \"a\", token = \"hunter2\", scopes = [\"read\"] }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + std::string(250, 'x') + "\", scopes = [\"read\"] }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + " with space\", scopes = [\"read\"] }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + "\\n-newline\", scopes = [\"read\"] }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + "-\\u00e9t\\u00e9\", scopes = [\"read\"] }]\n",
      // duplicate token
      "tokens = [{ name = \"a\", token = \"" + secret + "-0001\", scopes = [\"read\"] },\n"
      "          { name = \"b\", token = \"" + secret + "-0001\", scopes = [\"read\"] }]\n",
      // errors in the other keys of an entry with a valid token, and elsewhere in the table
      "tokens = [{ name = \"a b\", token = \"" + secret + "-0001\", scopes = [\"read\"] }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + "-0001\", scopes = [\"all\"] }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + "-0001\" }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + "-0001\", scopes = [\"read\"], extra = 1 }]\n",
      "tokens = [{ name = \"a\", token = \"" + secret + "-0001\", scopes = [\"read\"] }]\nmax_clients = 0\n",
  };
  for (const std::string& config : configs) {
    const std::string e = httpError(config);
    EXPECT_NE(e, "<loaded>") << config;
    EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  }
}

TEST(HttpTableErrors, CorsOriginRules) {
  const auto originError = [](std::string_view origin) {
    return httpError("cors_origins = [\"" + std::string(origin) + "\"]\n");
  };
  const std::string at = "parley.toml:2:17: http.cors_origins[0]: ";
  const std::string shape =
      R"(expected "<scheme>://<host>[:<port>]", e.g. "https://dash.example.com", or "*")";
  EXPECT_EQ(originError("dash.example.com"), at + R"(invalid origin "dash.example.com": )" + shape);
  EXPECT_EQ(originError("null"), at + R"(invalid origin "null": )" + shape);
  EXPECT_EQ(originError("ftp://example.com"),
            at + R"(invalid origin "ftp://example.com": unsupported scheme "ftp" (expected http or https))");
  EXPECT_EQ(originError("https://example.com/"),
            at + R"(invalid origin "https://example.com/": an origin has no path, query or fragment (not even a trailing '/'))");
  EXPECT_EQ(originError("https://example.com/dash"),
            at + R"(invalid origin "https://example.com/dash": an origin has no path, query or fragment (not even a trailing '/'))");
  EXPECT_EQ(originError("https://example.com?x=1"),
            at + R"(invalid origin "https://example.com?x=1": an origin has no path, query or fragment (not even a trailing '/'))");
  EXPECT_EQ(originError("https://user@example.com"),
            at + R"(invalid origin "https://user@example.com": an origin has no user name or password)");
  EXPECT_EQ(originError("https://"), at + R"(invalid origin "https://": missing host)");
  EXPECT_EQ(originError("https://:443"), at + R"(invalid origin "https://:443": missing host)");
  EXPECT_EQ(originError("https://dash_board.example.com"),
            at + R"(invalid origin "https://dash_board.example.com": invalid domain "dash_board.example.com": only letters, digits, '-' and '.' are allowed)");
  EXPECT_EQ(originError("http://127.0.0.256"),
            at + R"(invalid origin "http://127.0.0.256": invalid IPv4 address "127.0.0.256")");
  EXPECT_EQ(originError("http://[::g]:3000"),
            at + R"(invalid origin "http://[::g]:3000": invalid IPv6 address "::g")");
  EXPECT_EQ(originError("http://[::1"), at + R"(invalid origin "http://[::1": missing ']' after IPv6 address)");
  EXPECT_EQ(originError("http://[::1]3000"), at + R"(invalid origin "http://[::1]3000": )" + shape);
  EXPECT_EQ(originError("http://example.com:0"),
            at + R"(invalid origin "http://example.com:0": invalid port "0" (expected 1..65535))");
  EXPECT_EQ(originError("http://example.com:"),
            at + R"(invalid origin "http://example.com:": invalid port "" (expected 1..65535))");
  EXPECT_EQ(originError("http://example.com:65536"),
            at + R"(invalid origin "http://example.com:65536": invalid port "65536" (expected 1..65535))");
  EXPECT_EQ(originError("**"), at + R"(invalid origin "**": )" + shape);

  // Duplicates after normalisation, and "*" next to other origins.
  EXPECT_EQ(httpError("cors_origins = [\"https://a.example\", \"HTTPS://A.example:443\"]\n"),
            R"(parley.toml:2:38: http.cors_origins[1]: duplicate origin "https://a.example")");
  EXPECT_EQ(httpError("cors_origins = [\"*\", \"*\"]\n"),
            R"(parley.toml:2:22: http.cors_origins[1]: duplicate origin "*")");
  EXPECT_EQ(httpError("cors_origins = [\"https://a.example\", \"*\"]\n"),
            R"(parley.toml:2:16: http.cors_origins: "*" allows every origin; list it alone)");
}

TEST(HttpTableErrors, EarliestErrorInTheFileIsReported) {
  EXPECT_EQ(httpError("max_clients = 0\nlisten = [\"localhost:80\"]\n"),
            "parley.toml:2:15: http.max_clients: 0 is out of range 1..100000");
}

}  // namespace
}  // namespace parley::config
