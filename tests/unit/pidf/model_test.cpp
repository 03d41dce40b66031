#include <gtest/gtest.h>

#include "parley/pidf/dialog_info.hpp"
#include "parley/pidf/parse.hpp"
#include "parley/pidf/presence.hpp"
#include "parley/pidf/serialize.hpp"

namespace parley::pidf {
namespace {

TEST(Neutral, IsOneClosedTupleForTheEntity) {
  const auto doc = neutral("sip:alice@example.com");
  EXPECT_EQ(doc.entity, "sip:alice@example.com");
  ASSERT_EQ(doc.tuples.size(), 1u);
  EXPECT_EQ(doc.tuples[0].basic, Basic::Closed);
  EXPECT_FALSE(doc.person.has_value());
}

TEST(Neutral, SerializesToAParsableClosedDocument) {
  const auto doc = neutral("sip:alice@example.com");
  const auto back = parsePidf(serializePidf(doc));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, doc);
}

TEST(ToXmlId, PrefixesIdAndReplacesInvalidCharacters) {
  EXPECT_EQ(toXmlId("1000"), "ID-1000");
  EXPECT_EQ(toXmlId("balcony"), "ID-balcony");
  EXPECT_EQ(toXmlId("my phone/1@x"), "ID-my_phone_1_x");
  EXPECT_EQ(toXmlId(""), "ID-");
}

TEST(ActivityNames, RoundTripEveryRfc4480Activity) {
  for (int i = 0; i <= static_cast<int>(Activity::Unknown); ++i) {
    const auto a = static_cast<Activity>(i);
    EXPECT_EQ(activityFromName(activityName(a)), a) << activityName(a);
  }
  EXPECT_EQ(activityName(Activity::OnThePhone), "on-the-phone");
  EXPECT_EQ(activityName(Activity::TV), "tv");
  EXPECT_FALSE(activityFromName("dancing").has_value());
}

Dialog dialogIn(DialogState s, Dialog::Direction dir = Dialog::Direction::None) {
  Dialog d;
  d.id = "d1";
  d.state = s;
  d.direction = dir;
  return d;
}

TEST(HookState, NoDialogsIsIdleAndNotOnThePhone) {
  DialogInfo info;
  EXPECT_EQ(hookState(info), HookState::Idle);
  EXPECT_FALSE(isOnThePhone(info));
}

TEST(HookState, ConfirmedDialogIsOnThePhone) {
  DialogInfo info;
  info.dialogs.push_back(dialogIn(DialogState::Confirmed, Dialog::Direction::Recipient));
  EXPECT_EQ(hookState(info), HookState::OnThePhone);
  EXPECT_TRUE(isOnThePhone(info));
}

TEST(HookState, EarlyRecipientDialogIsRingingNotOnThePhone) {
  DialogInfo info;
  info.dialogs.push_back(dialogIn(DialogState::Early, Dialog::Direction::Recipient));
  EXPECT_EQ(hookState(info), HookState::Ringing);
  EXPECT_FALSE(isOnThePhone(info));
}

TEST(HookState, TryingProceedingOrEarlyInitiatorIsCalling) {
  for (auto s : {DialogState::Trying, DialogState::Proceeding, DialogState::Early}) {
    DialogInfo info;
    info.dialogs.push_back(dialogIn(s, Dialog::Direction::Initiator));
    EXPECT_EQ(hookState(info), HookState::Calling) << dialogStateName(s);
    EXPECT_FALSE(isOnThePhone(info));
  }
}

TEST(HookState, TerminatedDialogsAreIdle) {
  DialogInfo info;
  info.dialogs.push_back(dialogIn(DialogState::Terminated, Dialog::Direction::Recipient));
  info.dialogs.push_back(dialogIn(DialogState::Terminated, Dialog::Direction::Initiator));
  EXPECT_EQ(hookState(info), HookState::Idle);
  EXPECT_FALSE(isOnThePhone(info));
}

TEST(HookState, ConfirmedWinsOverRingingOnAnotherDialog) {
  DialogInfo info;
  info.dialogs.push_back(dialogIn(DialogState::Early, Dialog::Direction::Recipient));
  info.dialogs.push_back(dialogIn(DialogState::Confirmed, Dialog::Direction::Initiator));
  EXPECT_TRUE(isOnThePhone(info));
}

TEST(HookState, RingingWinsOverCalling) {
  DialogInfo info;
  info.dialogs.push_back(dialogIn(DialogState::Trying, Dialog::Direction::Initiator));
  info.dialogs.push_back(dialogIn(DialogState::Early, Dialog::Direction::Recipient));
  EXPECT_EQ(hookState(info), HookState::Ringing);
}

}  // namespace
}  // namespace parley::pidf
