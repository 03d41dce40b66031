// [xmpp]: the XEP-0114 component link to a local XMPP server and the SIP<->XMPP bridge.
//
// Some values only make sense next to [sip] (which SIP domain the component's users belong
// to; XMPP domains must not also be SIP domains), so config.cpp reads [sip] before this table
// whatever the file order, and passes the result in.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <optional>

#include "tables.hpp"
#include "host_util.hpp"
#include "text_util.hpp"

namespace parley::config::detail {
namespace {

constexpr std::string_view kServerShape =
    R"(expected "<IP>:<port>", e.g. "127.0.0.1:5347" or "[::1]:5347")";

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// ["a", "b"] for error messages.
std::string listText(const std::vector<std::string>& list) {
  std::string out = "[";
  for (const std::string& item : list) {
    if (out.size() > 1) out += ", ";
    out += quote(item);
  }
  return out + "]";
}


// A valid DNS name, lower-cased (RFC 4343: DNS names compare case-insensitively).
std::optional<StringField> readDomain(TableReader& reader, std::string_view key) {
  auto field = reader.string(key);
  if (!field) return std::nullopt;
  if (auto problem = domainProblem(field->value)) {
    reader.fail(*field, std::move(*problem));
    return std::nullopt;
  }
  field->value = asciiLower(field->value);
  return field;
}

// Non-empty list of valid, distinct, lower-cased DNS names; entries keep their positions so
// the checks against other keys can blame the right one.
std::optional<std::vector<StringField>> readDomainList(TableReader& reader, std::string_view key) {
  auto list = reader.stringArray(key);
  if (!list) return std::nullopt;
  if (list->value.empty()) {
    reader.fail(*list, "must list at least one domain");
    return std::nullopt;
  }
  std::vector<StringField> domains;
  bool ok = true;
  for (StringField& item : list->value) {
    if (auto problem = domainProblem(item.value)) {
      reader.fail(item, std::move(*problem));
      ok = false;
      continue;
    }
    item.value = asciiLower(item.value);
    const auto same = [&](const StringField& other) { return other.value == item.value; };
    if (std::any_of(domains.begin(), domains.end(), same)) {
      reader.fail(item, "duplicate domain " + quote(item.value));
      ok = false;
      continue;
    }
    domains.push_back(std::move(item));
  }
  if (!ok) return std::nullopt;
  return domains;
}

struct ServerAddress {
  std::string host;  ///< canonical IP literal, no brackets
  std::uint16_t port = 0;
};

// "<IPv4>:<port>" or "[<IPv6>]:<port>". A host name would need a DNS lookup, which would
// block start-up and, on reconnect, the event loop.
tl::expected<ServerAddress, std::string> parseServer(std::string_view text) {
  auto split = splitHostPort(text, kServerShape, "[::1]:5347");
  if (!split) return tl::unexpected(std::move(split.error()));
  const auto port = parsePort(split->port);
  if (!port) return tl::unexpected("invalid port " + quote(split->port) + " (expected 1..65535)");
  return ServerAddress{std::move(split->host), *port};
}

}  // namespace

void readXmppTable(const toml::table* table, ErrorList& errors, const SipConfig& sip,
                   XmppConfig& out) {
  TableReader reader(table, "xmpp",
                     {"enabled", "component_domain", "sip_domain", "server", "secret", "domains",
                      "reconnect_min_ms", "reconnect_max_ms", "max_queued_stanzas",
                      "max_message_bytes", "message_type", "keepalive_s", "message_wait_ms"},
                     errors);

  // Each value on its own. Given values are checked even while disabled, so turning the
  // bridge on later cannot reveal old mistakes.
  const auto enabled = reader.boolean("enabled");
  if (enabled) out.enabled = enabled->value;
  const auto component = readDomain(reader, "component_domain");
  if (component) out.componentDomain = component->value;
  const auto sipDomain = reader.string("sip_domain");  // checked against sip.domains below
  if (auto server = reader.string("server")) {
    if (auto parsed = parseServer(server->value)) {
      out.serverHost = std::move(parsed->host);
      out.serverPort = parsed->port;
    } else {
      reader.fail(*server, std::move(parsed.error()));
    }
  }
  // The secret is never quoted in a message: errors end up in logs.
  const auto secret = reader.string("secret");
  if (secret) out.secret = secret->value;
  const auto domains = readDomainList(reader, "domains");
  if (domains) {
    out.domains.clear();
    for (const StringField& item : *domains) out.domains.push_back(item.value);
  }
  const auto reconnectMin = reader.integer("reconnect_min_ms", 10, 60000);
  if (reconnectMin) out.reconnectMin = std::chrono::milliseconds{reconnectMin->value};
  const auto reconnectMax = reader.integer("reconnect_max_ms", out.reconnectMin.count(), 600000);
  if (reconnectMax) out.reconnectMax = std::chrono::milliseconds{reconnectMax->value};
  reader.read("max_queued_stanzas", 0, 1000000, out.maxQueuedStanzas);
  reader.read("max_message_bytes", 200, 65535, out.maxMessageBytes);
  if (auto type = reader.string("message_type")) {
    // RFC 7572 §5 asks for "normal"; many clients render only "chat" in a conversation view.
    if (type->value == "chat" || type->value == "normal") {
      out.messageType = type->value;
    } else {
      reader.fail(*type, "unknown message type " + quote(type->value) + " (expected chat|normal)");
    }
  }
  reader.read("keepalive_s", 5, 3600, out.keepalive);
  // Below T1 (500 ms), so a UDP sender never retransmits while we wait.
  if (const auto wait = reader.integer("message_wait_ms", 0, 450)) out.messageWait = std::chrono::milliseconds{wait->value};

  // Relations between values are judged only once every value read so far is valid on its
  // own (this table is read last, after [sip]): a rejected value has left a default behind,
  // and a complaint about that default would blame the wrong thing.
  if (!errors.empty()) return;

  if (reconnectMin && !reconnectMax && out.reconnectMax < out.reconnectMin) {
    reader.fail(*reconnectMin, std::to_string(reconnectMin->value) +
                                   " is above the default reconnect_max_ms (" +
                                   std::to_string(out.reconnectMax.count()) +
                                   "); set reconnect_max_ms too");
  }
  if (out.enabled && out.secret.empty()) {
    if (secret) reader.fail(*secret, "must not be empty when xmpp.enabled = true");
    else errors.add(enabled->pos, reader.keyPath("secret"), "required when xmpp.enabled = true");
  }

  // The component domain is where SIP users appear; the XMPP server's own domains are the
  // ones it serves. One name cannot be both: stanzas to it would have two destinations.
  if (domains) {
    for (const StringField& item : *domains) {
      if (item.value == out.componentDomain) {
        reader.fail(item, quote(item.value) +
                              " is the component_domain; list only the XMPP server's domains");
      }
    }
  } else if (component && contains(out.domains, out.componentDomain)) {
    reader.fail(*component, quote(out.componentDomain) + " is also in xmpp.domains (default " +
                                listText(out.domains) + ")");
  }

  // A domain is either served here as SIP or reached over XMPP, never both: the bridge
  // would route a request for it back to itself.
  if (domains) {
    for (const StringField& item : *domains) {
      if (contains(sip.domains, item.value)) {
        reader.fail(item, quote(item.value) + " is also in sip.domains");
      }
    }
  } else if (out.enabled) {
    // The default only matters once the bridge runs; a SIP-only node serving "localhost"
    // must not have to configure XMPP.
    for (const std::string& domain : out.domains) {
      if (contains(sip.domains, domain)) {
        errors.add(enabled->pos, reader.keyPath("domains"),
                   "default " + listText(out.domains) + " overlaps sip.domains entry " +
                       quote(domain) + "; set xmpp.domains");
      }
    }
  }

  if (sipDomain) {
    const std::string lower = asciiLower(sipDomain->value);
    if (contains(sip.domains, lower)) {
      out.sipDomain = lower;
    } else {
      reader.fail(*sipDomain, quote(sipDomain->value) + " is not one of sip.domains " +
                                  listText(sip.domains));
    }
  } else if (contains(sip.domains, out.componentDomain)) {
    out.sipDomain = out.componentDomain;
  } else if (!sip.domains.empty()) {
    out.sipDomain = sip.domains.front();
  }
}

}  // namespace parley::config::detail
