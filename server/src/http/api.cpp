#include "api.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include "parley/bridge/presence_map.hpp"
#include "parley/pidf/serialize.hpp"
#include "parley/web/assets.hpp"

namespace parley::server::http {
using nlohmann::json;

namespace {

constexpr std::string_view kPresencePath = "/api/v1/presence";

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// RFC 3986 §2.1; nullopt on a broken escape. `plusIsSpace` for query values.
std::optional<std::string> percentDecode(std::string_view in, bool plusIsSpace) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hexValue(in[i + 1]);
      const int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plusIsSpace && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

/// The value of `key` in a query string ("a=1&b=2"), decoded; nullopt if absent or broken.
std::optional<std::string> queryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return std::nullopt;
}

/// "a,b,,c" -> {a, b, c}: the addresses of a query value.
std::vector<std::string> addressList(std::string_view list) {
  std::vector<std::string> out;
  for (std::string_view rest = list; !rest.empty();) {
    const auto comma = rest.find(',');
    if (auto one = rest.substr(0, comma); !one.empty()) out.emplace_back(one);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

/// Is `token` an item of the comma-separated `list` ("GET, PUT"; "keep-alive, Upgrade")?
bool listed(std::string_view list, std::string_view token, bool anyCase = false) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (anyCase ? iequals(item, token) : item == token) return true;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

/// Compares in time independent of where they differ (tokens are secrets).
bool sameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

std::string isoTime(storage::WallTime t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string firstNote(const std::vector<pidf::Note>& notes) { return notes.empty() ? std::string() : notes.front().text; }

Response jsonResponse(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

bool isWebSocketUpgrade(const Request& request) {
  // RFC 6455 §4.2.1: a GET with Upgrade: websocket and Connection: Upgrade.
  return request.method == "GET" && listed(request.header("Upgrade"), "websocket", true) &&
         listed(request.header("Connection"), "upgrade", true);
}

Response errorResponse(int status, std::string_view code, std::string_view message) {
  return jsonResponse(status, json{{"error", {{"code", code}, {"message", message}}}});
}

Api::Api(const config::HttpConfig& config, ApiPorts ports, std::function<Clock::time_point()> clock)
    : config_(config),
      ports_(std::move(ports)),
      clock_(std::move(clock)),
      hub_(StreamHub::Ports{
          [this](std::string_view address) { return resolve(address); },
          [this](const std::string& address, std::function<void(json)> done) {
            readPresence(address, [done = std::move(done)](int, json j) { done(std::move(j)); });
          },
          [this] { return ports_.hello ? ports_.hello() : json::object(); },
          ports_.defer,
          clock_}) {}

std::optional<std::string> Api::resolve(std::string_view address) const {
  if (address.starts_with("xmpp:")) return ports_.xmppAddress ? ports_.xmppAddress(address) : std::nullopt;
  if (auto aor = ports_.servedAor(address)) return aor;
  return ports_.xmppAddress && !address.starts_with("sip:") && !address.starts_with("sips:")
             ? ports_.xmppAddress(address)
             : std::nullopt;
}

void Api::readPresence(const std::string& address, std::function<void(int, json)> done) {
  ports_.presence(address, [address, done = std::move(done)](tl::expected<PresenceView, ApiError> view) {
    if (!view)
      return done(view.error().status,
                  json{{"address", address}, {"error", {{"code", view.error().code}, {"message", view.error().message}}}});
    done(200, presenceJson(address, *view));
  });
}

bool Api::withinRate(const std::string& who) {
  if (config_.requestsPerSecond == 0) return true;
  const double rate = static_cast<double>(config_.requestsPerSecond);
  const auto now = clock_();
  // Bounded: clients idle for a minute are forgotten once there are many.
  if (buckets_.size() > 10000)
    std::erase_if(buckets_, [now](const auto& b) { return now - b.second.last > std::chrono::minutes(1); });
  auto [it, fresh] = buckets_.try_emplace(who, Bucket{rate, now});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(rate, b.tokens + elapsed * rate);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

json Api::presenceJson(const std::string& address, const PresenceView& view) {
  const auto& doc = view.document;
  const auto xmpp = bridge::toXmpp(doc);
  json out;
  out["address"] = address;
  const bool open = std::any_of(doc.tuples.begin(), doc.tuples.end(),
                                [](const pidf::Tuple& t) { return t.basic == pidf::Basic::Open; });
  out["basic"] = open ? "open" : "closed";
  out["show"] = !xmpp.available ? "offline" : xmpp.show.empty() ? "available" : xmpp.show;
  json activities = json::array();
  bool onThePhone = false;
  std::string note;
  if (doc.person) {
    for (auto a : doc.person->activities) {
      activities.push_back(std::string(pidf::activityName(a)));
      onThePhone = onThePhone || a == pidf::Activity::OnThePhone;
    }
    note = firstNote(doc.person->notes);
  }
  if (note.empty()) note = firstNote(doc.notes);
  json devices = json::array();
  for (const auto& t : doc.tuples) {
    json d;
    d["id"] = t.id;
    d["basic"] = !t.basic ? "unknown" : *t.basic == pidf::Basic::Open ? "open" : "closed";
    if (t.contact) d["contact"] = *t.contact;
    if (t.priority) d["priority"] = *t.priority;
    if (!t.notes.empty()) d["note"] = t.notes.front().text;
    if (t.timestamp) d["timestamp"] = *t.timestamp;
    if (note.empty()) note = firstNote(t.notes);
    devices.push_back(std::move(d));
  }
  out["activities"] = std::move(activities);
  out["on_the_phone"] = onThePhone;
  out["note"] = note;
  out["devices"] = std::move(devices);
  out["changed"] = view.changed ? json(isoTime(*view.changed)) : json(nullptr);
  return out;
}

std::vector<std::pair<std::string, std::string>> Api::corsHeaders(const Request& request) const {
  const auto origin = request.header("Origin");
  if (origin.empty() || config_.corsOrigins.empty()) return {};
  const bool any = config_.corsOrigins.size() == 1 && config_.corsOrigins.front() == "*";
  if (!any && std::find(config_.corsOrigins.begin(), config_.corsOrigins.end(), origin) == config_.corsOrigins.end())
    return {};
  return {{"Access-Control-Allow-Origin", any ? std::string("*") : std::string(origin)}, {"Vary", "Origin"}};
}

tl::expected<std::string, Response> Api::authorize(const Request& request, Scope scope,
                                                   std::optional<std::string_view> queryToken) const {
  // The token presented: from "Authorization: Bearer <token>" ("" when not a bearer
  // credential), else from the query; nullopt when the request carries none.
  std::optional<std::string_view> presented;
  if (const auto auth = request.header("Authorization"); !auth.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    const bool bearer = auth.size() > kBearer.size() && iequals(auth.substr(0, kBearer.size()), kBearer);
    presented = bearer ? auth.substr(kBearer.size()) : std::string_view{};
  } else {
    presented = queryToken;
  }
  if (!presented) {
    if (scope == Scope::Read && config_.allowAnonymousRead) return std::string();
    auto r = errorResponse(401, "unauthorized", "a bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"parley\"");
    return tl::unexpected(std::move(r));
  }
  const config::HttpToken* found = nullptr;
  if (!presented->empty())
    for (const auto& t : config_.tokens)
      if (sameSecret(t.token, *presented)) found = &t;
  if (found == nullptr) {
    auto r = errorResponse(401, "unauthorized", "unknown token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"parley\", error=\"invalid_token\"");
    return tl::unexpected(std::move(r));
  }
  const auto& s = found->scopes;
  const bool allowed = s.admin || (scope == Scope::Read && s.read) || (scope == Scope::Publish && s.publish);
  if (!allowed) return tl::unexpected(errorResponse(403, "forbidden", "the token lacks the scope this needs"));
  return found->name;
}

void Api::handle(Request request, Respond respond) {
  auto cors = corsHeaders(request);
  auto reply = [respond = std::move(respond), cors](Response r) {
    r.headers.insert(r.headers.end(), cors.begin(), cors.end());
    respond(std::move(r));
  };
  std::string_view target = request.target;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

  auto only = [&](std::string_view allow) -> bool {
    if (request.method != "OPTIONS" && listed(allow, request.method)) return true;
    if (request.method == "OPTIONS" && listed(allow, "OPTIONS")) {  // RFC 9110 §9.3.7; a CORS preflight
      Response r;
      r.status = 204;
      r.contentType.clear();
      r.headers = {{"Allow", std::string(allow)}};
      if (!cors.empty())
        r.headers.insert(r.headers.end(), {{"Access-Control-Allow-Methods", std::string(allow)},
                                           {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                                           {"Access-Control-Max-Age", "600"}});
      reply(std::move(r));
      return false;
    }
    auto r = errorResponse(405, "method_not_allowed", "allowed: " + std::string(allow));
    r.headers.emplace_back("Allow", std::string(allow));
    reply(std::move(r));
    return false;
  };
  std::string caller;  // the token's name
  auto allowedTo = [&](Scope scope, std::optional<std::string_view> queryToken = std::nullopt) {
    auto who = authorize(request, scope, queryToken);
    // Counted per token, else per client address (failed attempts too: no free guessing).
    const std::string key = who && !who->empty() ? "token " + *who : "address " + request.peer.substr(0, request.peer.rfind(':'));
    if (!withinRate(key)) {
      auto r = errorResponse(429, "rate_limited", "too many requests; slow down");
      r.headers.emplace_back("Retry-After", "1");
      reply(std::move(r));
      return false;
    }
    if (!who) {
      reply(std::move(who.error()));
      return false;
    }
    caller = std::move(*who);
    return true;
  };

  if (path == kPresencePath) {
    if (!only("GET, OPTIONS") || !allowedTo(Scope::Read)) return;
    return presenceBatch(query, std::move(reply));
  }
  if (path.starts_with(std::string(kPresencePath) + "/")) {
    if (!only("GET, PUT, DELETE, OPTIONS")) return;
    const bool write = request.method == "PUT" || request.method == "DELETE";
    if (!allowedTo(write ? Scope::Publish : Scope::Read)) return;
    auto address = percentDecode(path.substr(kPresencePath.size() + 1), false);
    if (!address || address->empty()) return reply(errorResponse(400, "bad_address", "malformed address in the path"));
    if (write) return publish(request, *address, "api-" + caller, std::move(reply));
    return presenceOne(*address, std::move(reply));
  }
  if (path == "/api/v1/stream") {
    if (!only("GET, OPTIONS")) return;
    const auto token = queryValue(query, "access_token");
    if (!allowedTo(Scope::Read, token ? std::optional<std::string_view>(*token) : std::nullopt)) return;
    return stream(request, query, std::move(reply));
  }
  if (path.starts_with("/api/v1/watchers/")) {
    if (!only("GET, OPTIONS") || !allowedTo(Scope::Admin)) return;
    auto address = percentDecode(path.substr(std::string_view("/api/v1/watchers/").size()), false);
    if (!address || address->empty()) return reply(errorResponse(400, "bad_address", "malformed address in the path"));
    return watchers(*address, std::move(reply));
  }
  if (path == "/api/v1/stats") {
    if (!only("GET, OPTIONS") || !allowedTo(Scope::Read)) return;
    return reply(jsonResponse(200, ports_.stats()));
  }
  if (path == "/metrics") {
    if (!only("GET") || !allowedTo(Scope::Read)) return;
    Response r;
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    r.body = ports_.metrics();
    return reply(std::move(r));
  }
  if (asset(request, path, reply)) return;
  reply(errorResponse(404, "not_found", "no such resource"));
}

bool Api::asset(const Request& request, std::string_view path, const Respond& respond) {
  const web::Asset* a = web::findAsset(path);
  if (a == nullptr) return false;
  if (request.method != "GET") {
    auto r = errorResponse(405, "method_not_allowed", "allowed: GET");
    r.headers.emplace_back("Allow", "GET");
    respond(std::move(r));
    return true;
  }
  Response r;
  r.headers = {{"ETag", std::string(a->etag)},
               {"Cache-Control", "no-cache"},  // revalidated each time: a new build shows at once
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Content-Security-Policy",
                "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
                "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}};
  if (listed(request.header("If-None-Match"), a->etag) || request.header("If-None-Match") == "*") {
    r.status = 304;  // RFC 9110 §13.1.2
    r.contentType.clear();
  } else {
    r.contentType = std::string(a->contentType);
    r.body = std::string(a->body);
  }
  respond(std::move(r));
  return true;
}

// PUT: {"basic": "open"|"closed", "note": "...", "activities": ["on-the-phone"], "expires": 3600}
// as one device of the user, named after the token; DELETE removes it.
void Api::publish(const Request& request, const std::string& address, const std::string& source, Respond respond) {
  const auto aor = ports_.servedAor(address);
  if (!aor) return respond(errorResponse(404, "not_served", "not an address of a domain this server serves"));
  auto done = [respond, aor = *aor](tl::expected<void, ApiError> r) {
    if (!r) return respond(errorResponse(r.error().status, r.error().code, r.error().message));
    Response ok;
    ok.status = 204;
    ok.contentType.clear();
    respond(std::move(ok));
  };
  if (request.method == "DELETE") return ports_.publish(*aor, source, {}, std::chrono::seconds(0), std::move(done));

  const auto type = request.header("Content-Type");
  if (type.substr(0, type.find(';')) != "application/json")
    return respond(errorResponse(415, "unsupported_media_type", "send application/json"));
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return respond(errorResponse(400, "bad_json", "the body is not a JSON object"));
  auto bad = [&](std::string why) { respond(errorResponse(400, "bad_presence", why)); };
  for (const auto& [k, v] : body.items())
    if (k != "basic" && k != "note" && k != "activities" && k != "expires") return bad("unknown member \"" + k + "\"");
  const auto basic = body.find("basic");
  if (basic == body.end() || !basic->is_string() || (*basic != "open" && *basic != "closed"))
    return bad("basic must be \"open\" or \"closed\"");
  pidf::PresenceDocument doc;
  doc.entity = *aor;
  pidf::Tuple tuple;
  tuple.id = pidf::toXmlId(source);
  tuple.basic = *basic == "open" ? pidf::Basic::Open : pidf::Basic::Closed;
  pidf::Person person;
  person.id = tuple.id;
  if (const auto note = body.find("note"); note != body.end()) {
    if (!note->is_string() || note->get_ref<const std::string&>().size() > kMaxNoteBytes)
      return bad("note must be a string of at most 1024 bytes");
    if (!note->get_ref<const std::string&>().empty()) person.notes.push_back({note->get<std::string>(), ""});
  }
  if (const auto acts = body.find("activities"); acts != body.end()) {
    if (!acts->is_array() || acts->size() > 8) return bad("activities must be an array of at most 8 names");
    for (const auto& a : *acts) {
      const auto activity = a.is_string() ? pidf::activityFromName(a.get_ref<const std::string&>()) : std::nullopt;
      if (!activity || *activity == pidf::Activity::Other) return bad("unknown activity (RFC 4480 names)");
      person.activities.push_back(*activity);
    }
  }
  std::chrono::seconds expires = kDefaultExpires;
  if (const auto e = body.find("expires"); e != body.end()) {
    if (!e->is_number_integer() || *e < kMinExpires.count() || *e > kMaxExpires.count())
      return bad("expires must be an integer from 60 to 86400");
    expires = std::chrono::seconds(e->get<std::int64_t>());
  }
  doc.tuples.push_back(std::move(tuple));
  if (!person.notes.empty() || !person.activities.empty()) doc.person = std::move(person);
  ports_.publish(*aor, source, pidf::serializePidf(doc), expires, std::move(done));
}

void Api::presenceOne(const std::string& address, Respond respond) {
  const auto canonical = resolve(address);
  if (!canonical) return respond(errorResponse(404, "not_served", "not an address of a domain this server serves"));
  readPresence(*canonical, [respond = std::move(respond)](int status, json j) {
    if (status != 200) {
      auto& e = j["error"];
      return respond(errorResponse(status, e["code"].get<std::string>(), e["message"].get<std::string>()));
    }
    respond(jsonResponse(200, j));
  });
}

// GET /api/v1/stream: a WebSocket when asked to upgrade, else server-sent events
// for ?addresses=a,b (and/or all=1).
void Api::stream(const Request& request, std::string_view query, Respond respond) {
  if (hub_.clients() >= config_.maxClients)
    return respond(errorResponse(503, "too_many_clients", "the live-stream client limit is reached; retry later"));
  const bool webSocket = isWebSocketUpgrade(request);
  const auto list = queryValue(query, "addresses");
  std::vector<std::string> addresses = list ? addressList(*list) : std::vector<std::string>{};
  const auto all = queryValue(query, "all");
  const bool everything = all && (*all == "1" || *all == "true");
  if (addresses.size() > StreamHub::kMaxWatched)
    return respond(errorResponse(400, "too_many", "at most 1000 addresses per client"));
  if (!webSocket && addresses.empty() && !everything)
    return respond(errorResponse(400, "bad_query", "give addresses=a,b,c or all=1 (or open a WebSocket)"));
  Response r;
  r.contentType = "text/event-stream";
  r.stream = [this, webSocket, addresses = std::move(addresses), everything](std::shared_ptr<StreamPeer> peer) {
    return hub_.open(std::move(peer), webSocket ? StreamHub::Format::WebSocket : StreamHub::Format::EventStream,
                     addresses, everything);
  };
  respond(std::move(r));
}

void Api::watchers(const std::string& address, Respond respond) {
  const auto aor = ports_.servedAor(address);
  if (!aor || !ports_.watchers) return respond(errorResponse(404, "not_served", "not an address of a domain this server serves"));
  ports_.watchers(*aor, [aor = *aor, respond = std::move(respond)](tl::expected<std::vector<WatcherView>, ApiError> list) {
    if (!list) return respond(errorResponse(list.error().status, list.error().code, list.error().message));
    json items = json::array();
    for (const auto& w : *list) {
      json j{{"watcher", w.watcher}, {"event", w.event}, {"state", w.state}};
      j["expires"] = w.expires ? json(isoTime(*w.expires)) : json(nullptr);
      items.push_back(std::move(j));
    }
    respond(jsonResponse(200, json{{"address", aor}, {"watchers", std::move(items)}}));
  });
}

void Api::presenceBatch(std::string_view query, Respond respond) {
  const auto list = queryValue(query, "addresses");
  if (!list) return respond(errorResponse(400, "bad_query", "give addresses=a,b,c"));
  const std::vector<std::string> addresses = addressList(*list);
  if (addresses.empty()) return respond(errorResponse(400, "bad_query", "no address given"));
  if (addresses.size() > kMaxBatch)
    return respond(errorResponse(400, "too_many", "at most " + std::to_string(kMaxBatch) + " addresses"));

  // Every answer fills its slot; the last one answers the request, in the order asked.
  struct Batch {
    std::vector<json> items;
    std::size_t left = 0;
    Respond respond;
  };
  auto batch = std::make_shared<Batch>();
  batch->items.resize(addresses.size());
  batch->left = addresses.size();
  batch->respond = std::move(respond);
  auto fill = [batch](std::size_t i, json item) {
    batch->items[i] = std::move(item);
    if (--batch->left == 0) batch->respond(jsonResponse(200, json{{"presence", std::move(batch->items)}}));
  };
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const auto canonical = resolve(addresses[i]);
    if (!canonical) {
      fill(i, json{{"address", addresses[i]}, {"error", {{"code", "not_served"}, {"message", "not ours"}}}});
      continue;
    }
    readPresence(*canonical, [fill, i](int, json j) { fill(i, std::move(j)); });
  }
}

}  // namespace parley::server::http
