#include "parley/xmpp/component.hpp"

#include <algorithm>
#include <deque>
#include <random>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gloox/component.h>
#include <gloox/connectionlistener.h>
#include <gloox/gloox.h>
#include <gloox/tag.h>
#include <spdlog/spdlog.h>

#include "asio_connection.hpp"
#include "parley/xmpp/iq_responder.hpp"
#include "parley/xmpp/stanza.hpp"

namespace parley::xmpp {
namespace asio = boost::asio;

std::string_view toString(LinkState s) {
  switch (s) {
    case LinkState::Down: return "down";
    case LinkState::Connecting: return "connecting";
    case LinkState::Up: return "up";
  }
  return "down";
}

namespace {
std::string_view describe(gloox::ConnectionError e) {
  switch (e) {
    case gloox::ConnNoError: return "no error";
    case gloox::ConnStreamError: return "stream error";
    case gloox::ConnStreamVersionError: return "stream version";
    case gloox::ConnStreamClosed: return "stream closed by the server";
    case gloox::ConnIoError: return "I/O error";
    case gloox::ConnParseError: return "XML parse error";
    case gloox::ConnConnectionRefused: return "connection refused";
    case gloox::ConnUserDisconnected: return "stopped";
    default: return "connection error";
  }
}
}  // namespace

struct Component::Impl final : gloox::ConnectionListener {
  // gloox's Component with stanzas taken before its typed dispatch: lossless
  // (typed Presence/Message objects drop unregistered children) and about 4x
  // cheaper; handshake, stream errors and stream end go to gloox.
  class Client final : public gloox::Component {
   public:
    Client(Impl& impl, const ComponentOptions& o)
        : gloox::Component(gloox::XMLNS_COMPONENT_ACCEPT, o.host, o.domain, o.secret, o.port), impl_(impl) {}
    void handleTag(gloox::Tag* tag) override {
      if (tag != nullptr) {
        const std::string& name = tag->name();
        if (name == "presence" || name == "message" || name == "iq") {
          // gloox's parser keeps dispatching the rest of a received chunk after a
          // stream error or </stream:stream> has already taken the link down (and
          // told the sink): what follows it on a dead stream is dropped, not
          // delivered after onLinkDown nor answered into a closed socket.
          if (authed() && impl_.state == LinkState::Up) impl_.onStanza(*tag);
          return;
        }
      }
      gloox::Component::handleTag(tag);
    }

   private:
    Impl& impl_;
  };

  Impl(asio::io_context& ctx, ComponentOptions o, StanzaSink& s, std::shared_ptr<spdlog::logger> l)
      : io(ctx),
        options(std::move(o)),
        sink(s),
        log(std::move(l)),
        client(*this, options),
        iq(options),
        reconnectTimer(ctx),
        keepaliveTimer(ctx),
        rng(std::random_device{}()) {
    client.setTls(gloox::TLSDisabled);  // XEP-0114 has no TLS: keep the port on loopback
    client.setCompression(false);
    client.registerConnectionListener(this);
    const asio::ip::tcp::endpoint server(asio::ip::make_address(options.host), options.port);
    client.setConnectionImpl(new detail::AsioConnection(&client, io, server, options.maxOutputBytes));
  }

  void connectNow() {
    state = LinkState::Connecting;
    log->debug("xmpp.connecting server={}:{} domain={}", options.host, options.port, options.domain);
    client.connect(false);
  }

