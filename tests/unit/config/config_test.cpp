// loadString/loadFile: defaults, the example file, and the exact text and position of every
// error an operator can get from parley.toml.
#include "parley/config/config.hpp"

#include <gtest/gtest.h>

#include "config_test_util.hpp"

#include <string>
#include <string_view>

namespace parley::config {
namespace {

using namespace std::chrono_literals;

using test::errorOf;

Config load(std::string_view text) {
  auto result = loadString(text, "parley.toml");
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().format());
  if (!result) return Config{};
  return *std::move(result);
}

TEST(ConfigLoad, ExampleFileLoadsWithDefaultValues) {
  const std::string path = std::string(PARLEY_FIXTURES_DIR) + "/../../config/parley.example.toml";
  auto result = loadFile(path);
  ASSERT_TRUE(result.has_value()) << result.error().format();
  EXPECT_EQ(result->sourcePath, path);
  Config expected;
  expected.sourcePath = path;
  EXPECT_EQ(*result, expected);  // the example documents the defaults
  EXPECT_EQ(result->sip.domains, std::vector<std::string>{"sip.localhost"});
  EXPECT_EQ(result->node.logLevel, LogLevel::Info);
}

TEST(ConfigLoad, EmptyFileTakesAllDefaults) {
  const Config config = load("");
  EXPECT_EQ(config.sourcePath, "parley.toml");
  EXPECT_EQ(config.node.id, "parley-1");
  EXPECT_EQ(config.node.logLevel, LogLevel::Info);
  EXPECT_EQ(config.node.logFormat, LogFormat::Text);
  EXPECT_EQ(config.node.shutdownTimeout, 5s);
  EXPECT_EQ(config.sip.domains, std::vector<std::string>{"sip.localhost"});
  ASSERT_EQ(config.sip.listen.size(), 2u);
  EXPECT_EQ(config.sip.listen[0], (ListenAddress{Transport::Udp, "127.0.0.1", 5060, false,
                                                 "udp:127.0.0.1:5060"}));
  EXPECT_EQ(config.sip.listen[1], (ListenAddress{Transport::Tcp, "127.0.0.1", 5060, false,
                                                 "tcp:127.0.0.1:5060"}));
  EXPECT_EQ(config.sip.maxMessageBytes, 65535u);
  EXPECT_EQ(config.sip.tcpIdleTimeout, 300s);
  EXPECT_EQ(config.sip.maxTcpConnections, 4096u);
  EXPECT_EQ(config.sip.maxHeaders, 128u);
  EXPECT_EQ(config.sip.maxLineBytes, 8192u);
}

TEST(ConfigLoad, MissingKeysInAPresentTableTakeDefaults) {
  const Config config = load("[sip]\nmax_headers = 64\n");
  EXPECT_EQ(config.sip.maxHeaders, 64u);
  EXPECT_EQ(config.sip.maxMessageBytes, 65535u);
  EXPECT_EQ(config.sip.listen.size(), 2u);
  EXPECT_EQ(config.node, NodeConfig{});
}

TEST(ConfigLoad, EveryKeyIsRead) {
  const Config config = load(R"([node]
id = "edge-2.eu_west"
log_level = "DEBUG"
log_format = "json"
shutdown_timeout = 0

[sip]
domains = ["Example.COM", "sip.example.org"]
listen = ["TCP:10.0.0.1:0", "udp:[::1]:5070"]
max_message_bytes = 1024
tcp_idle_timeout = 86400
max_tcp_connections = 1000000
max_headers = 1024
max_line_bytes = 256
)");
  EXPECT_EQ(config.node.id, "edge-2.eu_west");
  EXPECT_EQ(config.node.logLevel, LogLevel::Debug);
  EXPECT_EQ(config.node.logFormat, LogFormat::Json);
  EXPECT_EQ(config.node.shutdownTimeout, 0s);
  EXPECT_EQ(config.sip.domains, (std::vector<std::string>{"example.com", "sip.example.org"}));
  ASSERT_EQ(config.sip.listen.size(), 2u);
  EXPECT_EQ(config.sip.listen[0], (ListenAddress{Transport::Tcp, "10.0.0.1", 0, false,
                                                 "TCP:10.0.0.1:0"}));
  EXPECT_EQ(config.sip.listen[1], (ListenAddress{Transport::Udp, "::1", 5070, true,
                                                 "udp:[::1]:5070"}));
  EXPECT_EQ(config.sip.maxMessageBytes, 1024u);
  EXPECT_EQ(config.sip.tcpIdleTimeout, 86400s);
  EXPECT_EQ(config.sip.maxTcpConnections, 1000000u);
  EXPECT_EQ(config.sip.maxHeaders, 1024u);
  EXPECT_EQ(config.sip.maxLineBytes, 256u);
}

TEST(ConfigLoad, DottedKeysAtTheRootWork) {
  const Config config = load("sip.max_headers = 9\nnode.id = \"n\"\n");
  EXPECT_EQ(config.sip.maxHeaders, 9u);
  EXPECT_EQ(config.node.id, "n");
}

TEST(ConfigErrors, MatchesTheDocumentedExampleExactly) {
  EXPECT_EQ(errorOf(R"(# Parley
[node]
id = "parley-1"


[sip]
domains = ["sip.localhost"]


listen = [
        "udp:127.0.0.1:5060",
        "sctp:127.0.0.1:5060",
]
)"),
            R"(parley.toml:12:9: sip.listen[1]: unknown transport "sctp")");
}

TEST(ConfigErrors, UnknownKeyNamesTheKeyAtItsPosition) {
  EXPECT_EQ(errorOf("[node]\n  idd = \"x\"\n"), "parley.toml:2:3: node.idd: unknown key");
  EXPECT_EQ(errorOf("[sip]\nmax_header = 12\n"), "parley.toml:2:1: sip.max_header: unknown key");
  EXPECT_EQ(errorOf("log_level = \"info\"\n"), "parley.toml:1:1: log_level: unknown key");
  EXPECT_EQ(errorOf("[node]\n\"odd key\" = 1\n"), R"(parley.toml:2:1: node."odd key": unknown key)");
}

TEST(ConfigErrors, UnknownTablesAreRejected) {
  EXPECT_EQ(errorOf("[node]\nid = \"a\"\n\n[metrics]\nx = 1\n"),
            "parley.toml:4:2: metrics: unknown table");
  EXPECT_EQ(errorOf("[sip]\n[sip.extra]\n"), "parley.toml:2:6: sip.extra: unknown table");
  EXPECT_EQ(errorOf("[[metrics]]\nx = 1\n"), "parley.toml:1:3: metrics: unknown table");
}

TEST(ConfigErrors, WrongTypesAreReported) {
  EXPECT_EQ(errorOf("[sip]\nmax_message_bytes = \"big\"\n"),
            "parley.toml:2:21: sip.max_message_bytes: expected an integer");
  EXPECT_EQ(errorOf("[sip]\nmax_message_bytes = 2048.0\n"),
            "parley.toml:2:21: sip.max_message_bytes: expected an integer");
  EXPECT_EQ(errorOf("[node]\nshutdown_timeout = true\n"),
            "parley.toml:2:20: node.shutdown_timeout: expected an integer");
  EXPECT_EQ(errorOf("[node]\nid = 7\n"), "parley.toml:2:6: node.id: expected a string");
  EXPECT_EQ(errorOf("[sip]\ndomains = \"sip.localhost\"\n"),
            "parley.toml:2:11: sip.domains: expected an array of strings");
  EXPECT_EQ(errorOf("[sip]\nlisten = [\"udp:127.0.0.1:5060\", 5060]\n"),
            "parley.toml:2:33: sip.listen[1]: expected a string");
  EXPECT_EQ(errorOf("node = 5\n"), "parley.toml:1:8: node: expected a table");
  EXPECT_EQ(errorOf("node = [1]\n"), "parley.toml:1:8: node: expected a table");
}

TEST(ConfigErrors, OutOfRangeNumbersNameTheRange) {
  EXPECT_EQ(errorOf("[sip]\nmax_message_bytes = 1023\n"),
            "parley.toml:2:21: sip.max_message_bytes: 1023 is out of range 1024..1048576");
  EXPECT_EQ(errorOf("[sip]\nmax_message_bytes = 1048577\n"),
            "parley.toml:2:21: sip.max_message_bytes: 1048577 is out of range 1024..1048576");
  EXPECT_EQ(errorOf("[sip]\ntcp_idle_timeout = 0\n"),
            "parley.toml:2:20: sip.tcp_idle_timeout: 0 is out of range 1..86400");
  EXPECT_EQ(errorOf("[sip]\nmax_tcp_connections = 1000001\n"),
            "parley.toml:2:23: sip.max_tcp_connections: 1000001 is out of range 1..1000000");
  EXPECT_EQ(errorOf("[sip]\nmax_headers = 7\n"),
            "parley.toml:2:15: sip.max_headers: 7 is out of range 8..1024");
  EXPECT_EQ(errorOf("[sip]\nmax_line_bytes = 65536\n"),
            "parley.toml:2:18: sip.max_line_bytes: 65536 is out of range 256..65535");
  EXPECT_EQ(errorOf("[node]\nshutdown_timeout = -1\n"),
            "parley.toml:2:20: node.shutdown_timeout: -1 is out of range 0..60");
  EXPECT_EQ(errorOf("[node]\nshutdown_timeout = 61\n"),
            "parley.toml:2:20: node.shutdown_timeout: 61 is out of range 0..60");
}

TEST(ConfigErrors, NodeValuesAreValidated) {
  EXPECT_EQ(errorOf("[node]\nid = \"\"\n"),
            R"(parley.toml:2:6: node.id: invalid node id "" (expected 1..64 characters of A-Z a-z 0-9 . _ -))");
  EXPECT_EQ(errorOf("[node]\nid = \"a b\"\n"),
            R"(parley.toml:2:6: node.id: invalid node id "a b" (expected 1..64 characters of A-Z a-z 0-9 . _ -))");
  EXPECT_EQ(errorOf("[node]\nid = \"" + std::string(65, 'x') + "\"\n").substr(0, 34),
            "parley.toml:2:6: node.id: invalid ");
  EXPECT_EQ(load("[node]\nid = \"" + std::string(64, 'x') + "\"\n").node.id, std::string(64, 'x'));
  EXPECT_EQ(errorOf("[node]\nlog_level = \"verbose\"\n"),
            R"(parley.toml:2:13: node.log_level: unknown log level "verbose" (expected trace|debug|info|warn|error))");
  EXPECT_EQ(errorOf("[node]\nlog_format = \"xml\"\n"),
            R"(parley.toml:2:14: node.log_format: unknown log format "xml" (expected text|json))");
}

TEST(ConfigErrors, EmptyListsAreRejected) {
  EXPECT_EQ(errorOf("[sip]\ndomains = []\n"),
            "parley.toml:2:11: sip.domains: must list at least one domain");
  EXPECT_EQ(errorOf("[sip]\nlisten = []\n"),
            "parley.toml:2:10: sip.listen: must list at least one address");
}

TEST(ConfigErrors, DomainsMustBeDnsHostNames) {
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"a..b\"]\n"),
            R"(parley.toml:2:12: sip.domains[0]: invalid domain "a..b": empty label)");
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"sip.localhost.\"]\n"),
            R"(parley.toml:2:12: sip.domains[0]: invalid domain "sip.localhost.": empty label)");
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"\"]\n"),
            R"(parley.toml:2:12: sip.domains[0]: invalid domain "": empty label)");
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"ok.example\", \"bad_name.example\"]\n"),
            R"(parley.toml:2:26: sip.domains[1]: invalid domain "bad_name.example": only letters, digits, '-' and '.' are allowed)");
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"-a.example\"]\n"),
            R"(parley.toml:2:12: sip.domains[0]: invalid domain "-a.example": a label may not start or end with '-')");
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"" + std::string(64, 'a') + ".example\"]\n").substr(0, 50),
            "parley.toml:2:12: sip.domains[0]: invalid domain \"");
  std::string longName;
  for (int i = 0; i < 4; ++i) longName += std::string(63, 'a') + ".";
  longName += "ab";  // 258 characters
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"" + longName + "\"]\n"),
            "parley.toml:2:12: sip.domains[0]: invalid domain \"" + longName +
                "\": longer than 253 characters");
}

