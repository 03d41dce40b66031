// The presence API's routing, tokens, errors and JSON (server/src/http/api.cpp),
// through fake ports: no sockets.
#include "http/api.hpp"

#include <gtest/gtest.h>

namespace parley::server::http {
namespace {
using nlohmann::json;

constexpr std::string_view kReader = "reader-token-0123456789";
constexpr std::string_view kPublisher = "publisher-token-0123456789";

config::HttpConfig httpConfig() {
  config::HttpConfig c;
  c.enabled = true;
  c.tokens.push_back({"board", std::string(kReader), {true, false, false}});
  c.tokens.push_back({"pbx", std::string(kPublisher), {false, true, false}});
  c.corsOrigins = {"https://dash.example.com"};
  return c;
}

pidf::PresenceDocument onThePhone() {
  pidf::PresenceDocument d;
  d.entity = "sip:alice@example.com";
  pidf::Tuple t;
  t.id = "desk";
  t.basic = pidf::Basic::Open;
  t.contact = "sip:alice@192.0.2.1";
  t.notes.push_back({"at my desk", "en"});
  d.tuples.push_back(t);
  pidf::Person p;
  p.activities = {pidf::Activity::OnThePhone};
  p.notes.push_back({"On the phone", ""});
  d.person = p;
  return d;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : api_(config_, ports(), [this] { return now_; }) {}

  ApiPorts ports() {
    ApiPorts p;
    p.servedAor = [](std::string_view a) -> std::optional<std::string> {
      std::string s(a);
      if (!s.starts_with("sip:")) s.insert(0, "sip:");
      if (!s.ends_with("@example.com")) return std::nullopt;
      return s;
    };
    p.presence = [this](const std::string& aor, std::function<void(tl::expected<PresenceView, ApiError>)> done) {
      asked.push_back(aor);
      if (storeDown) return done(tl::unexpected(ApiError{503, "unavailable", "store down"}));
      PresenceView v;
      v.document = aor == "sip:alice@example.com" ? onThePhone() : pidf::neutral(aor);
      if (aor == "sip:alice@example.com") v.changed = storage::WallTime{} + std::chrono::milliseconds(1795550000123);
      done(v);
    };
    p.publish = [this](const std::string& aor, const std::string& source, std::string pidf, std::chrono::seconds expires,
                       std::function<void(tl::expected<void, ApiError>)> done) {
      published.push_back({aor, source, std::move(pidf), expires});
      done({});
    };
    p.xmppAddress = [](std::string_view a) -> std::optional<std::string> {
      std::string s(a);
      if (s.starts_with("xmpp:")) s.erase(0, 5);
      if (!s.ends_with("@example.org")) return std::nullopt;
      return "xmpp:" + s;
    };
    p.watchers = [this](const std::string& aor, std::function<void(tl::expected<std::vector<WatcherView>, ApiError>)> done) {
      asked.push_back(aor);
      if (storeDown) return done(tl::unexpected(ApiError{503, "unavailable", "store down"}));
      done(std::vector<WatcherView>{
          {"sip:bob@example.com", "presence", "active", storage::WallTime{} + std::chrono::milliseconds(1795550000123)},
          {"xmpp:carol@example.org", "presence", "subscribed", std::nullopt}});
    };
    p.stats = [] { return json{{"node", "n1"}}; };
    p.metrics = [] { return std::string("parley_up 1\n"); };
    return p;
  }

  Response call(std::string method, std::string target, std::string_view token = kReader,
                std::vector<std::pair<std::string, std::string>> headers = {}, std::string body = {}) {
    Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = std::move(headers);
    r.body = std::move(body);
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + std::string(token));
    std::optional<Response> got;
    api_.handle(std::move(r), [&](Response resp) { got = std::move(resp); });
    EXPECT_TRUE(got.has_value());
    return got.value_or(Response{});
  }
  static std::string header(const Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return {};
  }
  static json body(const Response& r) { return json::parse(r.body, nullptr, false); }
  Response put(std::string text, std::string type = "application/json") {
    return call("PUT", "/api/v1/presence/alice@example.com", kPublisher, {{"Content-Type", type}}, std::move(text));
  }

