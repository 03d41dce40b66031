// Presence translation [RFC 8048 §6.2, §6.3] and the project's <show> <-> RPID
// tables (standards.md §8.3).
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "parley/bridge/presence_map.hpp"
#include "parley/pidf/parse.hpp"
#include "parley/pidf/serialize.hpp"

namespace parley::bridge {
namespace {
using pidf::Activity;
using pidf::Basic;

constexpr std::string_view kEntity = "sip:juliet@example.com";

pidf::Tuple tuple(std::string id, Basic basic, std::optional<double> priority = std::nullopt) {
  pidf::Tuple t;
  t.id = std::move(id);
  t.basic = basic;
  t.priority = priority;
  return t;
}

pidf::PresenceDocument doc(std::vector<pidf::Tuple> tuples) {
  pidf::PresenceDocument d;
  d.entity = kEntity;
  d.tuples = std::move(tuples);
  return d;
}

pidf::Person person(std::vector<Activity> acts, std::vector<pidf::Note> notes = {}) {
  pidf::Person p;
  p.id = "p1";
  p.activities = std::move(acts);
  p.notes = std::move(notes);
  return p;
}

XmppPresence avail(std::string show = {}, std::int8_t priority = 0, std::string status = {}, std::string lang = {}) {
  return XmppPresence{true, std::move(show), std::move(status), std::move(lang), priority};
}

// --- SIP -> XMPP ------------------------------------------------------------------

TEST(ToXmpp, NoOpenTupleIsUnavailable) {
  EXPECT_FALSE(toXmpp(doc({tuple("a", Basic::Closed)})).available);
  EXPECT_FALSE(toXmpp(doc({})).available);
  EXPECT_FALSE(toXmpp(pidf::neutral(std::string(kEntity))).available);
  pidf::Tuple noBasic = tuple("a", Basic::Open);
  noBasic.basic.reset();
  EXPECT_FALSE(toXmpp(doc({noBasic})).available);
}

TEST(ToXmpp, UnavailableKeepsPersonOrDocumentNote) {
  auto d = doc({tuple("a", Basic::Closed)});
  d.notes.push_back({"Gone home", "en"});
  EXPECT_EQ(toXmpp(d), (XmppPresence{false, "", "Gone home", "en", 0}));
  d.person = person({}, {{"Off", ""}});
  EXPECT_EQ(toXmpp(d).status, "Off");
}

TEST(ToXmpp, OpenBeatsClosedThenPriorityThenOrder) {
  auto a = tuple("a", Basic::Closed, 1.0);
  auto b = tuple("b", Basic::Open, 0.2);
  auto c = tuple("c", Basic::Open, 0.5);
  auto d = tuple("d", Basic::Open, 0.5);
  b.show = "chat";
  c.show = "away";
  d.show = "dnd";
  auto x = toXmpp(doc({a, b, c, d}));
  EXPECT_TRUE(x.available);
  EXPECT_EQ(x.show, "away");  // c: open, highest priority, first of the tie
  EXPECT_EQ(x.priority, 64);  // round(0.5 * 127)
}

TEST(ToXmpp, MissingPriorityCountsAsZero) {
  auto a = tuple("a", Basic::Open);
  auto b = tuple("b", Basic::Open, 0.0);
  a.show = "xa";
  b.show = "dnd";
  EXPECT_EQ(toXmpp(doc({a, b})).show, "xa");
  b.priority = 0.001;
  EXPECT_EQ(toXmpp(doc({a, b})).show, "dnd");
}

TEST(ToXmpp, PriorityScale) {
  const std::pair<double, int> cases[] = {{0.0, 0}, {0.007, 1}, {0.015, 2}, {0.5, 64}, {1.0, 127}, {1.5, 127}, {-1, 0}};
  for (auto [p, expected] : cases)
    EXPECT_EQ(toXmpp(doc({tuple("a", Basic::Open, p)})).priority, expected) << p;
}

TEST(ToXmpp, TupleShowWinsOverActivities) {
  auto t = tuple("a", Basic::Open);
  t.show = "chat";
  auto d = doc({t});
  d.person = person({Activity::OnThePhone});
  EXPECT_EQ(toXmpp(d).show, "chat");
}

TEST(ToXmpp, InvalidTupleShowFallsBackToActivities) {
  auto t = tuple("a", Basic::Open);
  t.show = "online";
  auto d = doc({t});
  d.person = person({Activity::Vacation});
  EXPECT_EQ(toXmpp(d).show, "xa");
}

TEST(ToXmpp, ActivityTableEveryRow) {
  const std::pair<Activity, std::string_view> rows[] = {
      {Activity::OnThePhone, "dnd"},   {Activity::Busy, "dnd"},           {Activity::Meeting, "dnd"},
      {Activity::Presentation, "dnd"}, {Activity::Performance, "dnd"},    {Activity::Vacation, "xa"},
      {Activity::Holiday, "xa"},       {Activity::Sleeping, "xa"},        {Activity::PermanentAbsence, "xa"},
      {Activity::Away, "away"},        {Activity::Appointment, "away"},   {Activity::Meal, "away"},
      {Activity::Breakfast, "away"},   {Activity::Lunch, "away"},         {Activity::Dinner, "away"},
      {Activity::Travel, "away"},      {Activity::InTransit, "away"},     {Activity::Steering, "away"},
      {Activity::Working, ""},         {Activity::Playing, ""},           {Activity::Shopping, ""},
      {Activity::Other, ""},           {Activity::Unknown, ""},           {Activity::TV, ""},
  };
  for (auto [activity, show] : rows) {
    auto d = doc({tuple("a", Basic::Open)});
    d.person = person({activity});
    EXPECT_EQ(toXmpp(d).show, show) << pidf::activityName(activity);
  }
}

TEST(ToXmpp, FirstMatchingRowWinsNotFirstActivity) {
  auto d = doc({tuple("a", Basic::Open)});
  d.person = person({Activity::Lunch, Activity::Vacation, Activity::Meeting});
  EXPECT_EQ(toXmpp(d).show, "dnd");
  d.person = person({Activity::Lunch, Activity::Vacation});
  EXPECT_EQ(toXmpp(d).show, "xa");
}

TEST(ToXmpp, StatusPrecedence) {
  auto t = tuple("a", Basic::Open);
  t.notes.push_back({"tuple note", "fr"});
  auto d = doc({t});
  d.notes.push_back({"doc note", "de"});
  d.person = person({}, {{"person note", "en"}, {"second", "it"}});
  auto x = toXmpp(d);
  EXPECT_EQ(x.status, "person note");
  EXPECT_EQ(x.lang, "en");

  d.person = person({});
  x = toXmpp(d);
  EXPECT_EQ(x.status, "tuple note");
  EXPECT_EQ(x.lang, "fr");

  d.tuples[0].notes.clear();
  x = toXmpp(d);
  EXPECT_EQ(x.status, "doc note");
  EXPECT_EQ(x.lang, "de");

  d.notes.clear();
  EXPECT_EQ(toXmpp(d).status, "");
}

TEST(ToXmpp, StatusComesFromTheChosenTuple) {
  auto a = tuple("a", Basic::Open, 0.1);
  auto b = tuple("b", Basic::Open, 0.9);
  a.notes.push_back({"low", ""});
  b.notes.push_back({"high", ""});
  EXPECT_EQ(toXmpp(doc({a, b})).status, "high");
}

TEST(ToXmpp, OnThePhoneWithoutNote) {
  auto t = tuple("a", Basic::Open);
  t.notes.push_back({"Online", ""});
  auto d = doc({t});
  d.person = person({Activity::OnThePhone});
  EXPECT_EQ(toXmpp(d), (XmppPresence{true, "dnd", "On the phone", "en", 0}));
  d.person->notes.push_back({"Call with Bob", ""});
  EXPECT_EQ(toXmpp(d).status, "Call with Bob");
}

// --- XMPP -> SIP ------------------------------------------------------------------

using Resources = std::vector<std::pair<std::string, XmppPresence>>;

TEST(ToPidf, NoAvailableResourceIsNeutral) {
  EXPECT_EQ(toPidf(kEntity, {}), pidf::neutral(std::string(kEntity)));
  EXPECT_EQ(toPidf(kEntity, Resources{{"phone", XmppPresence{}}}), pidf::neutral(std::string(kEntity)));
}

TEST(ToPidf, OneTuplePerAvailableResource) {
  auto d = toPidf(kEntity, Resources{{"balcony", avail("dnd", 64, "In a meeting", "en")},
                                     {"gone", XmppPresence{}},
                                     {"2nd phone", avail()}});
  EXPECT_EQ(d.entity, kEntity);
  ASSERT_EQ(d.tuples.size(), 2U);
  const auto& t = d.tuples[0];
  EXPECT_EQ(t.id, "ID-balcony");
  EXPECT_EQ(t.basic, Basic::Open);
  EXPECT_EQ(t.show, "dnd");
  EXPECT_EQ(t.contact, "sip:juliet@example.com;gr=balcony");
  ASSERT_TRUE(t.priority);
  EXPECT_DOUBLE_EQ(*t.priority, 0.503);
  ASSERT_EQ(t.notes.size(), 1U);
  EXPECT_EQ(t.notes[0], (pidf::Note{"In a meeting", "en"}));

  const auto& u = d.tuples[1];
  EXPECT_EQ(u.id, "ID-2nd_phone");
  EXPECT_FALSE(u.show);
  EXPECT_TRUE(u.notes.empty());
  EXPECT_EQ(u.contact, "sip:juliet@example.com;gr=2nd%20phone");
}

TEST(ToPidf, PriorityTable1) {
  const std::pair<int, std::optional<double>> cases[] = {
      {-128, std::nullopt}, {-1, std::nullopt}, {0, 0.0}, {1, 0.007}, {2, 0.015}, {3, 0.023}, {64, 0.503}, {126, 0.992},
      {127, 1.0}};
  for (auto [p, expected] : cases) {
    auto d = toPidf(kEntity, Resources{{"r", avail("", static_cast<std::int8_t>(p))}});
    ASSERT_EQ(d.tuples.size(), 1U);
    ASSERT_EQ(d.tuples[0].priority.has_value(), expected.has_value()) << p;
    if (expected) {
      EXPECT_DOUBLE_EQ(*d.tuples[0].priority, *expected) << p;
    }
  }
}

TEST(ToPidf, PriorityStepsAreUniqueAndRoundTrip) {
  for (int p = 0; p <= 127; ++p) {
    auto d = toPidf(kEntity, Resources{{"r", avail("", static_cast<std::int8_t>(p))}});
    // Through the wire form (three decimals) and back.
    auto parsed = pidf::parsePidf(pidf::serializePidf(d));
    ASSERT_TRUE(parsed) << p;
    EXPECT_EQ(toXmpp(*parsed).priority, p);
  }
}

TEST(ToPidf, ShowToActivityTable) {
  const std::pair<std::string_view, std::optional<Activity>> rows[] = {
      {"", std::nullopt}, {"chat", std::nullopt}, {"away", Activity::Away}, {"xa", Activity::Away},
      {"dnd", Activity::Busy}};
  for (auto [show, activity] : rows) {
    auto d = toPidf(kEntity, Resources{{"r", avail(std::string(show))}});
    ASSERT_EQ(d.tuples.size(), 1U);
    EXPECT_EQ(d.tuples[0].basic, Basic::Open);
    EXPECT_EQ(d.tuples[0].show.value_or(""), show);
    ASSERT_EQ(d.person.has_value(), activity.has_value()) << show;
    if (activity) {
      EXPECT_EQ(d.person->activities, std::vector<Activity>{*activity}) << show;
    }
  }
}

TEST(ToPidf, PersonNotes) {
  auto xa = toPidf(kEntity, Resources{{"r", avail("xa")}});
  ASSERT_TRUE(xa.person);
  EXPECT_EQ(xa.person->notes, std::vector<pidf::Note>{(pidf::Note{"Extended away", "en"})});
  auto xaStatus = toPidf(kEntity, Resources{{"r", avail("xa", 0, "Skiing", "en")}});
  EXPECT_EQ(xaStatus.person->notes, std::vector<pidf::Note>{(pidf::Note{"Skiing", "en"})});
  auto away = toPidf(kEntity, Resources{{"r", avail("away")}});
  EXPECT_TRUE(away.person->notes.empty());
  EXPECT_FALSE(away.person->id.empty());
}

TEST(ToPidf, InvalidShowIsPlainAvailable) {
  auto d = toPidf(kEntity, Resources{{"r", avail("busy")}});
  EXPECT_FALSE(d.tuples[0].show);
  EXPECT_FALSE(d.person);
}

TEST(ToPidf, UniqueTupleIds) {
  auto d = toPidf(kEntity, Resources{{"a/b", avail()}, {"a_b", avail()}, {"a:b", avail()}});
  ASSERT_EQ(d.tuples.size(), 3U);
  EXPECT_EQ(d.tuples[0].id, "ID-a_b");
  EXPECT_EQ(d.tuples[1].id, "ID-a_b-2");
  EXPECT_EQ(d.tuples[2].id, "ID-a_b-3");
}

TEST(ToPidf, NonSipEntityContactIsTheEntity) {
  auto d = toPidf("pres:juliet@example.com", Resources{{"r", avail()}});
  EXPECT_EQ(d.tuples[0].contact, "pres:juliet@example.com");
}

// "Most available" order (RFC 8048 §6.2; availability() documents it):
// chat > available > away > xa > dnd > unavailable; then priority; then order.
TEST(Availability, Order) {
  EXPECT_GT(availability(avail("chat")), availability(avail("")));
  EXPECT_GT(availability(avail("")), availability(avail("away")));
  EXPECT_GT(availability(avail("away")), availability(avail("xa")));
  EXPECT_GT(availability(avail("xa")), availability(avail("dnd")));
  EXPECT_GT(availability(avail("dnd")), availability(XmppPresence{}));
  EXPECT_EQ(availability(avail("bogus")), availability(avail("")));
}

TEST(ToPidf, PersonFollowsMostAvailableResource) {
  // away beats dnd, whatever the order or priority
  auto d = toPidf(kEntity, Resources{{"desk", avail("dnd", 100)}, {"mobile", avail("away", 1)}});
  EXPECT_EQ(d.person->activities, std::vector<Activity>{Activity::Away});
  // one plain-available resource means no activity at all
  d = toPidf(kEntity, Resources{{"desk", avail("dnd")}, {"mobile", avail("")}});
  EXPECT_FALSE(d.person);
  // chat beats plain available
  d = toPidf(kEntity, Resources{{"a", avail("")}, {"b", avail("chat")}});
  EXPECT_FALSE(d.person);
  // xa beats dnd
  d = toPidf(kEntity, Resources{{"a", avail("dnd", 0, "busy!")}, {"b", avail("xa", 0, "asleep")}});
  EXPECT_EQ(d.person->notes[0].text, "asleep");
  // same show: higher priority wins, then the earlier resource
  d = toPidf(kEntity, Resources{{"a", avail("away", 1, "one")}, {"b", avail("away", 5, "five")}});
  EXPECT_EQ(d.person->notes[0].text, "five");
  d = toPidf(kEntity, Resources{{"a", avail("away", 5, "first")}, {"b", avail("away", 5, "second")}});
  EXPECT_EQ(d.person->notes[0].text, "first");
}

// --- both ways ---------------------------------------------------------------

TEST(PresenceRoundTrip, XmppToPidfToXmpp) {
  for (const auto& p : {avail("", 0), avail("chat", 5, "Free", "en"), avail("away", 10, "Lunch", "en"),
                        avail("xa", 0, "Holiday", "fr"), avail("dnd", 127, "Busy", ""), avail("dnd", 3)}) {
    auto d = toPidf(kEntity, Resources{{"r", p}});
    auto parsed = pidf::parsePidf(pidf::serializePidf(d));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(toXmpp(*parsed), p) << p.show << " " << p.status;
  }
  auto neg = toPidf(kEntity, Resources{{"r", avail("away", -5, "x")}});
  EXPECT_EQ(toXmpp(neg), avail("away", 0, "x"));  // negative priority is not carried [RFC 8048 Table 1]
  EXPECT_FALSE(toXmpp(toPidf(kEntity, {})).available);
}

}  // namespace
}  // namespace parley::bridge