TEST(ConfigErrors, DuplicateDomainsCompareCaseInsensitively) {
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"sip.localhost\", \"SIP.Localhost\"]\n"),
            R"(parley.toml:2:29: sip.domains[1]: duplicate domain "sip.localhost")");
}

TEST(ConfigErrors, ListenEntriesAreValidated) {
  const auto listenError = [](std::string_view entry) {
    return errorOf("[sip]\nlisten = [\"" + std::string(entry) + "\"]\n");
  };
  EXPECT_EQ(listenError("sctp:127.0.0.1:5060"),
            R"(parley.toml:2:11: sip.listen[0]: unknown transport "sctp")");
  EXPECT_EQ(listenError("udp:localhost:5060"),
            R"(parley.toml:2:11: sip.listen[0]: host "localhost" is not an IP literal; only IP literals are accepted because name lookups would block)");
  EXPECT_EQ(listenError("udp:256.0.0.1:5060"),
            R"(parley.toml:2:11: sip.listen[0]: invalid IPv4 address "256.0.0.1")");
  EXPECT_EQ(listenError("udp:[::g]:5060"),
            R"(parley.toml:2:11: sip.listen[0]: invalid IPv6 address "::g")");
  EXPECT_EQ(listenError("udp:::1:5060"),
            R"(parley.toml:2:11: sip.listen[0]: IPv6 address "::1" must be in brackets, e.g. "udp:[::1]:5060")");
  EXPECT_EQ(listenError("udp:127.0.0.1:65536"),
            R"(parley.toml:2:11: sip.listen[0]: invalid port "65536" (expected 0..65535))");
  EXPECT_EQ(listenError("udp:127.0.0.1"),
            R"(parley.toml:2:11: sip.listen[0]: expected "<transport>:<host>:<port>", e.g. "udp:127.0.0.1:5060")");
}

