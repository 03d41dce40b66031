#include "parley/bridge/bridge.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <gloox/tag.h>
#include <spdlog/spdlog.h>

#include "parley/bridge/error_map.hpp"
#include "parley/pidf/serialize.hpp"
#include "parley/sip/header_values.hpp"
#include "parley/sip/random.hpp"
#include "parley/xmpp/stanza.hpp"

namespace parley::bridge {
using presence::ExternalPresence;
using sip::HeaderId;
using xmpp::attr;

namespace {

constexpr std::string_view kAcceptText = "text/plain, message/cpim, text/html";

// "sip:user@host" (the storage key form of sip::addressOfRecord: user
// %-decoded, host lower-case) split into its parts; nullopt for anything else.
/// An XMPP contact's stored resources as the PIDF document of `entity`.
pidf::PresenceDocument contactDocument(std::string_view entity, const std::vector<storage::ContactResource>& known) {
  std::vector<std::pair<std::string, XmppPresence>> resources;
  resources.reserve(known.size());
  for (const auto& r : known)
    resources.emplace_back(r.resource, XmppPresence{r.available, r.show, r.status, r.lang, r.priority});
  return toPidf(entity, resources);
}

std::optional<SipAddress> splitAor(std::string_view aor) {
  if (!aor.starts_with("sip:")) return std::nullopt;
  aor.remove_prefix(4);
  const auto at = aor.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == aor.size()) return std::nullopt;
  return SipAddress{std::string(aor.substr(0, at)), std::string(aor.substr(at + 1)), {}};
}

std::string aorKey(const SipAddress& a) { return "sip:" + a.user + "@" + a.host; }

// Text that is safe in an XML stanza: well-formed UTF-8 (RFC 3629: no
// overlong form, no surrogate, nothing above U+10FFFF) without the characters
// XML 1.0 forbids (controls other than tab, LF, CR; U+FFFE, U+FFFF), which are
// dropped. A single bad byte would make the server close the whole component
// stream. nullopt when the bytes are not UTF-8.
std::optional<std::string> xmlSafeText(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = 0;
    char32_t cp = 0, least = 0;  // the code point, and the least one its length may encode
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c >> 5) == 0x6) {
      len = 2;
      cp = static_cast<char32_t>(c & 0x1F);
      least = 0x80;
    } else if ((c >> 4) == 0xE) {
      len = 3;
      cp = static_cast<char32_t>(c & 0x0F);
      least = 0x800;
    } else if ((c >> 3) == 0x1E) {
      len = 4;
      cp = static_cast<char32_t>(c & 0x07);
      least = 0x10000;
    }
    if (len == 0 || i + len > in.size()) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(in[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | static_cast<char32_t>(b & 0x3F);
    }
    if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    const bool forbidden = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE || cp == 0xFFFF;
    if (!forbidden) out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

// xml:lang from Content-Language (RFC 7572 §8): its first language tag, if it
// is one (RFC 5646 characters, a sane length); anything else is left out.
std::optional<std::string> languageTag(std::string_view header) {
  std::string_view tag = header.substr(0, header.find(','));
  while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
  while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
  if (tag.empty() || tag.size() > 35) return std::nullopt;
  for (char c : tag)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return std::nullopt;
  return std::string(tag);
}

// A header value made from stanza text: one line.
std::string oneLine(std::string_view in) {
  std::string out(in);
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}

// text/html → its text (RFC 7572 §7 lets XHTML-IM carry it; that XEP is
// deprecated, so the project sends the text).
std::string htmlToText(std::string_view html) {
  std::string out;
  bool inTag = false;
  for (std::size_t i = 0; i < html.size(); ++i) {
    const char c = html[i];
    if (inTag) {
      inTag = c != '>';
      continue;
    }
    if (c == '<') {
      inTag = true;
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&#39;", '\''}, {"&nbsp;", ' '}};
      bool matched = false;
      for (const auto& [entity, ch] : kEntities)
        if (html.substr(i, entity.size()) == entity) {
          out.push_back(ch);
          i += entity.size() - 1;
          matched = true;
          break;
        }
      if (matched) continue;
    }
    out.push_back(c);
  }
  return out;
}

// The blank line ending a MIME/CPIM header block; npos when there is none.
std::size_t headerEnd(std::string_view text, std::size_t& skip) {
  if (auto p = text.find("\r\n\r\n"); p != std::string_view::npos) {
    skip = 4;
    return p;
  }
  skip = 2;
  return text.find("\n\n");
}

enum class BodyError { Unsupported, Malformed };

// The text of a MESSAGE body (RFC 7572 §7): text/plain as is, message/cpim
// (RFC 3862) unwrapped to its inner text/plain, text/html as text.
tl::expected<std::string, BodyError> messageText(std::string_view contentType, std::string_view body) {
  auto type = sip::parseTokenParams(contentType.empty() ? "text/plain" : contentType);
  if (!type) return tl::unexpected(BodyError::Malformed);
  if (auto charset = type->param("charset"); charset && !sip::iequals(*charset, "utf-8") &&
                                              !sip::iequals(*charset, "us-ascii"))
    return tl::unexpected(BodyError::Unsupported);
  if (sip::iequals(type->token, "text/plain")) return std::string(body);
  if (sip::iequals(type->token, "text/html")) return htmlToText(body);
  if (!sip::iequals(type->token, "message/cpim")) return tl::unexpected(BodyError::Unsupported);
  // CPIM: message headers, blank line, the inner MIME headers, blank line, content.
  std::size_t skip = 0;
  const auto outer = headerEnd(body, skip);
  if (outer == std::string_view::npos) return tl::unexpected(BodyError::Malformed);
  const std::string_view inner = body.substr(outer + skip);
  const auto mime = headerEnd(inner, skip);
  if (mime == std::string_view::npos) return tl::unexpected(BodyError::Malformed);
  std::string_view innerType = "text/plain";
  std::string_view headers = inner.substr(0, mime);
  while (!headers.empty()) {
    const auto eol = headers.find('\n');
    std::string_view line = headers.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (const auto colon = line.find(':'); colon != std::string_view::npos &&
                                           sip::iequals(line.substr(0, colon), "Content-Type")) {
      innerType = line.substr(colon + 1);
      while (!innerType.empty() && innerType.front() == ' ') innerType.remove_prefix(1);
    }
    if (eol == std::string_view::npos) break;
    headers.remove_prefix(eol + 1);
  }
  auto t = sip::parseTokenParams(innerType);
  if (!t || !sip::iequals(t->token, "text/plain")) return tl::unexpected(BodyError::Unsupported);
  return std::string(inner.substr(mime + skip));
}

XmppPresence presenceOf(const gloox::Tag& stanza) {
  XmppPresence p;
  p.available = attr(stanza, "type").empty();
  if (const gloox::Tag* show = stanza.findChild("show")) {
    const std::string s = show->cdata();
    if (s == "away" || s == "chat" || s == "dnd" || s == "xa") p.show = s;
  }
  if (const gloox::Tag* status = stanza.findChild("status")) {
    p.status = status->cdata();
    p.lang = xmpp::xmlLang(*status);
  }
  if (p.lang.empty()) p.lang = xmpp::xmlLang(stanza);
  if (const gloox::Tag* priority = stanza.findChild("priority")) {
    const std::string s = priority->cdata();
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc{} && end == s.data() + s.size()) p.priority = static_cast<std::int8_t>(std::clamp(v, -128, 127));
  }
  return p;
}

}  // namespace

