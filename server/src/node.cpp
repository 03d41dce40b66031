#include "parley/server/node.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gloox/tag.h>

#include "http/node_api.hpp"
#include "node_storage.hpp"
#include "parley/bridge/bridge.hpp"
#include "parley/messaging/message_router.hpp"
#include "parley/presence/notifier.hpp"
#include "parley/presence/publisher.hpp"
#include "parley/registrar/registrar.hpp"
#include "parley/server/logging.hpp"
#include "parley/simple/sip_stack.hpp"
#include "parley/transport/loop_timer.hpp"
#include "parley/transport/transports.hpp"
#include "parley/xmpp/component.hpp"

namespace parley::server {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
sip::Transport toSip(config::Transport t) {
  return t == config::Transport::Udp ? sip::Transport::Udp : sip::Transport::Tcp;
}

simple::StackOptions stackOptions(const config::Config& cfg) {
  simple::StackOptions o;
  o.domains = cfg.sip.domains;
  // The bridge's XMPP domains are Request-URI hosts we accept too: a SUBSCRIBE
  // or MESSAGE to sip:bob@<xmpp domain> goes through the gateway (RFC 7247).
  if (cfg.xmpp.enabled) o.domains.insert(o.domains.end(), cfg.xmpp.domains.begin(), cfg.xmpp.domains.end());
  for (const auto& l : cfg.sip.listen) o.localAddresses.push_back(l.host);
  o.serverHeader = "Parley/" PARLEY_VERSION;
  o.limits.maxMessageBytes = cfg.sip.maxMessageBytes;
  o.limits.maxHeaderCount = cfg.sip.maxHeaders;
  o.limits.maxLineBytes = cfg.sip.maxLineBytes;
  o.transactions.maxTransactions = cfg.sip.maxTransactions;
  o.supported = {"path"};  // RFC 3327: the registrar stores and echoes Path
  return o;
}

registrar::Options registrarOptions(const config::Config& cfg) {
  registrar::Options o;
  o.domains = cfg.sip.domains;
  o.expiry = {cfg.registrar.minExpires, cfg.registrar.maxExpires, cfg.registrar.defaultExpires};
  o.maxContacts = cfg.registrar.maxContacts;
  return o;
}

presence::PublishOptions publishOptions(const config::Config& cfg) {
  presence::PublishOptions o;
  o.expiry = {cfg.presence.minExpires, cfg.presence.maxExpires, cfg.presence.defaultExpires};
  o.maxBodyBytes = cfg.presence.maxBodyBytes;
  o.maxPublicationsPerPresentity = cfg.presence.maxPublicationsPerPresentity;
  o.domains = cfg.sip.domains;
  return o;
}

// How often expired bindings and publications are reclaimed from memory (they are never served
// once expired; this only returns their memory).
constexpr auto kSweepInterval = std::chrono::seconds(30);

transport::Limits transportLimits(const config::Config& cfg) {
  transport::Limits l;
  l.maxMessageBytes = cfg.sip.maxMessageBytes;
  l.maxHeaders = cfg.sip.maxHeaders;
  l.maxLineBytes = cfg.sip.maxLineBytes;
  l.maxTcpConnections = cfg.sip.maxTcpConnections;
  l.tcpIdleTimeout = cfg.sip.tcpIdleTimeout;
  return l;
}

// The SIP stack's deadlines are served in 5 ms slots (transport::LoopTimer, granularity):
// SIP's timers are T1 = 500 ms and longer, so 5 ms late changes nothing on the wire, and under
// load it turns one wake and two timerfd_settime calls per transaction deadline into at most 200
// wakes a second (docs/performance.md, "Timer re-arms").
constexpr std::chrono::milliseconds kTimerSlot{5};
}  // namespace

