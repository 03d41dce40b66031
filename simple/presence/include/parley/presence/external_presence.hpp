// Presentities of another world (the XMPP bridge, RFC 8048 §5.3): a SIP
// watcher may subscribe to them like to any presentity, but their state and
// the watcher's authorization come from outside, not from PUBLISH. The
// Notifier keeps the SIP dialog (200, NOTIFY after every 2xx, refresh,
// expiry); the source says, per watcher, whether the subscription is still
// pending, active (with the PIDF to send) or rejected.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace parley::presence {

class ExternalPresence {
 public:
  enum class Authorization : std::uint8_t {
    Pending,   ///< asked, not answered: NOTIFY pending, no body (RFC 6665 §4.2.1.2)
    Active,    ///< approved: NOTIFY active with `pidf` (none when nothing is known yet)
    Rejected,  ///< refused or revoked: NOTIFY terminated;reason=rejected, the subscription ends
  };
  struct State {
    Authorization authorization = Authorization::Pending;
    std::string pidf;  ///< the document to send when Active; empty = no body
  };
  /// What the SIP watcher just did, so the source can act on the other side.
  enum class Watch : std::uint8_t {
    Subscribe,    ///< a new subscription (expires > 0)
    Refresh,      ///< a refresh within the dialog
    Unsubscribe,  ///< Expires: 0 within the dialog
    Fetch,        ///< Expires: 0 outside a dialog (a poll)
    Ended,        ///< the subscription expired (not refreshed)
  };

  virtual ~ExternalPresence() = default;
  /// True when `aor` ("sip:user@host", as sip::addressOfRecord writes it) belongs to the other world.
  [[nodiscard]] virtual bool owns(std::string_view aor) const = 0;
  virtual void watching(std::string_view watcher, std::string_view aor, Watch what) = 0;
  /// The state `watcher` is to be told about `aor` now.
  virtual void state(std::string_view watcher, std::string_view aor, std::function<void(State)> done) = 0;
};

}  // namespace parley::presence
