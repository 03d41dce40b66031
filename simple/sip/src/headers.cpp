#include "parley/sip/headers.hpp"

#include <array>
#include <vector>

#include "grammar.hpp"

namespace parley::sip {
namespace {

struct Entry {
  std::string_view name;
  HeaderId id;
};

// Canonical long names, indexed by HeaderId.
constexpr std::array<std::string_view, static_cast<std::size_t>(HeaderId::kCount)> kNames{
    "",                    "Accept",           "Accept-Encoding",    "Accept-Language",
    "Allow",               "Allow-Events",     "Authorization",      "Call-ID",
    "Contact",             "Content-Disposition", "Content-Encoding", "Content-Language",
    "Content-Length",      "Content-Type",     "CSeq",               "Date",
    "Event",               "Expires",          "From",               "Max-Forwards",
    "Min-Expires",         "Path",             "Proxy-Authenticate", "Proxy-Authorization",
    "Proxy-Require",       "Record-Route",     "Require",            "Retry-After",
    "Route",               "Server",           "SIP-ETag",           "SIP-If-Match",
    "Subject",             "Subscription-State", "Supported",        "Timestamp",
    "To",                  "Unsupported",      "User-Agent",         "Via",
    "Warning",             "WWW-Authenticate",
};

// RFC 3261 §7.3.3 and RFC 6665 §7.3 compact forms that map to an id.
constexpr std::array<Entry, 12> kCompact{{
    {"i", HeaderId::CallId}, {"m", HeaderId::Contact}, {"e", HeaderId::ContentEncoding},
    {"l", HeaderId::ContentLength}, {"c", HeaderId::ContentType}, {"f", HeaderId::From},
    {"s", HeaderId::Subject}, {"k", HeaderId::Supported}, {"t", HeaderId::To},
    {"v", HeaderId::Via}, {"o", HeaderId::Event}, {"u", HeaderId::AllowEvents},
}};

constexpr std::size_t kMaxNameLen = 24;

// Buckets by length so a lookup compares a handful of candidates at most.
struct Index {
  std::array<std::vector<Entry>, kMaxNameLen + 1> byLength;
  Index() {
    for (std::size_t i = 1; i < kNames.size(); ++i)
      byLength[kNames[i].size()].push_back({kNames[i], static_cast<HeaderId>(i)});
  }
};

const Index& index() {
  static const Index idx;
  return idx;
}

bool iequalsAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (grammar::lower(a[i]) != grammar::lower(b[i])) return false;
  return true;
}

}  // namespace

HeaderId headerIdFromName(std::string_view name) {
  if (name.size() == 1) {
    const char c = grammar::lower(name[0]);
    for (const auto& e : kCompact)
      if (e.name[0] == c) return e.id;
    return HeaderId::Other;
  }
  if (name.size() > kMaxNameLen) return HeaderId::Other;
  for (const auto& e : index().byLength[name.size()])
    if (iequalsAscii(e.name, name)) return e.id;
  return HeaderId::Other;
}

std::string_view headerName(HeaderId id) { return kNames[static_cast<std::size_t>(id)]; }

bool isListHeader(HeaderId id) {
  switch (id) {
    case HeaderId::Accept: case HeaderId::AcceptEncoding: case HeaderId::AcceptLanguage:
    case HeaderId::Allow: case HeaderId::AllowEvents: case HeaderId::Contact:
    case HeaderId::ContentEncoding: case HeaderId::ContentLanguage: case HeaderId::Path:
    case HeaderId::ProxyRequire: case HeaderId::RecordRoute: case HeaderId::Require:
    case HeaderId::Route: case HeaderId::Supported: case HeaderId::Unsupported:
    case HeaderId::Via: case HeaderId::Warning:
      return true;
    default:
      return false;
  }
}

bool isSingleHeader(HeaderId id) {
  switch (id) {
    case HeaderId::CallId: case HeaderId::CSeq: case HeaderId::From: case HeaderId::To:
    case HeaderId::MaxForwards: case HeaderId::ContentType: case HeaderId::Expires:
    case HeaderId::Event: case HeaderId::MinExpires: case HeaderId::SipEtag:
    case HeaderId::SipIfMatch: case HeaderId::SubscriptionState:
      return true;
    default:
      return false;
  }
}

}  // namespace parley::sip
