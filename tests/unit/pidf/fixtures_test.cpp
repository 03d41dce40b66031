// Golden documents from RFCs and real clients: each parses to the expected
// model, and serialize -> parse gives the same model back.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "parley/pidf/parse.hpp"
#include "parley/pidf/serialize.hpp"

namespace parley::pidf {
namespace {

std::string readFixture(const std::string& name) {
  std::ifstream in(std::string(PARLEY_FIXTURES_DIR) + "/pidf/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

PresenceDocument parseFixture(const std::string& name) {
  auto doc = parsePidf(readFixture(name));
  EXPECT_TRUE(doc) << name << ": " << (doc ? "" : doc.error().message);
  return doc ? *doc : PresenceDocument{};
}

void expectRoundTrip(const PresenceDocument& doc) {
  const std::string xml = serializePidf(doc);
  const auto back = parsePidf(xml);
  ASSERT_TRUE(back) << back.error().message << "\n" << xml;
  EXPECT_EQ(*back, doc) << xml;
}

TEST(Rfc3863Example, ParsesTuplesNotesAndStatusExtensions) {
  const auto doc = parseFixture("rfc3863_s3.4_example.xml");
  EXPECT_EQ(doc.entity, "pres:someone@example.com");
  ASSERT_EQ(doc.tuples.size(), 2u);
  const Tuple& t = doc.tuples[0];
  EXPECT_EQ(t.id, "bs35r9");
  EXPECT_EQ(t.basic, Basic::Open);
  EXPECT_EQ(t.contact, "im:someone@mobilecarrier.net");
  EXPECT_EQ(t.priority, 0.8);
  ASSERT_EQ(t.notes.size(), 2u);
  EXPECT_EQ(t.notes[0], (Note{"Don't Disturb Me!", "en"}));
  EXPECT_EQ(t.notes[1].lang, "fr");
  EXPECT_EQ(t.timestamp, "2001-10-27T16:49:29Z");
  ASSERT_EQ(t.statusExtensions.size(), 2u);
  EXPECT_EQ(t.statusExtensions[0].xml, "<im xmlns=\"urn:ietf:params:xml:ns:pidf:im\">busy</im>");
  EXPECT_EQ(t.statusExtensions[1].xml,
            "<location xmlns=\"http://id.example.com/presence/\">home</location>");
  EXPECT_EQ(doc.tuples[1].priority, 1.0);
  ASSERT_EQ(doc.notes.size(), 1u);
  EXPECT_EQ(doc.notes[0].text, "I'll be in Tokyo next week");
  EXPECT_FALSE(doc.person.has_value());
  expectRoundTrip(doc);
}

TEST(Rfc4480Example, ParsesPersonActivitiesMoodPlaceIsAndDevice) {
  const auto doc = parseFixture("rfc4480_example.xml");
  ASSERT_EQ(doc.tuples.size(), 3u);
  EXPECT_EQ(doc.tuples[0].deviceId, "urn:device:0003ba4811e3");
  // Unmodelled RPID tuple elements are kept for relaying.
  ASSERT_EQ(doc.tuples[0].extensions.size(), 2u);
  EXPECT_EQ(doc.tuples[0].extensions[0].xml,
            "<relationship xmlns=\"urn:ietf:params:xml:ns:pidf:rpid\"><self/></relationship>");
  EXPECT_EQ(doc.tuples[2].extensions.size(), 3u);
  ASSERT_TRUE(doc.person.has_value());
  const Person& p = *doc.person;
  EXPECT_EQ(p.id, "p1");
  EXPECT_EQ(p.activities, std::vector<Activity>{Activity::Away});
  EXPECT_EQ(p.mood, "angry");
  EXPECT_EQ(p.placeIs, "audio:noisy");
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_EQ(p.notes[0].text, "Scoring 120");
  EXPECT_EQ(p.timestamp, "2005-05-30T16:09:44+05:00");
  ASSERT_EQ(doc.devices.size(), 1u);
  EXPECT_EQ(doc.devices[0].id, "pc147");
  EXPECT_EQ(doc.devices[0].deviceId, "urn:device:0003ba4811e3");
  EXPECT_EQ(doc.devices[0].notes, (std::vector<Note>{{"PC", "en"}}));
  expectRoundTrip(doc);
}

TEST(Rfc4479DataModel, LinksTupleToDeviceThroughDeviceId) {
  const auto doc = parseFixture("rfc4479_data_model.xml");
  ASSERT_EQ(doc.tuples.size(), 1u);
  ASSERT_EQ(doc.devices.size(), 1u);
  EXPECT_EQ(doc.tuples[0].deviceId, doc.devices[0].deviceId);
  EXPECT_EQ(doc.tuples[0].contact, "sip:someone@example.com");
  EXPECT_FALSE(doc.tuples[0].priority.has_value());
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::OnThePhone});
  EXPECT_EQ(doc.person->notes, (std::vector<Note>{{"In a call", "en"}}));
  EXPECT_EQ(doc.devices[0].timestamp, "2005-05-30T22:00:29Z");
  expectRoundTrip(doc);
}

TEST(AsteriskPidf, AcceptsNoteFirstNumericTupleIdAndPersonWithoutId) {
  const auto doc = parseFixture("asterisk_pjsip_pidf.xml");
  EXPECT_EQ(doc.entity, "sip:1000@192.0.2.10:5060");
  ASSERT_EQ(doc.tuples.size(), 1u);
  EXPECT_EQ(doc.tuples[0].id, "1000");
  EXPECT_EQ(doc.tuples[0].basic, Basic::Open);
  EXPECT_EQ(doc.tuples[0].priority, 1.0);
  EXPECT_EQ(doc.notes, (std::vector<Note>{{"On the phone", ""}}));
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->id, "");
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::OnThePhone});
  expectRoundTrip(doc);
}