// The glue between the transport edge and the pure stack: bytes up, bytes down,
// and one LoopTimer re-armed to the stack's next deadline after every event.
struct Node::Impl final : transport::Handler, txn::TransportSink {
  explicit Impl(config::Config c)
      : cfg(std::move(c)),
        log(logger("node")),
        transports(io, transportLimits(cfg), *this, logger("transport")),
        stack(stackOptions(cfg), *this),
        state(cfg, io),
        registrar(registrarOptions(cfg), state.registrations()),
        messages(messagingOptions(), stack, registrar),
        publisher(publishOptions(cfg), state.publications()),
        notifier(notifyOptions(), stack, state.subscriptions(), publisher),
        timer(io, [this](Clock::time_point now) { onTimer(now); }, logger("sip"), /*lazy=*/true, kTimerSlot),
        signals(io),
        drainTimer(io) {
    stack.registerMethod(registrar.registration());
    stack.registerMethod(messages.registration());
    stack.registerMethod(publisher.registration());
    stack.registerMethod(notifier.registration());
    publisher.setListener([this](const presence::PublicationChange& change) {
      notifier.onPublication(change);
      // Watchers on other nodes (Redis): they compose from the shared store.
      if (change.stateChanged) state.publishChange(change.event, change.aor);
    });
    if (cfg.xmpp.enabled) setUpXmpp();
    scheduleSweep(Clock::now());
  }

  // The component and the bridge (issue: XMPP component and bridge). The
  // bridge drives the notifier, the MESSAGE router and the component through
  // BridgePorts; stanzas from the component reach it through xmppSink, which
  // re-arms the loop timer afterwards like every other event source.
  void setUpXmpp() {
    const auto& x = cfg.xmpp;
    bridge::BridgeOptions bo;
    bo.componentDomain = x.componentDomain;
    bo.sipDomain = x.sipDomain;
    bo.xmppDomains = x.domains;
    bo.messageType = x.messageType;
    bo.maxMessageBytes = x.maxMessageBytes;
    bo.messageWait = x.messageWait;
    bridge::BridgePorts ports;
    ports.composePresence = [this](const std::string& aor, std::function<void(pidf::PresenceDocument)> done) {
      notifier.composePresence(aor, std::move(done));
    };
    ports.externalChanged = [this](std::string_view aor) {
      notifier.onExternalChange(aor);
      if (api) api->contactChanged(aor);
    };
    ports.originate = [this](messaging::MessageRouter::Outgoing out, messaging::MessageRouter::OriginateDone done) {
      messages.originate(std::move(out), std::move(done));
    };
    ports.messageSize = [](const messaging::MessageRouter::Outgoing& out) {
      return messaging::MessageRouter::estimatedSize(out);
    };
    ports.send = [this](std::unique_ptr<gloox::Tag> stanza) { return component->send(std::move(stanza)); };
    ports.setTimer = [this](std::chrono::milliseconds after, std::function<void()> fire) {
      return stack.setTimer(stack.now() + after, [fire = std::move(fire)](Clock::time_point) { fire(); });
    };
    ports.cancelTimer = [this](std::uint64_t id) { stack.cancelTimer(id); };
    gateway = std::make_unique<bridge::Bridge>(std::move(bo), std::move(ports), state.roster(),
                                               state.contactPresence(), logger("bridge"));
    notifier.setExternal(gateway.get());
    notifier.addPresenceObserver([this](std::string_view aor) { gateway->onSipPresenceChanged(aor); });

    xmpp::ComponentOptions co;
    co.domain = x.componentDomain;
    co.host = x.serverHost;
    co.port = x.serverPort;
    co.secret = x.secret;
    co.reconnectMin = x.reconnectMin;
    co.reconnectMax = x.reconnectMax;
    co.keepalive = x.keepalive;
    co.maxQueued = x.maxQueuedStanzas;
    co.softwareVersion = PARLEY_VERSION;
    xmppSink.emplace(*this);
    component = std::make_unique<xmpp::Component>(io, std::move(co), *xmppSink, logger("xmpp"));
    component->onFatal([this](const std::string& reason) {
      log->error("node.fatal reason=\"{}\"", reason);
      exitCode = 1;
      finish();
    });
  }

  struct XmppSink final : xmpp::StanzaSink {
    explicit XmppSink(Impl& i) : im(i) {}
    void onStanza(const gloox::Tag& stanza) override {
      im.gateway->onStanza(stanza);
      im.timer.schedule(im.stack.nextDeadline());
    }
    void onLinkUp() override {
      im.gateway->onLinkUp();
      im.timer.schedule(im.stack.nextDeadline());
    }
    void onLinkDown() override { im.gateway->onLinkDown(); }
    Impl& im;
  };

