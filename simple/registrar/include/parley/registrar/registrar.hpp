// The registrar (RFC 3261 §10.3): REGISTER creates, refreshes and removes the
// bindings of an address-of-record in a storage::RegistrationStore, and lookup()
// gives the live contacts for routing (MESSAGE, later).
//
// Processing order, after the UAS core's checks (method, Request-URI, Require):
//   AOR from To (a SIP URI in a served domain, else 404)
//   Contact: parse each (400), "*" only alone and with Expires: 0 (400),
//            expiry per contact from its expires param, else Expires, else the
//            default; 0 < e < min → 423 + Min-Expires; e > max → max; q (400)
//   store: atomically, per contact: same URI + same Call-ID with a CSeq not
//          higher than stored → 400 (out of order); Expires 0 removes; new ones
//          past max_contacts → 403
//   200 with every live binding as Contact;expires=<remaining>, and Date
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "parley/simple/expiry.hpp"
#include "parley/simple/sip_stack.hpp"
#include "parley/storage/registration_store.hpp"

namespace parley::registrar {

struct Options {
  std::vector<std::string> domains;  ///< served domains, lower-case
  simple::ExpiryBounds expiry;
  std::size_t maxContacts = 10;
  /// Wall clock for binding expiry (tests inject a fake).
  std::function<storage::WallTime()> wallClock = [] { return storage::WallClock::now(); };
};

class Registrar final : public simple::RequestHandler {
 public:
  Registrar(Options options, storage::RegistrationStore& store);

  /// What the UAS core needs to route REGISTER here.
  [[nodiscard]] simple::MethodRegistration registration();

  // simple::RequestHandler
  void handle(simple::ServerTransaction txn, sip::Message&& req) override;

  /// The live bindings of `aor`, highest q first (then most recently refreshed).
  void lookup(const std::string& aor, storage::RegistrationStore::Done done);

 private:
  Options options_;
  storage::RegistrationStore& store_;
};

}  // namespace parley::registrar
