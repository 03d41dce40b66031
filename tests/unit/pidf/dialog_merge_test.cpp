// Subscriber-side dialog-info versioning [RFC 4235 §4.1].
#include <gtest/gtest.h>

#include "parley/pidf/dialog_info.hpp"

namespace parley::pidf {
namespace {

Dialog dialog(const std::string& id, DialogState s) {
  Dialog d;
  d.id = id;
  d.state = s;
  return d;
}

DialogInfo info(std::uint32_t version, DialogInfo::State st, std::vector<Dialog> ds) {
  DialogInfo i;
  i.entity = "sip:1000@pbx";
  i.version = version;
  i.state = st;
  i.dialogs = std::move(ds);
  return i;
}

TEST(MergeDialogInfo, FirstFullDocumentBecomesTheState) {
  DialogInfo cur;
  const auto full = info(5, DialogInfo::State::Full, {dialog("a", DialogState::Confirmed)});
  EXPECT_EQ(mergeDialogInfo(cur, false, full), MergeResult::Applied);
  EXPECT_EQ(cur, full);
}

TEST(MergeDialogInfo, PartialBeforeAnyFullStateNeedsFullState) {
  DialogInfo cur;
  EXPECT_EQ(mergeDialogInfo(cur, false, info(1, DialogInfo::State::Partial, {})),
            MergeResult::NeedFullState);
}

TEST(MergeDialogInfo, NextPartialReplacesAndAddsDialogsById) {
  DialogInfo cur = info(1, DialogInfo::State::Full,
                        {dialog("a", DialogState::Early), dialog("b", DialogState::Confirmed)});
  const auto part = info(2, DialogInfo::State::Partial,
                         {dialog("a", DialogState::Confirmed), dialog("c", DialogState::Trying)});
  ASSERT_EQ(mergeDialogInfo(cur, true, part), MergeResult::Applied);
  EXPECT_EQ(cur.version, 2u);
  EXPECT_EQ(cur.state, DialogInfo::State::Full);
  ASSERT_EQ(cur.dialogs.size(), 3u);
  EXPECT_EQ(cur.dialogs[0], dialog("a", DialogState::Confirmed));
  EXPECT_EQ(cur.dialogs[2].id, "c");
}

TEST(MergeDialogInfo, TerminatedDialogsAreDroppedSoThePhoneGoesIdle) {
  DialogInfo cur = info(1, DialogInfo::State::Full, {dialog("a", DialogState::Confirmed)});
  ASSERT_TRUE(isOnThePhone(cur));
  ASSERT_EQ(mergeDialogInfo(cur, true,
                            info(2, DialogInfo::State::Partial,
                                 {dialog("a", DialogState::Terminated)})),
            MergeResult::Applied);
  EXPECT_TRUE(cur.dialogs.empty());
  EXPECT_EQ(hookState(cur), HookState::Idle);
}

TEST(MergeDialogInfo, OldOrRepeatedVersionIsStaleAndChangesNothing) {
  const DialogInfo start = info(4, DialogInfo::State::Full, {dialog("a", DialogState::Early)});
  DialogInfo cur = start;
  EXPECT_EQ(mergeDialogInfo(cur, true, info(4, DialogInfo::State::Partial, {})),
            MergeResult::Stale);
  EXPECT_EQ(mergeDialogInfo(cur, true, info(3, DialogInfo::State::Full, {})), MergeResult::Stale);
  EXPECT_EQ(cur, start);
}

TEST(MergeDialogInfo, VersionGapNeedsFullStateAndKeepsOldState) {
  const DialogInfo start = info(4, DialogInfo::State::Full, {dialog("a", DialogState::Early)});
  DialogInfo cur = start;
  EXPECT_EQ(mergeDialogInfo(cur, true,
                            info(6, DialogInfo::State::Partial,
                                 {dialog("a", DialogState::Confirmed)})),
            MergeResult::NeedFullState);
  EXPECT_EQ(cur, start);
  // A newer full document resolves the gap.
  EXPECT_EQ(mergeDialogInfo(cur, true, info(7, DialogInfo::State::Full, {})),
            MergeResult::Applied);
  EXPECT_EQ(cur.version, 7u);
}

TEST(MergeDialogInfo, GrowingPastTheDialogCapNeedsFullState) {
  DialogInfo cur = info(1, DialogInfo::State::Full, {dialog("a", DialogState::Early)});
  const auto part = info(2, DialogInfo::State::Partial,
                         {dialog("b", DialogState::Early), dialog("c", DialogState::Early)});
  EXPECT_EQ(mergeDialogInfo(cur, true, part, 2), MergeResult::NeedFullState);
  EXPECT_EQ(cur.dialogs.size(), 1u);
}

}  // namespace
}  // namespace parley::pidf
