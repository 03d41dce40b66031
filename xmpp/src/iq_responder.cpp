#include "parley/xmpp/iq_responder.hpp"

#include <algorithm>

#include <gloox/tag.h>

#include "parley/xmpp/stanza.hpp"

namespace parley::xmpp::detail {
namespace {
constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kDiscoItems = "http://jabber.org/protocol/disco#items";
constexpr const char* kPing = "urn:xmpp:ping";
constexpr const char* kVersion = "jabber:iq:version";

std::unique_ptr<gloox::Tag> result(const gloox::Tag& iq) {
  auto out = makeStanza("iq", attr(iq, "to"), attr(iq, "from"), "result");
  out->addAttribute("id", attr(iq, "id"));
  return out;
}

gloox::Tag* addQuery(gloox::Tag& parent, const char* ns, const std::string& node) {
  auto* q = new gloox::Tag(&parent, "query");
  q->setXmlns(ns);
  if (!node.empty()) q->addAttribute("node", node);
  return q;
}

void addIdentity(gloox::Tag& query, const std::string& category, const std::string& type, const std::string& name) {
  auto* id = new gloox::Tag(&query, "identity");
  id->addAttribute("category", category);
  id->addAttribute("type", type);
  if (!name.empty()) id->addAttribute("name", name);
}

void addFeature(gloox::Tag& query, const std::string& var) { new gloox::Tag(&query, "feature", "var", var); }
}  // namespace

IqResponder::IqResponder(const ComponentOptions& o)
    : domain_(o.domain),
      category_(o.identityCategory),
      type_(o.identityType),
      name_(o.identityName),
      softwareName_(o.softwareName),
      softwareVersion_(o.softwareVersion) {
  features_ = {kDiscoInfo, kDiscoItems, kPing, kVersion, "jid\\20escaping"};
  for (const auto& f : o.features)
    if (std::find(features_.begin(), features_.end(), f) == features_.end()) features_.push_back(f);
  std::sort(features_.begin(), features_.end());
}

std::unique_ptr<gloox::Tag> IqResponder::answer(const gloox::Tag& iq) const {
  const std::string& type = attr(iq, "type");
  if (type != "get" && type != "set") return nullptr;  // result/error (or garbage): never answered
  const auto& children = iq.children();
  if (children.size() != 1) return errorReply(iq, "bad-request", "modify", "an IQ get/set has exactly one child");
  const gloox::Tag& payload = *children.front();
  const std::string ns = payload.xmlns();
  const std::string& to = attr(iq, "to");
  const bool toDomain = to == domain_;
  const bool toFullJid = to.find('/') != std::string::npos;

  if (type == "get" && payload.name() == "query" && ns == kDiscoInfo) {
    const std::string& node = attr(payload, "node");
    if (!node.empty()) return errorReply(iq, "item-not-found", "cancel");
    auto out = result(iq);
    auto* q = addQuery(*out, kDiscoInfo, node);
    if (toDomain) {
      addIdentity(*q, category_, type_, name_);
      for (const auto& f : features_) addFeature(*q, f);
    } else {
      // A SIP user behind the gateway (project rule, standards.md §9.4).
      if (toFullJid) addIdentity(*q, "client", "phone", {});
      else addIdentity(*q, "account", "registered", {});
      addFeature(*q, kDiscoInfo);
      addFeature(*q, kPing);
    }
    return out;
  }
  if (type == "get" && payload.name() == "query" && ns == kDiscoItems) {
    const std::string& node = attr(payload, "node");
    if (!node.empty()) return errorReply(iq, "item-not-found", "cancel");
    auto out = result(iq);
    addQuery(*out, kDiscoItems, node);
    return out;
  }
  if (type == "get" && payload.name() == "ping" && ns == kPing) return result(iq);
  if (type == "get" && payload.name() == "query" && ns == kVersion && toDomain) {
    auto out = result(iq);
    auto* q = addQuery(*out, kVersion, {});
    new gloox::Tag(q, "name", softwareName_);
    new gloox::Tag(q, "version", softwareVersion_);
    return out;
  }
  return errorReply(iq, "service-unavailable", "cancel");
}

}  // namespace parley::xmpp::detail