Bridge::Bridge(BridgeOptions options, BridgePorts ports, storage::RosterStore& roster,
               storage::ContactPresenceStore& contacts, std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)), ports_(std::move(ports)), roster_(roster), contacts_(contacts), log_(std::move(log)) {}

Bridge::~Bridge() {
  for (auto& [id, held] : held_)
    if (ports_.cancelTimer) ports_.cancelTimer(held.timer);
}

bool Bridge::isXmppDomain(std::string_view domain) const {
  return std::find(options_.xmppDomains.begin(), options_.xmppDomains.end(), domain) != options_.xmppDomains.end();
}

bool Bridge::owns(std::string_view aor) const {
  auto a = splitAor(aor);
  return a && isXmppDomain(a->host);
}

std::optional<Jid> Bridge::userJid(std::string_view aor) const {
  auto a = splitAor(aor);
  if (!a || a->host != options_.sipDomain) return std::nullopt;
  auto jid = toJid(*a, options_.componentDomain);
  if (!jid) return std::nullopt;
  return *jid;
}

std::string Bridge::contactAor(const Jid& contact) {
  auto sip = toSip(Jid{contact.local, contact.domain, {}}, contact.domain);
  return sip ? aorKey(*sip) : std::string();
}

std::optional<std::string> Bridge::xmppAddress(std::string_view address) const {
  if (address.starts_with("xmpp:")) address.remove_prefix(5);  // RFC 5122 without the authority or query forms
  auto jid = parseJid(address);
  if (!jid || jid->local.empty() || !jid->resource.empty() || !isXmppDomain(jid->domain)) return std::nullopt;
  return "xmpp:" + jid->bare();
}

