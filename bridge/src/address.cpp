#include "parley/bridge/address.hpp"

#include <array>

namespace parley::bridge {

namespace {

// RFC 7622 §3.1: every part is 1..1023 bytes.
constexpr std::size_t kMaxPart = 1023;

// XEP-0106 §3.2 table: the character and its (lower-case) escape code.
struct Escape {
  char c;
  std::string_view code;  // the two hex digits after '\'
};
constexpr std::array<Escape, 10> kEscapes{{
    {' ', "20"}, {'"', "22"}, {'&', "26"}, {'\'', "27"}, {'/', "2f"},
    {':', "3a"}, {'<', "3c"}, {'>', "3e"}, {'@', "40"}, {'\\', "5c"},
}};

// The escape code at the start of `s` ("2f..."), or nullptr.
const Escape* escapeAt(std::string_view s) {
  if (s.size() < 2) return nullptr;
  for (const auto& e : kEscapes)
    if (s.substr(0, 2) == e.code) return &e;
  return nullptr;
}

const Escape* escapeFor(char c) {
  for (const auto& e : kEscapes)
    if (e.c == c) return &e;
  return nullptr;
}

bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool isControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
int hexValue(char c) { return c <= '9' ? c - '0' : lower(c) - 'a' + 10; }

bool hasControl(std::string_view s) {
  for (char c : s)
    if (isControl(c)) return true;
  return false;
}

// Well-formed UTF-8 (RFC 3629 §4): no overlongs, no surrogates, <= U+10FFFF.
bool validUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xbf;  // allowed range of the first continuation byte
    if (b < 0x80) {
      ++i;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b == 0xe0) lo = 0xa0;
      if (b == 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b == 0xf0) lo = 0x90;
      if (b == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf)) return false;
    }
    i += n + 1;
  }
  return true;
}

// %-decoding that refuses malformed escapes (sip::unescape copies them).
tl::expected<std::string, AddressError> percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) return tl::unexpected(AddressError::BadEscape);
    out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
    i += 2;
  }
  if (!validUtf8(out)) return tl::unexpected(AddressError::BadUtf8);
  return out;
}

// RFC 3261 §25.1: unreserved = alphanum / "-_.!~*'()".
bool isUnreserved(char c) { return isAlnum(c) || std::string_view("-_.!~*'()").find(c) != std::string_view::npos; }
bool isUserChar(char c) { return isUnreserved(c) || std::string_view("&=+$,;?/").find(c) != std::string_view::npos; }
bool isParamChar(char c) { return isUnreserved(c) || std::string_view("[]/:&+$").find(c) != std::string_view::npos; }

// %-encodes every byte `allowed` rejects, upper-case hex as in RFC 7247 §6.5's
// example (f%C3%BC). Non-ASCII bytes are never allowed.
template <class Allowed>
void appendEncoded(std::string& out, std::string_view s, Allowed allowed) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  for (char c : s) {
    if (allowed(c)) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0x0f]);
    }
  }
}

// Checks and normalizes a domainpart: one trailing dot dropped, ASCII
// lower-cased; LDH labels (or UTF-8 IDN labels, unchecked beyond UTF-8) or a
// bracketed IPv6 literal [RFC 7622 §3.2].
tl::expected<std::string, AddressError> normalizeDomain(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty()) return tl::unexpected(AddressError::BadJid);
  if (!validUtf8(d)) return tl::unexpected(AddressError::BadUtf8);
  if (d.size() > kMaxPart) return tl::unexpected(AddressError::TooLong);
  std::string out;
  out.reserve(d.size());
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return tl::unexpected(AddressError::BadJid);
    for (char c : d.substr(1, d.size() - 2))
      if (!isHex(c) && c != ':' && c != '.') return tl::unexpected(AddressError::BadJid);
    for (char c : d) out.push_back(lower(c));
    return out;
  }
  char prev = '.';
  for (char c : d) {
    const bool ok = isAlnum(c) || c == '-' || c == '.' || static_cast<unsigned char>(c) >= 0x80;
    if (!ok || (c == '.' && prev == '.')) return tl::unexpected(AddressError::BadJid);  // bad char or empty label
    out.push_back(lower(c));
    prev = c;
  }
  return out;
}

// A localpart as it travels (already escaped) [RFC 7622 §3.3; XEP-0106 §2].
tl::expected<void, AddressError> checkLocal(std::string_view l) {
  if (l.empty()) return tl::unexpected(AddressError::EmptyLocal);
  if (!validUtf8(l)) return tl::unexpected(AddressError::BadUtf8);
  if (l.size() > kMaxPart) return tl::unexpected(AddressError::TooLong);
  for (char c : l)
    if (isControl(c) || std::string_view("\"&'/:<>@ ").find(c) != std::string_view::npos)
      return tl::unexpected(AddressError::BadJid);
  return {};
}

// A resourcepart (OpaqueString: anything printable) [RFC 7622 §3.4].
tl::expected<void, AddressError> checkResource(std::string_view r) {
  if (!validUtf8(r)) return tl::unexpected(AddressError::BadUtf8);
  if (r.size() > kMaxPart) return tl::unexpected(AddressError::TooLong);
  if (hasControl(r)) return tl::unexpected(AddressError::BadJid);
  return {};
}

std::string lowerAscii(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(lower(c));
  return out;
}

}  // namespace

