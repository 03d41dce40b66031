// Composition of several publications into the one document watchers get
// [RFC 3903 §3; RFC 4479 §2, §3.1; RFC 4235 §4.1].
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/pidf/compose.hpp"
#include "parley/pidf/parse.hpp"
#include "parley/pidf/serialize.hpp"

namespace parley::pidf {
namespace {

constexpr std::string_view kAor = "sip:alice@sip.localhost";

Tuple tuple(const std::string& id, Basic b, const std::string& contact = {}) {
  Tuple t;
  t.id = id;
  t.basic = b;
  if (!contact.empty()) t.contact = contact;
  return t;
}

Person person(const std::string& id, std::vector<Activity> acts = {}) {
  Person p;
  p.id = id;
  p.activities = std::move(acts);
  return p;
}

Device device(const std::string& id, const std::string& note) {
  Device d;
  d.id = id;
  d.notes.push_back(Note{note, ""});
  return d;
}

PresenceDocument pub(const std::string& entity, std::vector<Tuple> tuples) {
  PresenceDocument d;
  d.entity = entity;
  d.tuples = std::move(tuples);
  return d;
}

PresenceDocument parseFixture(const std::string& name) {
  std::ifstream in(std::string(PARLEY_FIXTURES_DIR) + "/pidf/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  auto doc = parsePidf(ss.str());
  EXPECT_TRUE(doc) << name << ": " << (doc ? "" : doc.error().message);
  return doc ? *doc : PresenceDocument{};
}

const Note kPhoneNote{"On the phone", "en"};

TEST(ComposePresence, NoPublicationsGivesTheNeutralDocument) {
  EXPECT_EQ(composePresence(kAor, {}), neutral(std::string(kAor)));
}

TEST(ComposePresence, SinglePublicationPassesThroughWithEntityReplaced) {
  PresenceDocument p = parseFixture("rfc4479_data_model.xml");
  ASSERT_NE(p.entity, kAor);
  const std::vector<PresenceDocument> pubs{p};
  PresenceDocument expected = p;
  expected.entity = std::string(kAor);
  EXPECT_EQ(composePresence(kAor, pubs), expected);
}

TEST(ComposePresence, MergesTwoDevicesTuplesNewestFirst) {
  const std::vector<PresenceDocument> pubs{
      pub("sip:alice@10.0.0.2", {tuple("desk-1", Basic::Open), tuple("desk-2", Basic::Closed)}),
      pub("sip:alice@10.0.0.1", {tuple("soft-1", Basic::Open)})};
  const auto doc = composePresence(kAor, pubs);
  EXPECT_EQ(doc.entity, kAor);
  ASSERT_EQ(doc.tuples.size(), 3u);
  EXPECT_EQ(doc.tuples[0].id, "desk-1");
  EXPECT_EQ(doc.tuples[1].id, "desk-2");
  EXPECT_EQ(doc.tuples[2].id, "soft-1");
}

TEST(ComposePresence, DuplicateTupleIdKeepsTheNewerTuple) {
  const std::vector<PresenceDocument> pubs{
      pub("sip:a@x", {tuple("t1", Basic::Closed, "sip:new@x")}),
      pub("sip:a@x", {tuple("t1", Basic::Open, "sip:old@x"), tuple("t2", Basic::Open)})};
  const auto doc = composePresence(kAor, pubs);
  ASSERT_EQ(doc.tuples.size(), 2u);
  EXPECT_EQ(doc.tuples[0], tuple("t1", Basic::Closed, "sip:new@x"));
  EXPECT_EQ(doc.tuples[1].id, "t2");
}

TEST(ComposePresence, PresenceNotesComeFromTheNewestPublicationThatHasAny) {
  std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)}),
                                     pub("sip:a@x", {tuple("t2", Basic::Open)}),
                                     pub("sip:a@x", {tuple("t3", Basic::Open)})};
  pubs[1].notes = {Note{"At lunch", "en"}, Note{"Mittagessen", "de"}};
  pubs[2].notes = {Note{"old", ""}};
  EXPECT_EQ(composePresence(kAor, pubs).notes, pubs[1].notes);
}

