// Address mapping between SIP URIs and XMPP JIDs [RFC 7247 §6] with JID
// escaping [XEP-0106]. Typed values in, typed values out: callers never cut
// or glue address strings themselves. Domain mapping (SIP example.com <->
// component sip.example.com) is configuration [RFC 7247 §6.1], so both
// directions take the target domain as an argument.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "parley/sip/uri.hpp"

namespace parley::bridge {

/// A JID split in parts [RFC 7622 §3]. `local` is already XEP-0106-escaped,
/// i.e. it is the localpart as it travels on the wire.
struct Jid {
  std::string local, domain, resource;
  /// "local@domain", or "domain" when local is empty.
  [[nodiscard]] std::string bare() const;
  /// bare() + "/resource" when resource is non-empty.
  [[nodiscard]] std::string full() const;
  bool operator==(const Jid&) const = default;
};

/// What a SIP URI names, decoded.
struct SipAddress {
  std::string user;  ///< %-decoded UTF-8
  std::string host;  ///< lower-case
  std::string gruu;  ///< value of ;gr= (public GRUU), %-decoded; empty if none
  /// "user@host" with the user %-encoded as RFC 3261 §25.1 `user` requires.
  [[nodiscard]] std::string aor() const;
  /// "sip:user@host", plus ";gr=..." when gruu is non-empty; correctly %-encoded.
  [[nodiscard]] std::string uri() const;
  bool operator==(const SipAddress&) const = default;
};

enum class AddressError : std::uint8_t {
  NotSip,      ///< not a sip: URI (tel:, pres:, ...)
  Sips,        ///< sips: must not be bridged to XMPP [RFC 7247 §8]
  NoUser,      ///< SIP URI without a user part: nothing to make a localpart of
  BadEscape,   ///< a '%' not followed by two hex digits
  BadUtf8,     ///< decoded bytes are not well-formed UTF-8
  TooLong,     ///< a JID part longer than 1023 bytes [RFC 7622 §3.1]
  BadJid,      ///< forbidden character, empty domain/resource, bad domain
  EmptyLocal,  ///< "@domain", or a bare-domain JID where a user is needed
};
[[nodiscard]] std::string_view describe(AddressError e);

/// Splits and validates "local@domain/resource" [RFC 7622 §3.1-§3.2]: each part
/// 1..1023 bytes of UTF-8 without control characters; the localpart without
/// `" & ' / : < > @` and space (those travel XEP-0106-escaped); the domain is
/// lower-cased (ASCII) and loses one trailing dot. No PRECIS case mapping.
[[nodiscard]] tl::expected<Jid, AddressError> parseJid(std::string_view text);

/// Decodes a parsed SIP URI: sips -> Sips, other schemes -> NotSip, no user ->
/// NoUser. A `;gr` without a value (a temporary GRUU) is treated as no GRUU:
/// only public GRUUs map to resources [RFC 7247 §6.3].
[[nodiscard]] tl::expected<SipAddress, AddressError> fromSipUri(const sip::Uri& uri);

/// SIP -> XMPP [RFC 7247 §6.4]: user escaped with the full XEP-0106 table
/// (standards.md §8.2 "(project)"), domain = xmppDomain (lower-cased),
/// resource = gruu. A user with a leading or trailing space is refused
/// (BadJid): XEP-0106 cannot express it and trimming would merge two users.
[[nodiscard]] tl::expected<Jid, AddressError> toJid(const SipAddress& sip, std::string_view xmppDomain);

/// XMPP -> SIP [RFC 7247 §6.5]: localpart unescaped (XEP-0106), host =
/// sipHost (lower-cased), gruu = resource.
[[nodiscard]] tl::expected<SipAddress, AddressError> toSip(const Jid& jid, std::string_view sipHost);

/// XEP-0106 escaping of a raw (decoded) localpart: space " & ' / : < > @ become
/// \20 \22 \26 \27 \2f \3a \3c \3e \40; a backslash becomes \5c only where it
/// would otherwise start one of the ten escape sequences. Leading and trailing
/// spaces are dropped, since an escaped localpart never starts or ends with \20.
[[nodiscard]] std::string escapeLocal(std::string_view raw);

/// Inverse of escapeLocal: decodes exactly the ten lower-case sequences,
/// left to right; every other backslash is literal.
[[nodiscard]] std::string unescapeLocal(std::string_view escaped);

}  // namespace parley::bridge
