// Error mapping [RFC 7247 §7.1, §7.2], types per RFC 6120 §8.3.3.
#include <string_view>

#include <gtest/gtest.h>

#include "parley/bridge/error_map.hpp"

namespace parley::bridge {
namespace {
using T = StanzaErrorType;

struct SipCase {
  int code;
  std::string_view condition;
  T type;
};

// Every row of RFC 7247 §7.2 (standards.md §8.4).
constexpr SipCase kSipToXmpp[] = {
    {300, "redirect", T::Modify},
    {302, "redirect", T::Modify},
    {305, "redirect", T::Modify},
    {301, "gone", T::Cancel},
    {410, "gone", T::Cancel},
    {380, "not-acceptable", T::Modify},
    {406, "not-acceptable", T::Modify},
    {415, "not-acceptable", T::Modify},
    {416, "not-acceptable", T::Modify},
    {421, "not-acceptable", T::Modify},
    {482, "not-acceptable", T::Modify},
    {483, "not-acceptable", T::Modify},
    {488, "not-acceptable", T::Modify},
    {505, "not-acceptable", T::Modify},
    {606, "not-acceptable", T::Modify},
    {400, "bad-request", T::Modify},
    {402, "bad-request", T::Modify},
    {493, "bad-request", T::Modify},
    {401, "not-authorized", T::Auth},
    {407, "registration-required", T::Auth},
    {403, "forbidden", T::Auth},
    {404, "item-not-found", T::Cancel},
    {481, "item-not-found", T::Cancel},
    {484, "item-not-found", T::Cancel},
    {485, "item-not-found", T::Cancel},
    {604, "item-not-found", T::Cancel},
    {405, "feature-not-implemented", T::Cancel},
    {420, "feature-not-implemented", T::Cancel},
    {439, "feature-not-implemented", T::Cancel},
    {501, "feature-not-implemented", T::Cancel},
    {408, "remote-server-timeout", T::Wait},
    {504, "remote-server-timeout", T::Wait},
    {413, "policy-violation", T::Modify},
    {414, "policy-violation", T::Modify},
    {440, "policy-violation", T::Modify},
    {489, "policy-violation", T::Modify},
    {513, "policy-violation", T::Modify},
    {423, "resource-constraint", T::Wait},
    {491, "unexpected-request", T::Wait},
    {430, "recipient-unavailable", T::Wait},
    {480, "recipient-unavailable", T::Wait},
    {486, "recipient-unavailable", T::Wait},
    {487, "recipient-unavailable", T::Wait},
    {600, "recipient-unavailable", T::Wait},
    {603, "recipient-unavailable", T::Wait},
    {500, "internal-server-error", T::Cancel},
    {503, "internal-server-error", T::Cancel},
    {502, "remote-server-not-found", T::Cancel},
    // Unlisted codes take their class default.
    {399, "redirect", T::Modify},
    {409, "bad-request", T::Modify},
    {422, "bad-request", T::Modify},
    {499, "bad-request", T::Modify},
    {580, "internal-server-error", T::Cancel},
    {599, "internal-server-error", T::Cancel},
    {607, "recipient-unavailable", T::Wait},
    {699, "recipient-unavailable", T::Wait},
    // Not an error response at all.
    {100, "undefined-condition", T::Cancel},
    {200, "undefined-condition", T::Cancel},
    {700, "undefined-condition", T::Cancel},
    {0, "undefined-condition", T::Cancel},
    {-404, "undefined-condition", T::Cancel},
};

TEST(StanzaErrorForSip, EveryRow) {
  for (const auto& c : kSipToXmpp) {
    const StanzaError e = stanzaErrorForSip(c.code);
    EXPECT_EQ(e.condition, c.condition) << c.code;
    EXPECT_EQ(e.type, c.type) << c.code;
  }
}

struct ConditionCase {
  std::string_view condition;
  int full;
  int bare;
};

// Every row of RFC 7247 §7.1 (standards.md §8.4).
constexpr ConditionCase kXmppToSip[] = {
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
    // Unknown conditions.
    {"", 400, 400},
    {"payment-required", 400, 400},
    {"Item-Not-Found", 400, 400},  // conditions are XML element names: case-sensitive
};

TEST(SipCodeForStanzaError, EveryRow) {
  for (const auto& c : kXmppToSip) {
    EXPECT_EQ(sipCodeForStanzaError(c.condition, true), c.full) << c.condition;
    EXPECT_EQ(sipCodeForStanzaError(c.condition, false), c.bare) << c.condition;
  }
}

TEST(SipCodeForStanzaError, NeverAnswers503) {
  for (const auto& c : kXmppToSip) {
    EXPECT_NE(sipCodeForStanzaError(c.condition, true), 503) << c.condition;
    EXPECT_NE(sipCodeForStanzaError(c.condition, false), 503) << c.condition;
  }
}

TEST(ErrorTypeName, All) {
  EXPECT_EQ(errorTypeName(T::Auth), "auth");
  EXPECT_EQ(errorTypeName(T::Cancel), "cancel");
  EXPECT_EQ(errorTypeName(T::Continue), "continue");
  EXPECT_EQ(errorTypeName(T::Modify), "modify");
  EXPECT_EQ(errorTypeName(T::Wait), "wait");
}

// The codes that head a row come back unchanged (6xx are the bare-JID column).
TEST(ErrorMap, DirectRowsRoundTrip) {
  for (int code : {400, 401, 403, 404, 405, 406, 407, 408, 480, 491, 500, 600, 604, 606}) {
    const bool toFullJid = code < 600;
    EXPECT_EQ(sipCodeForStanzaError(stanzaErrorForSip(code).condition, toFullJid), code) << code;
  }
}

}  // namespace
}  // namespace parley::bridge
