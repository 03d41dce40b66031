// [xmpp]: defaults, every key, every error an operator can get (file:line:column, key and
// message), and the checks against [sip].
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config_test_util.hpp"

#include "parley/config/config.hpp"

namespace parley::config {
namespace {
using namespace std::chrono_literals;

using test::errorOf;

XmppConfig loadXmpp(std::string_view text) {
  auto result = loadString(text, "parley.toml");
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().format());
  return result ? result->xmpp : XmppConfig{};
}

TEST(XmppTable, DefaultsWhenAbsent) {
  auto c = loadString("", "parley.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->xmpp, XmppConfig{});
  EXPECT_FALSE(c->xmpp.enabled);
  EXPECT_EQ(c->xmpp.componentDomain, "sip.localhost");
  EXPECT_EQ(c->xmpp.sipDomain, "sip.localhost");
  EXPECT_EQ(c->xmpp.serverHost, "127.0.0.1");
  EXPECT_EQ(c->xmpp.serverPort, 5347);
  EXPECT_EQ(c->xmpp.secret, "");
  EXPECT_EQ(c->xmpp.domains, std::vector<std::string>{"localhost"});
  EXPECT_EQ(c->xmpp.reconnectMin, 500ms);
  EXPECT_EQ(c->xmpp.reconnectMax, 30000ms);
  EXPECT_EQ(c->xmpp.maxQueuedStanzas, 10000u);
  EXPECT_EQ(c->xmpp.maxMessageBytes, 1300u);
  EXPECT_EQ(c->xmpp.messageType, "chat");
  EXPECT_EQ(c->xmpp.keepalive, 60s);
}

TEST(XmppTable, EmptyTableTakesDefaults) { EXPECT_EQ(loadXmpp("[xmpp]\n"), XmppConfig{}); }

TEST(XmppTable, EveryKeyIsRead) {
  const XmppConfig x = loadXmpp(R"([sip]
domains = ["example.com", "sip.example.org"]

[xmpp]
enabled = true
component_domain = "SIP.Example.COM"
sip_domain = "Sip.Example.Org"
server = "10.1.2.3:5275"
secret = "s3cr3t"
domains = ["Example.NET", "jabber.example.org"]
reconnect_min_ms = 10
reconnect_max_ms = 600000
max_queued_stanzas = 0
max_message_bytes = 65535
message_type = "normal"
keepalive_s = 3600
)");
  EXPECT_TRUE(x.enabled);
  EXPECT_EQ(x.componentDomain, "sip.example.com");
  EXPECT_EQ(x.sipDomain, "sip.example.org");
  EXPECT_EQ(x.serverHost, "10.1.2.3");
  EXPECT_EQ(x.serverPort, 5275);
  EXPECT_EQ(x.secret, "s3cr3t");
  EXPECT_EQ(x.domains, (std::vector<std::string>{"example.net", "jabber.example.org"}));
  EXPECT_EQ(x.reconnectMin, 10ms);
  EXPECT_EQ(x.reconnectMax, 600000ms);
  EXPECT_EQ(x.maxQueuedStanzas, 0u);
  EXPECT_EQ(x.maxMessageBytes, 65535u);
  EXPECT_EQ(x.messageType, "normal");
  EXPECT_EQ(x.keepalive, 3600s);
}

TEST(XmppTable, RangeBoundsAreInclusive) {
  const XmppConfig x = loadXmpp(R"([xmpp]
reconnect_min_ms = 60000
reconnect_max_ms = 60000
max_queued_stanzas = 1000000
max_message_bytes = 200
keepalive_s = 5
)");
  EXPECT_EQ(x.reconnectMin, 60000ms);
  EXPECT_EQ(x.reconnectMax, 60000ms);
  EXPECT_EQ(x.maxQueuedStanzas, 1000000u);
  EXPECT_EQ(x.maxMessageBytes, 200u);
  EXPECT_EQ(x.keepalive, 5s);
}

TEST(XmppTable, ServerAcceptsBracketedIpv6InCanonicalForm) {
  const XmppConfig x = loadXmpp("[xmpp]\nserver = \"[0:0::1]:65535\"\n");
  EXPECT_EQ(x.serverHost, "::1");
  EXPECT_EQ(x.serverPort, 65535);
}

TEST(XmppTable, SipDomainDefaultsToComponentDomainWhenItIsASipDomain) {
  const XmppConfig x = loadXmpp(
      "[sip]\ndomains = [\"a.example\", \"b.example\"]\n[xmpp]\ncomponent_domain = \"b.example\"\n"
      "domains = [\"x.example\"]\n");
  EXPECT_EQ(x.sipDomain, "b.example");
}

TEST(XmppTable, SipDomainDefaultsToTheFirstSipDomainOtherwise) {
  const XmppConfig x = loadXmpp(
      "[sip]\ndomains = [\"a.example\", \"b.example\"]\n[xmpp]\ncomponent_domain = \"sip.a.example\"\n");
  EXPECT_EQ(x.sipDomain, "a.example");
  // Also when [xmpp] is absent: the value consumers read is always resolved.
  EXPECT_EQ(loadXmpp("[sip]\ndomains = [\"a.example\"]\n").sipDomain, "a.example");
}

TEST(XmppTable, CrossChecksUseSipEvenWhenXmppComesFirstInTheFile) {
  const XmppConfig x = loadXmpp("[xmpp]\nsip_domain = \"b.example\"\n\n[sip]\ndomains = [\"a.example\", \"b.example\"]\n");
  EXPECT_EQ(x.sipDomain, "b.example");
}

TEST(XmppTable, SecretIsNotRequiredWhileDisabled) {
  EXPECT_EQ(errorOf("[xmpp]\nenabled = false\n"), "<loaded>");
  EXPECT_EQ(errorOf("[xmpp]\nsecret = \"\"\n"), "<loaded>");
}

TEST(XmppTable, DefaultDomainsMayOverlapSipDomainsWhileDisabled) {
  // A SIP-only node serving "localhost" must not have to configure [xmpp].
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"localhost\"]\n"), "<loaded>");
}