  messaging::Options messagingOptions() {
    messaging::Options o;
    // Our sent-by for the Via of forwarded requests: the first listener of that
    // transport, as bound (port 0 resolved) — filled in by Node::start().
    o.sentBy = [this](const sip::Peer& to) { return sentByFor(to); };
    if (cfg.xmpp.enabled) {
      // MESSAGE to an XMPP domain: the bridge (RFC 7572); the rest stays ours.
      o.domains = cfg.sip.domains;
      o.foreign = [this](simple::ServerTransaction txn, sip::Message&& req) {
        gateway->onSipMessage(std::move(txn), std::move(req));
      };
    }
    return o;
  }

  presence::NotifyOptions notifyOptions() {
    presence::NotifyOptions o;
    o.expiry = {cfg.presence.minExpires, cfg.presence.maxExpires, cfg.presence.defaultExpires};
    o.maxSubscriptionsPerWatcher = cfg.presence.maxSubscriptionsPerWatcher;
    o.sentBy = [this](const sip::Peer& to) { return sentByFor(to); };
    return o;
  }

  // Our host:port as `to` must see it: the listener its request came in on when
  // that fits its transport and address family, else the first one that does
  // (an IPv6 peer must never be told an IPv4 address, RFC 3261 §18.1.1).
  std::string sentByFor(const sip::Peer& to) const {
    const bool v6 = to.address.find(':') != std::string::npos;
    auto fits = [&](const transport::LocalEndpoint& e) {
      return e.transport == to.transport && (e.address.find(':') != std::string::npos) == v6;
    };
    if (to.listenerIndex < endpoints.size() && fits(endpoints[to.listenerIndex]))
      return transport::formatHostPort(endpoints[to.listenerIndex].address, endpoints[to.listenerIndex].port);
    for (const auto& e : endpoints)
      if (fits(e)) return transport::formatHostPort(e.address, e.port);
    for (const auto& e : endpoints)  // no listener of its family: the first of its transport
      if (e.transport == to.transport) return transport::formatHostPort(e.address, e.port);
    return "127.0.0.1";
  }

  // Storage events drive the notifier: resume this node's subscriptions once
  // Redis is first up, resynchronise after an outage, hear other nodes' changes.
  void startStorage() {
    NodeStorage::Hooks h;
    h.afterAnswer = [this] { timer.schedule(stack.nextDeadline()); };
    h.remoteChange = [this](std::string_view event, std::string_view aor) { notifier.onRemoteChange(event, aor); };
    h.ready = [this] { resumeSubscriptions(); };
    h.restored = [this] {
      if (!resumed) return resumeSubscriptions();  // the link dropped before the first resume ended
      const auto n = notifier.renotifyAll();
      log->info("storage.restored backend=redis renotified={}", n);
    };
    state.start(std::move(h));
  }

  void resumeSubscriptions() {
    notifier.resume([this](tl::expected<std::size_t, storage::StoreError> n) {
      if (!n) {
        log->warn("storage.resume_failed reason=\"{}\"", n.error().message);  // again when the link is back
        return;
      }
      resumed = true;
      log->info("storage.ready backend=redis resumed={}", *n);
    });
  }

  void scheduleSweep(Clock::time_point now) {
    stack.setTimer(now + kSweepInterval, [this](Clock::time_point t) {
      state.sweep(storage::WallClock::now(), kSweepInterval);
      scheduleSweep(t);
    });
  }

  // transport::Handler
  void onMessage(std::string&& bytes, const sip::Peer& from) override {
    if (from.transport == sip::Transport::Udp) stack.onDatagram(bytes, from, Clock::now());
    else stack.onFramed(bytes, from, Clock::now());
    timer.schedule(stack.nextDeadline());
  }
  void onFramingError(sip::ParseError error, std::string_view headerBytes, const sip::Peer& from) override {
    log->debug("sip.framing_error peer={}:{} conn={} error=\"{}\"", from.address, from.port,
               from.connectionId, sip::describe(error));
    stack.onFramingError(error, headerBytes, from, Clock::now());
    timer.schedule(stack.nextDeadline());
  }
  // txn::TransportSink
  void transmit(const sip::Peer& to, std::string_view bytes) override { transports.send(to, bytes); }

  void onTimer(Clock::time_point now) {
    stack.advance(now);
    timer.schedule(stack.nextDeadline());
  }

