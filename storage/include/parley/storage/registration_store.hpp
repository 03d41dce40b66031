// Registrations (RFC 3261 §10): the bindings of each address-of-record.
//
// Asynchronous by contract: every operation completes through a callback,
// which the in-memory backend calls before returning and a networked backend
// (Redis) calls later from the event loop. Callers must not assume either.
//
// Updates are read-modify-write by closure: the store hands the live bindings
// to `change`, which returns the new set (or refuses), and stores the result
// atomically. The memory backend runs the closure once; a Redis backend runs
// it under WATCH/MULTI and again if the key changed meanwhile, so `change`
// must be a pure function of its input.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace parley::storage {

/// Wall-clock time: expiries outlive restarts and map onto Redis TTLs.
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

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

struct StoreError {
  enum class Code : std::uint8_t {
    Unavailable,  ///< the backend cannot answer now (Redis down): retry later
    Refused,      ///< the change closure refused; `message` and `sipCode` say why
  };
  Code code = Code::Unavailable;
  int sipCode = 500;    ///< the SIP status a refusal maps to (set by the closure)
  std::string message;  ///< reason phrase material: short, ASCII
};

class RegistrationStore {
 public:
  virtual ~RegistrationStore() = default;
  using Done = std::function<void(tl::expected<Bindings, StoreError>)>;
  using Change = std::function<tl::expected<Bindings, StoreError>(const Bindings& live)>;

  /// The bindings of `aor` that have not expired at `now`.
  virtual void lookup(const std::string& aor, WallTime now, Done done) = 0;
  /// Atomically replaces the live bindings of `aor` with change(live); `done`
  /// receives what was stored, or the refusal/backend error (nothing stored).
  virtual void update(const std::string& aor, WallTime now, Change change, Done done) = 0;
};

}  // namespace parley::storage