std::optional<std::string> Bridge::xmppAddressOfAor(std::string_view aor) const {
  auto sip = splitAor(aor);
  if (!sip || !isXmppDomain(sip->host)) return std::nullopt;
  auto jid = toJid(*sip, sip->host);
  if (!jid) return std::nullopt;
  return "xmpp:" + jid->bare();
}

void Bridge::contactPresence(const std::string& address, DocumentDone done) const {
  const std::string bare = address.starts_with("xmpp:") ? address.substr(5) : address;
  contacts_.lookup(bare, options_.wallClock(), [address, done = std::move(done)](auto known) {
    if (!known) return done(tl::unexpected(known.error()));
    done(contactDocument(address, *known));
  });
}

void Bridge::subscribers(const std::string& aor, JidsDone done) const {
  roster_.lookup(aor, options_.wallClock(), [done = std::move(done)](auto items) {
    if (!items) return done(tl::unexpected(items.error()));
    std::vector<std::string> jids;
    for (const auto& item : *items)
      if (item.from) jids.push_back(item.jid);
    done(std::move(jids));
  });
}

// --- XMPP → bridge ----------------------------------------------------------------------------

void Bridge::onStanza(const gloox::Tag& stanza) {
  const bool isError = attr(stanza, "type") == "error";
  auto refuse = [&](std::string_view condition, std::string_view type, std::string_view text) {
    ++stats_.refused;
    log_->debug("bridge.refused kind={} from={} to={} condition={}", stanza.name(), attr(stanza, "from"),
                attr(stanza, "to"), condition);
    // Presence is never answered with an error; a message or IQ is (once).
    if (stanza.name() == "presence" && attr(stanza, "type") != "probe" && attr(stanza, "type") != "subscribe") return;
    if (auto reply = xmpp::errorReply(stanza, condition, type, text)) ports_.send(std::move(reply));
  };
  // Never answered: an error reply comes from the stanza's 'to', and a 'from'
  // outside the component's domain makes the server close the whole stream.
  auto to = parseJid(attr(stanza, "to"));
  if (!to || to->domain != options_.componentDomain) {
    ++stats_.refused;
    log_->debug("bridge.dropped kind={} from={} to={} reason=not-for-the-component", stanza.name(),
                attr(stanza, "from"), attr(stanza, "to"));
    return;
  }
  auto from = parseJid(attr(stanza, "from"));
  if (!from) return refuse("jid-malformed", "modify", "unusable sender address");
  if (from->local.empty()) {
    // The server itself: only its bounce of a message we relayed means anything to us.
    if (isError && stanza.name() == "message" && isXmppDomain(from->domain)) return answerHeld(stanza);
    return refuse("jid-malformed", "modify", "unusable sender address");
  }
  // Anti-spoofing: the server may speak only for the XMPP domains behind it.
  if (!isXmppDomain(from->domain)) return isError ? void() : refuse("not-allowed", "cancel", "sender domain not bridged");
  if (to->local.empty()) {  // the gateway itself: directed presence is noted by nobody, the rest has no service
    if (stanza.name() == "presence" && attr(stanza, "type") != "subscribe") return;
    return refuse("service-unavailable", "cancel", {});
  }
  auto user = toSip(Jid{to->local, to->domain, {}}, options_.sipDomain);
  if (!user) return refuse("item-not-found", "cancel", "no such SIP user");
  const std::string userAor = aorKey(*user);
  if (stanza.name() == "presence") return onPresence(stanza, *from, *to, userAor);
  if (stanza.name() == "message") return onMessage(stanza, *from, *to, userAor);
}

