#include "parley/sip/headers.hpp"

#include <array>
#include <cstdint>
#include <cstring>

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
constexpr std::size_t kPerBucket = 3;

// Buckets by (length, first letter): a lookup compares one candidate, rarely two.
struct Index {
  std::array<std::array<std::array<HeaderId, kPerBucket>, 27>, kMaxNameLen + 1> buckets{};
  Index() {
    for (std::size_t i = 1; i < kNames.size(); ++i) {
      auto& b = buckets[kNames[i].size()][slot(kNames[i][0])];
      for (auto& cell : b) {
        if (cell == HeaderId::Other) {
          cell = static_cast<HeaderId>(i);
          break;
        }
      }
    }
  }
  static std::size_t slot(char c) {
    const char l = grammar::lower(c);
    return (l >= 'a' && l <= 'z') ? static_cast<std::size_t>(l - 'a') : 26;
  }
};

const Index kIndex;

// Case-insensitive equality of a canonical name (letters and '-') with a
// token. OR-ing 0x20 folds case; it cannot make a token character equal to a
// letter or '-' that it is not, because the only bytes that fold onto those are
// control characters, which are not token characters.
bool equalsCanonical(std::string_view canonical, std::string_view token) {
  const std::size_t n = canonical.size();  // == token.size(): same bucket
  const char* a = canonical.data();
  const char* b = token.data();
  auto same8 = [](const char* x, const char* y) {
    std::uint64_t u, v;
    std::memcpy(&u, x, 8);
    std::memcpy(&v, y, 8);
    return (u | 0x2020202020202020ULL) == (v | 0x2020202020202020ULL);
  };
  auto same4 = [](const char* x, const char* y) {
    std::uint32_t u, v;
    std::memcpy(&u, x, 4);
    std::memcpy(&v, y, 4);
    return (u | 0x20202020U) == (v | 0x20202020U);
  };
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      if (!same8(a + i, b + i)) return false;
    return i == n || same8(a + n - 8, b + n - 8);  // overlapping tail
  }
  if (n >= 4) return same4(a, b) && same4(a + n - 4, b + n - 4);
  for (std::size_t i = 0; i < n; ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
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
  if (name.size() > kMaxNameLen || name.empty()) return HeaderId::Other;
  for (HeaderId id : kIndex.buckets[name.size()][Index::slot(name[0])]) {
    if (id == HeaderId::Other) break;
    if (equalsCanonical(kNames[static_cast<std::size_t>(id)], name)) return id;
  }
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