  config::HttpConfig config_ = httpConfig();
  Api::Clock::time_point now_{};
  Api api_;
  std::vector<std::string> asked;
  struct Published {
    std::string aor, source, pidf;
    std::chrono::seconds expires;
  };
  std::vector<Published> published;
  bool storeDown = false;
};

TEST_F(ApiTest, PresenceOfAServedAddressShowsTheComposedState) {
  const auto r = call("GET", "/api/v1/presence/sip%3Aalice%40example.com");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.contentType, "application/json");
  const auto j = body(r);
  EXPECT_EQ(j["address"], "sip:alice@example.com");
  EXPECT_EQ(j["basic"], "open");
  EXPECT_EQ(j["show"], "dnd");
  EXPECT_EQ(j["on_the_phone"], true);
  EXPECT_EQ(j["activities"], json::array({"on-the-phone"}));
  EXPECT_EQ(j["note"], "On the phone");
  EXPECT_EQ(j["changed"], "2026-11-24T19:53:20.123Z");
  ASSERT_EQ(j["devices"].size(), 1u);
  EXPECT_EQ(j["devices"][0]["id"], "desk");
  EXPECT_EQ(j["devices"][0]["contact"], "sip:alice@192.0.2.1");
  EXPECT_EQ(j["devices"][0]["note"], "at my desk");
}

TEST_F(ApiTest, AnUnpublishedUserIsOfflineAndAForeignOneNotServed) {
  auto r = call("GET", "/api/v1/presence/bob@example.com");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["show"], "offline");
  EXPECT_EQ(body(r)["changed"], nullptr);
  r = call("GET", "/api/v1/presence/bob@elsewhere.org");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body(r)["error"]["code"], "not_served");
}

TEST_F(ApiTest, BatchAnswersInTheOrderAskedWithPerAddressErrors) {
  const auto r = call("GET", "/api/v1/presence?addresses=bob%40example.com,alice@example.com,x@elsewhere.org");
  ASSERT_EQ(r.status, 200);
  const auto list = body(r)["presence"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["address"], "sip:bob@example.com");
  EXPECT_EQ(list[1]["show"], "dnd");
  EXPECT_EQ(list[2]["error"]["code"], "not_served");
  EXPECT_EQ(call("GET", "/api/v1/presence").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/presence?addresses=").status, 400);
  std::string many = "/api/v1/presence?addresses=";
  for (int i = 0; i <= static_cast<int>(Api::kMaxBatch); ++i) many += "u" + std::to_string(i) + "@example.com,";
  EXPECT_EQ(call("GET", many).status, 400);
}

TEST_F(ApiTest, TokensAndScopes) {
  auto r = call("GET", "/api/v1/stats", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer realm=\"parley\"");
  EXPECT_EQ(body(r)["error"]["code"], "unauthorized");
  r = call("GET", "/api/v1/stats", "reader-token-0123456788");  // one character off
  EXPECT_EQ(r.status, 401);
  r = call("GET", "/api/v1/stats", kPublisher);  // publish does not imply read
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body(r)["error"]["code"], "forbidden");
  r = call("GET", "/api/v1/stats");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["node"], "n1");
  Request basic;
  basic.method = "GET";
  basic.target = "/api/v1/stats";
  basic.headers = {{"authorization", "Basic dXNlcjpwdw=="}};
  std::optional<Response> got;
  api_.handle(basic, [&](Response x) { got = std::move(x); });
  EXPECT_EQ(got->status, 401);
}

TEST_F(ApiTest, AnonymousReadsWhenAllowed) {
  config_.allowAnonymousRead = true;
  EXPECT_EQ(call("GET", "/api/v1/presence/alice@example.com", "").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/presence/alice@example.com", "not-a-token-at-all").status, 401);
}

TEST_F(ApiTest, UnknownPathsMethodsAndBrokenEscapes) {
  EXPECT_EQ(call("GET", "/api/v2/presence/alice@example.com").status, 404);
  EXPECT_EQ(body(call("GET", "/nothing"))["error"]["code"], "not_found");
  const auto r = call("POST", "/api/v1/presence/alice@example.com");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, PUT, DELETE, OPTIONS");
  EXPECT_EQ(call("GET", "/api/v1/presence/alice%4").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/presence/%zzalice").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/presence/").status, 400);
}

TEST_F(ApiTest, TheStoreBeingDownIs503) {
  storeDown = true;
  const auto r = call("GET", "/api/v1/presence/alice@example.com");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["error"]["code"], "unavailable");
}

