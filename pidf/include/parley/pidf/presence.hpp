// Typed model of a presence document: PIDF (RFC 3863) with the data-model
// elements of RFC 4479 (person, device, deviceID) and the RPID elements of
// RFC 4480 that the bridge maps (activities, mood, place-is). Plain values:
// no XML types leak out of this header.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::pidf {

// <basic> inside <status> [RFC 3863 §4.1.4].
enum class Basic { Open, Closed };

// <note xml:lang="..."> [RFC 3863 §4.1.6]; also dm:note in person/device.
struct Note {
  std::string text;
  std::string lang;  // empty when no xml:lang
  bool operator==(const Note&) const = default;
};

// An element of a namespace this module does not model, kept so a relay
// does not lose it [RFC 3863 §4.2.3]. `xml` is the element re-serialized
// from the parse: UTF-8, its namespace declared on itself (xmlns="..."),
// comments dropped, text escaped. It is written back verbatim.
struct Extension {
  std::string xml;
  bool operator==(const Extension&) const = default;
};

// A service [RFC 3863 §4.1.2; RFC 4479 §3.2].
struct Tuple {
  std::string id;                       // xs:ID, unique in the document
  std::optional<Basic> basic;           // <status> is mandatory, <basic> is not
  std::optional<std::string> contact;   // a URI
  std::optional<double> priority;       // <contact priority>, 0..1 [§4.1.5]
  std::vector<Note> notes;
  std::optional<std::string> timestamp; // xs:dateTime, kept as text [§4.1.7]
  std::optional<std::string> deviceId;  // dm:deviceID [RFC 4479 §3.4]
  std::optional<std::string> show;      // jabber:client <show> in <status> [RFC 8048 §6.2]
  std::vector<Extension> statusExtensions;  // unknown children of <status>
  std::vector<Extension> extensions;        // unknown children of <tuple>
  bool operator==(const Tuple&) const = default;
};

// RPID activities [RFC 4480 §3.2], in the RFC's order.
enum class Activity {
  Appointment, Away, Breakfast, Busy, Dinner, Holiday, InTransit, LookingForWork,
  Lunch, Meal, Meeting, OnThePhone, Other, Performance, PermanentAbsence, Playing,
  Presentation, Shopping, Sleeping, Spectator, Steering, Travel, TV, Vacation,
  Working, Worship, Unknown
};

// The element name of an activity ("on-the-phone"), and back. activityFromName
// returns nullopt for a name RFC 4480 does not define.
[[nodiscard]] std::string_view activityName(Activity a);
[[nodiscard]] std::optional<Activity> activityFromName(std::string_view name);

// The human [RFC 4479 §3.1]. mood and placeIs hold RPID enumeration values
// as space-separated tokens: mood "happy sleepy" [RFC 4480 §3.7], placeIs
// "audio:noisy video:toobright" [§3.9] (element <place-is><audio><noisy/>...).
struct Person {
  std::string id;  // required by RFC 4479, but Asterisk omits it: empty = absent
  std::vector<Activity> activities;
  std::string otherText;  // text of <rpid:other> when activities has Other
  std::optional<std::string> mood;
  std::optional<std::string> placeIs;
  std::vector<Note> notes;
  std::optional<std::string> timestamp;
  bool operator==(const Person&) const = default;
};

// A device [RFC 4479 §3.3].
struct Device {
  std::string id;
  std::optional<std::string> deviceId;
  std::vector<Note> notes;
  std::optional<std::string> timestamp;
  bool operator==(const Device&) const = default;
};

// <presence entity="..."> [RFC 3863 §4.1.1].
struct PresenceDocument {
  std::string entity;
  std::vector<Tuple> tuples;
  std::vector<Note> notes;
  std::optional<Person> person;
  std::vector<Device> devices;
  bool operator==(const PresenceDocument&) const = default;
};

// The document for a presentity nobody published: one tuple, basic closed
// [RFC 3856 §6.6.1 "neutral state"; RFC 8048 §5.2.1 "no body => closed"].
[[nodiscard]] PresenceDocument neutral(std::string entity);

// Turns any string into a valid xs:ID (RFC 3863 §4.1.2 types tuple id as
// xs:ID): prefixes "ID-" (RFC 8048 §6.2 note: resource -> "ID-"+resource)
// and replaces characters outside the NCName set with '_'. The serializer
// never rewrites ids itself; callers that build ids from resources use this.
[[nodiscard]] std::string toXmlId(std::string_view raw);

}  // namespace parley::pidf