TEST(ComposePresence, PersonComesFromTheNewestPublicationThatHasOne) {
  std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)}),
                                     pub("sip:a@x", {tuple("t2", Basic::Open)}),
                                     pub("sip:a@x", {tuple("t3", Basic::Open)})};
  // Newest has no person: it must not erase the middle one's; the oldest loses.
  pubs[1].person = person("p-mid", {Activity::Meeting});
  pubs[2].person = person("p-old", {Activity::Away});
  const auto doc = composePresence(kAor, pubs);
  ASSERT_TRUE(doc.person);
  EXPECT_EQ(*doc.person, person("p-mid", {Activity::Meeting}));
}

TEST(ComposePresence, DevicesAreMergedByIdNewestWins) {
  std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)}),
                                     pub("sip:a@x", {tuple("t2", Basic::Open)})};
  pubs[0].devices = {device("d-desk", "new desk")};
  pubs[1].devices = {device("d-soft", "softphone"), device("d-desk", "old desk")};
  const auto doc = composePresence(kAor, pubs);
  ASSERT_EQ(doc.devices.size(), 2u);
  EXPECT_EQ(doc.devices[0], device("d-desk", "new desk"));
  EXPECT_EQ(doc.devices[1], device("d-soft", "softphone"));
}

TEST(ComposePresence, OnThePhoneCreatesPersonWithActivityAndNoteWhenAbsent) {
  const std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)})};
  const auto doc = composePresence(kAor, pubs, HookState::OnThePhone);
  ASSERT_TRUE(doc.person);
  EXPECT_EQ(doc.person->id, "p-hook");
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::OnThePhone});
  EXPECT_EQ(doc.person->notes, std::vector<Note>{kPhoneNote});
}

TEST(ComposePresence, OnThePhoneWithNoPublicationsStillMarksThePerson) {
  const auto doc = composePresence(kAor, {}, HookState::OnThePhone);
  EXPECT_EQ(doc.tuples, neutral(std::string(kAor)).tuples);
  ASSERT_TRUE(doc.person);
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::OnThePhone});
}

TEST(ComposePresence, OnThePhoneKeepsOtherActivitiesAndAddsToExistingPerson) {
  std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)})};
  pubs[0].person = person("p1", {Activity::Meeting});
  pubs[0].person->notes = {Note{"Budget review", "en"}};
  const auto doc = composePresence(kAor, pubs, HookState::OnThePhone);
  ASSERT_TRUE(doc.person);
  EXPECT_EQ(doc.person->id, "p1");
  EXPECT_EQ(doc.person->activities,
            (std::vector<Activity>{Activity::Meeting, Activity::OnThePhone}));
  EXPECT_EQ(doc.person->notes, (std::vector<Note>{Note{"Budget review", "en"}, kPhoneNote}));
}

TEST(ComposePresence, OnThePhoneDoesNotDuplicateActivityOrNote) {
  std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)})};
  pubs[0].person = person("p1", {Activity::OnThePhone, Activity::Busy});
  pubs[0].person->notes = {kPhoneNote};
  const auto doc = composePresence(kAor, pubs, HookState::OnThePhone);
  ASSERT_TRUE(doc.person);
  EXPECT_EQ(doc.person, pubs[0].person);
}

TEST(ComposePresence, OnThePhoneReplacesUnknownActivity) {
  // RFC 4480 §3.2: <unknown/> cannot be combined with other activities.
  std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)})};
  pubs[0].person = person("p1", {Activity::Unknown});
  const auto doc = composePresence(kAor, pubs, HookState::OnThePhone);
  ASSERT_TRUE(doc.person);
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::OnThePhone});
}

TEST(ComposePresence, OnThePhonePersonIdAvoidsATakenTupleId) {
  const std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("p-hook", Basic::Open)})};
  const auto doc = composePresence(kAor, pubs, HookState::OnThePhone);
  ASSERT_TRUE(doc.person);
  EXPECT_EQ(doc.person->id, "p-hook-1");
}

TEST(ComposePresence, RingingCallingAndIdleChangeNothing) {
  std::vector<PresenceDocument> pubs{pub("sip:a@x", {tuple("t1", Basic::Open)}),
                                     pub("sip:a@x", {tuple("t2", Basic::Closed)})};
  pubs[1].person = person("p1", {Activity::Away});
  const auto base = composePresence(kAor, pubs, HookState::Idle);
  EXPECT_EQ(composePresence(kAor, pubs, HookState::Ringing), base);
  EXPECT_EQ(composePresence(kAor, pubs, HookState::Calling), base);
  ASSERT_TRUE(base.person);
  EXPECT_EQ(base.person->activities, std::vector<Activity>{Activity::Away});
  // Without a person, nothing is created either.
  pubs[1].person.reset();
  EXPECT_FALSE(composePresence(kAor, pubs, HookState::Ringing).person);
  EXPECT_FALSE(composePresence(kAor, {}, HookState::Calling).person);
}

