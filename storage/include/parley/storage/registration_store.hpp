// Registrations (RFC 3261 §10): the bindings of each address-of-record, kept in
// a ListStore keyed by the canonical AOR.
#pragma once

#include <string>
#include <vector>

#include "parley/storage/list_store.hpp"

namespace parley::storage {

struct Binding {
  std::string contact;            ///< the Contact URI as registered (without <>, params)
  std::string callId;             ///< of the REGISTER that last refreshed it
  std::uint32_t cseq = 0;         ///< ditto
  WallTime expires;               ///< when it lapses
  std::uint16_t qMilli = 1000;    ///< q-value × 1000 (RFC 3261 §20.10); absent counts as 1.0
  std::vector<std::string> path;  ///< RFC 3327 Path values, in order
  std::string source;             ///< where the REGISTER came from, "udp:192.0.2.1:5060" (opaque here)

  friend bool operator==(const Binding&, const Binding&) = default;
};
using Bindings = std::vector<Binding>;
using RegistrationStore = ListStore<Binding>;

}  // namespace parley::storage
