// The real Component (gloox + AsioConnection) against a fake XEP-0114 server
// written here with asio on 127.0.0.1: handshake, lossless inbound stanzas,
// the IQs the component answers itself, queueing and reconnect with backoff,
// a refused secret, stop(), a refused TCP connect and a server that sends
// garbage. These are the only tests of the link that run under ASan/UBSan.
// Everything runs on one io_context, one handler at a time, each wait bounded.
#include "parley/xmpp/component.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gloox/parser.h>
#include <gloox/tag.h>
#include <gloox/taghandler.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include "parley/xmpp/stanza.hpp"

namespace parley::xmpp {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kDomain = "sip.localhost";
constexpr std::string_view kSecret = "s3cret";

// XEP-0114: the handshake is the lowercase hex SHA-1 of stream id ‖ secret.
std::string sha1Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

// ---------------------------------------------------------------------------
// The fake server: one session per accepted connection. It parses what the
// component sends with gloox's stream parser (it only splits the byte stream
// into top-level elements; every check below is on attributes and children).

struct ServerConfig {
  std::string secret{kSecret};
  std::string domain{kDomain};
  int garbledHeaders = 0;  ///< the next N sessions get garbage instead of a stream header
};

class FakeSession final : public std::enable_shared_from_this<FakeSession>, gloox::TagHandler {
 public:
  FakeSession(tcp::socket socket, ServerConfig& config, int index)
      : socket_(std::move(socket)), config_(config), streamId_("stream-" + std::to_string(index)) {}

  void start() { read(); }

  void send(std::string data) {
    out_.push_back(std::move(data));
    if (out_.size() == 1) write();
  }
  /// Sends what is queued, then closes (a server that ends the stream).
  void closeAfterSend() {
    closeWhenFlushed_ = true;
    if (out_.empty()) close();
  }
  /// Closes at once, whatever is queued (kept until the aborted write completes).
  void abort() { close(); }

  /// The first top-level element with this id, or nullptr.
  [[nodiscard]] const gloox::Tag* byId(std::string_view id) const {
    for (const auto& t : tags)
      if (attr(*t, "id") == id) return t.get();
    return nullptr;
  }
  [[nodiscard]] std::vector<const gloox::Tag*> named(std::string_view name) const {
    std::vector<const gloox::Tag*> out;
    for (const auto& t : tags)
      if (t->name() == name) out.push_back(t.get());
    return out;
  }

  std::string raw;                               ///< every byte the component sent
  std::unique_ptr<gloox::Tag> header;            ///< its <stream:stream>
  std::vector<std::unique_ptr<gloox::Tag>> tags; ///< top-level elements after the handshake
  std::string handshake;                         ///< the hex it sent
  bool authed = false, refused = false;
  bool peerClosed = false;  ///< EOF or error from the component's side
  bool parseError = false;
  bool closed = false;

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec,
                                                                            std::size_t n) {
      if (ec) {
        self->peerClosed = true;
        return;
      }
      std::string chunk(self->buf_.data(), n);
      self->raw += chunk;
      if (!self->parseError && self->parser_.feed(chunk) >= 0) self->parseError = true;
      if (!self->closed) self->read();
    });
  }

  void write() {
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec || self->closed) return;
                        self->out_.pop_front();
                        if (!self->out_.empty()) return self->write();
                        if (self->closeWhenFlushed_) self->close();
                      });
  }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void handleTag(gloox::Tag* tag) override {
    if (tag == nullptr) return;  // </stream:stream>: seen in `raw`
    if (tag->name() == "stream" && !header) {
      header.reset(tag->clone());
      if (config_.garbledHeaders > 0) {
        --config_.garbledHeaders;
        send("<<this is not XML>>");
        return;
      }
      send("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
           "xmlns='jabber:component:accept' from='" +
           config_.domain + "' id='" + streamId_ + "' version='1.0'>");
      return;
    }
    if (tag->name() == "handshake" && !authed) {
      handshake = tag->cdata();
      if (handshake == sha1Hex(streamId_ + config_.secret)) {
        authed = true;
        send("<handshake/>");
      } else {
        refused = true;
        send("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
             "</stream:stream>");
        closeAfterSend();
      }
      return;
    }
    tags.emplace_back(tag->clone());
  }

  tcp::socket socket_;
  ServerConfig& config_;
  std::string streamId_;
  gloox::Parser parser_{this};
  std::array<char, 4096> buf_{};
  std::deque<std::string> out_;
  bool closeWhenFlushed_ = false;
};