TEST(ComposePresence, HookStateNeverChangesBasicStatus) {
  const std::vector<PresenceDocument> pubs{
      pub("sip:a@x", {tuple("t1", Basic::Open), tuple("t2", Basic::Closed)})};
  for (HookState h :
       {HookState::Idle, HookState::Calling, HookState::Ringing, HookState::OnThePhone}) {
    const auto doc = composePresence(kAor, pubs, h);
    EXPECT_EQ(doc.tuples, pubs[0].tuples) << static_cast<int>(h);
  }
  const auto none = composePresence(kAor, {}, HookState::OnThePhone);
  ASSERT_EQ(none.tuples.size(), 1u);
  EXPECT_EQ(none.tuples[0].basic, Basic::Closed);
}

TEST(ComposePresence, ThreePublicationCompositionRoundTripsThroughSerializeAndParse) {
  PresenceDocument desk = parseFixture("rfc4479_data_model.xml");
  desk.notes = {Note{"Desk & <home>", "en"}};
  const std::vector<PresenceDocument> pubs{parseFixture("linphone_publish.xml"),
                                           parseFixture("jitsi_publish.xml"), desk};
  for (HookState h : {HookState::Idle, HookState::OnThePhone}) {
    const auto doc = composePresence(kAor, pubs, h);
    EXPECT_EQ(doc.tuples.size(), 3u);
    EXPECT_EQ(doc.devices.size(), 1u);
    EXPECT_EQ(composePresence(kAor, pubs, h), doc);  // deterministic
    const std::string xml = serializePidf(doc);
    const auto back = parsePidf(xml);
    ASSERT_TRUE(back) << back.error().message << "\n" << xml;
    EXPECT_EQ(*back, doc) << xml;
  }
}

Dialog dialog(const std::string& id, DialogState s, const std::string& remote = {}) {
  Dialog d;
  d.id = id;
  d.state = s;
  if (!remote.empty()) d.remoteIdentity = remote;
  return d;
}

DialogInfo dinfo(std::uint32_t version, DialogInfo::State st, std::vector<Dialog> ds) {
  DialogInfo i;
  i.entity = "sip:1000@pbx.example";
  i.version = version;
  i.state = st;
  i.dialogs = std::move(ds);
  return i;
}

TEST(ComposeDialogInfo, UnionsDialogsByIdNewestWins) {
  const std::vector<DialogInfo> pubs{
      dinfo(7, DialogInfo::State::Full,
            {dialog("a", DialogState::Confirmed, "sip:new@x"), dialog("b", DialogState::Early)}),
      dinfo(3, DialogInfo::State::Partial,
            {dialog("c", DialogState::Trying), dialog("a", DialogState::Early, "sip:old@x")})};
  const auto out = composeDialogInfo(kAor, pubs);
  ASSERT_EQ(out.dialogs.size(), 3u);
  EXPECT_EQ(out.dialogs[0], dialog("a", DialogState::Confirmed, "sip:new@x"));
  EXPECT_EQ(out.dialogs[1].id, "b");
  EXPECT_EQ(out.dialogs[2].id, "c");
}

TEST(ComposeDialogInfo, ResultIsFullVersionZeroWithEntityReplaced) {
  const std::vector<DialogInfo> pubs{
      dinfo(42, DialogInfo::State::Partial, {dialog("a", DialogState::Confirmed)})};
  const auto out = composeDialogInfo(kAor, pubs);
  EXPECT_EQ(out.entity, kAor);
  EXPECT_EQ(out.version, 0u);
  EXPECT_EQ(out.state, DialogInfo::State::Full);
  EXPECT_EQ(out.dialogs, pubs[0].dialogs);
  EXPECT_EQ(hookState(out), HookState::OnThePhone);
}

TEST(ComposeDialogInfo, NoPublicationsGivesFullDocumentWithoutDialogs) {
  const auto out = composeDialogInfo(kAor, {});
  EXPECT_EQ(out.entity, kAor);
  EXPECT_EQ(out.state, DialogInfo::State::Full);
  EXPECT_EQ(out.version, 0u);
  EXPECT_TRUE(out.dialogs.empty());
  const auto back = parseDialogInfo(serializeDialogInfo(out));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, out);
}

}  // namespace
}  // namespace parley::pidf
