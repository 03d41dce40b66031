#include "node_api.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "../memory_stats.hpp"
#include "../node_storage.hpp"
#include "parley/bridge/bridge.hpp"
#include "parley/presence/notifier.hpp"
#include "parley/presence/publisher.hpp"
#include "parley/sip/method.hpp"
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
    : io_(io), parts_(std::move(parts)), api_(std::make_unique<Api>(parts_.cfg.http, ports())) {
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
  p.defer = [this](std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); };
  p.stats = [this]() { return stats(); };
  p.metrics = [this]() { return metrics(); };
  return p;
}

NodeApi::Totals NodeApi::totals() const {
  Totals t;
  t.at = std::chrono::steady_clock::now();
  for (auto n : parts_.stack.stats().requestsByMethod) t.sipRequests += n;
  t.notifies = parts_.notifier.stats().notifies;
  const auto& pub = parts_.publisher.stats();
  t.publications = pub.changed + pub.refreshed + pub.removed;
  if (parts_.bridge != nullptr) {
    const auto& b = parts_.bridge->stats();
    t.bridged = b.presenceIn + b.presenceOut + b.messagesToSip + b.messagesToXmpp;
  }
  t.streamed = api_->hub().stats().messages;
  return t;
}

json NodeApi::stats() {
  // Rates over the time since the previous read at least a second ago (since start at first).
  const Totals now = totals();
  if (now.at - rateBase_.at >= std::chrono::seconds(1)) {
    const double dt = std::chrono::duration<double>(now.at - rateBase_.at).count();
    auto per = [dt](std::uint64_t a, std::uint64_t b) { return std::round(static_cast<double>(a - b) / dt * 10) / 10; };
    rates_ = {{"sip_requests", per(now.sipRequests, rateBase_.sipRequests)},
              {"notifies", per(now.notifies, rateBase_.notifies)},
              {"publications", per(now.publications, rateBase_.publications)},
              {"bridge_translations", per(now.bridged, rateBase_.bridged)},
              {"stream_messages", per(now.streamed, rateBase_.streamed)},
              {"window_s", std::round(dt * 10) / 10}};
    rateBase_ = now;
  }
  const auto& n = parts_.notifier.stats();
  const auto& pub = parts_.publisher.stats();
  json s;
  s["node"] = parts_.cfg.node.id;
  s["version"] = PARLEY_VERSION;
  s["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(now.at - started_).count();
  s["rates_per_s"] = rates_;
  s["sip"] = {{"requests", now.sipRequests},
              {"transactions_in_flight", parts_.stack.inFlight()},
              {"malformed_answered", parts_.stack.stats().malformedAnswered},
              {"malformed_dropped", parts_.stack.stats().malformedDropped}};
  s["presence"] = {{"subscriptions", parts_.notifier.watches()}, {"notifies", n.notifies},
                   {"notify_failures", n.notifyFailures}, {"coalesced", n.coalesced},
                   {"created", n.created}, {"expired", n.expired}, {"resumed", n.resumed},
                   {"publications", {{"changed", pub.changed}, {"refreshed", pub.refreshed}, {"removed", pub.removed}}}};
  s["storage"] = {{"backend", parts_.storage.redis() ? "redis" : "memory"},
                  {"up", parts_.storage.up()},
                  {"latency_ms", parts_.storage.latencyMs()}};
  s["xmpp"] = parts_.component != nullptr ? json{{"enabled", true}, {"link", linkName(parts_.component->state())}}
                                          : json{{"enabled", false}};
  if (parts_.bridge != nullptr) {
    const auto& b = parts_.bridge->stats();
    s["bridge"] = {{"presence_to_xmpp", b.presenceOut}, {"presence_from_xmpp", b.presenceIn},
                   {"messages_to_xmpp", b.messagesToXmpp}, {"messages_to_sip", b.messagesToSip},
                   {"delivery_errors", b.messageErrors}, {"refused", b.refused}};
  }
  const auto& hub = api_->hub();
  s["stream"] = {{"clients", hub.clients()}, {"messages", hub.stats().messages}, {"dropped", hub.stats().dropped}};
  const auto mem = memoryStats();
  s["memory"] = {{"allocator", mem.allocator}, {"rss_anon_bytes", mem.rssAnon}, {"rss_file_bytes", mem.rssFile}};
  if (mem.heap)
    s["memory"].update({{"allocated_bytes", mem.heap->allocated}, {"active_bytes", mem.heap->active},
                        {"allocator_resident_bytes", mem.heap->resident}, {"allocator_metadata_bytes", mem.heap->metadata},
                        {"transactions_bytes", mem.heap->transactions}});
  return s;
}

// Prometheus text exposition 0.0.4: one HELP and TYPE per family, then its samples.
std::string NodeApi::metrics() const {
  std::ostringstream m;
  auto family = [&m](std::string_view name, std::string_view type, std::string_view help) {
    m << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  auto sample = [&m](std::string_view name, std::string_view labels, auto value) {
    m << name;
    if (!labels.empty()) m << '{' << labels << '}';
    m << ' ' << value << '\n';
  };
  auto one = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    family(name, type, help);
    sample(name, "", value);
  };
  using Stats = simple::SipStack::Stats;
  auto byMethodAndCode = [&](std::string_view name, std::string_view help,
                             const std::unordered_map<std::uint32_t, std::uint64_t>& counts) {
    family(name, "counter", help);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [key, n] : sorted) {
      const auto method = sip::methodName(Stats::methodOf(key));
      const int code = Stats::codeOf(key);
      sample(name,
             "method=\"" + std::string(method.empty() ? "other" : method) + "\",code=\"" +
                 (code == 0 ? std::string("timeout") : std::to_string(code)) + "\"",
             n);
    }
  };

  const auto& sip = parts_.stack.stats();
  family("parley_sip_requests_total", "counter", "SIP requests received, by method");
  for (std::size_t i = 0; i < sip.requestsByMethod.size(); ++i) {
    if (sip.requestsByMethod[i] == 0) continue;
    const auto name = sip::methodName(static_cast<sip::Method>(i));
    sample("parley_sip_requests_total", "method=\"" + std::string(name.empty() ? "other" : name) + "\"",
           sip.requestsByMethod[i]);
  }
  byMethodAndCode("parley_sip_responses_total", "final SIP responses sent, by request method and status code",
                  sip.answered);
  byMethodAndCode("parley_sip_client_transactions_total",
                  "SIP requests this node sent (NOTIFY, MESSAGE), by method and final status code or timeout",
                  sip.outcomes);
  one("parley_sip_transactions_in_flight", "gauge", "SIP transactions waiting for an answer", parts_.stack.inFlight());
  family("parley_sip_malformed_total", "counter", "malformed SIP messages, answered 400 or dropped");
  sample("parley_sip_malformed_total", "action=\"answered\"", sip.malformedAnswered);
  sample("parley_sip_malformed_total", "action=\"dropped\"", sip.malformedDropped);

  const auto& pub = parts_.publisher.stats();
  family("parley_publications_total", "counter", "publications accepted (SIP PUBLISH and the API), by kind");
  sample("parley_publications_total", "kind=\"changed\"", pub.changed);
  sample("parley_publications_total", "kind=\"refreshed\"", pub.refreshed);
  sample("parley_publications_total", "kind=\"removed\"", pub.removed);

  const auto& n = parts_.notifier.stats();
  one("parley_subscriptions", "gauge", "SIP subscriptions this node notifies", parts_.notifier.watches());
  family("parley_subscription_events_total", "counter", "SIP subscription lifecycle events on this node");
  sample("parley_subscription_events_total", "event=\"created\"", n.created);
  sample("parley_subscription_events_total", "event=\"refreshed\"", n.refreshed);
  sample("parley_subscription_events_total", "event=\"unsubscribed\"", n.unsubscribed);
  sample("parley_subscription_events_total", "event=\"expired\"", n.expired);
  sample("parley_subscription_events_total", "event=\"ended\"", n.ended);
  sample("parley_subscription_events_total", "event=\"resumed\"", n.resumed);
  one("parley_notifies_total", "counter", "NOTIFY requests sent", n.notifies);
  one("parley_notify_failures_total", "counter", "NOTIFYs that failed or could not be sent", n.notifyFailures);
  one("parley_notify_coalesced_total", "counter", "state changes folded into a later NOTIFY (slow watchers)",
      n.coalesced);
  const auto queue = parts_.notifier.notifyQueue();
  family("parley_notify_queue", "gauge", "NOTIFY queue: transactions outstanding, watchers waiting to send a newer state");
  sample("parley_notify_queue", "state=\"in_flight\"", queue.inFlight);
  sample("parley_notify_queue", "state=\"waiting\"", queue.waiting);

  one("parley_storage_up", "gauge", "1 when the state store answers (always with memory)", parts_.storage.up() ? 1 : 0);
  if (parts_.storage.redis())
    one("parley_storage_latency_seconds", "gauge", "the latest Redis round trip", parts_.storage.latencyMs() / 1000.0);

  if (parts_.component != nullptr) {
    one("parley_xmpp_link_up", "gauge", "1 when the XMPP component link is up",
        parts_.component->state() == xmpp::LinkState::Up ? 1 : 0);
    const auto& c = parts_.component->stats();
    one("parley_xmpp_connects_total", "counter", "XEP-0114 handshakes accepted", c.connects);
    family("parley_xmpp_stanzas_total", "counter", "stanzas on the component link");
    sample("parley_xmpp_stanzas_total", "direction=\"in\"", c.stanzasIn);
    sample("parley_xmpp_stanzas_total", "direction=\"out\"", c.stanzasOut);
    one("parley_xmpp_dropped_total", "counter", "stanzas refused while the link was down and the queue full",
        c.queuedDropped);
  }
  if (parts_.bridge != nullptr) {
    const auto& b = parts_.bridge->stats();
    family("parley_bridge_translations_total", "counter", "what the bridge translated, by kind and direction");
    sample("parley_bridge_translations_total", "kind=\"presence\",direction=\"sip_to_xmpp\"", b.presenceOut);
    sample("parley_bridge_translations_total", "kind=\"presence\",direction=\"xmpp_to_sip\"", b.presenceIn);
    sample("parley_bridge_translations_total", "kind=\"message\",direction=\"sip_to_xmpp\"", b.messagesToXmpp);
    sample("parley_bridge_translations_total", "kind=\"message\",direction=\"xmpp_to_sip\"", b.messagesToSip);
    family("parley_bridge_errors_total", "counter", "bridge errors: failed deliveries answered with an XMPP error, refused input");
    sample("parley_bridge_errors_total", "kind=\"delivery\"", b.messageErrors);
    sample("parley_bridge_errors_total", "kind=\"refused\"", b.refused);
  }

  const auto& hub = api_->hub();
  one("parley_http_stream_clients", "gauge", "live-stream clients (WebSocket and server-sent events)", hub.clients());
  one("parley_http_stream_messages_total", "counter", "messages queued to live-stream clients", hub.stats().messages);
  one("parley_http_stream_dropped_total", "counter", "live-stream clients dropped for falling behind", hub.stats().dropped);

  const auto mem = memoryStats();
  family("parley_memory_bytes", "gauge",
         "process memory: resident anonymous and file-backed pages; with jemalloc also bytes allocated, in active "
         "pages, held resident by the allocator and its metadata, and allocated for SIP transactions");
  sample("parley_memory_bytes", "kind=\"rss_anon\"", mem.rssAnon);
  sample("parley_memory_bytes", "kind=\"rss_file\"", mem.rssFile);
  if (mem.heap) {
    sample("parley_memory_bytes", "kind=\"allocated\"", mem.heap->allocated);
    sample("parley_memory_bytes", "kind=\"active\"", mem.heap->active);
    sample("parley_memory_bytes", "kind=\"allocator_resident\"", mem.heap->resident);
    sample("parley_memory_bytes", "kind=\"allocator_metadata\"", mem.heap->metadata);
    sample("parley_memory_bytes", "kind=\"transactions\"", mem.heap->transactions);
  }
  return m.str();
}

}  // namespace parley::server::http