void Bridge::onPresence(const gloox::Tag& stanza, const Jid& from, const Jid& to, const std::string& userAor) {
  const std::string& type = attr(stanza, "type");
  const std::string contact = from.bare();
  const std::string user = to.bare();
  if (type == "subscribe") {
    // Policy "allow" (presence.default_policy): approve, then the current presence (RFC 6121 §3.1.5).
    updateRoster(userAor, contact, [](auto& item) { item.from = true; },
                 [this, userAor, user, contact](const auto&) {
                   subscribed_.insert(userAor);
                   sendSubscription(user, contact, "subscribed");
                   sendPresence(userAor, contact);
                 });
    return;
  }
  if (type == "unsubscribe") {
    updateRoster(userAor, contact, [](auto& item) { item.from = false; });
    return sendPresenceStanza(user, contact, XmppPresence{});  // RFC 6121 §3.3.3
  }
  if (type == "probe") {
    // RFC 6121 §4.3.2: a prober has a subscription in its server's roster;
    // under "allow" it is authorized, and remembering it heals a restart of
    // an in-memory node.
    updateRoster(userAor, contact, [](auto& item) { item.from = true; },
                 [this, userAor, reply = from.full()](const auto&) {
                   subscribed_.insert(userAor);
                   sendPresence(userAor, reply);
                 });
    return;
  }
  if (type == "subscribed" || type == "unsubscribed" || type == "error") {
    // The contact's answer to a SIP user's request (an error: no such contact).
    // RFC 6121 §3.1.6: a 'subscribed' nobody asked for is ignored; a refusal
    // or revocation always counts.
    const bool approved = type == "subscribed";
    updateRoster(userAor, contact,
                 [approved](auto& item) {
                   if (approved && !item.pendingOut && !item.to) return;
                   item.to = approved;
                   item.pendingOut = false;
                 },
                 [this, from](const auto&) {
                   if (auto aor = contactAor(from); !aor.empty() && ports_.externalChanged) ports_.externalChanged(aor);
                 });
    return;
  }
  if (type.empty() || type == "unavailable") return updateContact(from, presenceOf(stanza));
}