TEST(ConfigErrors, DuplicateListenEntriesAreRejected) {
  EXPECT_EQ(errorOf("[sip]\nlisten = [\"udp:127.0.0.1:5060\", \"UDP:127.0.0.1:5060\"]\n"),
            R"(parley.toml:2:33: sip.listen[1]: duplicate listen address "UDP:127.0.0.1:5060")");
  EXPECT_EQ(errorOf("[sip]\nlisten = [\"tcp:[::1]:5060\", \"tcp:[0::1]:5060\"]\n"),
            R"(parley.toml:2:29: sip.listen[1]: duplicate listen address "tcp:[0::1]:5060")");
  // Same address and port on different transports are different sockets.
  EXPECT_EQ(load("[sip]\nlisten = [\"udp:127.0.0.1:5060\", \"tcp:127.0.0.1:5060\"]\n").sip.listen.size(),
            2u);
}

TEST(ConfigLoad, PortZeroMeansPickAFreePort) {
  const Config config = load("[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n");
  ASSERT_EQ(config.sip.listen.size(), 1u);
  EXPECT_EQ(config.sip.listen[0].port, 0u);
}

TEST(ConfigLoad, Ipv6ListenAddressIsParsed) {
  const Config config = load("[sip]\nlisten = [\"udp:[::1]:5060\", \"tcp:[::1]:5061\"]\n");
  ASSERT_EQ(config.sip.listen.size(), 2u);
  EXPECT_EQ(config.sip.listen[0], (ListenAddress{Transport::Udp, "::1", 5060, true,
                                                 "udp:[::1]:5060"}));
  EXPECT_EQ(config.sip.listen[1].transport, Transport::Tcp);
  EXPECT_EQ(config.sip.listen[1].port, 5061u);
}

