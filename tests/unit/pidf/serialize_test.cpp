// Serializer output and parser details that fixtures do not cover:
// escaping, UTF-8, namespaces declared only when used, extension capture,
// RPID in tuples, jabber:client show, priority formatting.
#include <string>

#include <gtest/gtest.h>

#include "parley/pidf/parse.hpp"
#include "parley/pidf/serialize.hpp"

namespace parley::pidf {
namespace {

PresenceDocument roundTrip(const PresenceDocument& doc) {
  const std::string xml = serializePidf(doc);
  const auto back = parsePidf(xml);
  EXPECT_TRUE(back) << (back ? "" : back.error().message) << "\n" << xml;
  return back ? *back : PresenceDocument{};
}

PresenceDocument parseOk(const std::string& xml) {
  const auto r = parsePidf(xml);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : PresenceDocument{};
}

std::string pidf(const std::string& body, const std::string& extraNs = {}) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
         "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
         "xmlns:r=\"urn:ietf:params:xml:ns:pidf:rpid\" " +
         extraNs + " entity=\"sip:a@example.com\">" + body + "</presence>";
}

TEST(SerializePidf, EscapesMarkupInNotesAndAttributes) {
  PresenceDocument doc = neutral("sip:a&b@example.com?x=\"1\"");
  doc.tuples[0].id = "t<'\">&";
  doc.tuples[0].notes.push_back(Note{"<&\"'> ]]> done", "en"});
  doc.tuples[0].contact = "sip:x@y;p=<a&b>";
  doc.notes.push_back(Note{"a < b && c > d", ""});
  const std::string xml = serializePidf(doc);
  EXPECT_NE(xml.find("entity=\"sip:a&amp;b@example.com?x=&quot;1&quot;\""), std::string::npos);
  EXPECT_NE(xml.find("id=\"t&lt;&apos;&quot;&gt;&amp;\""), std::string::npos);
  EXPECT_NE(xml.find("&lt;&amp;\"'&gt; ]]&gt; done"), std::string::npos);
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(SerializePidf, KeepsUtf8TextThroughARoundTrip) {
  PresenceDocument doc = neutral("sip:zoë@example.com");
  doc.tuples[0].basic = Basic::Open;
  doc.tuples[0].notes.push_back(Note{"Café ☕ 𝄞", "fr"});
  const std::string xml = serializePidf(doc);
  EXPECT_NE(xml.find("Café ☕ 𝄞"), std::string::npos);  // raw UTF-8, not char references
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(SerializePidf, KeepsWhitespaceControlCharactersInAttributes) {
  PresenceDocument doc = neutral("sip:a@example.com");
  doc.tuples[0].notes.push_back(Note{"x", "a\tb\nc"});
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(SerializePidf, DeclaresDmAndRpidOnlyWhenUsed) {
  PresenceDocument doc = neutral("sip:a@example.com");
  std::string xml = serializePidf(doc);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u);
  EXPECT_EQ(xml.find("xmlns:dm"), std::string::npos);
  EXPECT_EQ(xml.find("xmlns:rpid"), std::string::npos);

  doc.person = Person{};
  doc.person->id = "p1";
  xml = serializePidf(doc);
  EXPECT_NE(xml.find("xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\""), std::string::npos);
  EXPECT_EQ(xml.find("xmlns:rpid"), std::string::npos);

  doc.person->activities = {Activity::Busy};
  xml = serializePidf(doc);
  EXPECT_NE(xml.find("xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\""), std::string::npos);
  EXPECT_NE(xml.find("<rpid:busy/>"), std::string::npos);
}

TEST(SerializePidf, WritesTupleChildrenInRfc3863Order) {
  PresenceDocument doc = neutral("sip:a@example.com");
  Tuple& t = doc.tuples[0];
  t.timestamp = "2026-01-01T00:00:00Z";
  t.notes.push_back(Note{"n", ""});
  t.contact = "sip:a@example.com";
  t.extensions.push_back(Extension{"<x xmlns=\"urn:x\"/>"});
  const std::string xml = serializePidf(doc);
  const auto status = xml.find("<status>");
  const auto ext = xml.find("<x xmlns");
  const auto contact = xml.find("<contact>");
  const auto note = xml.find("<note>");
  const auto ts = xml.find("<timestamp>");
  EXPECT_LT(status, ext);
  EXPECT_LT(ext, contact);
  EXPECT_LT(contact, note);
  EXPECT_LT(note, ts);
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(SerializePidf, WritesPriorityWithAtMostThreeDecimals) {
  PresenceDocument doc = neutral("sip:a@example.com");
  doc.tuples[0].contact = "sip:a@example.com";
  const std::pair<double, const char*> cases[] = {
      {0.5, "\"0.5\""}, {1.0, "\"1\""}, {0.0, "\"0\""}, {0.007, "\"0.007\""},
      {0.0156, "\"0.016\""}, {2.0, "\"1\""}};
  for (const auto& [v, text] : cases) {
    doc.tuples[0].priority = v;
    EXPECT_NE(serializePidf(doc).find(std::string("priority=") + text), std::string::npos) << v;
  }
}

TEST(SerializePidf, RoundTripsEveryActivityMoodAndPlaceIs) {
  PresenceDocument doc = neutral("sip:a@example.com");
  doc.person = Person{};
  doc.person->id = "p1";
  for (int i = 0; i <= static_cast<int>(Activity::Unknown); ++i) {
    doc.person->activities.push_back(static_cast<Activity>(i));
  }
  doc.person->otherText = "juggling & more";
  doc.person->mood = "happy sleepy";
  doc.person->placeIs = "audio:noisy video:toobright text:uncomfortable";
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(ParsePidf, ComparesNamespacesNotPrefixes) {
  const std::string xml =
      "<p:presence xmlns:p=\"urn:ietf:params:xml:ns:pidf\" "
      "xmlns:pdm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
      "xmlns:x=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:a@b\">"
      "<p:tuple id=\"t\"><p:status><p:basic>closed</p:basic></p:status></p:tuple>"
      "<pdm:person id=\"p\"><x:activities><x:meeting/></x:activities></pdm:person>"
      "<dm:person xmlns:dm=\"urn:wrong\" id=\"w\"/>"
      "</p:presence>";
  const auto doc = parseOk(xml);
  ASSERT_EQ(doc.tuples.size(), 1u);
  EXPECT_EQ(doc.tuples[0].basic, Basic::Closed);
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->id, "p");
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::Meeting});
}

TEST(ParsePidf, ReadsJabberShowInsideStatus) {
  const auto doc = parseOk(pidf(
      "<tuple id=\"ID-balcony\"><status><basic>open</basic>"
      "<show xmlns=\"jabber:client\"> dnd </show></status></tuple>"));
  ASSERT_EQ(doc.tuples.size(), 1u);
  EXPECT_EQ(doc.tuples[0].show, "dnd");
  EXPECT_TRUE(doc.tuples[0].statusExtensions.empty());
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(ParsePidf, MovesRpidActivitiesFoundInATupleToThePerson) {
  const auto doc = parseOk(pidf(
      "<tuple id=\"t1\"><status><basic>open</basic>"
      "<r:activities><r:on-the-phone/></r:activities></status>"
      "<r:activities><r:busy/><r:on-the-phone/></r:activities></tuple>"));
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->id, "p-t1");
  EXPECT_EQ(doc.person->activities,
            (std::vector<Activity>{Activity::OnThePhone, Activity::Busy}));
  EXPECT_TRUE(doc.tuples[0].extensions.empty());
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(ParsePidf, PersonElementAfterTupleActivitiesGivesItsId) {
  const auto doc = parseOk(pidf(
      "<tuple id=\"t1\"><status/><r:activities><r:away/></r:activities></tuple>"
      "<dm:person id=\"real\"><r:activities><r:lunch/></r:activities></dm:person>"
      "<dm:person id=\"second\"><r:activities><r:tv/></r:activities></dm:person>"));
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->id, "real");
  EXPECT_EQ(doc.person->activities, (std::vector<Activity>{Activity::Away, Activity::Lunch}));
}

TEST(ParsePidf, ReadsOtherActivityText) {
  const auto doc = parseOk(pidf(
      "<dm:person id=\"p\"><r:activities><r:other>Juggling</r:other></r:activities>"
      "</dm:person>"));
  ASSERT_TRUE(doc.person.has_value());
  EXPECT_EQ(doc.person->activities, std::vector<Activity>{Activity::Other});
  EXPECT_EQ(doc.person->otherText, "Juggling");
}

TEST(ParsePidf, CapturesExtensionsAsSelfContainedCanonicalXml) {
  const auto doc = parseOk(pidf(
      "<tuple id=\"t1\"><status/>"
      "<e:geo xmlns:e=\"urn:ex\" xmlns:o=\"urn:other\" o:unit=\"m\" xml:lang=\"en\" kind='a\"b'>"
      "<!-- dropped --><e:pos>1 &amp; 2</e:pos><o:alt>3</o:alt><plain xmlns=\"\"/><e:empty></e:empty>"
      "</e:geo></tuple>",
      ""));
  ASSERT_EQ(doc.tuples[0].extensions.size(), 1u);
  EXPECT_EQ(doc.tuples[0].extensions[0].xml,
            "<geo xmlns=\"urn:ex\" xmlns:a0=\"urn:other\" a0:unit=\"m\" xml:lang=\"en\" "
            "kind=\"a&quot;b\"><pos>1 &amp; 2</pos><alt xmlns=\"urn:other\">3</alt>"
            "<plain xmlns=\"\"/><empty/></geo>");
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(ParsePidf, IgnoresUnknownElementsInKnownNamespacesAndNoNamespace) {
  const auto doc = parseOk(pidf(
      "<tuple id=\"t1\" mustUnderstand=\"true\"><status><basic>open</basic><future/>"
      "<extra xmlns=\"\"/></status><later>x</later><dm:whatever/></tuple>"
      "<unknown-top xmlns=\"urn:top\"><note>not a note</note></unknown-top>"));
  ASSERT_EQ(doc.tuples.size(), 1u);
  EXPECT_TRUE(doc.tuples[0].extensions.empty());
  EXPECT_TRUE(doc.tuples[0].statusExtensions.empty());
  EXPECT_TRUE(doc.notes.empty());
}

TEST(ParsePidf, AcceptsStatusWithoutBasic) {
  // <basic> is optional inside <status> [RFC 3863 §4.1.4].
  const auto doc = parseOk(pidf("<tuple id=\"t1\"><status/></tuple>"));
  ASSERT_EQ(doc.tuples.size(), 1u);
  EXPECT_FALSE(doc.tuples[0].basic.has_value());
  EXPECT_EQ(roundTrip(doc), doc);
}

TEST(ParsePidf, AcceptsUtf8ByteOrderMark) {
  const auto doc = parseOk("\xEF\xBB\xBF" + pidf("<tuple id=\"t1\"><status/></tuple>"));
  EXPECT_EQ(doc.tuples.size(), 1u);
}

TEST(SerializeDialogInfo, EscapesAndRoundTripsEveryField) {
  DialogInfo info;
  info.entity = "sip:1000@pbx&co";
  info.version = 4294967295u;
  info.state = DialogInfo::State::Partial;
  for (auto s : {DialogState::Trying, DialogState::Proceeding, DialogState::Early,
                 DialogState::Confirmed, DialogState::Terminated}) {
    Dialog d;
    d.id = "d" + std::string(dialogStateName(s));
    d.state = s;
    info.dialogs.push_back(d);
  }
  Dialog& d = info.dialogs.back();
  d.callId = "abc@host";
  d.localTag = "l\"t";
  d.remoteTag = "r<t";
  d.direction = Dialog::Direction::Initiator;
  d.event = "rejected";
  d.remoteIdentity = "sip:bob@example.com";
  d.remoteDisplay = "Bob \"B\" <Café>";
  d.localIdentity = "sip:1000@pbx";
  d.duration = 0;
  const std::string xml = serializeDialogInfo(info);
  EXPECT_NE(xml.find("<state event=\"rejected\">terminated</state>"), std::string::npos);
  const auto back = parseDialogInfo(xml);
  ASSERT_TRUE(back) << back.error().message << "\n" << xml;
  EXPECT_EQ(*back, info);
}

}  // namespace
}  // namespace parley::pidf

namespace parley::pidf {
namespace {

TEST(ParsePidf, NoteTextSurvivesAStrayChildElement) {
  const auto doc = parseOk(pidf("<note>Hello <b>bold</b>world</note>"));
  ASSERT_EQ(doc.notes.size(), 1u);
  EXPECT_EQ(doc.notes[0].text, "Hello world");
}

TEST(ParsePidf, ReadsCdataAndCharacterReferencesInNotes) {
  const auto doc = parseOk(pidf("<note><![CDATA[a<b]]> &#x2615; &amp;</note>"));
  ASSERT_EQ(doc.notes.size(), 1u);
  EXPECT_EQ(doc.notes[0].text, "a<b ☕ &");
}

}  // namespace
}  // namespace parley::pidf