void Bridge::updateContact(const Jid& from, const XmppPresence& p) {
  ++stats_.presenceIn;
  using Resources = std::vector<storage::ContactResource>;
  contacts_.update(
      from.bare(), options_.wallClock(),
      [resource = from.resource, p](const Resources& live) -> tl::expected<Resources, storage::StoreError> {
        Resources next = live;
        auto it = std::find_if(next.begin(), next.end(), [&](const auto& r) { return r.resource == resource; });
        if (!p.available) {
          if (it == next.end()) return tl::unexpected(storage::StoreError{storage::StoreError::Code::Refused, 0, "unchanged"});
          next.erase(it);
          return next;
        }
        storage::ContactResource r{resource, true, p.show, p.status, p.lang, p.priority};
        if (it == next.end()) {
          next.push_back(std::move(r));
        } else {
          // The same broadcast reaches each of our users the contact has: once is news.
          if (*it == r) return tl::unexpected(storage::StoreError{storage::StoreError::Code::Refused, 0, "unchanged"});
          *it = std::move(r);
        }
        return next;
      },
      [this, from](auto r) {
        if (!r) return;  // unchanged, or the store is down
        if (auto aor = contactAor(from); !aor.empty() && ports_.externalChanged) ports_.externalChanged(aor);
      });
}

void Bridge::answerHeld(const gloox::Tag& stanza) {
  // A bounce of a message we relayed from SIP: answered with the mapped
  // code while the MESSAGE is held, else only logged (it got its 202).
  std::string condition = "undefined-condition";
  if (const gloox::Tag* error = stanza.findChild("error"))
    for (const gloox::Tag* c : error->children())
      if (c->name() != "text" && c->xmlns() == xmpp::kStanzasNs) {
        condition = c->name();
        break;
      }
  auto it = held_.find(attr(stanza, "id"));
  if (it != held_.end()) {
    // Only the recipient (or its server) can refuse a message: anyone else
    // guessing an id cannot fail someone else's MESSAGE.
    auto from = parseJid(attr(stanza, "from"));
    const std::string& target = it->second.target;
    if (!from || (from->bare() != target && (!from->local.empty() || target.substr(target.find('@') + 1) != from->domain)))
      it = held_.end();
  }
  log_->info("bridge.message_bounced from={} to={} condition={} held={}", attr(stanza, "from"),
             attr(stanza, "to"), condition, it != held_.end());
  if (it == held_.end()) return;
  HeldMessage held = std::move(it->second);
  held_.erase(it);
  if (ports_.cancelTimer) ports_.cancelTimer(held.timer);
  int code = sipCodeForStanzaError(condition, held.toFullJid);  // RFC 7247 §7.1
  // RFC 4320 §4.3: never a 408 to a non-INVITE (the transaction layer would
  // drop it and the sender would hear nothing); 480, as the MessageRouter.
  if (code == 408) code = 480;
  held.txn.respond(*held.req, code);
}

void Bridge::onMessage(const gloox::Tag& stanza, const Jid& from, const Jid&, const std::string& userAor) {
  const std::string& type = attr(stanza, "type");
  if (type == "error") return answerHeld(stanza);
  auto fail = [&](std::string_view condition, std::string_view errorType, std::string_view text = {}) {
    ++stats_.messageErrors;
    if (auto reply = xmpp::errorReply(stanza, condition, errorType, text)) ports_.send(std::move(reply));
  };
  if (type == "groupchat") return fail("service-unavailable", "cancel", "no groupchat through the SIP gateway");
  const gloox::Tag* body = stanza.findChild("body");
  if (body == nullptr) return;  // chat states alone: never an empty MESSAGE (XEP-0085 §5.1)

  messaging::MessageRouter::Outgoing out;
  auto sender = toSip(from, from.domain);  // RFC 7572 §4: bare JID AOR, resource as ;gr=
  if (!sender) return fail("jid-malformed", "modify");
  out.from = sender->uri();
  out.to = splitAor(userAor)->uri();  // the AOR key holds the decoded user: re-encode it
  out.body = body->cdata();
  if (const gloox::Tag* subject = stanza.findChild("subject")) out.headers.emplace_back(HeaderId::Subject, oneLine(subject->cdata()));
  if (const auto lang = xmpp::xmlLang(stanza); !lang.empty())
    out.headers.emplace_back(HeaderId::ContentLanguage, oneLine(lang));  // RFC 7572 §8
  if (ports_.messageSize && ports_.messageSize(out) > options_.maxMessageBytes)
    return fail("policy-violation", "modify", "message too large for SIP (RFC 3428 §8)");
  ++stats_.messagesToSip;
  std::shared_ptr<gloox::Tag> original(stanza.clone());
  ports_.originate(std::move(out), [this, original](int code, std::string_view reason) {
    if (code < 300) return;
    const StanzaError e = stanzaErrorForSip(code);  // RFC 7247 §7.2
    ++stats_.messageErrors;
    log_->info("bridge.message_failed from={} to={} code={} condition={}", attr(*original, "from"),
               attr(*original, "to"), code, e.condition);
    if (auto reply = xmpp::errorReply(*original, e.condition, errorTypeName(e.type), reason))
      ports_.send(std::move(reply));
  });
}