TEST(ConfigErrors, TomlSyntaxErrorCarriesPosition) {
  // toml++ points at the newline where the value should have been.
  const std::string error = errorOf("[node]\nid = \n");
  EXPECT_EQ(error.rfind("parley.toml:2:6: ", 0), 0u) << error;
  EXPECT_NE(error.find("expected value"), std::string::npos) << error;

  auto result = loadString("[sip]\nmax_headers = 10\nmax_headers = 11\n", "parley.toml");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().line, 3);
  EXPECT_EQ(result.error().column, 15);
  EXPECT_EQ(result.error().key, "");
  EXPECT_NE(result.error().message.find("redefine"), std::string::npos);
}

TEST(ConfigErrors, EarliestErrorInTheFileIsReported) {
  // toml++ iterates keys sorted; the report must still follow the file.
  EXPECT_EQ(errorOf("[sip]\nmax_line_bytes = 1\nlisten = []\n[node]\nzz = 1\naa = 2\n"),
            "parley.toml:2:18: sip.max_line_bytes: 1 is out of range 256..65535");
  EXPECT_EQ(errorOf("[node]\nzz = 1\naa = 2\n"), "parley.toml:2:1: node.zz: unknown key");
}

TEST(ConfigErrors, ValuesInMessagesAreEscaped) {
  EXPECT_EQ(errorOf("[node]\nlog_level = \"a\\nb\\\"\"\n"),
            R"(parley.toml:2:13: node.log_level: unknown log level "a\x0ab\"" (expected trace|debug|info|warn|error))");
}

