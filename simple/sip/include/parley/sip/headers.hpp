// Header names: the ones the core looks at get an id; everything else is Other
// and kept byte-for-byte. Names are case-insensitive and may use the compact
// forms of RFC 3261 §7.3.3 and RFC 6665 §7.3 (o = Event, u = Allow-Events).
#pragma once

#include <cstdint>
#include <string_view>

namespace parley::sip {

enum class HeaderId : std::uint8_t {
  Other,
  Accept, AcceptEncoding, AcceptLanguage, Allow, AllowEvents, Authorization,
  CallId, Contact, ContentDisposition, ContentEncoding, ContentLanguage, ContentLength,
  ContentType, CSeq, Date, Event, Expires, From, MaxForwards, MinExpires, Path,
  ProxyAuthenticate, ProxyAuthorization, ProxyRequire, RecordRoute, Require, RetryAfter,
  Route, Server, SipEtag, SipIfMatch, Subject, SubscriptionState, Supported, Timestamp, To,
  Unsupported, UserAgent, Via, Warning, WwwAuthenticate,
  kCount
};

/// Id of a header name (long or compact form, any case); Other if unknown.
/// `name` must be a token (RFC 3261 §25.1), as the parser guarantees.
[[nodiscard]] HeaderId headerIdFromName(std::string_view name);
/// Canonical long name ("Call-ID", "CSeq", "SIP-ETag" ...); empty for Other.
[[nodiscard]] std::string_view headerName(HeaderId id);
/// True for headers whose grammar is a comma-separated list (Via, Contact,
/// Route, Allow ...). Never true for Other, nor for the *-Authenticate /
/// *-Authorization headers whose values contain commas (RFC 3261 §7.3.1).
[[nodiscard]] bool isListHeader(HeaderId id);
/// True for headers that may appear at most once (Call-ID, CSeq, From, To,
/// Max-Forwards, Content-Length, Content-Type, Expires, Event ...).
[[nodiscard]] bool isSingleHeader(HeaderId id);

}  // namespace parley::sip