class FakeServer {
 public:
  /// Listens on 127.0.0.1:`port` (0: any free port).
  FakeServer(asio::io_context& io, ServerConfig config = {}, std::uint16_t port = 0)
      : config_(std::move(config)), acceptor_(io) {
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(at.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen();
    accept();
  }
  ~FakeServer() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& s : sessions_) s->abort();
  }
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] std::size_t accepted() const { return sessions_.size(); }
  [[nodiscard]] FakeSession& session(std::size_t i) { return *sessions_.at(i); }
  [[nodiscard]] FakeSession& last() { return *sessions_.back(); }
  ServerConfig& config() { return config_; }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      sessions_.push_back(std::make_shared<FakeSession>(std::move(socket), config_,
                                                        static_cast<int>(sessions_.size())));
      sessions_.back()->start();
      accept();
    });
  }

  ServerConfig config_;
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<FakeSession>> sessions_;
};

// ---------------------------------------------------------------------------

class RecordingSink final : public StanzaSink {
 public:
  void onStanza(const gloox::Tag& stanza) override { stanzas.emplace_back(stanza.clone()); }
  void onLinkUp() override {
    ++ups;
    upAt.push_back(Clock::now());
  }
  void onLinkDown() override {
    ++downs;
    downAt.push_back(Clock::now());
  }

  std::vector<std::unique_ptr<gloox::Tag>> stanzas;
  int ups = 0, downs = 0;
  std::vector<Clock::time_point> upAt, downAt;
};

/// Keeps the component's log lines (message text only) for the backoff checks.
class LineSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  std::vector<std::string> lines;

  [[nodiscard]] std::vector<std::string> starting(std::string_view prefix) const {
    std::vector<std::string> out;
    for (const auto& l : lines)
      if (l.rfind(prefix, 0) == 0) out.push_back(l);
    return out;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
};

/// The integer after `key=` in a log line, -1 when absent.
long long field(const std::string& line, const std::string& key) {
  const auto at = line.find(" " + key + "=");
  if (at == std::string::npos) return -1;
  return std::stoll(line.substr(at + key.size() + 2));
}

/// xml:lang of a Tag that came off the wire.
std::string xmlLang(const gloox::Tag& tag) {
  for (const auto* a : tag.attributes())
    if (a->name() == "lang" && a->prefix() == "xml") return a->value();
  return {};
}

constexpr std::string_view kDiscoInfo = "http://jabber.org/protocol/disco#info";

class ComponentTest : public ::testing::Test {
 protected:
  ComponentTest() { log->set_level(spdlog::level::debug); }

  ComponentOptions options(std::uint16_t port, std::string secret = std::string(kSecret)) {
    ComponentOptions o;
    o.domain = std::string(kDomain);
    o.host = "127.0.0.1";
    o.port = port;
    o.secret = std::move(secret);
    o.reconnectMin = 20ms;
    o.reconnectMax = 1000ms;
    o.softwareVersion = "0.0-test";
    return o;
  }

  /// Runs the loop one handler at a time until `done` holds; false after `limit`.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 3s) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      io.restart();
      if (io.run_one_for(10ms) == 0) std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  void runFor(std::chrono::milliseconds d) {
    const auto deadline = Clock::now() + d;
    while (Clock::now() < deadline) {
      io.restart();
      if (io.run_one_until(deadline) == 0) std::this_thread::sleep_for(1ms);
    }
  }

  /// Starts `c` against `srv` and waits for the handshake.
  void bringUp(Component& c, FakeServer& srv) {
    c.start();
    ASSERT_TRUE(runUntil([&] { return sink.ups == 1; })) << "link never came up";
    ASSERT_EQ(srv.accepted(), 1u);
  }

  asio::io_context io;  // first: outlives everything below and in the tests
  std::shared_ptr<LineSink> lines = std::make_shared<LineSink>();
  std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>("xmpp", lines);
  RecordingSink sink;
};

std::unique_ptr<gloox::Tag> chat(std::string_view id, std::string_view body) {
  auto m = makeStanza("message", "bob@sip.localhost/sip", "alice@localhost", "chat");
  m->addAttribute("id", std::string(id));
  new gloox::Tag(m.get(), "body", std::string(body));
  return m;
}

// ---------------------------------------------------------------------------

