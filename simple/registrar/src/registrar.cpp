#include "parley/registrar/registrar.hpp"

#include <algorithm>
#include <ctime>
#include <memory>

#include "parley/sip/header_values.hpp"

namespace parley::registrar {
using sip::HeaderId;

namespace {

// One Contact of the REGISTER, validated, owning its text (the store may run
// the change closure later, or more than once).
struct Requested {
  std::string contact;  // URI text
  std::uint32_t expires = 0;
  std::uint16_t qMilli = 1000;
};

struct Refusal {
  int code;
  std::string reason;
};

// q-value: "0" | "1" | "0.d{1,3}" | "1.0{1,3}" (RFC 3261 §25.1 qvalue).
std::optional<std::uint16_t> parseQ(std::string_view q) {
  if (q.empty() || (q[0] != '0' && q[0] != '1')) return std::nullopt;
  if (q.size() == 1) return static_cast<std::uint16_t>(q[0] == '1' ? 1000 : 0);
  if (q[1] != '.' || q.size() > 5 || q.size() < 3) return std::nullopt;
  std::uint16_t frac = 0;
  std::uint16_t scale = 100;
  for (std::size_t i = 2; i < q.size(); ++i, scale /= 10) {
    if (q[i] < '0' || q[i] > '9') return std::nullopt;
    frac = static_cast<std::uint16_t>(frac + (q[i] - '0') * scale);
  }
  if (q[0] == '1') return frac == 0 ? std::optional<std::uint16_t>(1000) : std::nullopt;
  return frac;
}

std::string qText(std::uint16_t qMilli) {
  if (qMilli >= 1000) return "1";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0.%03u", static_cast<unsigned>(qMilli));
  std::string s(buf);
  while (s.size() > 3 && s.back() == '0') s.pop_back();
  return s;
}

// RFC 1123 date in GMT, as the Date header wants it (RFC 3261 §20.17).
std::string httpDate(storage::WallTime t) {
  const std::time_t secs = storage::WallClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool sameUri(std::string_view a, std::string_view b) {
  auto ua = sip::parseUri(a);
  auto ub = sip::parseUri(b);
  return ua && ub ? sip::equivalent(*ua, *ub) : a == b;
}

// Reads the REGISTER's Contact and Expires headers (§10.3 steps 6-7).
tl::expected<std::vector<Requested>, Refusal> readContacts(const sip::Message& req, const Options& o,
                                                           bool& wildcard) {
  std::optional<std::uint32_t> headerExpires;
  if (auto e = req.header(HeaderId::Expires)) {
    auto v = sip::parseUnsigned(*e, 0xffffffffu);
    if (!v) return tl::unexpected(Refusal{400, "Malformed Expires"});
    headerExpires = *v;
  }
  std::vector<Requested> out;
  const auto elements = req.list(HeaderId::Contact);
  wildcard = false;
  for (auto element : elements) {
    if (element == "*") {
      wildcard = true;
      continue;
    }
    auto na = sip::parseNameAddr(element);
    if (!na) return tl::unexpected(Refusal{400, "Malformed Contact"});
    // §20.10: a URI with '?' (or ',' ';') must be written inside <>.
    if (!na->angleBrackets && !na->uri.headers.empty())
      return tl::unexpected(Refusal{400, "Malformed Contact"});
    Requested r;
    r.contact = std::string(na->uriText);
    std::optional<std::uint32_t> requestedExpires = headerExpires;
    if (auto p = na->param("expires")) {
      auto v = sip::parseUnsigned(*p, 0xffffffffu);
      if (!v) return tl::unexpected(Refusal{400, "Malformed Contact Expires"});
      requestedExpires = *v;
    }
    const auto granted = o.expiry.grant(requestedExpires);
    if (!granted) return tl::unexpected(Refusal{423, "Interval Too Brief"});
    r.expires = *granted;
    if (auto q = na->param("q")) {
      auto v = parseQ(*q);
      if (!v) return tl::unexpected(Refusal{400, "Malformed q-value"});
      r.qMilli = *v;
    }
    out.push_back(std::move(r));
  }
  // "*" only alone, and only with Expires: 0 (§10.2.2, §10.3 step 6).
  if (wildcard && (!out.empty() || elements.size() != 1 || headerExpires != 0u))
    return tl::unexpected(Refusal{400, "Invalid Wildcard Contact"});
  return out;
}

}  // namespace

Registrar::Registrar(Options options, storage::RegistrationStore& store)
    : options_(std::move(options)), store_(store) {}

simple::MethodRegistration Registrar::registration() { return {sip::Method::Register, this, {}, {}}; }

void Registrar::handle(simple::ServerTransaction txn, sip::Message&& request) {
  auto req = std::make_shared<sip::Message>(std::move(request));
  auto refuse = [&txn, &req](int code, std::string_view reason) { txn.respond(*req, code, reason); };

  // §10.3 step 5: the AOR is the To URI, and it must be one of ours.
  const sip::Uri& to = req->to().uri;
  const std::string aor = sip::addressOfRecord(to);
  std::string host(to.host);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (aor.empty() || std::find(options_.domains.begin(), options_.domains.end(), host) == options_.domains.end())
    return refuse(404, "Not Found");

  bool wildcard = false;
  auto contacts = readContacts(*req, options_, wildcard);
  if (!contacts) {
    if (contacts.error().code == 423) {
      sip::Message resp = txn.response(*req, 423);
      resp.addHeader(HeaderId::MinExpires, std::to_string(options_.expiry.min.count()));
      return txn.respond(std::move(resp));
    }
    return refuse(contacts.error().code, contacts.error().reason);
  }

  const storage::WallTime now = options_.wallClock();
  auto reply = [txn, req, now](tl::expected<storage::Bindings, storage::StoreError> result) mutable {
    if (!result) {
      const auto& e = result.error();
      if (e.code == storage::StoreError::Code::Unavailable) return txn.respondUnavailable(*req);
      return txn.respond(*req, e.sipCode, e.message);
    }
    sip::Message resp = txn.response(*req, 200);
    for (const auto& b : *result) {
      const auto left = std::chrono::ceil<std::chrono::seconds>(b.expires - now).count();
      // (appends, not an operator+ chain: g++ 12 -Wrestrict false positive)
      std::string contact;
      contact.append("<").append(b.contact).append(">;expires=");
      contact.append(std::to_string(std::max<long long>(left, 0)));
      if (b.qMilli != 1000) contact.append(";q=").append(qText(b.qMilli));
      resp.addHeader(HeaderId::Contact, contact);
    }
    // RFC 3327 §5.3: echo Path when the UA supports it.
    bool pathSupported = false;
    for (auto tag : req->list(HeaderId::Supported)) pathSupported |= sip::iequals(tag, "path");
    if (pathSupported)
      for (auto p : req->list(HeaderId::Path)) resp.addHeader(HeaderId::Path, p);
    resp.addHeader(HeaderId::Date, httpDate(now));
    txn.respond(std::move(resp));
  };

  if (!wildcard && contacts->empty()) return store_.lookup(aor, now, std::move(reply));  // a query

  std::vector<std::string> path;
  for (auto p : req->list(HeaderId::Path)) path.emplace_back(p);
  auto change = [requested = std::move(*contacts), wildcard, callId = std::string(req->callId()),
                 cseq = req->cseq().number, path = std::move(path), source = sip::formatPeer(txn.peer()), now,
                 maxContacts = options_.maxContacts](const storage::Bindings& live)
      -> tl::expected<storage::Bindings, storage::StoreError> {
    auto outOfOrder = [&](const storage::Binding& b) { return b.callId == callId && cseq <= b.cseq; };
    const auto refused = [](int code, std::string message) {
      return tl::unexpected(storage::StoreError{storage::StoreError::Code::Refused, code, std::move(message)});
    };
    if (wildcard) {
      if (std::any_of(live.begin(), live.end(), outOfOrder)) return refused(400, "Invalid CSeq Number");
      return storage::Bindings{};
    }
    storage::Bindings next = live;
    for (const Requested& r : requested) {
      auto it = std::find_if(next.begin(), next.end(),
                             [&](const storage::Binding& b) { return sameUri(b.contact, r.contact); });
      if (it != next.end() && outOfOrder(*it)) return refused(400, "Invalid CSeq Number");
      if (r.expires == 0) {
        if (it != next.end()) next.erase(it);
        continue;
      }
      storage::Binding b{r.contact, callId, cseq, now + std::chrono::seconds(r.expires), r.qMilli, path, source};
      if (it != next.end()) *it = std::move(b);
      else next.push_back(std::move(b));
    }
    if (next.size() > maxContacts) return refused(403, "Too Many Contacts");
    return next;
  };
  store_.update(aor, now, std::move(change), std::move(reply));
}

void Registrar::lookup(const std::string& aor, storage::RegistrationStore::Done done) {
  store_.lookup(aor, options_.wallClock(), [done = std::move(done)](auto result) {
    if (result) {
      std::stable_sort(result->begin(), result->end(), [](const storage::Binding& a, const storage::Binding& b) {
        return a.qMilli != b.qMilli ? a.qMilli > b.qMilli : a.expires > b.expires;
      });
    }
    done(std::move(result));
  });
}

}  // namespace parley::registrar