void Bridge::onLinkUp() {
  // Re-announce every SIP user's presence to its XMPP subscribers, and ask
  // again about the contacts SIP watchers follow (the cache may be stale).
  for (const auto& aor : subscribed_) {
    announced_.erase(aor);
    onSipPresenceChanged(aor);
  }
  for (const auto& [userAor, contact] : followed_) {
    if (auto jid = userJid(userAor)) sendSubscription(jid->bare(), contact, "probe");
  }
}

void Bridge::onLinkDown() { log_->info("bridge.xmpp_down subscribed_users={} followed={}", subscribed_.size(), followed_.size()); }

// --- SIP presence → XMPP --------------------------------------------------------------------

void Bridge::onSipPresenceChanged(std::string_view aorView) {
  std::string aor(aorView);
  auto jid = userJid(aor);
  if (!jid) return;
  roster_.lookup(aor, options_.wallClock(), [this, aor, user = jid->bare()](auto items) {
    if (!items) return;
    std::vector<std::string> subscribers;
    for (const auto& item : *items)
      if (item.from) subscribers.push_back(item.jid);
    if (subscribers.empty()) return;
    subscribed_.insert(aor);
    ports_.composePresence(aor, [this, aor, user, subscribers = std::move(subscribers)](pidf::PresenceDocument doc) {
      const XmppPresence p = toXmpp(doc);
      auto [it, fresh] = announced_.try_emplace(aor, p);
      if (!fresh) {
        if (it->second == p) return;  // a refresh, or a change XMPP cannot show
        it->second = p;
      }
      for (const auto& to : subscribers) sendPresenceStanza(user, to, p);
    });
  });
}

void Bridge::sendPresence(const std::string& userAor, const std::string& to) {
  auto jid = userJid(userAor);
  if (!jid) return;
  ports_.composePresence(userAor, [this, user = jid->bare(), to](pidf::PresenceDocument doc) {
    sendPresenceStanza(user, to, toXmpp(doc));
  });
}

void Bridge::sendPresenceStanza(const std::string& from, const std::string& to, const XmppPresence& p) {
  auto stanza = xmpp::makeStanza("presence", from, to, p.available ? "" : "unavailable");
  if (p.available && !p.show.empty()) new gloox::Tag(stanza.get(), "show", p.show);
  if (!p.status.empty()) {
    if (auto text = xmlSafeText(p.status)) {
      auto* status = new gloox::Tag(stanza.get(), "status", *text);
      if (!p.lang.empty()) status->addAttribute("xml:lang", p.lang);
    }
  }
  if (p.available) new gloox::Tag(stanza.get(), "priority", std::to_string(p.priority));
  ++stats_.presenceOut;
  ports_.send(std::move(stanza));
}

void Bridge::sendSubscription(const std::string& from, const std::string& to, std::string_view type) {
  ports_.send(xmpp::makeStanza("presence", from, to, type));
}