TEST_F(ComponentTest, HandshakeAcceptedBringsTheLinkUp) {
  FakeServer srv(io);
  Component c(io, options(srv.port()), sink, log);
  EXPECT_EQ(c.state(), LinkState::Down);
  bringUp(c, srv);

  EXPECT_EQ(c.state(), LinkState::Up);
  EXPECT_EQ(c.stats().connects, 1u);
  EXPECT_EQ(sink.downs, 0);
  auto& s = srv.session(0);
  ASSERT_TRUE(s.header);
  EXPECT_EQ(attr(*s.header, "to"), kDomain);
  EXPECT_EQ(s.header->findAttribute("xmlns"), "jabber:component:accept");
  EXPECT_EQ(s.handshake, sha1Hex("stream-0" + std::string(kSecret)));
  EXPECT_TRUE(s.authed);
  EXPECT_FALSE(s.parseError) << s.raw;
}

TEST_F(ComponentTest, InboundPresenceAndMessageReachTheSinkLossless) {
  FakeServer srv(io);
  Component c(io, options(srv.port()), sink, log);
  bringUp(c, srv);

  // Unknown children and attributes must survive (gloox's typed Presence would drop
  // them); the message carries the explicit component namespace some servers send,
  // and arrives split across two TCP segments.
  srv.last().send(
      "<presence from='alice@localhost/phone' to='bob@sip.localhost' id='p1' xml:lang='en'>"
      "<show>away</show><status>lunch &amp; more</status><priority>5</priority>"
      "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://x.example' ver='abc='/>"
      "<x xmlns='urn:example:custom' flag='1'><deep a='b'>text</deep></x></presence>");
  srv.last().send("<message xmlns='jabber:component:accept' from='alice@localhost/phone' "
                  "to='bob@sip.localhost' type='chat' id='m1'><body>hel");
  ASSERT_TRUE(runUntil([&] { return sink.stanzas.size() == 1; }));
  runFor(20ms);  // the first half of the message alone must not surface
  ASSERT_EQ(sink.stanzas.size(), 1u);
  srv.last().send("lo</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
  ASSERT_TRUE(runUntil([&] { return sink.stanzas.size() == 2; }));

  const gloox::Tag& p = *sink.stanzas[0];
  EXPECT_EQ(p.name(), "presence");
  EXPECT_EQ(attr(p, "from"), "alice@localhost/phone");
  EXPECT_EQ(attr(p, "to"), "bob@sip.localhost");
  EXPECT_EQ(attr(p, "id"), "p1");
  // gloox keeps xml:lang as attribute "lang" with prefix "xml": findAttribute("xml:lang")
  // does not see it on a parsed Tag, but it is there and serialises back.
  EXPECT_EQ(xmlLang(p), "en") << p.xml();
  EXPECT_NE(p.xml().find("xml:lang='en'"), std::string::npos) << p.xml();
  ASSERT_NE(p.findChild("show"), nullptr);
  EXPECT_EQ(p.findChild("show")->cdata(), "away");
  ASSERT_NE(p.findChild("status"), nullptr);
  EXPECT_EQ(p.findChild("status")->cdata(), "lunch & more");
  const gloox::Tag* caps = p.findChild("c");
  ASSERT_NE(caps, nullptr) << p.xml();
  EXPECT_EQ(caps->xmlns(), "http://jabber.org/protocol/caps");
  EXPECT_EQ(attr(*caps, "ver"), "abc=");
  const gloox::Tag* custom = p.findChild("x");
  ASSERT_NE(custom, nullptr) << p.xml();
  EXPECT_EQ(custom->xmlns(), "urn:example:custom");
  EXPECT_EQ(attr(*custom, "flag"), "1");
  ASSERT_NE(custom->findChild("deep"), nullptr);
  EXPECT_EQ(custom->findChild("deep")->cdata(), "text");
  EXPECT_EQ(attr(*custom->findChild("deep"), "a"), "b");
  EXPECT_EQ(p.children().size(), 5u) << p.xml();

  const gloox::Tag& m = *sink.stanzas[1];
  EXPECT_EQ(m.name(), "message");
  EXPECT_EQ(attr(m, "type"), "chat");
  EXPECT_EQ(attr(m, "id"), "m1");
  ASSERT_NE(m.findChild("body"), nullptr);
  EXPECT_EQ(m.findChild("body")->cdata(), "hello");
  ASSERT_NE(m.findChild("active"), nullptr);
  EXPECT_EQ(m.findChild("active")->xmlns(), "http://jabber.org/protocol/chatstates");

  EXPECT_EQ(c.stats().stanzasIn, 2u);
  EXPECT_TRUE(srv.last().tags.empty()) << "presence and message are not answered by the component: "
                                       << srv.last().raw;
}

TEST_F(ComponentTest, IqsAreAnsweredByTheComponentAndResultsAreNot) {
  FakeServer srv(io);
  Component c(io, options(srv.port()), sink, log);
  bringUp(c, srv);

  auto& s = srv.last();
  s.send("<iq type='get' id='d1' from='alice@localhost/phone' to='sip.localhost'>"
         "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  s.send("<iq type='result' id='r1' from='localhost' to='sip.localhost'/>");
  s.send("<iq type='error' id='e1' from='localhost' to='sip.localhost'>"
         "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
  s.send("<iq type='get' id='u1' from='alice@localhost/phone' to='bob@sip.localhost'>"
         "<query xmlns='urn:example:unknown'/></iq>");
  // Answers go out in order: once the ping's answer is in, a reply to r1 or e1 would be too.
  s.send("<iq type='get' id='p1' from='alice@localhost/phone' to='sip.localhost'>"
         "<ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_TRUE(runUntil([&] { return s.byId("p1") != nullptr; })) << s.raw;

  const gloox::Tag* disco = s.byId("d1");
  ASSERT_NE(disco, nullptr) << s.raw;
  EXPECT_EQ(disco->name(), "iq");
  EXPECT_EQ(attr(*disco, "type"), "result");
  EXPECT_EQ(attr(*disco, "from"), kDomain);
  EXPECT_EQ(attr(*disco, "to"), "alice@localhost/phone");
  const gloox::Tag* query = disco->findChild("query");
  ASSERT_NE(query, nullptr);
  EXPECT_EQ(query->xmlns(), kDiscoInfo);
  const gloox::Tag* identity = query->findChild("identity");
  ASSERT_NE(identity, nullptr);
  EXPECT_EQ(attr(*identity, "category"), "gateway");
  EXPECT_EQ(attr(*identity, "type"), "simple");
  EXPECT_NE(query->findChild("feature", "var", std::string(kDiscoInfo)), nullptr);

  const gloox::Tag* unknown = s.byId("u1");
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(attr(*unknown, "type"), "error");
  ASSERT_NE(unknown->findChild("error"), nullptr);
  EXPECT_NE(unknown->findChild("error")->findChild("service-unavailable"), nullptr) << unknown->xml();

  EXPECT_EQ(attr(*s.byId("p1"), "type"), "result");
  EXPECT_EQ(s.byId("r1"), nullptr) << "a result is never answered";
  EXPECT_EQ(s.byId("e1"), nullptr) << "an error is never answered";
  EXPECT_EQ(s.tags.size(), 3u) << s.raw;
  EXPECT_TRUE(sink.stanzas.empty()) << "IQs do not reach the sink";
  EXPECT_EQ(c.stats().iqAnswered, 3u);
  EXPECT_EQ(c.stats().stanzasIn, 5u);
}

TEST_F(ComponentTest, SendWritesTheStanza) {
  FakeServer srv(io);
  Component c(io, options(srv.port()), sink, log);
  bringUp(c, srv);
  const auto before = c.stats().stanzasOut;

  EXPECT_TRUE(c.send(chat("m1", "hi <there> & you")));
  EXPECT_TRUE(c.send(chat("m2", "second")));
  auto& s = srv.last();
  ASSERT_TRUE(runUntil([&] { return s.tags.size() == 2; })) << s.raw;

  const gloox::Tag& m = *s.tags[0];
  EXPECT_EQ(m.name(), "message");
  EXPECT_EQ(attr(m, "from"), "bob@sip.localhost/sip");
  EXPECT_EQ(attr(m, "to"), "alice@localhost");
  EXPECT_EQ(attr(m, "type"), "chat");
  EXPECT_EQ(attr(m, "id"), "m1");
  ASSERT_NE(m.findChild("body"), nullptr);
  EXPECT_EQ(m.findChild("body")->cdata(), "hi <there> & you");
  EXPECT_EQ(attr(*s.tags[1], "id"), "m2");
  EXPECT_EQ(c.stats().stanzasOut, before + 2);
  EXPECT_EQ(c.queued(), 0u);
}

TEST_F(ComponentTest, WrongSecretBeforeTheFirstLinkIsFatalAndNotRetried) {
  FakeServer srv(io);
  Component c(io, options(srv.port(), "wrong"), sink, log);
  std::vector<std::string> fatal;
  c.onFatal([&](const std::string& reason) { fatal.push_back(reason); });
  c.start();
  ASSERT_TRUE(runUntil([&] { return !fatal.empty(); })) << "no fatal callback";

  EXPECT_TRUE(srv.session(0).refused);
  const std::string where = "127.0.0.1:" + std::to_string(srv.port());
  EXPECT_NE(fatal[0].find(where), std::string::npos) << fatal[0];
  EXPECT_NE(fatal[0].find(kDomain), std::string::npos) << fatal[0];
  EXPECT_NE(fatal[0].find("not-authorized"), std::string::npos) << fatal[0];
  EXPECT_EQ(c.state(), LinkState::Down);

  runFor(200ms);  // ten times reconnectMin
  EXPECT_EQ(fatal.size(), 1u);
  EXPECT_EQ(srv.accepted(), 1u) << "no reconnect after a refused secret";
  EXPECT_EQ(sink.ups, 0);
  EXPECT_EQ(sink.downs, 0) << "the link was never up";
  EXPECT_TRUE(lines->starting("xmpp.reconnect_in").empty());
}

TEST_F(ComponentTest, ServerClosingTheLinkReconnectsAndFlushesTheQueueInOrder) {
  FakeServer srv(io);
  auto o = options(srv.port());
  o.reconnectMin = 100ms;
  o.maxQueued = 3;
  Component c(io, o, sink, log);
  bringUp(c, srv);

  // A server that ends the stream cleanly.
  srv.last().send("</stream:stream>");
  srv.last().closeAfterSend();
  ASSERT_TRUE(runUntil([&] { return sink.downs == 1; }));
  EXPECT_EQ(c.state(), LinkState::Down);
  EXPECT_EQ(c.stats().disconnects, 1u);

  // Down: queued up to maxQueued, the rest refused.
  EXPECT_TRUE(c.send(chat("q1", "one")));
  EXPECT_TRUE(c.send(chat("q2", "two")));
  EXPECT_TRUE(c.send(chat("q3", "three")));
  EXPECT_FALSE(c.send(chat("q4", "four")));
  EXPECT_EQ(c.queued(), 3u);
  EXPECT_EQ(c.stats().queuedDropped, 1u);

  ASSERT_TRUE(runUntil([&] { return sink.ups == 2; }));
  // Backoff with jitter: the first retry waits between reconnectMin/2 and reconnectMin.
  EXPECT_GE(sink.upAt[1] - sink.downAt[0], o.reconnectMin / 2);
  ASSERT_EQ(srv.accepted(), 2u);
  auto& second = srv.session(1);
  ASSERT_TRUE(runUntil([&] { return second.tags.size() == 3; })) << second.raw;
  EXPECT_EQ(attr(*second.tags[0], "id"), "q1");
  EXPECT_EQ(attr(*second.tags[1], "id"), "q2");
  EXPECT_EQ(attr(*second.tags[2], "id"), "q3");
  EXPECT_EQ(c.queued(), 0u);
  EXPECT_EQ(c.stats().connects, 2u);

  // A server that drops the TCP connection in the middle of a stanza: the
  // half-parsed stanza must not poison the next stream.
  second.send("<message from='alice@localhost' to='bob@sip.localhost' id='half'><body>trunc");
  runFor(20ms);
  second.abort();
  ASSERT_TRUE(runUntil([&] { return sink.ups == 3; }));
  EXPECT_EQ(sink.downs, 2);
  EXPECT_TRUE(sink.stanzas.empty()) << sink.stanzas.front()->xml();
  srv.last().send("<message from='alice@localhost' to='bob@sip.localhost' id='whole'><body>ok</body></message>");
  ASSERT_TRUE(runUntil([&] { return sink.stanzas.size() == 1; }));
  EXPECT_EQ(attr(*sink.stanzas[0], "id"), "whole");
  EXPECT_FALSE(srv.last().parseError) << srv.last().raw;
}

TEST_F(ComponentTest, ConnectionRefusedRetriesWithGrowingDelaysUntilTheServerAppears) {
  // A port nobody listens on (bound once to pick it, then released).
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  Component c(io, options(port), sink, log);
  c.start();
  EXPECT_TRUE(c.send(chat("early", "queued before the link was ever up")));
  ASSERT_TRUE(runUntil([&] { return lines->starting("xmpp.reconnect_in").size() >= 3; }));
  EXPECT_NE(c.state(), LinkState::Up);
  EXPECT_EQ(sink.ups, 0);
  EXPECT_EQ(sink.downs, 0) << "a failed connect is not a link going down";

  FakeServer srv(io, {}, port);
  ASSERT_TRUE(runUntil([&] { return sink.ups == 1; }, 3s));
  ASSERT_TRUE(runUntil([&] { return srv.last().tags.size() == 1; })) << srv.last().raw;
  EXPECT_EQ(attr(*srv.last().tags[0], "id"), "early");

  const auto failures = lines->starting("xmpp.connect_failed");
  EXPECT_GE(failures.size(), 2u);
  for (const auto& f : failures) EXPECT_NE(f.find("connection refused"), std::string::npos) << f;
  const auto retries = lines->starting("xmpp.reconnect_in");
  ASSERT_GE(retries.size(), 3u);
  for (std::size_t i = 0; i < retries.size(); ++i) {
    EXPECT_EQ(field(retries[i], "attempt"), static_cast<long long>(i + 1)) << retries[i];
    if (i > 0) {
      EXPECT_GE(field(retries[i], "ms"), field(retries[i - 1], "ms")) << "backoff shrank";
    }
  }
  EXPECT_GT(field(retries.back(), "ms"), field(retries.front(), "ms"));
  EXPECT_LE(field(retries.front(), "ms"), 20);
  EXPECT_EQ(c.stats().connects, 1u);
}

TEST_F(ComponentTest, StopEndsTheStreamAndDoesNotReconnect) {
  FakeServer srv(io);
  Component c(io, options(srv.port()), sink, log);
  bringUp(c, srv);

  c.stop();
  EXPECT_EQ(c.state(), LinkState::Down);
  auto& s = srv.last();
  ASSERT_TRUE(runUntil([&] { return s.peerClosed; })) << "the component never closed the socket";
  EXPECT_NE(s.raw.find("</stream:stream>"), std::string::npos) << s.raw;
  EXPECT_EQ(sink.downs, 1);

  runFor(200ms);
  EXPECT_EQ(srv.accepted(), 1u) << "no reconnect after stop()";
  EXPECT_EQ(sink.ups, 1);
  EXPECT_EQ(c.state(), LinkState::Down);
}

TEST_F(ComponentTest, StopWhileRetryingCancelsTheRetries) {
  std::uint16_t port = 0;
  {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  Component c(io, options(port), sink, log);
  c.start();
  runFor(50ms);
  c.stop();
  const auto retries = lines->starting("xmpp.reconnect_in").size();
  FakeServer srv(io, {}, port);
  runFor(200ms);
  EXPECT_EQ(srv.accepted(), 0u);
  EXPECT_EQ(lines->starting("xmpp.reconnect_in").size(), retries);
  EXPECT_EQ(c.state(), LinkState::Down);
  EXPECT_EQ(sink.ups, 0);
}

TEST_F(ComponentTest, GarbageFromTheServerDropsTheLinkAndItReconnects) {
  FakeServer srv(io);
  Component c(io, options(srv.port()), sink, log);
  std::vector<std::string> fatal;
  c.onFatal([&](const std::string& reason) { fatal.push_back(reason); });
  bringUp(c, srv);

  srv.last().send("<presence from='alice@localhost' to='bob@sip.localhost'><<not xml at all>>");
  ASSERT_TRUE(runUntil([&] { return sink.downs == 1; }));
  ASSERT_TRUE(runUntil([&] { return sink.ups == 2; }));
  EXPECT_NE(srv.session(0).raw.find("restricted-xml"), std::string::npos)
      << "the component names the stream error: " << srv.session(0).raw;

  // Mismatched end tag on the new link, then a garbled stream header on the next one.
  srv.config().garbledHeaders = 1;
  srv.last().send("<message from='alice@localhost' to='bob@sip.localhost'><body>x</message>");
  ASSERT_TRUE(runUntil([&] { return sink.ups == 3; }));
  EXPECT_EQ(srv.accepted(), 4u) << "one refused header, then a good one";
  EXPECT_EQ(sink.downs, 2);
  EXPECT_TRUE(sink.stanzas.empty());
  EXPECT_TRUE(fatal.empty()) << fatal.front();
  EXPECT_EQ(c.state(), LinkState::Up);
}

TEST_F(ComponentTest, NothingIsDeliveredAfterAStreamError) {
  FakeServer srv(io);
  Component c(io, options(srv.port()), sink, log);
  bringUp(c, srv);

  // One TCP segment: the stream error, then stanzas gloox's parser still walks over.
  srv.last().send("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
                  "<message from='alice@localhost' to='bob@sip.localhost' id='late'><body>x</body></message>"
                  "<iq type='get' id='late-iq' from='alice@localhost' to='sip.localhost'>"
                  "<ping xmlns='urn:xmpp:ping'/></iq></stream:stream>");
  ASSERT_TRUE(runUntil([&] { return sink.downs == 1; }));
  EXPECT_TRUE(sink.stanzas.empty()) << "delivered after the link went down: " << sink.stanzas.front()->xml();
  EXPECT_EQ(c.stats().stanzasIn, 0u);
  EXPECT_EQ(c.stats().stanzasOut, 0u);
  ASSERT_TRUE(runUntil([&] { return sink.ups == 2; })) << "a conflict is not fatal: reconnect";
}

TEST_F(ComponentTest, SecretRefusedAfterTheLinkWasUpRetriesSlowlyInsteadOfFailing) {
  FakeServer srv(io);
  auto o = options(srv.port());
  o.reconnectMax = 300ms;
  Component c(io, o, sink, log);
  std::vector<std::string> fatal;
  c.onFatal([&](const std::string& reason) { fatal.push_back(reason); });
  bringUp(c, srv);

  srv.config().secret = "rotated";  // the server's secret changed under us
  srv.last().abort();
  ASSERT_TRUE(runUntil([&] { return srv.accepted() == 2 && srv.last().refused; }));
  ASSERT_TRUE(runUntil([&] { return !lines->starting("xmpp.reconnect_in").empty() &&
                                    c.state() == LinkState::Down && srv.last().peerClosed; }));
  const auto retries = lines->starting("xmpp.reconnect_in");
  EXPECT_GE(field(retries.back(), "ms"), (o.reconnectMax / 2).count()) << retries.back();
  EXPECT_TRUE(fatal.empty()) << "fatal only before the link was ever up: " << fatal.front();

  srv.config().secret = std::string(kSecret);
  ASSERT_TRUE(runUntil([&] { return sink.ups == 2; }));
  EXPECT_EQ(sink.downs, 1);
  EXPECT_EQ(srv.accepted(), 3u);
}

TEST_F(ComponentTest, OutputBeyondMaxOutputBytesDropsTheLinkAndItReconnects) {
  FakeServer srv(io);
  auto o = options(srv.port());
  o.maxOutputBytes = 16 * 1024;
  Component c(io, o, sink, log);
  bringUp(c, srv);

  // 64 KiB handed over in one loop turn: more than the bound can hold unsent.
  const std::string body(1024, 'x');
  for (int i = 0; i < 64; ++i) EXPECT_TRUE(c.send(chat("big" + std::to_string(i), body)));
  ASSERT_TRUE(runUntil([&] { return sink.downs == 1; }));
  ASSERT_TRUE(runUntil([&] { return sink.ups == 2; }));
  EXPECT_LT(srv.session(0).named("message").size(), 64u);
  EXPECT_TRUE(c.send(chat("after", "fits again")));
  ASSERT_TRUE(runUntil([&] { return srv.last().byId("after") != nullptr; })) << srv.last().raw;
}

TEST_F(ComponentTest, WhitespaceKeepaliveWhileUp) {
  FakeServer srv(io);
  auto o = options(srv.port());
  o.keepalive = 1s;
  Component c(io, o, sink, log);
  bringUp(c, srv);
  auto& s = srv.last();
  ASSERT_TRUE(runUntil([&] { return s.authed; }));
  const auto before = s.raw.size();
  ASSERT_TRUE(runUntil([&] { return s.raw.size() > before; }, 2s)) << "no keepalive within 2 s";
  EXPECT_EQ(s.raw.substr(before), " ");
  EXPECT_EQ(c.state(), LinkState::Up);
  EXPECT_FALSE(s.parseError);
}

}  // namespace
}  // namespace parley::xmpp