// --- errors, one per rule ---

TEST(XmppTableErrors, UnknownKeyAndWrongTypes) {
  EXPECT_EQ(errorOf("[xmpp]\nport = 5347\n"), "parley.toml:2:1: xmpp.port: unknown key");
  EXPECT_EQ(errorOf("xmpp = 1\n"), "parley.toml:1:8: xmpp: expected a table");
  EXPECT_EQ(errorOf("[xmpp]\nenabled = \"yes\"\n"), "parley.toml:2:11: xmpp.enabled: expected a boolean");
  EXPECT_EQ(errorOf("[xmpp]\nsecret = 42\n"), "parley.toml:2:10: xmpp.secret: expected a string");
  EXPECT_EQ(errorOf("[xmpp]\nserver = 5347\n"), "parley.toml:2:10: xmpp.server: expected a string");
  EXPECT_EQ(errorOf("[xmpp]\ndomains = \"localhost\"\n"),
            "parley.toml:2:11: xmpp.domains: expected an array of strings");
  EXPECT_EQ(errorOf("[xmpp]\ndomains = [\"a.example\", 1]\n"),
            "parley.toml:2:25: xmpp.domains[1]: expected a string");
  EXPECT_EQ(errorOf("[xmpp]\nkeepalive_s = \"60\"\n"),
            "parley.toml:2:15: xmpp.keepalive_s: expected an integer");
}

TEST(XmppTableErrors, ComponentDomainMustBeADnsName) {
  EXPECT_EQ(errorOf("[xmpp]\ncomponent_domain = \"sip_gw.example\"\n"),
            R"(parley.toml:2:20: xmpp.component_domain: invalid domain "sip_gw.example": only letters, digits, '-' and '.' are allowed)");
  EXPECT_EQ(errorOf("[xmpp]\ncomponent_domain = \"\"\n"),
            R"(parley.toml:2:20: xmpp.component_domain: invalid domain "": empty label)");
  EXPECT_EQ(errorOf("[xmpp]\ncomponent_domain = \"a..example\"\n"),
            R"(parley.toml:2:20: xmpp.component_domain: invalid domain "a..example": empty label)");
  EXPECT_EQ(errorOf("[xmpp]\ncomponent_domain = \"a-.example\"\n"),
            R"(parley.toml:2:20: xmpp.component_domain: invalid domain "a-.example": a label may not start or end with '-')");
  EXPECT_EQ(errorOf("[xmpp]\ncomponent_domain = \"" + std::string(64, 'a') + "\"\n"),
            "parley.toml:2:20: xmpp.component_domain: invalid domain \"" + std::string(64, 'a') +
                "\": label longer than 63 characters");
}

TEST(XmppTableErrors, SipDomainMustBeOneOfSipDomains) {
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"a.example\", \"b.example\"]\n[xmpp]\nsip_domain = \"c.example\"\n"),
            R"(parley.toml:4:14: xmpp.sip_domain: "c.example" is not one of sip.domains ["a.example", "b.example"])");
  EXPECT_EQ(errorOf("[xmpp]\nsip_domain = \"localhost\"\n"),
            R"(parley.toml:2:14: xmpp.sip_domain: "localhost" is not one of sip.domains ["sip.localhost"])");
}

