#include "parley/bridge/error_map.hpp"

#include <array>

namespace parley::bridge {

namespace {
using T = StanzaErrorType;

// RFC 7247 §7.2, types per RFC 6120 §8.3.3.
struct SipRow {
  int code;
  StanzaError error;
};
constexpr StanzaError kRedirect{"redirect", T::Modify};
constexpr StanzaError kGone{"gone", T::Cancel};
constexpr StanzaError kNotAcceptable{"not-acceptable", T::Modify};
constexpr StanzaError kBadRequest{"bad-request", T::Modify};
constexpr StanzaError kItemNotFound{"item-not-found", T::Cancel};
constexpr StanzaError kFeatureNotImplemented{"feature-not-implemented", T::Cancel};
constexpr StanzaError kRemoteServerTimeout{"remote-server-timeout", T::Wait};
constexpr StanzaError kPolicyViolation{"policy-violation", T::Modify};
constexpr StanzaError kRecipientUnavailable{"recipient-unavailable", T::Wait};
constexpr StanzaError kInternalServerError{"internal-server-error", T::Cancel};

constexpr std::array<SipRow, 48> kFromSip{{
    {300, kRedirect}, {302, kRedirect}, {305, kRedirect},
    {301, kGone}, {410, kGone},
    {380, kNotAcceptable}, {406, kNotAcceptable}, {415, kNotAcceptable}, {416, kNotAcceptable},
    {421, kNotAcceptable}, {482, kNotAcceptable}, {483, kNotAcceptable}, {488, kNotAcceptable},
    {505, kNotAcceptable}, {606, kNotAcceptable},
    {400, kBadRequest}, {402, kBadRequest}, {493, kBadRequest},
    {401, {"not-authorized", T::Auth}},
    {407, {"registration-required", T::Auth}},
    {403, {"forbidden", T::Auth}},
    {404, kItemNotFound}, {481, kItemNotFound}, {484, kItemNotFound}, {485, kItemNotFound}, {604, kItemNotFound},
    {405, kFeatureNotImplemented}, {420, kFeatureNotImplemented}, {439, kFeatureNotImplemented},
    {501, kFeatureNotImplemented},
    {408, kRemoteServerTimeout}, {504, kRemoteServerTimeout},
    {413, kPolicyViolation}, {414, kPolicyViolation}, {440, kPolicyViolation}, {489, kPolicyViolation},
    {513, kPolicyViolation},
    {423, {"resource-constraint", T::Wait}},
    {491, {"unexpected-request", T::Wait}},
    {430, kRecipientUnavailable}, {480, kRecipientUnavailable}, {486, kRecipientUnavailable},
    {487, kRecipientUnavailable}, {600, kRecipientUnavailable}, {603, kRecipientUnavailable},
    {500, kInternalServerError}, {503, kInternalServerError},
    {502, {"remote-server-not-found", T::Cancel}},
}};

// RFC 7247 §7.1: condition -> SIP code for a full JID / a bare JID.
struct ConditionRow {
  std::string_view condition;
  int full;
  int bare;
};
constexpr std::array<ConditionRow, 22> kToSip{{
    {"bad-request", 400, 400},
    {"conflict", 400, 400},
    {"feature-not-implemented", 405, 501},
    {"forbidden", 403, 603},
    {"gone", 410, 410},
    {"internal-server-error", 500, 500},
    {"item-not-found", 404, 604},
    {"jid-malformed", 400, 400},
    {"not-acceptable", 406, 606},
    {"not-allowed", 403, 403},
    {"not-authorized", 401, 401},
    {"policy-violation", 403, 403},
    {"recipient-unavailable", 480, 600},
    {"redirect", 302, 302},
    {"registration-required", 407, 407},
    {"remote-server-not-found", 404, 404},
    {"remote-server-timeout", 408, 408},
    {"resource-constraint", 500, 500},
    {"service-unavailable", 403, 403},
    {"subscription-required", 400, 400},
    {"undefined-condition", 400, 400},
    {"unexpected-request", 491, 491},
}};

}  // namespace

StanzaError stanzaErrorForSip(int sipCode) {
  for (const auto& row : kFromSip)
    if (row.code == sipCode) return row.error;
  if (sipCode >= 300 && sipCode < 400) return kRedirect;
  if (sipCode >= 400 && sipCode < 500) return kBadRequest;
  if (sipCode >= 500 && sipCode < 600) return kInternalServerError;
  if (sipCode >= 600 && sipCode < 700) return kRecipientUnavailable;
  return {"undefined-condition", T::Cancel};
}

int sipCodeForStanzaError(std::string_view condition, bool toFullJid) {
  for (const auto& row : kToSip)
    if (row.condition == condition) return toFullJid ? row.full : row.bare;
  return 400;
}

std::string_view errorTypeName(StanzaErrorType type) {
  switch (type) {
    case T::Auth: return "auth";
    case T::Cancel: return "cancel";
    case T::Continue: return "continue";
    case T::Modify: return "modify";
    case T::Wait: return "wait";
  }
  return "cancel";
}

}  // namespace parley::bridge