void Bridge::updateRoster(const std::string& userAor, const std::string& contact,
                          std::function<void(storage::RosterItem&)> change,
                          std::function<void(const storage::RosterItem&)> done) {
  roster_.update(
      userAor, options_.wallClock(),
      [contact, change = std::move(change)](const storage::Roster& live) -> tl::expected<storage::Roster, storage::StoreError> {
        storage::Roster next = live;
        auto it = std::find_if(next.begin(), next.end(), [&](const auto& i) { return i.jid == contact; });
        const bool fresh = it == next.end();
        if (fresh) it = next.insert(next.end(), storage::RosterItem{contact});
        change(*it);
        // An item that falls to state "none" stays: after a refusal it is what
        // tells a SIP watcher "rejected" rather than "not asked yet". One that
        // never left "none" is not worth keeping.
        if (fresh && !it->from && !it->to && !it->pendingOut) next.erase(it);
        return next;
      },
      [contact, done = std::move(done)](tl::expected<storage::Roster, storage::StoreError> r) {
        if (!r || !done) return;
        auto it = std::find_if(r->begin(), r->end(), [&](const auto& i) { return i.jid == contact; });
        done(it != r->end() ? *it : storage::RosterItem{contact});
      });
}

// --- SIP watchers of XMPP contacts ---------------------------------------------------------------

void Bridge::watching(std::string_view watcherView, std::string_view aor, Watch what) {
  auto user = userJid(watcherView);
  auto contactSip = splitAor(aor);
  if (!user || !contactSip) return;  // state() rejects it
  auto contactJid = toJid(*contactSip, contactSip->host);
  if (!contactJid) return;
  const std::string watcher(watcherView);
  const std::string contact = contactJid->bare();
  const std::string from = user->bare();
  if (what == Watch::Unsubscribe) {
    followed_.erase({watcher, contact});
    // RFC 8048 §5.3.3: the authorization stays; only "not looking any more".
    ports_.send(xmpp::makeStanza("presence", from, contact, "unavailable"));
    return;
  }
  if (what != Watch::Fetch) followed_.insert({watcher, contact});
  if (what == Watch::Ended) {
    followed_.erase({watcher, contact});  // expired: nobody looks any more; the authorization stays
    return;
  }
  roster_.lookup(watcher, options_.wallClock(), [this, watcher, contact, from, what](auto items) {
    if (!items) return;
    auto it = std::find_if(items->begin(), items->end(), [&](const auto& i) { return i.jid == contact; });
    const bool authorized = it != items->end() && it->to;
    if (!authorized) {
      if (what == Watch::Refresh && it != items->end() && !it->pendingOut) return;  // refused: state() says so
      if (what == Watch::Fetch) return;  // a poll (RFC 8048 §7.2) asks for nothing: it gets what is known
      // RFC 8048 §5.3.1: ask from the SIP user's bare JID; one pending request per pair.
      if (it == items->end() || !it->pendingOut) {
        updateRoster(watcher, contact, [](auto& item) { item.pendingOut = true; });
        sendSubscription(from, contact, "subscribe");
      }
      return;
    }
    contacts_.lookup(contact, options_.wallClock(), [this, from, contact](auto known) {
      if (known && known->empty()) sendSubscription(from, contact, "probe");  // RFC 8048 §5.3.2
    });
  });
}

void Bridge::state(std::string_view watcherView, std::string_view aor, std::function<void(State)> done) {
  auto user = userJid(watcherView);
  auto contactSip = splitAor(aor);
  auto contactJid = contactSip ? toJid(*contactSip, contactSip->host) : tl::unexpected(AddressError::NoUser);
  if (!user || !contactJid) return done(State{Authorization::Rejected, {}});
  const std::string contact = contactJid->bare();
  roster_.lookup(std::string(watcherView), options_.wallClock(),
                 [this, contact, entity = std::string(aor), done = std::move(done)](auto items) mutable {
                   if (!items) return done(State{Authorization::Pending, {}});
                   auto it = std::find_if(items->begin(), items->end(), [&](const auto& i) { return i.jid == contact; });
                   if (it == items->end()) return done(State{Authorization::Pending, {}});
                   if (!it->to) return done(State{it->pendingOut ? Authorization::Pending : Authorization::Rejected, {}});
                   contacts_.lookup(contact, options_.wallClock(), [entity, done = std::move(done)](auto known) {
                     // No available resource (offline, or not heard of yet): the
                     // closed document, never an empty body that reads as "unknown".
                     const std::vector<storage::ContactResource> none;
                     done(State{Authorization::Active, pidf::serializePidf(contactDocument(entity, known ? *known : none))});
                   });
                 });
}