  void scheduleReconnect() {
    // Capped exponential backoff, full jitter on the upper half: many nodes
    // that lost the same server do not come back in lockstep.
    const auto base = std::min<std::int64_t>(options.reconnectMax.count(),
                                             options.reconnectMin.count() << std::min(attempt, 20u));
    std::uniform_int_distribution<std::int64_t> jitter(base / 2, std::max<std::int64_t>(base / 2, base));
    const auto delay = std::chrono::milliseconds(jitter(rng));
    ++attempt;
    log->info("xmpp.reconnect_in ms={} attempt={}", delay.count(), attempt);
    reconnectTimer.expires_after(delay);
    reconnectTimer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped) connectNow();
    });
  }

  void scheduleKeepalive() {
    keepaliveTimer.expires_after(options.keepalive);
    keepaliveTimer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || state != LinkState::Up) return;
      client.whitespacePing();
      scheduleKeepalive();
    });
  }

  // gloox::ConnectionListener
  void onConnect() override {
    state = LinkState::Up;
    everUp = true;
    attempt = 0;
    stats.connects++;
    log->info("xmpp.link_up server={}:{} domain={} queued={}", options.host, options.port, options.domain,
              queue.size());
    while (!queue.empty() && state == LinkState::Up) {
      auto tag = std::move(queue.front());
      queue.pop_front();
      sendNow(std::move(tag));
    }
    scheduleKeepalive();
    sink.onLinkUp();
  }

  void onDisconnect(gloox::ConnectionError e) override {
    const bool wasUp = state == LinkState::Up;
    state = LinkState::Down;
    keepaliveTimer.cancel();
    const bool refused = e == gloox::ConnStreamError && client.streamError() == gloox::StreamErrorNotAuthorized;
    if (wasUp) {
      stats.disconnects++;
      if (stopped) log->info("xmpp.link_closed server={}:{}", options.host, options.port);
      else log->warn("xmpp.link_down server={}:{} reason=\"{}\"", options.host, options.port, describe(e));
      sink.onLinkDown();
    } else if (!stopped && !refused) {
      log->debug("xmpp.connect_failed server={}:{} reason=\"{}\"", options.host, options.port, describe(e));
    }
    if (refused) {
      const std::string reason = "the XMPP server at " + options.host + ":" + std::to_string(options.port) +
                                 " refused the component secret for " + options.domain +
                                 " (stream error not-authorized): check xmpp.secret and the server's component_secret";
      if (!everUp && fatal) {
        stopped = true;
        log->error("xmpp.auth_refused {}", reason);
        fatal(reason);
        return;
      }
      log->error("xmpp.auth_refused {}", reason);
      attempt = 31;  // the secret changed under us: retry slowly, not in a storm
    }
    if (!stopped) scheduleReconnect();
  }

  bool onTLSConnect(const gloox::CertInfo&) override { return false; }  // never used: TLS disabled

  void onStanza(const gloox::Tag& tag) {
    stats.stanzasIn++;
    if (tag.name() != "iq") return sink.onStanza(tag);
    if (auto answer = iq.answer(tag)) {
      stats.iqAnswered++;
      sendNow(std::move(answer));
    }
  }

  void sendNow(std::unique_ptr<gloox::Tag> tag) {
    stats.stanzasOut++;
    client.send(tag.release());  // gloox serialises and deletes it
  }

  asio::io_context& io;
  ComponentOptions options;
  StanzaSink& sink;
  std::shared_ptr<spdlog::logger> log;
  Client client;
  detail::IqResponder iq;
  asio::steady_timer reconnectTimer;
  asio::steady_timer keepaliveTimer;
  std::minstd_rand rng;
  std::deque<std::unique_ptr<gloox::Tag>> queue;
  std::function<void(const std::string&)> fatal;
  LinkState state = LinkState::Down;
  unsigned attempt = 0;
  bool everUp = false;
  bool stopped = true;
  Stats stats;
};

Component::Component(asio::io_context& io, ComponentOptions options, StanzaSink& sink,
                     std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(io, std::move(options), sink, std::move(log))) {}

Component::~Component() {
  impl_->stopped = true;
  impl_->client.removeConnectionListener(impl_.get());
}

void Component::onFatal(std::function<void(const std::string&)> fatal) { impl_->fatal = std::move(fatal); }

void Component::start() {
  impl_->stopped = false;
  impl_->connectNow();
}

void Component::stop() {
  auto& im = *impl_;
  im.stopped = true;
  im.reconnectTimer.cancel();
  im.keepaliveTimer.cancel();
  if (im.state != LinkState::Down) im.client.disconnect();  // </stream:stream>, flushed, then closed
  im.state = LinkState::Down;
}

bool Component::send(std::unique_ptr<gloox::Tag> stanza) {
  auto& im = *impl_;
  if (im.state == LinkState::Up) {
    im.sendNow(std::move(stanza));
    return true;
  }
  if (im.queue.size() >= im.options.maxQueued) {
    im.stats.queuedDropped++;
    return false;
  }
  im.queue.push_back(std::move(stanza));
  return true;
}

LinkState Component::state() const { return impl_->state; }
const Component::Stats& Component::stats() const { return impl_->stats; }
const std::string& Component::domain() const { return impl_->options.domain; }
std::size_t Component::queued() const { return impl_->queue.size(); }

}  // namespace parley::xmpp
