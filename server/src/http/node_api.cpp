#include "node_api.hpp"

#include <algorithm>
#include <sstream>

#include "../node_storage.hpp"
#include "parley/bridge/bridge.hpp"
#include "parley/presence/notifier.hpp"
#include "parley/presence/publisher.hpp"
#include "parley/sip/uri.hpp"
#include "parley/simple/sip_stack.hpp"
#include "parley/xmpp/component.hpp"

namespace parley::server::http {
using nlohmann::json;

namespace {

ServerOptions serverOptions(const config::HttpConfig& h) {
  ServerOptions o;
  for (const auto& l : h.listen) o.listen.push_back({l.host, l.port});
  o.maxBodyBytes = h.maxBodyBytes;
  o.maxConnections = h.maxClients + 64;  // the live clients and some room for plain requests
  o.streamQueue = h.clientQueue;
  return o;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* linkName(xmpp::LinkState s) {
  switch (s) {
    case xmpp::LinkState::Down: return "down";
    case xmpp::LinkState::Connecting: return "connecting";
    case xmpp::LinkState::Up: return "up";
  }
  return "down";
}

}  // namespace

NodeApi::NodeApi(boost::asio::io_context& io, NodeParts parts, std::shared_ptr<spdlog::logger> log)
    : parts_(std::move(parts)), api_(std::make_unique<Api>(parts_.cfg.http, ports())) {
  server_ = std::make_unique<Server>(
      io, serverOptions(parts_.cfg.http),
      [this](Request req, Respond respond) {
        api_->handle(std::move(req), std::move(respond));
        parts_.afterEvent();
      },
      std::move(log));
  // SIP presence changes (here or, through Redis, on another node) reach the live stream.
  parts_.notifier.addPresenceObserver([this, alive = std::weak_ptr<bool>(alive_)](std::string_view aor) {
    if (alive.lock()) api_->presenceChanged(std::string(aor));
  });
}

NodeApi::~NodeApi() { *alive_ = false; }

void NodeApi::contactChanged(std::string_view aor) {
  if (parts_.bridge == nullptr) return;
  if (auto address = parts_.bridge->xmppAddressOfAor(aor)) api_->presenceChanged(*address);
}

ApiPorts NodeApi::ports() {
  ApiPorts p;
  p.servedAor = [this](std::string_view address) -> std::optional<std::string> {
    std::string text(address);
    if (!text.starts_with("sip:") && !text.starts_with("sips:")) text.insert(0, "sip:");
    auto uri = sip::parseUri(text);
    if (!uri) return std::nullopt;
    std::string aor = sip::addressOfRecord(*uri);
    const auto at = aor.find('@');
    if (aor.empty() || at == std::string::npos || !aor.starts_with("sip:")) return std::nullopt;
    const std::string host = aor.substr(at + 1);
    const auto& domains = parts_.cfg.sip.domains;
    if (std::none_of(domains.begin(), domains.end(), [&](const std::string& d) { return lower(d) == host; }))
      return std::nullopt;
    return aor;
  };
  p.xmppAddress = [this](std::string_view address) -> std::optional<std::string> {
    if (parts_.bridge == nullptr) return std::nullopt;
    return parts_.bridge->xmppAddress(address);
  };
  p.presence = [this](const std::string& address, std::function<void(tl::expected<PresenceView, ApiError>)> done) {
    if (address.starts_with("xmpp:")) {
      if (parts_.bridge == nullptr) return done(tl::unexpected(ApiError{404, "not_served", "no XMPP bridge"}));
      return parts_.bridge->contactPresence(address, [done](auto doc) {
        if (!doc) return done(tl::unexpected(ApiError{503, "unavailable", "the presence store is not reachable"}));
        done(PresenceView{std::move(*doc), std::nullopt});
      });
    }
    parts_.notifier.composePresenceView(address, [done](presence::Notifier::PresenceView view) {
      if (!view.complete) return done(tl::unexpected(ApiError{503, "unavailable", "the presence store is not reachable"}));
      done(PresenceView{std::move(view.document), view.changed});
    });
  };
  p.publish = [this](const std::string& aor, const std::string& source, std::string pidf, std::chrono::seconds expires,
                     std::function<void(tl::expected<void, ApiError>)> done) {
    parts_.publisher.publishAs("presence", aor, source, std::move(pidf), expires, [done](auto r) {
      if (r) return done({});
      if (r.error().code == storage::StoreError::Code::Refused)
        return done(tl::unexpected(ApiError{409, "refused", r.error().message}));
      done(tl::unexpected(ApiError{503, "unavailable", "the presence store is not reachable"}));
    });
  };
  p.watchers = [this](const std::string& aor,
                       std::function<void(tl::expected<std::vector<WatcherView>, ApiError>)> done) {
    parts_.notifier.watchersOf(aor, [this, aor, done](auto sip) {
      if (!sip) return done(tl::unexpected(ApiError{503, "unavailable", "the subscription store is not reachable"}));
      std::vector<WatcherView> out;
      for (auto& w : *sip) out.push_back(WatcherView{std::move(w.watcher), std::move(w.event), "active", w.expires});
      if (parts_.bridge == nullptr) return done(std::move(out));
      parts_.bridge->subscribers(aor, [done, out = std::move(out)](auto jids) mutable {
        if (!jids) return done(tl::unexpected(ApiError{503, "unavailable", "the roster store is not reachable"}));
        for (auto& j : *jids) out.push_back(WatcherView{"xmpp:" + j, "presence", "subscribed", std::nullopt});
        done(std::move(out));
      });
    });
  };
  p.hello = [this]() { return json{{"node", parts_.cfg.node.id}, {"version", PARLEY_VERSION}}; };
  p.stats = [this]() {
    const auto& n = parts_.notifier.stats();
    json s;
    s["node"] = parts_.cfg.node.id;
    s["version"] = PARLEY_VERSION;
    s["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    s["sip"] = {{"transactions_in_flight", parts_.stack.inFlight()},
                {"malformed_answered", parts_.stack.stats().malformedAnswered},
                {"malformed_dropped", parts_.stack.stats().malformedDropped}};
    s["presence"] = {{"subscriptions", parts_.notifier.watches()}, {"notifies", n.notifies},
                     {"notify_failures", n.notifyFailures}, {"coalesced", n.coalesced},
                     {"created", n.created}, {"expired", n.expired}, {"resumed", n.resumed}};
    s["storage"] = {{"backend", parts_.storage.redis() ? "redis" : "memory"},
                    {"up", parts_.storage.up()},
                    {"latency_ms", parts_.storage.latencyMs()}};
    s["xmpp"] = parts_.component != nullptr ? json{{"enabled", true}, {"link", linkName(parts_.component->state())}}
                                            : json{{"enabled", false}};
    return s;
  };
  p.metrics = [this]() {
    const auto& n = parts_.notifier.stats();
    std::ostringstream m;
    auto metric = [&m](const char* name, const char* type, const char* help, auto value) {
      m << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
    };
    metric("parley_sip_transactions_in_flight", "gauge", "SIP transactions waiting for an answer", parts_.stack.inFlight());
    metric("parley_subscriptions", "gauge", "SIP subscriptions this node notifies", parts_.notifier.watches());
    metric("parley_notifies_total", "counter", "NOTIFY requests sent", n.notifies);
    metric("parley_notify_failures_total", "counter", "NOTIFYs that failed or could not be sent", n.notifyFailures);
    metric("parley_storage_up", "gauge", "1 when the state store answers (always with memory)",
           parts_.storage.up() ? 1 : 0);
    metric("parley_storage_latency_ms", "gauge", "latest Redis round trip", parts_.storage.latencyMs());
    if (parts_.component != nullptr)
      metric("parley_xmpp_link_up", "gauge", "1 when the XMPP component link is up",
             parts_.component->state() == xmpp::LinkState::Up ? 1 : 0);
    return m.str();
  };
  return p;
}

}  // namespace parley::server::http
