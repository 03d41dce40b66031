// The shape every piece of expiring, per-key state in Parley has: a key (an AOR,
// a presentity+event) maps to a list of records, each with an expiry. Bindings
// (RFC 3261 §10) and publications (RFC 3903) are such lists.
//
// Asynchronous by contract: every operation completes through a callback, which
// the in-memory backend calls before returning and a networked backend (Redis)
// calls later from the event loop. Callers must not assume either.
//
// Updates are read-modify-write by closure: the store hands the live records to
// `change`, which returns the new list (or refuses), and stores the result
// atomically. The memory backend runs the closure once; a Redis backend runs it
// under WATCH/MULTI and again if the key changed meanwhile, so `change` must be
// a pure function of its input.
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

struct StoreError {
  enum class Code : std::uint8_t {
    Unavailable,  ///< the backend cannot answer now (Redis down): retry later
    Refused,      ///< the change closure refused; `message` and `sipCode` say why
  };
  Code code = Code::Unavailable;
  int sipCode = 500;    ///< the SIP status a refusal maps to (set by the closure)
  std::string message;  ///< reason phrase material: short, ASCII
};

/// T must have a `WallTime expires` member.
template <class T>
class ListStore {
 public:
  using List = std::vector<T>;
  using Done = std::function<void(tl::expected<List, StoreError>)>;
  using Change = std::function<tl::expected<List, StoreError>(const List& live)>;

  virtual ~ListStore() = default;
  /// The records of `key` that have not expired at `now`.
  virtual void lookup(const std::string& key, WallTime now, Done done) = 0;
  /// Atomically replaces the live records of `key` with change(live); `done`
  /// receives what was stored, or the refusal/backend error (nothing stored).
  virtual void update(const std::string& key, WallTime now, Change change, Done done) = 0;
};

}  // namespace parley::storage