TEST(XmppTableErrors, ServerMustBeAnIpLiteralAndPort) {
  const auto serverError = [](std::string_view value) {
    return errorOf("[xmpp]\nserver = \"" + std::string(value) + "\"\n");
  };
  const std::string at = "parley.toml:2:10: xmpp.server: ";
  EXPECT_EQ(serverError("127.0.0.1"),
            at + R"(expected "<IP>:<port>", e.g. "127.0.0.1:5347" or "[::1]:5347")");
  EXPECT_EQ(serverError("[::1]5347"),
            at + R"(expected "<IP>:<port>", e.g. "127.0.0.1:5347" or "[::1]:5347")");
  EXPECT_EQ(serverError("[::1:5347"), at + "missing ']' after IPv6 address");
  EXPECT_EQ(serverError("::1:5347"), at + R"(IPv6 address "::1" must be in brackets, e.g. "[::1]:5347")");
  EXPECT_EQ(serverError(":5347"), at + "missing host");
  EXPECT_EQ(serverError("[]:5347"), at + "missing host");
  EXPECT_EQ(serverError("xmpp.example.com:5347"),
            at + R"(host "xmpp.example.com" is not an IP literal; only IP literals are accepted because name lookups would block)");
  EXPECT_EQ(serverError("127.0.0.256:5347"), at + R"(invalid IPv4 address "127.0.0.256")");
  EXPECT_EQ(serverError("[::g]:5347"), at + R"(invalid IPv6 address "::g")");
  EXPECT_EQ(serverError("127.0.0.1:0"), at + R"(invalid port "0" (expected 1..65535))");
  EXPECT_EQ(serverError("127.0.0.1:65536"), at + R"(invalid port "65536" (expected 1..65535))");
  EXPECT_EQ(serverError("127.0.0.1:"), at + R"(invalid port "" (expected 1..65535))");
  EXPECT_EQ(serverError("127.0.0.1:+80"), at + R"(invalid port "+80" (expected 1..65535))");
}

TEST(XmppTableErrors, SecretIsRequiredWhenEnabled) {
  // Absent: blamed on the line that turned the bridge on.
  EXPECT_EQ(errorOf("[xmpp]\n\nenabled = true\n"),
            "parley.toml:3:11: xmpp.secret: required when xmpp.enabled = true");
  EXPECT_EQ(errorOf("[xmpp]\nenabled = true\nsecret = \"\"\n"),
            "parley.toml:3:10: xmpp.secret: must not be empty when xmpp.enabled = true");
  EXPECT_EQ(errorOf("[xmpp]\nenabled = true\nsecret = \"x\"\n"), "<loaded>");
}

TEST(XmppTableErrors, SecretNeverAppearsInAnError) {
  const std::string e = errorOf("[xmpp]\nenabled = true\nsecret = \"hunter2-secret\"\nkeepalive_s = 1\n");
  EXPECT_EQ(e, "parley.toml:4:15: xmpp.keepalive_s: 1 is out of range 5..3600");
  EXPECT_EQ(e.find("hunter2"), std::string::npos);
}

TEST(XmppTableErrors, DomainsListRules) {
  EXPECT_EQ(errorOf("[xmpp]\ndomains = []\n"),
            "parley.toml:2:11: xmpp.domains: must list at least one domain");
  EXPECT_EQ(errorOf("[xmpp]\ndomains = [\"ok.example\", \"bad name\"]\n"),
            R"(parley.toml:2:26: xmpp.domains[1]: invalid domain "bad name": only letters, digits, '-' and '.' are allowed)");
  EXPECT_EQ(errorOf("[xmpp]\ndomains = [\"a.example\", \"A.Example\"]\n"),
            R"(parley.toml:2:25: xmpp.domains[1]: duplicate domain "a.example")");
}

TEST(XmppTableErrors, DomainsMustNotContainTheComponentDomain) {
  EXPECT_EQ(errorOf("[xmpp]\ndomains = [\"localhost\", \"SIP.localhost\"]\n"),
            R"(parley.toml:2:25: xmpp.domains[1]: "sip.localhost" is the component_domain; list only the XMPP server's domains)");
  // With the default domains, the given component_domain is blamed.
  EXPECT_EQ(errorOf("[xmpp]\ncomponent_domain = \"localhost\"\n"),
            R"(parley.toml:2:20: xmpp.component_domain: "localhost" is also in xmpp.domains (default ["localhost"]))");
}

