// The live presence stream (docs/api.md, "Live stream"): which client watches
// which address, the snapshot on watch, and one composed message per change
// fanned out to every client watching it. Pure: clients are StreamPeers (a
// WebSocket or an event stream, http_server.cpp), presence comes through a port.
//
// A change is composed once, serialized once per format and shared by every
// client's queue; changes to an address while its read is in flight collapse
// into one more read (the newest state wins). A client that cannot keep up is
// dropped by its peer (the queue bound), never waited for.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_server.hpp"

namespace parley::server::http {

class StreamHub {
 public:
  enum class Format : std::uint8_t { WebSocket, EventStream };

  struct Ports {
    /// The canonical address ("sip:alice@example.com", "xmpp:bob@example.org"), or nullopt.
    std::function<std::optional<std::string>(std::string_view address)> resolve;
    /// The presence JSON of a canonical address (Api::presenceJson, or {address, error}).
    std::function<void(const std::string& address, std::function<void(nlohmann::json)> done)> presence;
    /// The first message to each client: {"node", "version"}.
    std::function<nlohmann::json()> hello;
    /// Runs `fn` later on the same loop (after what is running now). Given,
    /// a change is written to its clients kChunk at a time, each chunk a later
    /// turn of the loop: the request that made the change is answered first,
    /// and SIP traffic is served between chunks. Unset: all at once (tests).
    std::function<void(std::function<void()>)> defer;
    /// The clock of the per-client message budget (unset: steady_clock).
    std::function<std::chrono::steady_clock::time_point()> clock;
  };

  struct Stats {
    std::uint64_t opened = 0;    ///< clients ever opened
    std::uint64_t dropped = 0;   ///< closed because their queue overflowed
    std::uint64_t messages = 0;  ///< messages queued to clients
    std::uint64_t changes = 0;   ///< changes composed for at least one client
  };

  static constexpr std::size_t kMaxWatched = 1000;  ///< addresses one client may watch
  static constexpr std::size_t kChunk = 128;         ///< clients written to per turn of the loop
  /// Messages one client may send per second (a bucket of as many): each
  /// watch can cost up to kMaxWatched reads. Past it: an error, nothing done.
  static constexpr double kMessagesPerSecond = 10;

  explicit StreamHub(Ports ports);
  ~StreamHub();
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  /// A new client, watching `addresses` (snapshots follow) and, with `all`,
  /// every change. Returns what its transport calls.
  StreamHandlers open(std::shared_ptr<StreamPeer> peer, Format format, const std::vector<std::string>& addresses,
                      bool all);
  /// The presence of `address` (canonical) may have changed.
  void changed(const std::string& address);

  [[nodiscard]] std::size_t clients() const { return clients_.size(); }
  /// Distinct addresses watched by some client.
  [[nodiscard]] std::size_t watchedAddresses() const { return watchers_.size(); }
  [[nodiscard]] const Stats& stats() const { return stats_; }

 private:
  using ClientId = std::uint64_t;
  struct Client {
    std::shared_ptr<StreamPeer> peer;
    Format format;
    std::unordered_set<std::string> watched;
    bool all = false;
    double budget = kMessagesPerSecond;
    std::chrono::steady_clock::time_point refilled{};
  };

  void onMessage(ClientId id, std::string_view text);
  void close(ClientId id);
  void watch(ClientId id, const std::vector<std::string>& addresses);
  void unwatch(ClientId id, const std::vector<std::string>& addresses);
  void compose(const std::string& address);
  struct Delivery;
  /// Writes the next chunk of `d`; when done, reads `address` again if it changed meanwhile.
  void deliver(std::shared_ptr<Delivery> d);
  /// Queues `json` to one client as `event`; false when the client is gone.
  bool sendTo(ClientId id, std::string_view event, const nlohmann::json& json);
  /// Queues a framed message to a client's peer; a refusal closes the client (false).
  bool push(ClientId id, std::shared_ptr<StreamPeer> peer, std::shared_ptr<const std::string> message);
  [[nodiscard]] static std::shared_ptr<const std::string> frame(Format format, std::string_view event,
                                                                const nlohmann::json& json);

  Ports ports_;
  ClientId nextId_ = 1;
  std::unordered_map<ClientId, Client> clients_;
  std::unordered_map<std::string, std::unordered_set<ClientId>> watchers_;  // address -> clients
  std::unordered_set<ClientId> all_;
  std::unordered_map<std::string, bool> composing_;  // address read in flight -> changed again meanwhile
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Stats stats_;
};

}  // namespace parley::server::http
