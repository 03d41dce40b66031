#include "parley/presence/publisher.hpp"

#include <algorithm>
#include <array>
#include <memory>

#include "parley/pidf/parse.hpp"
#include "parley/sip/header_values.hpp"
#include "parley/sip/random.hpp"

namespace parley::presence {
using sip::HeaderId;

namespace {

constexpr std::array<EventPackage, 2> kPackages{{
    {"presence", "application/pidf+xml"},        // RFC 3856 §6.2
    {"dialog", "application/dialog-info+xml"},   // RFC 4235 §3.2
}};
constexpr std::string_view kAllowEvents = "presence, dialog";

// A reason phrase from a document error: printable ASCII, bounded.
std::string reasonFrom(std::string_view message) {
  std::string out;
  for (char c : message.substr(0, 100))
    if (c >= 0x20 && c < 0x7f) out.push_back(c);
  return out.empty() ? std::string("Malformed Document") : "Malformed Document: " + out;
}

}  // namespace

const EventPackage* findPackage(std::string_view name) {
  for (const auto& p : kPackages)
    if (p.name == name) return &p;  // event types compare byte-wise (RFC 6665 §8.2.1)
  return nullptr;
}

Publisher::Publisher(PublishOptions options, storage::PublicationStore& store)
    : options_(std::move(options)), store_(store) {}

simple::MethodRegistration Publisher::registration() {
  // No Allow-Events: that header names packages we *notify* for (RFC 6665
  // §4.4.4), which is the subscription module's to declare. A PUBLISH for an
  // unknown package still gets 489 listing the ones we accept.
  return {sip::Method::Publish, this, {std::string(kPackages[0].contentType), std::string(kPackages[1].contentType)},
          {}};
}

std::string Publisher::key(std::string_view event, std::string_view aor) {
  std::string k(event);
  k.push_back(' ');
  k.append(aor);
  return k;
}

void Publisher::handle(simple::ServerTransaction txn, sip::Message&& request) {
  auto req = std::make_shared<sip::Message>(std::move(request));
  auto reply = [&](int code, std::string_view reason = {}) { txn.respond(*req, code, reason); };
  auto replyWith = [&](int code, HeaderId id, std::string_view value) {
    sip::Message resp = txn.response(*req, code);
    resp.addHeader(id, value);
    txn.respond(std::move(resp));
  };

  // 1. The presentity.
  const std::string aor = sip::addressOfRecord(req->requestLine().uri);
  if (aor.empty()) return reply(404);
  if (!options_.domains.empty() && !req->requestLine().uri.hostIsIpv6()) {
    const std::string host = aor.substr(aor.rfind('@') + 1);
    const bool ipv4 = !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
    if (!ipv4 && std::find(options_.domains.begin(), options_.domains.end(), host) == options_.domains.end())
      return reply(403, "Presentity Not Served Here");
  }

  // 2. The event package.
  const auto eventHeader = req->header(HeaderId::Event);
  const auto event = eventHeader ? sip::parseTokenParams(*eventHeader) : tl::unexpected(sip::ValueError::Empty);
  const EventPackage* package = event ? findPackage(event->token) : nullptr;
  if (package == nullptr) return replyWith(489, HeaderId::AllowEvents, kAllowEvents);

  // 3. SIP-If-Match.
  if (req->count(HeaderId::SipIfMatch) > 1) return reply(400, "Multiple SIP-If-Match");
  std::string ifMatch(req->header(HeaderId::SipIfMatch).value_or(std::string_view{}));

  // 4. Expires.
  std::optional<std::uint32_t> requested;
  if (auto e = req->header(HeaderId::Expires)) {
    auto v = sip::parseUnsigned(*e, 0xffffffffu);
    if (!v) return reply(400, "Malformed Expires");
    requested = *v;
  }
  const auto granted = options_.expiry.grant(requested);
  if (!granted) return replyWith(423, HeaderId::MinExpires, std::to_string(options_.expiry.min.count()));
  const std::uint32_t expires = *granted;

  // 5. The body.
  const std::string_view body = req->body();
  if (!body.empty()) {
    const auto type = req->header(HeaderId::ContentType);
    const auto parsedType = type ? sip::parseTokenParams(*type) : tl::unexpected(sip::ValueError::Empty);
    if (!parsedType || !sip::iequals(parsedType->token, package->contentType))
      return replyWith(415, HeaderId::Accept, package->contentType);
    if (body.size() > options_.maxBodyBytes) return reply(413);
    pidf::Limits limits;
    limits.maxBytes = options_.maxBodyBytes;
    const std::optional<pidf::DocumentError> bad = package->name == "presence"
                                                       ? pidf::validatePidf(body, limits)
                                                       : pidf::validateDialogInfo(body, limits);
    if (bad) return reply(400, reasonFrom(bad->message));
  } else if (ifMatch.empty()) {
    return reply(400, "Missing Body");
  }
  if (expires == 0 && ifMatch.empty()) return reply(400, "Expires 0 Without SIP-If-Match");

  // Store atomically; the new tag is drawn once so a retried closure is pure.
  const storage::WallTime now = options_.wallClock();
  // 90 random bits in 15 token characters: never reused in practice (RFC 3903
  // §6 step 6), and short enough to live inside std::string (no allocation).
  const std::string newTag = sip::randomToken(15);
  auto change = [ifMatch, newTag, now, expires, body = std::string(body),
                 maxPublications = options_.maxPublicationsPerPresentity](const storage::Publications& live)
      -> tl::expected<storage::Publications, storage::StoreError> {
    auto refuse = [](int code, std::string message) {
      return tl::unexpected(storage::StoreError{storage::StoreError::Code::Refused, code, std::move(message)});
    };
    storage::Publications next = live;
    if (!ifMatch.empty()) {
      auto it = std::find_if(next.begin(), next.end(), [&](const auto& p) { return p.etag == ifMatch; });
      if (it == next.end()) return refuse(412, "Conditional Request Failed");
      if (expires == 0) {
        next.erase(it);
        return next;
      }
      it->etag = newTag;
      it->expires = now + std::chrono::seconds(expires);
      if (!body.empty()) {  // modify; else refresh
        it->body = body;
        it->modified = now;
      }
      return next;
    }
    if (next.size() >= maxPublications) return refuse(403, "Too Many Publications");
    next.push_back({newTag, body, now + std::chrono::seconds(expires), now});
    return next;
  };
  store_.update(key(package->name, aor), now, std::move(change),
                [this, txn, req, newTag, ifMatch, expires, aor, event = package->name,
                 changed = !body.empty() || expires == 0](tl::expected<storage::Publications, storage::StoreError> r) {
                  if (!r) {
                    const auto& e = r.error();
                    if (e.code == storage::StoreError::Code::Unavailable) return txn.respondUnavailable(*req);
                    return txn.respond(*req, e.sipCode, e.message);
                  }
                  sip::Message resp = txn.response(*req, 200);
                  resp.addHeader(HeaderId::Expires, std::to_string(expires));
                  resp.addHeader(HeaderId::SipEtag, expires == 0 ? ifMatch : newTag);
                  txn.respond(std::move(resp));
                  ++(expires == 0 ? stats_.removed : changed ? stats_.changed : stats_.refreshed);
                  if (listener_) listener_({event, aor, *r, changed});
                });
}

void Publisher::publishAs(std::string_view event, std::string aor, std::string tag, std::string body,
                          std::chrono::seconds expires, storage::PublicationStore::Done done) {
  const storage::WallTime now = options_.wallClock();
  auto change = [tag, body, now, expires, maxPublications = options_.maxPublicationsPerPresentity](
                    const storage::Publications& live) -> tl::expected<storage::Publications, storage::StoreError> {
    storage::Publications next = live;
    auto it = std::find_if(next.begin(), next.end(), [&](const auto& p) { return p.etag == tag; });
    if (expires.count() == 0) {
      if (it != next.end()) next.erase(it);
      return next;
    }
    if (it == next.end()) {
      if (next.size() >= maxPublications)
        return tl::unexpected(storage::StoreError{storage::StoreError::Code::Refused, 403, "Too Many Publications"});
      next.push_back({tag, body, now + expires, now});
      return next;
    }
    it->body = body;
    it->expires = now + expires;
    it->modified = now;
    return next;
  };
  const EventPackage* package = findPackage(event);
  const std::string_view name = package != nullptr ? package->name : std::string_view("presence");
  store_.update(key(name, aor), now, std::move(change),
                [this, name, aor, removal = expires.count() == 0,
                 done = std::move(done)](tl::expected<storage::Publications, storage::StoreError> r) {
                  if (r) ++(removal ? stats_.removed : stats_.changed);
                  if (r && listener_) listener_({name, aor, *r, true});
                  done(std::move(r));
                });
}

void Publisher::lookup(std::string_view event, std::string_view aor, storage::PublicationStore::Done done) {
  store_.lookup(key(event, aor), options_.wallClock(), [done = std::move(done)](auto r) {
    if (r) {
      std::stable_sort(r->begin(), r->end(),
                       [](const auto& a, const auto& b) { return a.modified > b.modified; });
    }
    done(std::move(r));
  });
}

}  // namespace parley::presence