TEST(XmppTableErrors, DomainsMustNotOverlapSipDomains) {
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"sip.localhost\", \"example.com\"]\n"
                    "[xmpp]\ndomains = [\"localhost\", \"Example.com\"]\n"),
            R"(parley.toml:4:25: xmpp.domains[1]: "example.com" is also in sip.domains)");
  // Given values are checked while disabled too.
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"example.com\"]\n[xmpp]\nenabled = false\ndomains = [\"example.com\"]\n"),
            R"(parley.toml:5:12: xmpp.domains[0]: "example.com" is also in sip.domains)");
  // The default list only matters once the bridge runs; blamed on `enabled`.
  EXPECT_EQ(errorOf("[sip]\ndomains = [\"localhost\"]\n[xmpp]\nenabled = true\nsecret = \"s\"\n"),
            R"(parley.toml:4:11: xmpp.domains: default ["localhost"] overlaps sip.domains entry "localhost"; set xmpp.domains)");
}

TEST(XmppTableErrors, ReconnectBounds) {
  EXPECT_EQ(errorOf("[xmpp]\nreconnect_min_ms = 9\n"),
            "parley.toml:2:20: xmpp.reconnect_min_ms: 9 is out of range 10..60000");
  EXPECT_EQ(errorOf("[xmpp]\nreconnect_min_ms = 60001\n"),
            "parley.toml:2:20: xmpp.reconnect_min_ms: 60001 is out of range 10..60000");
  EXPECT_EQ(errorOf("[xmpp]\nreconnect_min_ms = 1000\nreconnect_max_ms = 999\n"),
            "parley.toml:3:20: xmpp.reconnect_max_ms: 999 is out of range 1000..600000");
  EXPECT_EQ(errorOf("[xmpp]\nreconnect_max_ms = 499\n"),
            "parley.toml:2:20: xmpp.reconnect_max_ms: 499 is out of range 500..600000");
  EXPECT_EQ(errorOf("[xmpp]\nreconnect_max_ms = 600001\n"),
            "parley.toml:2:20: xmpp.reconnect_max_ms: 600001 is out of range 500..600000");
  // A minimum above the default maximum must not silently invert the backoff.
  EXPECT_EQ(errorOf("[xmpp]\nreconnect_min_ms = 45000\n"),
            "parley.toml:2:20: xmpp.reconnect_min_ms: 45000 is above the default reconnect_max_ms "
            "(30000); set reconnect_max_ms too");
}

TEST(XmppTableErrors, OtherRanges) {
  EXPECT_EQ(errorOf("[xmpp]\nmax_queued_stanzas = -1\n"),
            "parley.toml:2:22: xmpp.max_queued_stanzas: -1 is out of range 0..1000000");
  EXPECT_EQ(errorOf("[xmpp]\nmax_queued_stanzas = 1000001\n"),
            "parley.toml:2:22: xmpp.max_queued_stanzas: 1000001 is out of range 0..1000000");
  EXPECT_EQ(errorOf("[xmpp]\nmax_message_bytes = 199\n"),
            "parley.toml:2:21: xmpp.max_message_bytes: 199 is out of range 200..65535");
  EXPECT_EQ(errorOf("[xmpp]\nmax_message_bytes = 65536\n"),
            "parley.toml:2:21: xmpp.max_message_bytes: 65536 is out of range 200..65535");
  EXPECT_EQ(errorOf("[xmpp]\nkeepalive_s = 4\n"),
            "parley.toml:2:15: xmpp.keepalive_s: 4 is out of range 5..3600");
  EXPECT_EQ(errorOf("[xmpp]\nkeepalive_s = 3601\n"),
            "parley.toml:2:15: xmpp.keepalive_s: 3601 is out of range 5..3600");
}

TEST(XmppTableErrors, MessageTypeIsChatOrNormal) {
  EXPECT_EQ(errorOf("[xmpp]\nmessage_type = \"groupchat\"\n"),
            R"(parley.toml:2:16: xmpp.message_type: unknown message type "groupchat" (expected chat|normal))");
  // XMPP attribute values are case-sensitive (RFC 6121 §5.2.2).
  EXPECT_EQ(errorOf("[xmpp]\nmessage_type = \"Chat\"\n"),
            R"(parley.toml:2:16: xmpp.message_type: unknown message type "Chat" (expected chat|normal))");
}

TEST(XmppTableErrors, ValueErrorsComeBeforeRelationChecks) {
  // An invalid sip.domains leaves the default behind; [xmpp] (earlier in the file) must not
  // be blamed for not matching that default.
  EXPECT_EQ(errorOf("[xmpp]\nsip_domain = \"a.example\"\n\n[sip]\ndomains = [\"a.example\", \"a_b\"]\n"),
            R"(parley.toml:5:25: sip.domains[1]: invalid domain "a_b": only letters, digits, '-' and '.' are allowed)");
}

}  // namespace
}  // namespace parley::config
