// The presence API under /api/v1 (docs/api.md): routing, bearer tokens and
// scopes, CORS, JSON errors, the presence view. Pure: it answers Requests
// through ApiPorts, knows nothing of sockets or Beast, and is unit-tested as
// such (tests/unit/server/api_test.cpp).
#pragma once

#include <chrono>
#include <functional>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_server.hpp"
#include "stream_hub.hpp"
#include "parley/config/config.hpp"
#include "parley/pidf/presence.hpp"
#include "parley/storage/list_store.hpp"

namespace parley::server::http {

/// What the API knows of one address's presence.
struct PresenceView {
  pidf::PresenceDocument document;            ///< composed (SIP): every device, hook state included
  std::optional<storage::WallTime> changed;   ///< the newest publication's last change; none = nothing published
};

/// An error the ports report: an HTTP status and a stable code.
struct ApiError {
  int status = 500;
  std::string code;     ///< "not_found", "unavailable", ...
  std::string message;
};

/// One subscription to an address's presence (GET /api/v1/watchers).
struct WatcherView {
  std::string watcher;   ///< "sip:bob@example.com", or "xmpp:carol@example.org" for an XMPP subscriber
  std::string event;     ///< "presence", "dialog"
  std::string state;     ///< "active"; XMPP: "subscribed"
  std::optional<storage::WallTime> expires;  ///< none for XMPP subscribers (no expiry)
};

struct ApiPorts {
  /// The canonical AOR ("sip:alice@example.com") of a served SIP address given
  /// as "sip:alice@example.com" or "alice@example.com"; nullopt if not ours.
  std::function<std::optional<std::string>(std::string_view address)> servedAor;
  /// The canonical "xmpp:bob@example.org" of an address in an XMPP domain the
  /// bridge serves ("xmpp:bob@example.org", "bob@example.org"); nullopt if none.
  std::function<std::optional<std::string>(std::string_view address)> xmppAddress;
  /// The presence of a canonical address, SIP ("sip:") or XMPP ("xmpp:").
  std::function<void(const std::string& address, std::function<void(tl::expected<PresenceView, ApiError>)>)> presence;
  /// Who watches a served SIP AOR: SIP subscriptions (either package) and XMPP subscribers.
  std::function<void(const std::string& aor, std::function<void(tl::expected<std::vector<WatcherView>, ApiError>)>)>
      watchers;
  /// Publishes `pidf` (a serialized PIDF document) as the publication of
  /// `source` for `aor`, lapsing after `expires`; expires 0 removes it.
  std::function<void(const std::string& aor, const std::string& source, std::string pidf, std::chrono::seconds expires,
                     std::function<void(tl::expected<void, ApiError>)>)>
      publish;
  std::function<nlohmann::json()> stats;
  std::function<std::string()> metrics;  ///< Prometheus text exposition
  std::function<nlohmann::json()> hello;  ///< the live stream's first message: {"node", "version"}
  /// Runs a function later on the node's loop (StreamHub::Ports::defer).
  std::function<void(std::function<void()>)> defer;
};

class Api {
 public:
  static constexpr std::size_t kMaxBatch = 100;
  static constexpr std::size_t kMaxNoteBytes = 1024;
  static constexpr std::chrono::seconds kDefaultExpires{3600}, kMinExpires{60}, kMaxExpires{86400};

  using Clock = std::chrono::steady_clock;

  /// `clock` drives the rate limit (tests give a fake one).
  Api(const config::HttpConfig& config, ApiPorts ports, std::function<Clock::time_point()> clock = Clock::now);
  void handle(Request request, Respond respond);
  /// The presence of `address` (canonical, "sip:" or "xmpp:") may have
  /// changed: live-stream clients watching it hear the new state.
  void presenceChanged(const std::string& address) { hub_.changed(address); }
  [[nodiscard]] const StreamHub& hub() const { return hub_; }

  /// The JSON of one address's presence (docs/api.md, "Presence").
  [[nodiscard]] static nlohmann::json presenceJson(const std::string& address, const PresenceView& view);

 private:
  enum class Scope { Read, Publish, Admin };
  /// The token's name when allowed ("" for an anonymous read); else the 401/403 to send.
  /// `queryToken`: a token given as ?access_token= (RFC 6750 §2.3; the live
  /// stream only: a browser's WebSocket cannot send headers).
  [[nodiscard]] tl::expected<std::string, Response> authorize(const Request& request, Scope scope,
                                                              std::optional<std::string_view> queryToken = {}) const;
  /// The canonical address (SIP, then XMPP), or nullopt.
  [[nodiscard]] std::optional<std::string> resolve(std::string_view address) const;
  /// The presence JSON of a canonical address, or {address, error}; the status to answer a single read with.
  void readPresence(const std::string& address, std::function<void(int status, nlohmann::json)> done);
  void stream(const Request& request, std::string_view query, Respond respond);
  void watchers(const std::string& address, Respond respond);
  /// The dashboard's files (server/web), public like any page: true when
  /// `path` is one of them and was answered.
  bool asset(const Request& request, std::string_view path, const Respond& respond);
  void publish(const Request& request, const std::string& address, const std::string& source, Respond respond);
  void presenceOne(const std::string& address, Respond respond);
  void presenceBatch(std::string_view query, Respond respond);
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> corsHeaders(const Request& request) const;

  /// requests_per_second per token (or per client address without one): a
  /// token bucket holding one second's worth. False when this request is over.
  bool withinRate(const std::string& who);

  const config::HttpConfig& config_;
  ApiPorts ports_;
  std::function<Clock::time_point()> clock_;
  struct Bucket {
    double tokens = 0;
    Clock::time_point last{};
  };
  std::unordered_map<std::string, Bucket> buckets_;
  StreamHub hub_;
};

/// {"error":{"code":..., "message":...}} with `status`.
[[nodiscard]] Response errorResponse(int status, std::string_view code, std::string_view message);

}  // namespace parley::server::http