std::string_view describe(AddressError e) {
  switch (e) {
    case AddressError::NotSip: return "not a sip: URI";
    case AddressError::Sips: return "sips: URIs are not bridged to XMPP";
    case AddressError::NoUser: return "SIP URI without a user part";
    case AddressError::BadEscape: return "invalid %-escape";
    case AddressError::BadUtf8: return "address is not valid UTF-8";
    case AddressError::TooLong: return "JID part longer than 1023 bytes";
    case AddressError::BadJid: return "invalid JID";
    case AddressError::EmptyLocal: return "empty JID localpart";
  }
  return "invalid address";
}

std::string Jid::bare() const {
  if (local.empty()) return domain;
  std::string s;
  s.reserve(local.size() + 1 + domain.size());
  s.append(local).push_back('@');
  s.append(domain);
  return s;
}

std::string Jid::full() const {
  std::string s = bare();
  if (!resource.empty()) s.append("/").append(resource);
  return s;
}

std::string SipAddress::aor() const {
  std::string s;
  s.reserve(user.size() + 1 + host.size());
  appendEncoded(s, user, isUserChar);
  s.push_back('@');
  s.append(host);
  return s;
}

std::string SipAddress::uri() const {
  std::string s = "sip:";
  s.append(aor());
  if (!gruu.empty()) {
    s.append(";gr=");
    appendEncoded(s, gruu, isParamChar);
  }
  return s;
}

tl::expected<Jid, AddressError> parseJid(std::string_view text) {
  // RFC 7622 §3.2: resourcepart from the first '/', then localpart up to the first '@'.
  Jid jid;
  const std::size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view resource = text.substr(slash + 1);
    if (resource.empty()) return tl::unexpected(AddressError::BadJid);
    if (auto ok = checkResource(resource); !ok) return tl::unexpected(ok.error());
    jid.resource = resource;
    text = text.substr(0, slash);
  }
  const std::size_t at = text.find('@');
  if (at != std::string_view::npos) {
    const std::string_view local = text.substr(0, at);
    if (auto ok = checkLocal(local); !ok) return tl::unexpected(ok.error());
    jid.local = local;
    text = text.substr(at + 1);
  }
  auto domain = normalizeDomain(text);
  if (!domain) return tl::unexpected(domain.error());
  jid.domain = std::move(*domain);
  return jid;
}

tl::expected<SipAddress, AddressError> fromSipUri(const sip::Uri& uri) {
  if (uri.scheme == sip::Scheme::Sips) return tl::unexpected(AddressError::Sips);
  if (uri.scheme != sip::Scheme::Sip) return tl::unexpected(AddressError::NotSip);
  if (uri.user.empty()) return tl::unexpected(AddressError::NoUser);
  SipAddress out;
  auto user = percentDecode(uri.user);
  if (!user) return tl::unexpected(user.error());
  out.user = std::move(*user);
  out.host = lowerAscii(uri.host);
  if (const auto gr = uri.param("gr"); gr && !gr->empty()) {
    auto gruu = percentDecode(*gr);
    if (!gruu) return tl::unexpected(gruu.error());
    out.gruu = std::move(*gruu);
  }
  return out;
}

tl::expected<Jid, AddressError> toJid(const SipAddress& sip, std::string_view xmppDomain) {
  if (sip.user.empty()) return tl::unexpected(AddressError::EmptyLocal);
  if (!validUtf8(sip.user)) return tl::unexpected(AddressError::BadUtf8);
  if (sip.user.front() == ' ' || sip.user.back() == ' ' || hasControl(sip.user))
    return tl::unexpected(AddressError::BadJid);
  Jid jid;
  jid.local = escapeLocal(sip.user);
  if (jid.local.size() > kMaxPart) return tl::unexpected(AddressError::TooLong);
  auto domain = normalizeDomain(xmppDomain);
  if (!domain) return tl::unexpected(domain.error());
  jid.domain = std::move(*domain);
  if (auto ok = checkResource(sip.gruu); !ok) return tl::unexpected(ok.error());
  jid.resource = sip.gruu;
  return jid;
}

tl::expected<SipAddress, AddressError> toSip(const Jid& jid, std::string_view sipHost) {
  if (jid.local.empty()) return tl::unexpected(AddressError::EmptyLocal);
  SipAddress out;
  out.user = unescapeLocal(jid.local);
  if (!validUtf8(out.user) || !validUtf8(jid.resource)) return tl::unexpected(AddressError::BadUtf8);
  out.host = lowerAscii(sipHost);
  out.gruu = jid.resource;
  return out;
}

std::string escapeLocal(std::string_view raw) {
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
  std::string out;
  out.reserve(raw.size() + raw.size() / 4);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    // A backslash is data unless it would read back as an escape sequence
    // (XEP-0106 §3.2: "\5c" is escaped only where it is ambiguous).
    const bool literal = c == '\\' && escapeAt(raw.substr(i + 1)) == nullptr;
    const Escape* e = literal ? nullptr : escapeFor(c);
    if (e == nullptr) {
      out.push_back(c);
    } else {
      out.push_back('\\');
      out.append(e->code);
    }
  }
  return out;
}

std::string unescapeLocal(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const Escape* e = escaped[i] == '\\' ? escapeAt(escaped.substr(i + 1)) : nullptr;
    if (e == nullptr) {
      out.push_back(escaped[i]);
    } else {
      out.push_back(e->c);
      i += 2;
    }
  }
  return out;
}

}  // namespace parley::bridge
