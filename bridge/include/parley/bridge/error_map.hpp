// Error mapping between SIP response codes and XMPP stanza errors
// [RFC 7247 §7.1, §7.2; standards.md §8.4], with each condition's usual
// error type [RFC 6120 §8.3.3].
#pragma once

#include <cstdint>
#include <string_view>

namespace parley::bridge {

enum class StanzaErrorType : std::uint8_t { Auth, Cancel, Continue, Modify, Wait };

/// A defined condition of urn:ietf:params:xml:ns:xmpp-stanzas and its type.
/// `condition` points at static storage.
struct StanzaError {
  std::string_view condition;  ///< e.g. "item-not-found"
  StanzaErrorType type;
};

/// SIP final response -> stanza error [RFC 7247 §7.2]. Codes the table does not
/// list take their class default: 3xx redirect, 4xx bad-request,
/// 5xx internal-server-error, 6xx recipient-unavailable. A code outside
/// 300..699 is no error to map: undefined-condition (cancel).
[[nodiscard]] StanzaError stanzaErrorForSip(int sipCode);

/// Stanza error condition -> SIP code [RFC 7247 §7.1]. `toFullJid` selects
/// between the codes §7.1 gives for full and bare JIDs (405/501, 403/603,
/// 404/604, 406/606, 480/600). Unknown conditions -> 400;
/// service-unavailable -> 403, never 503 (a 503 makes SIP proxies fail over,
/// RFC 3263 §4.3). gone -> 410: the caller that has the new address uses 301.
[[nodiscard]] int sipCodeForStanzaError(std::string_view condition, bool toFullJid);

/// "auth", "cancel", "continue", "modify", "wait" [RFC 6120 §8.3.2].
[[nodiscard]] std::string_view errorTypeName(StanzaErrorType type);

}  // namespace parley::bridge