TEST(LinphonePidf, KeepsPidfonlineStatusExtensionAndReadsPerson) {
  const auto doc = parseFixture("linphone_publish.xml");
  ASSERT_EQ(doc.tuples.size(), 1u);
  const Tuple& t = doc.tuples[0];
  EXPECT_EQ(t.basic, Basic::Open);
  EXPECT_EQ(t.priority, 0.8);
  EXPECT_EQ(t.timestamp, "2023-12-17T16:45:04Z");
  ASSERT_EQ(t.statusExtensions.size(), 1u);
  EXPECT_EQ(t.statusExtensions[0].xml,
            "<online xmlns=\"http://www.linphone.org/xsds/pidfonline.xsd\"/>");
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->id, "ocdl2b");
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::Away});
  EXPECT_EQ(doc.person->timestamp, "2023-12-17T16:45:04Z");
  expectRoundTrip(doc);
}

TEST(JitsiPidf, ReadsAwayActivityAndTupleNote) {
  const auto doc = parseFixture("jitsi_publish.xml");
  EXPECT_EQ(doc.entity, "sip:bob@example.net");
  ASSERT_EQ(doc.tuples.size(), 1u);
  EXPECT_EQ(doc.tuples[0].notes, (std::vector<Note>{{"Away", ""}}));
  EXPECT_EQ(doc.tuples[0].contact, "sip:bob@example.net");
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->id, "p6562");
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::Away});
  expectRoundTrip(doc);
}

DialogInfo parseDialogFixture(const std::string& name) {
  auto info = parseDialogInfo(readFixture(name));
  EXPECT_TRUE(info) << name << ": " << (info ? "" : info.error().message);
  return info ? *info : DialogInfo{};
}

TEST(AsteriskDialogInfo, ParsesConfirmedRecipientDialogWithIdentities) {
  const auto info = parseDialogFixture("asterisk_dialog_info.xml");
  EXPECT_EQ(info.entity, "sip:1000@192.0.2.10");
  EXPECT_EQ(info.version, 3u);
  EXPECT_EQ(info.state, DialogInfo::State::Full);
  ASSERT_EQ(info.dialogs.size(), 1u);
  const Dialog& d = info.dialogs[0];
  EXPECT_EQ(d.id, "1000");
  EXPECT_EQ(d.callId, "a84b4c76e66710@pc33");
  EXPECT_EQ(d.localTag, "1928301774");
  EXPECT_EQ(d.remoteTag, "a6c85cf");
  EXPECT_EQ(d.direction, Dialog::Direction::Recipient);
  EXPECT_EQ(d.state, DialogState::Confirmed);
  EXPECT_EQ(d.duration, 42u);
  EXPECT_EQ(d.remoteIdentity, "sip:1001@192.0.2.10");
  EXPECT_EQ(d.remoteDisplay, "Bob");
  EXPECT_EQ(d.localIdentity, "sip:1000@192.0.2.10");
  EXPECT_TRUE(isOnThePhone(info));
  const auto back = parseDialogInfo(serializeDialogInfo(info));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, info);
}

TEST(Rfc4235DialogInfo, ParsesPartialTerminatedDialogWithEvent) {
  const auto info = parseDialogFixture("rfc4235_terminated.xml");
  EXPECT_EQ(info.state, DialogInfo::State::Partial);
  ASSERT_EQ(info.dialogs.size(), 1u);
  EXPECT_EQ(info.dialogs[0].state, DialogState::Terminated);
  EXPECT_EQ(info.dialogs[0].event, "remote-bye");
  EXPECT_EQ(info.dialogs[0].direction, Dialog::Direction::Initiator);
  EXPECT_FALSE(info.dialogs[0].remoteTag.has_value());
  EXPECT_FALSE(isOnThePhone(info));
  const auto back = parseDialogInfo(serializeDialogInfo(info));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, info);
}

}  // namespace
}  // namespace parley::pidf