TEST(ConfigLoadFile, MissingFileIsAnErrorWithoutPosition) {
  auto result = loadFile("/nonexistent/parley.toml");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().format(),
            "/nonexistent/parley.toml: cannot read file: No such file or directory");
}

TEST(ConfigLoadFile, DirectoryIsRejected) {
  auto result = loadFile("/");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().format(), "/: cannot read file: not a regular file");
}

TEST(ConfigError, FormatLeavesOutMissingParts) {
  EXPECT_EQ((ConfigError{"p.toml", 3, 7, "sip.listen[1]", "boom"}).format(),
            "p.toml:3:7: sip.listen[1]: boom");
  EXPECT_EQ((ConfigError{"p.toml", 3, 7, "", "boom"}).format(), "p.toml:3:7: boom");
  EXPECT_EQ((ConfigError{"p.toml", 0, 0, "node.id", "boom"}).format(), "p.toml: node.id: boom");
  EXPECT_EQ((ConfigError{"p.toml", 0, 0, "", "boom"}).format(), "p.toml: boom");
}

TEST(ConfigNames, LogLevelAndFormatRoundTrip) {
  for (LogLevel level : {LogLevel::Trace, LogLevel::Debug, LogLevel::Info, LogLevel::Warn,
                         LogLevel::Error}) {
    EXPECT_EQ(parseLogLevel(toString(level)), level);
  }
  EXPECT_EQ(toString(LogLevel::Warn), "warn");
  EXPECT_EQ(parseLogLevel("Error"), LogLevel::Error);
  EXPECT_EQ(parseLogLevel("warning"), std::nullopt);
  EXPECT_EQ(toString(LogFormat::Json), "json");
  EXPECT_EQ(parseLogFormat("TEXT"), LogFormat::Text);
  EXPECT_EQ(parseLogFormat("yaml"), std::nullopt);
  EXPECT_EQ(toString(Transport::Tcp), "tcp");
}

}  // namespace
}  // namespace parley::config