// --- SIP MESSAGE → XMPP -------------------------------------------------------------------------

void Bridge::onSipMessage(simple::ServerTransaction txn, sip::Message&& req) {
  auto target = fromSipUri(req.requestLine().uri);
  if (!target) {
    ++stats_.refused;
    if (target.error() == AddressError::Sips) return txn.respond(req, 480, "sips Cannot Be Bridged");  // RFC 7247 §8
    return txn.respond(req, target.error() == AddressError::NoUser ? 404 : 400, describe(target.error()));
  }
  if (!isXmppDomain(target->host)) return txn.respond(req, 404);
  // Anti-spoofing: only our own users speak through the gateway.
  auto sender = fromSipUri(req.from().uri);
  if (!sender || sender->host != options_.sipDomain) {
    ++stats_.refused;
    return txn.respond(req, 403, "Sender Not Served Here");
  }
  auto from = toJid(*sender, options_.componentDomain);
  auto to = toJid(*target, target->host);
  if (!from || !to) {
    ++stats_.refused;
    return txn.respond(req, 400, describe(!from ? from.error() : to.error()));
  }
  auto text = messageText(req.header(HeaderId::ContentType).value_or(""), req.body());
  if (!text) {
    if (text.error() == BodyError::Malformed) return txn.respond(req, 400, "Malformed Body");
    sip::Message resp = txn.response(req, 415);
    resp.addHeader(HeaderId::Accept, kAcceptText);
    return txn.respond(std::move(resp));
  }
  auto safe = xmlSafeText(*text);
  if (!safe) return txn.respond(req, 400, "Body Is Not UTF-8");
  if (safe->empty()) return txn.respond(req, 400, "Empty Message");

  // RFC 7572 §5: to the bare JID (or the full one a GRUU names), type per configuration.
  auto stanza = xmpp::makeStanza("message", from->full(), to->full(), options_.messageType);
  // Unguessable: a bounce with this id answers the held MESSAGE.
  const std::string id = "parley-m" + sip::randomToken(16);
  stanza->addAttribute("id", id);
  if (auto lang = languageTag(req.header(HeaderId::ContentLanguage).value_or(""))) stanza->addAttribute("xml:lang", *lang);
  if (auto subject = req.header(HeaderId::Subject))
    if (auto s = xmlSafeText(*subject)) new gloox::Tag(stanza.get(), "subject", *s);
  new gloox::Tag(stanza.get(), "body", *safe);
  if (!ports_.send(std::move(stanza))) return txn.respondUnavailable(req);  // the link is down and its queue full
  ++stats_.messagesToXmpp;
  // RFC 3428 §7 / standards.md: taken by a gateway into a non-SIP domain → 202,
  // after a short wait for the XMPP server to refuse it (an unknown user).
  if (options_.messageWait.count() == 0 || !ports_.setTimer) return txn.respond(req, 202);
  const bool toFullJid = !to->resource.empty();
  auto held = HeldMessage{std::move(txn), std::make_shared<const sip::Message>(std::move(req)), 0, toFullJid,
                          to->bare()};
  held.timer = ports_.setTimer(options_.messageWait, [this, id] {
    auto it = held_.find(id);
    if (it == held_.end()) return;
    HeldMessage h = std::move(it->second);
    held_.erase(it);
    h.txn.respond(*h.req, 202);
  });
  held_.emplace(id, std::move(held));
}

}  // namespace parley::bridge