  void waitForSignal() {
    signals.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (stopping) {
        log->warn("node.stop_forced signal={}", signo);
        finish();
        return;
      }
      beginStop(signo);
      if (!finished) waitForSignal();  // a second signal forces the stop
    });
  }

  void beginStop(int signo) {
    stopping = true;
    deadline = Clock::now() + cfg.node.shutdownTimeout;
    log->info("node.stopping node={} signal={} in_flight={}", cfg.node.id, signo, stack.inFlight());
    transports.stopAccepting();
    drain();
  }

  // Polls until every transaction waiting for an answer has one, or the deadline.
  void drain() {
    if (stack.inFlight() == 0 || Clock::now() >= deadline) {
      if (stack.inFlight() != 0) log->warn("node.drain_timeout in_flight={}", stack.inFlight());
      finish();
      return;
    }
    drainTimer.expires_after(std::chrono::milliseconds(20));
    drainTimer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) drain();
    });
  }

  void finish() {
    if (finished) return;
    finished = true;
    boost::system::error_code ignored;
    signals.cancel(ignored);
    drainTimer.cancel();
    timer.schedule(std::nullopt);
    if (component) component->stop();  // </stream:stream>, flushed before the loop ends
    if (api) api->stop();
    state.stop();
    transports.close();
    const auto t = transports.stats();
    const auto& s = stack.stats();
    log->info("node.stopped node={} datagrams_in={} tcp_accepted={} malformed_answered={} malformed_dropped={}",
              cfg.node.id, t.udpDatagramsIn, t.tcpAccepted, s.malformedAnswered, s.malformedDropped);
  }

  config::Config cfg;
  std::shared_ptr<spdlog::logger> log;
  asio::io_context io{1};
  transport::Transports transports;
  simple::SipStack stack;
  NodeStorage state;
  registrar::Registrar registrar;
  messaging::MessageRouter messages;
  presence::Publisher publisher;
  presence::Notifier notifier;
  std::unique_ptr<bridge::Bridge> gateway;
  std::optional<XmppSink> xmppSink;
  std::unique_ptr<xmpp::Component> component;
  std::unique_ptr<http::NodeApi> api;  // [http] enabled
  int exitCode = 0;
  std::vector<transport::LocalEndpoint> endpoints;  // as bound, by listener index
  transport::LoopTimer timer;
  asio::signal_set signals;
  asio::steady_timer drainTimer;
  Clock::time_point deadline{};
  bool stopping = false;
  bool finished = false;
  bool resumed = false;  // this node's subscriptions were taken over from Redis
};

Node::Node(config::Config cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Node::~Node() = default;

tl::expected<void, std::string> Node::start() {
  for (const auto& l : impl_->cfg.sip.listen) {
    auto r = impl_->transports.listen({toSip(l.transport), l.host, l.port});
    if (!r) return tl::unexpected("cannot listen on " + l.text + ": " + r.error());
  }
  impl_->endpoints = impl_->transports.endpoints();
  if (impl_->cfg.http.enabled) {
    auto& im = *impl_;
    im.api = std::make_unique<http::NodeApi>(
        im.io,
        http::NodeParts{im.cfg, im.stack, im.notifier, im.publisher, im.state, im.component.get(), im.gateway.get(),
                        [&im] { im.timer.schedule(im.stack.nextDeadline()); }},
        logger("http"));
    if (auto r = im.api->start(); !r) return tl::unexpected("cannot listen for HTTP: " + r.error());
  }
  impl_->startStorage();
  if (impl_->component) impl_->component->start();  // connects once the loop runs
  return {};
}

int Node::run() {
  auto& im = *impl_;
  im.signals.add(SIGINT);
  im.signals.add(SIGTERM);
  im.waitForSignal();
  im.log->info("node.ready node={} listeners={} domains={}", im.cfg.node.id, im.cfg.sip.listen.size(),
               fmt::join(im.cfg.sip.domains, ","));
  im.io.run();
  return im.exitCode;
}

void Node::requestStop() {
  asio::post(impl_->io, [this] {
    if (!impl_->stopping) impl_->beginStop(SIGTERM);
  });
}

std::vector<Node::BoundListener> Node::listeners() const {
  std::vector<BoundListener> out;
  for (const auto& e : impl_->transports.endpoints())
    out.push_back({e.transport == sip::Transport::Udp ? "udp" : "tcp", e.address, e.port});
  return out;
}

}  // namespace parley::server