TEST_F(ApiTest, CorsOnlyForListedOrigins) {
  auto r = call("GET", "/api/v1/stats", kReader, {{"Origin", "https://dash.example.com"}});
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "https://dash.example.com");
  r = call("GET", "/api/v1/stats", kReader, {{"Origin", "https://evil.example.com"}});
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "");
  r = call("OPTIONS", "/api/v1/presence/alice@example.com", "", {{"Origin", "https://dash.example.com"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(header(r, "Access-Control-Allow-Methods"), "GET, PUT, DELETE, OPTIONS");
  EXPECT_EQ(header(r, "Access-Control-Allow-Headers"), "Authorization, Content-Type");
  r = call("OPTIONS", "/api/v1/stats", "");  // no Origin: plain OPTIONS, no CORS headers
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(header(r, "Allow"), "GET, OPTIONS");
  EXPECT_EQ(header(r, "Access-Control-Allow-Methods"), "");
  EXPECT_EQ(call("OPTIONS", "/metrics", "").status, 405);  // /metrics allows GET only
}

TEST_F(ApiTest, PutPublishesADeviceNamedAfterTheToken) {
  const auto r = call("PUT", "/api/v1/presence/alice@example.com", kPublisher, {{"Content-Type", "application/json"}},
                      R"({"basic":"open","note":"In a meeting","activities":["meeting"],"expires":600})");
  ASSERT_EQ(r.status, 204) << r.body;
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].aor, "sip:alice@example.com");
  EXPECT_EQ(published[0].source, "api-pbx");
  EXPECT_EQ(published[0].expires, std::chrono::seconds(600));
  EXPECT_NE(published[0].pidf.find("<basic>open</basic>"), std::string::npos) << published[0].pidf;
  EXPECT_NE(published[0].pidf.find("In a meeting"), std::string::npos);
  EXPECT_NE(published[0].pidf.find("meeting/>"), std::string::npos);
  EXPECT_NE(published[0].pidf.find("entity=\"sip:alice@example.com\""), std::string::npos);

  const auto del = call("DELETE", "/api/v1/presence/alice@example.com", kPublisher);
  EXPECT_EQ(del.status, 204);
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[1].expires, std::chrono::seconds(0));
}

TEST_F(ApiTest, PutChecksScopeTypeAndBody) {
  EXPECT_EQ(call("PUT", "/api/v1/presence/alice@example.com", kReader, {{"Content-Type", "application/json"}},
                 R"({"basic":"open"})").status, 403);
  EXPECT_EQ(put(R"({"basic":"open"})", "text/plain").status, 415);
  for (const char* text : {"not json", "[1]", R"({})", R"({"basic":"away"})", R"({"basic":"open","x":1})",
                           R"({"basic":"open","note":5})", R"({"basic":"open","activities":["dancing"]})",
                           R"({"basic":"open","expires":10})", R"({"basic":"open","expires":"600"})"}) {
    const auto r = put(text);
    EXPECT_EQ(r.status, 400) << text;
    EXPECT_TRUE(body(r).contains("error")) << text;
  }
  EXPECT_EQ(put(R"({"basic":"open","note":")" + std::string(1025, 'x') + "\"}").status, 400);
  EXPECT_TRUE(published.empty());
  EXPECT_EQ(call("PUT", "/api/v1/presence/x@elsewhere.org", kPublisher, {{"Content-Type", "application/json"}},
                 R"({"basic":"open"})").status, 404);
  EXPECT_EQ(put(R"({"basic":"closed"})", "application/json; charset=utf-8").status, 204);
}

TEST_F(ApiTest, RequestsPerSecondArePerTokenOrAddressAnd429Beyond) {
  config_.requestsPerSecond = 3;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("GET", "/api/v1/stats").status, 200) << i;
  auto r = call("GET", "/api/v1/stats");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_EQ(body(r)["error"]["code"], "rate_limited");
  EXPECT_EQ(call("GET", "/api/v1/stats", kPublisher).status, 403);  // another token: its own allowance
  now_ += std::chrono::milliseconds(400);                          // 1.2 requests' worth come back
  EXPECT_EQ(call("GET", "/api/v1/stats").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/stats").status, 429);
  // Without a token the client address counts, failed attempts included.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("GET", "/api/v1/stats", "wrong-token-000000000000").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/stats", "wrong-token-000000000000").status, 429);
}

TEST_F(ApiTest, MetricsAreText) {
  const auto r = call("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "parley_up 1\n");
}

TEST_F(ApiTest, XmppAddressesAreReadThroughTheBridge) {
  const auto r = call("GET", "/api/v1/presence/xmpp%3Acarol%40example.org");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["address"], "xmpp:carol@example.org");
  EXPECT_EQ(asked.back(), "xmpp:carol@example.org");
  EXPECT_EQ(call("GET", "/api/v1/presence/carol@example.org").status, 200);  // no scheme: SIP first, then XMPP
  EXPECT_EQ(asked.back(), "xmpp:carol@example.org");
  EXPECT_EQ(call("GET", "/api/v1/presence/xmpp%3Acarol%40nowhere.net").status, 404);
  // PUT is for served SIP users only.
  EXPECT_EQ(call("PUT", "/api/v1/presence/carol@example.org", kPublisher, {{"Content-Type", "application/json"}},
                 R"({"basic":"open"})").status, 404);
}

