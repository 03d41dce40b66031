// The XEP-0114 external component link to an XMPP server (Prosody, ejabberd),
// on gloox 1.0.24 driven entirely by Parley's Boost.Asio loop: no gloox thread,
// no blocking call. docs/xmpp.md has the design.
//
//   XMPP server ──TCP──> AsioConnection ──bytes──> gloox parser ──Tag──> Component
//        ▲                                                          │ iq: answered here
//        └───── bounded write queue <── send(Tag) ◄── StanzaSink ◄──┘ presence/message
//
// The component answers the IQs a gateway must answer itself (XEP-0030 disco
// with identity gateway/simple, XEP-0199 ping, XEP-0092 version; any other get
// or set: service-unavailable; results and errors are never answered) and
// hands presence and message stanzas, untouched, to the sink.
//
// Link life: start() connects; a lost link reconnects with capped exponential
// backoff and jitter. While it is down, send() queues up to maxQueued stanzas
// (the oldest are kept; newer ones are refused, so the caller can answer its
// own peer with an error). A refused secret before the link was ever up is
// fatal (a config error, not a retry storm): the fatal callback says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

namespace gloox {
class Tag;
}
namespace spdlog {
class logger;
}

namespace parley::xmpp {

struct ComponentOptions {
  std::string domain = "sip.localhost";  ///< the component's JID (XEP-0114 'to')
  std::string host = "127.0.0.1";        ///< the XMPP server's component port: an IP literal
  std::uint16_t port = 5347;
  std::string secret;
  std::chrono::milliseconds reconnectMin{500};
  std::chrono::milliseconds reconnectMax{30000};
  std::chrono::seconds keepalive{60};     ///< whitespace keepalive while up
  std::size_t maxQueued = 10000;          ///< stanzas held while the link is down
  std::size_t maxOutputBytes = 8u << 20;  ///< unsent bytes on a live link before it is dropped as stalled
  std::string softwareName = "Parley";    ///< XEP-0092
  std::string softwareVersion;
  /// XEP-0030 identity of the component JID and the features it lists.
  std::string identityCategory = "gateway";
  std::string identityType = "simple";
  std::string identityName = "SIP/SIMPLE gateway";
  std::vector<std::string> features;  ///< besides disco#info, ping, version, jid\20escaping
};

enum class LinkState : std::uint8_t {
  Down,         ///< not connected; a reconnect is scheduled (or stopped)
  Connecting,   ///< TCP connect or stream handshake under way
  Up,           ///< handshake accepted: stanzas flow
};
[[nodiscard]] std::string_view toString(LinkState s);

/// Receives what the component does not handle itself. Called on the loop.
class StanzaSink {
 public:
  virtual ~StanzaSink() = default;
  /// A presence or message stanza addressed to the component's domain. The
  /// Tag is gloox's and lives only for the call: clone() to keep it.
  virtual void onStanza(const gloox::Tag& stanza) = 0;
  /// The handshake was accepted (first time and after every reconnect).
  virtual void onLinkUp() = 0;
  /// The link went down; a reconnect is scheduled unless stopped.
  virtual void onLinkDown() = 0;
};

class Component {
 public:
  struct Stats {
    std::uint64_t connects = 0;       ///< handshakes accepted
    std::uint64_t disconnects = 0;    ///< links lost after being up
    std::uint64_t stanzasIn = 0, stanzasOut = 0;
    std::uint64_t iqAnswered = 0;
    std::uint64_t queuedDropped = 0;  ///< send() refused: queue full while down
  };

  Component(boost::asio::io_context& io, ComponentOptions options, StanzaSink& sink,
            std::shared_ptr<spdlog::logger> log);
  ~Component();
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;

  /// Called once if the server refuses the secret before the link was ever up.
  void onFatal(std::function<void(const std::string& reason)> fatal);
  /// Connects (asynchronously). Reconnects on loss until stop().
  void start();
  /// Closes the stream gracefully and stops reconnecting.
  void stop();

  /// Sends a stanza (ownership taken). While the link is down it is queued;
  /// returns false when the queue is full (the stanza is dropped). The stanza
  /// must carry 'from' in the component's domain and a 'to'.
  bool send(std::unique_ptr<gloox::Tag> stanza);

  [[nodiscard]] LinkState state() const;
  [[nodiscard]] const Stats& stats() const;
  [[nodiscard]] const std::string& domain() const;
  [[nodiscard]] std::size_t queued() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::xmpp