TEST_F(ApiTest, WatchersNeedTheAdminScope) {
  EXPECT_EQ(call("GET", "/api/v1/watchers/alice@example.com").status, 403);  // read is not enough
  config_.tokens.push_back({"ops", "admin-token-0123456789", {false, false, true}});
  const auto r = call("GET", "/api/v1/watchers/alice@example.com", "admin-token-0123456789");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), (json{{"address", "sip:alice@example.com"},
                                      {"watchers", {{{"watcher", "sip:bob@example.com"}, {"event", "presence"},
                                                     {"state", "active"}, {"expires", "2026-11-24T19:53:20.123Z"}},
                                                    {{"watcher", "xmpp:carol@example.org"}, {"event", "presence"},
                                                     {"state", "subscribed"}, {"expires", nullptr}}}}}));
  EXPECT_EQ(call("GET", "/api/v1/watchers/bob@elsewhere.net", "admin-token-0123456789").status, 404);
  storeDown = true;
  EXPECT_EQ(call("GET", "/api/v1/watchers/alice@example.com", "admin-token-0123456789").status, 503);
}

TEST_F(ApiTest, TheStreamIsAnEventStreamOrAWebSocket) {
  // Server-sent events need the addresses in the query.
  EXPECT_EQ(call("GET", "/api/v1/stream").status, 400);
  auto sse = call("GET", "/api/v1/stream?addresses=alice@example.com,bob@example.com");
  EXPECT_EQ(sse.status, 200);
  EXPECT_EQ(sse.contentType, "text/event-stream");
  ASSERT_TRUE(sse.stream);
  // A WebSocket may name them later, in messages.
  auto ws = call("GET", "/api/v1/stream", kReader, {{"Upgrade", "websocket"}, {"Connection", "keep-alive, Upgrade"}});
  ASSERT_TRUE(ws.stream);
  EXPECT_EQ(call("POST", "/api/v1/stream").status, 405);
}

TEST_F(ApiTest, TheStreamTakesTheTokenFromTheQueryAndCountsClients) {
  EXPECT_EQ(call("GET", "/api/v1/stream?all=1", "").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/stream?all=1&access_token=" + std::string(kReader), "").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/stream?all=1&access_token=nope-nope-nope-nope", "").status, 401);
  // The access_token form serves the stream only.
  EXPECT_EQ(call("GET", "/api/v1/stats?access_token=" + std::string(kReader), "").status, 401);

  config_.maxClients = 1;
  auto first = call("GET", "/api/v1/stream?all=1");
  ASSERT_TRUE(first.stream);
  struct Peer final : StreamPeer {
    bool send(std::shared_ptr<const std::string>) override { return true; }
    void close() override {}
  };
  auto handlers = first.stream(std::make_shared<Peer>());
  const auto full = call("GET", "/api/v1/stream?all=1");
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(json::parse(full.body)["error"]["code"], "too_many_clients");
  handlers.onClose();
  EXPECT_EQ(call("GET", "/api/v1/stream?all=1").status, 200);
}

TEST_F(ApiTest, TheDashboardIsPublicAndRevalidated) {
  const auto page = call("GET", "/", "");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.contentType.substr(0, 9), "text/html");
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  std::string etag;
  for (const auto& [k, v] : page.headers)
    if (k == "ETag") etag = v;
  ASSERT_FALSE(etag.empty());
  const auto again = call("GET", "/", "", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(call("GET", "/", "", {{"If-None-Match", "\"stale\""}}).status, 200);
  EXPECT_EQ(call("GET", "/dashboard.js", "").status, 200);
  EXPECT_EQ(call("DELETE", "/", "").status, 405);
  EXPECT_EQ(call("GET", "/nothing.js", "").status, 404);
}

TEST(WebSocketUpgrade, NeedsGetUpgradeAndConnectionTokens) {
  Request r;
  r.method = "GET";
  r.headers = {{"Upgrade", "WebSocket"}, {"Connection", "Upgrade"}};
  EXPECT_TRUE(isWebSocketUpgrade(r));
  r.headers = {{"Upgrade", "websocket"}, {"Connection", "keep-alive"}};
  EXPECT_FALSE(isWebSocketUpgrade(r));
  r.headers = {{"Upgrade", "h2c"}, {"Connection", "Upgrade"}};
  EXPECT_FALSE(isWebSocketUpgrade(r));
  r.method = "POST";
  r.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
  EXPECT_FALSE(isWebSocketUpgrade(r));
}

}  // namespace
}  // namespace parley::server::http
