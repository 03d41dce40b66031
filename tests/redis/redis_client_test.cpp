// parley_redis against a real redis-server. Each test starts its own server
// (`--bind 127.0.0.1 --port <free> --save '' --appendonly no --daemonize no`)
// and stops it by PID; every wait has a time limit.
#include "parley/redis/redis_client.hpp"

#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace parley::redis {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Result = tl::expected<RedisReply, RedisError>;

constexpr const char* kPassword = "T0p-s3cret/pw";

using test_support::canConnect6;
using test_support::freePort;
using test_support::loopback;
using test_support::RedisServer;

class RedisLive : public ::testing::Test {
 protected:
  RedisLive() {
    log_ = std::make_shared<spdlog::logger>("redis-test",
                                            std::make_shared<spdlog::sinks::ostream_sink_st>(logText_));
    log_->set_level(spdlog::level::trace);
  }

  // The client's log helps most when a test failed; PARLEY_REDIS_TEST_LOG=1 shows it always.
  void TearDown() override {
    if (HasFailure() || std::getenv("PARLEY_REDIS_TEST_LOG") != nullptr) std::cerr << logText_.str();
  }

  void startServer(std::vector<std::string> extra = {}) {
    server_ = std::make_unique<RedisServer>(freePort(), std::move(extra));
    const std::string why = server_->start();
    ASSERT_EQ(why, "") << why;
  }

  [[nodiscard]] RedisOptions options() const {
    RedisOptions o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = server_ ? server_->port() : 1;
    o.connectTimeout = 1000ms;
    o.commandTimeout = 2000ms;
    o.reconnectMin = 20ms;
    o.reconnectMax = 200ms;
    return o;
  }

  /// Runs the loop until done() or the limit; false on the limit.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    for (const auto deadline = Clock::now() + limit; !done();) {
      if (Clock::now() >= deadline) return false;
      io_.run_one_for(10ms);
    }
    return true;
  }

  void runFor(std::chrono::milliseconds d) {
    for (const auto deadline = Clock::now() + d; Clock::now() < deadline;) io_.run_one_until(deadline);
  }

  /// Sends one command and waits for its outcome.
  Result call(RedisClient& c, std::vector<std::string> argv) {
    auto got = std::make_shared<std::optional<Result>>();
    c.command(std::move(argv), [got](Result r) { *got = std::move(r); });
    EXPECT_TRUE(runUntil([&] { return got->has_value(); })) << "no answer in time";
    return got->value_or(tl::unexpected(RedisError::Disconnected));
  }

  static std::string show(const Result& r) {
    if (!r) return "<" + std::string(toString(r.error())) + ">";
    return "type=" + std::to_string(static_cast<int>(r->type)) + " str=" + r->str;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::ostringstream logText_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<RedisServer> server_;
};

#define EXPECT_STATUS(r, text)                                      \
  do {                                                              \
    const Result& r_ = (r);                                         \
    ASSERT_TRUE(r_) << show(r_);                                    \
    EXPECT_EQ(r_->type, RedisReply::Type::Status) << show(r_);      \
    EXPECT_EQ(r_->str, text);                                       \
  } while (0)

TEST_F(RedisLive, SetGetAndEveryReplyType) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisClient c(io_, options(), log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));

  EXPECT_STATUS(call(c, {"SET", "k", "v"}), "OK");
  const Result got = call(c, {"GET", "k"});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->type, RedisReply::Type::String);
  EXPECT_EQ(got->str, "v");
  EXPECT_EQ(call(c, {"GET", "missing"})->type, RedisReply::Type::Nil);
  const Result n = call(c, {"INCRBY", "n", "41"});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->type, RedisReply::Type::Integer);
  EXPECT_EQ(n->integer, 41);
  ASSERT_TRUE(call(c, {"RPUSH", "l", "a", "b"}));
  const Result list = call(c, {"LRANGE", "l", "0", "-1"});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->type, RedisReply::Type::Array);
  ASSERT_EQ(list->elements.size(), 2u);
  EXPECT_EQ(list->elements[1].str, "b");

  // An error reply is a reply, and the link stays usable after it.
  const Result err = call(c, {"INCR", "k"});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->type, RedisReply::Type::Error);
  EXPECT_EQ(err->str.rfind("ERR", 0), 0u) << err->str;
  EXPECT_EQ(call(c, {"GET", "k"})->str, "v");

  const auto s = c.stats();
  EXPECT_EQ(s.commands, 8u);
  EXPECT_EQ(s.replies, 8u);
  EXPECT_GT(s.lastLatencyMs, 0.0);
  EXPECT_EQ(s.reconnects, 0u);
}

TEST_F(RedisLive, KeysAndValuesAreBinarySafe) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisClient c(io_, options(), log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));

  std::string value;
  for (int b = 0; b < 256; ++b) value.push_back(static_cast<char>(b));
  value += std::string("\r\n$3\r\n\0end", 11);
  const std::string key("bin\0key\r\n", 9);
  EXPECT_STATUS(call(c, {"SET", key, value}), "OK");
  const Result got = call(c, {"GET", key});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->str, value);
  EXPECT_EQ(call(c, {"STRLEN", key})->integer, 267);
  EXPECT_EQ(call(c, {"EXISTS", "bin"})->integer, 0);  // the key did not stop at its NUL
}

TEST_F(RedisLive, PipelinesTenThousandCommandsWithRepliesInOrder) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisClient c(io_, options(), log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));

  constexpr int kCount = 10000;
  int answered = 0;
  int outOfOrder = 0;
  // All issued before the loop runs once: one pipeline, no round trip each.
  for (int i = 0; i < kCount; ++i) {
    c.command({"INCR", "counter"}, [&, i](Result r) {
      if (!r || r->type != RedisReply::Type::Integer || r->integer != i + 1 || answered != i) ++outOfOrder;
      ++answered;
    });
  }
  EXPECT_EQ(c.pending(), static_cast<std::size_t>(kCount));
  ASSERT_TRUE(runUntil([&] { return answered == kCount; }, 10s)) << answered;
  EXPECT_EQ(outOfOrder, 0);
  EXPECT_EQ(c.pending(), 0u);
  EXPECT_EQ(c.stats().replies, static_cast<std::uint64_t>(kCount));
}

TEST_F(RedisLive, AuthWithTheRightPassword) {
  ASSERT_NO_FATAL_FAILURE(startServer({"--requirepass", kPassword}));
  RedisOptions o = options();
  o.endpoint.password = kPassword;
  o.endpoint.db = 2;
  RedisClient c(io_, o, log_);
  RedisSubscriber s(io_, o, log_);
  c.start();
  s.start();
  ASSERT_TRUE(runUntil([&] { return c.connected() && s.connected(); }));
  EXPECT_STATUS(call(c, {"SET", "a", "1"}), "OK");
  EXPECT_EQ(call(c, {"GET", "a"})->str, "1");
  c.stop();
  s.stop();
  EXPECT_NE(logText_.str().find("redis.up"), std::string::npos);
  EXPECT_NE(logText_.str().find("redis://:***@127.0.0.1"), std::string::npos);
  EXPECT_EQ(logText_.str().find(kPassword), std::string::npos) << logText_.str();
}

TEST_F(RedisLive, WrongPasswordNeverComesUpAndSaysWhyWithoutThePassword) {
  ASSERT_NO_FATAL_FAILURE(startServer({"--requirepass", kPassword}));
  RedisOptions o = options();
  o.endpoint.password = "wrong-pass-77";
  RedisClient c(io_, o, log_);
  bool everUp = false;
  c.onStateChange([&](bool up) { everUp = everUp || up; });
  c.start();
  runFor(600ms);
  EXPECT_FALSE(everUp);
  EXPECT_FALSE(c.connected());
  EXPECT_GE(c.stats().connectFailures, 2u);  // it keeps retrying, with backoff
  const Result r = call(c, {"GET", "a"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), RedisError::Disconnected);
  const std::string text = logText_.str();
  EXPECT_NE(text.find("redis.auth_failed"), std::string::npos) << text;
  EXPECT_NE(text.find("WRONGPASS"), std::string::npos) << text;
  EXPECT_EQ(text.find("wrong-pass-77"), std::string::npos) << text;
  EXPECT_EQ(text.find(kPassword), std::string::npos) << text;
}

TEST_F(RedisLive, MissingPasswordIsAHandshakeFailure) {
  ASSERT_NO_FATAL_FAILURE(startServer({"--requirepass", kPassword}));
  RedisClient c(io_, options(), log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.stats().connectFailures >= 1; }));
  EXPECT_FALSE(c.connected());
  EXPECT_NE(logText_.str().find("NOAUTH"), std::string::npos) << logText_.str();
}

TEST_F(RedisLive, SelectsTheConfiguredDatabase) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisOptions five = options();
  five.endpoint.db = 5;
  RedisClient c5(io_, five, log_);
  RedisClient other5(io_, five, log_);
  RedisClient c0(io_, options(), log_);
  c5.start();
  other5.start();
  c0.start();
  ASSERT_TRUE(runUntil([&] { return c5.connected() && other5.connected() && c0.connected(); }));
  EXPECT_STATUS(call(c5, {"SET", "where", "five"}), "OK");
  EXPECT_EQ(call(c0, {"GET", "where"})->type, RedisReply::Type::Nil);
  EXPECT_EQ(call(other5, {"GET", "where"})->str, "five");
  EXPECT_EQ(call(c0, {"SELECT", "5"})->str, "OK");  // the same key, seen from db 5
  EXPECT_EQ(call(c0, {"GET", "where"})->str, "five");
}

TEST_F(RedisLive, PublishReachesTheSubscriber) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisClient c(io_, options(), log_);
  RedisSubscriber s(io_, options(), log_);
  std::vector<std::pair<std::string, std::string>> got;
  const auto collect = [&](std::string_view ch, std::string_view msg) { got.emplace_back(ch, msg); };
  const std::string binChannel("bin\0ch", 6);
  s.subscribe("news", collect);
  s.subscribe(binChannel, collect);
  c.start();
  s.start();
  // Up means the subscriptions are confirmed: a PUBLISH now must arrive.
  ASSERT_TRUE(runUntil([&] { return c.connected() && s.connected(); }));
  EXPECT_EQ(call(c, {"PUBLISH", "news", "hello"})->integer, 1);
  const std::string binMessage("a\0b\r\n", 5);
  EXPECT_EQ(call(c, {"PUBLISH", binChannel, binMessage})->integer, 1);
  ASSERT_TRUE(runUntil([&] { return got.size() == 2; }));
  EXPECT_EQ(got[0], std::make_pair(std::string("news"), std::string("hello")));
  EXPECT_EQ(got[1], std::make_pair(binChannel, binMessage));

  // Subscribing while up.
  s.subscribe("late", collect);
  ASSERT_TRUE(runUntil([&] {
    const Result n = call(c, {"PUBSUB", "NUMSUB", "late"});
    return n && n->elements.size() == 2 && n->elements[1].integer == 1;
  }));
  EXPECT_EQ(call(c, {"PUBLISH", "late", "x"})->integer, 1);
  ASSERT_TRUE(runUntil([&] { return got.size() == 3; }));
  EXPECT_EQ(got[2].first, "late");

  // Unsubscribing.
  s.unsubscribe("news");
  ASSERT_TRUE(runUntil([&] { return call(c, {"PUBLISH", "news", "gone"})->integer == 0; }));
  runFor(50ms);
  EXPECT_EQ(got.size(), 3u);
  EXPECT_TRUE(s.connected());
  EXPECT_EQ(s.stats().messages, 3u);
}

TEST_F(RedisLive, CommandWhileDownFailsAtOnce) {
  // Never started.
  RedisClient idle(io_, options(), log_);
  auto t0 = Clock::now();
  Result r = call(idle, {"GET", "a"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), RedisError::Disconnected);
  EXPECT_LT(Clock::now() - t0, 100ms);

  // Started, but nothing listens there.
  RedisOptions o = options();
  o.endpoint.port = freePort();
  RedisClient c(io_, o, log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.stats().connectFailures >= 1; }));
  t0 = Clock::now();
  r = call(c, {"GET", "a"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), RedisError::Disconnected);
  EXPECT_LT(Clock::now() - t0, 100ms);
  EXPECT_EQ(c.stats().disconnected, 1u);
  EXPECT_NE(logText_.str().find("redis.connect_failed"), std::string::npos);
}

TEST_F(RedisLive, ServerKilledThenRestartedOnTheSamePort) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisClient c(io_, options(), log_);
  RedisSubscriber s(io_, options(), log_);
  std::vector<bool> clientStates, subscriberStates;
  c.onStateChange([&](bool up) { clientStates.push_back(up); });
  s.onStateChange([&](bool up) { subscriberStates.push_back(up); });
  std::vector<std::string> messages;
  s.subscribe("ch", [&](std::string_view, std::string_view m) { messages.emplace_back(m); });
  c.start();
  s.start();
  ASSERT_TRUE(runUntil([&] { return c.connected() && s.connected(); }));

  // Stopped first, so that the commands are surely still pending when it dies.
  server_->signal(SIGSTOP);
  std::vector<Result> results;
  for (int i = 0; i < 3; ++i) c.command({"GET", "a"}, [&](Result r) { results.push_back(std::move(r)); });
  runFor(50ms);
  EXPECT_TRUE(results.empty());
  server_->kill9();
  ASSERT_TRUE(runUntil([&] { return results.size() == 3 && !c.connected() && !s.connected(); }));
  for (const auto& r : results) {
    ASSERT_FALSE(r) << show(r);
    EXPECT_EQ(r.error(), RedisError::Disconnected);
  }
  EXPECT_EQ(clientStates, (std::vector<bool>{true, false}));
  EXPECT_EQ(subscriberStates, (std::vector<bool>{true, false}));
  const Result whileDown = call(c, {"GET", "a"});
  ASSERT_FALSE(whileDown);
  EXPECT_EQ(whileDown.error(), RedisError::Disconnected);

  runFor(100ms);  // a few refused attempts
  ASSERT_EQ(server_->start(), "");
  ASSERT_TRUE(runUntil([&] { return c.connected() && s.connected(); }));
  EXPECT_EQ(clientStates, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(subscriberStates, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(c.stats().reconnects, 1u);
  EXPECT_EQ(s.stats().reconnects, 1u);
  EXPECT_STATUS(call(c, {"SET", "a", "again"}), "OK");
  EXPECT_EQ(call(c, {"GET", "a"})->str, "again");
  // Re-subscribed before it reported up.
  EXPECT_EQ(call(c, {"PUBLISH", "ch", "after restart"})->integer, 1);
  ASSERT_TRUE(runUntil([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0], "after restart");
}

TEST_F(RedisLive, CommandTimeoutFailsEveryPendingCommandAndReconnects) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisOptions o = options();
  o.commandTimeout = 300ms;
  o.connectTimeout = 300ms;
  RedisClient c(io_, o, log_);
  std::vector<bool> states;
  c.onStateChange([&](bool up) { states.push_back(up); });
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));

  server_->signal(SIGSTOP);  // accepts TCP (the kernel does) but never answers
  std::vector<Result> results;
  const auto t0 = Clock::now();
  c.command({"GET", "a"}, [&](Result r) { results.push_back(std::move(r)); });
  runFor(100ms);
  c.command({"GET", "b"}, [&](Result r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(runUntil([&] { return results.size() == 2; }, 3s));
  const auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, 280ms);
  EXPECT_LT(elapsed, 1000ms);
  for (const auto& r : results) {
    ASSERT_FALSE(r) << show(r);
    EXPECT_EQ(r.error(), RedisError::Timeout);
  }
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(states, (std::vector<bool>{true, false}));
  EXPECT_EQ(c.stats().timeouts, 2u);
  EXPECT_NE(logText_.str().find("redis.command_timeout"), std::string::npos);

  runFor(400ms);  // reconnects time out in the handshake while it is stopped
  EXPECT_FALSE(c.connected());
  EXPECT_GE(c.stats().connectFailures, 1u);
  server_->signal(SIGCONT);
  ASSERT_TRUE(runUntil([&] { return c.connected(); }, 3s));
  EXPECT_STATUS(call(c, {"SET", "a", "1"}), "OK");
}

TEST_F(RedisLive, ConnectTimeoutToABlackholeDoesNotHang) {
  // Listens, never accepts: the kernel completes some handshakes (backlog), then drops SYNs.
  const int hole = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(0);
  ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(hole, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(hole, reinterpret_cast<sockaddr*>(&a), &len);

  RedisOptions o = options();
  o.endpoint.port = ntohs(a.sin_port);
  o.connectTimeout = 150ms;
  o.reconnectMin = 10ms;
  o.reconnectMax = 40ms;
  {
    RedisClient c(io_, o, log_);
    RedisSubscriber s(io_, o, log_);
    s.subscribe("x", [](std::string_view, std::string_view) {});
    c.start();
    s.start();
    runFor(800ms);
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(s.connected());
    EXPECT_GE(c.stats().connectFailures, 2u);
    EXPECT_GE(s.stats().connectFailures, 2u);
    const Result r = call(c, {"GET", "a"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), RedisError::Disconnected);
    EXPECT_NE(logText_.str().find("redis.connect_timeout"), std::string::npos);
    c.stop();
    s.stop();
    // Nothing of theirs is left on the loop: run() returns by itself.
    work_.reset();
    const auto t0 = Clock::now();
    io_.restart();
    io_.run_for(3s);
    EXPECT_TRUE(io_.stopped());
    EXPECT_LT(Clock::now() - t0, 500ms);
  }
  ::close(hole);
}

TEST_F(RedisLive, OverloadedPastMaxPending) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisOptions o = options();
  o.maxPending = 5;
  RedisClient c(io_, o, log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));
  std::vector<Result> results;
  for (int i = 0; i < 6; ++i) c.command({"PING"}, [&](Result r) { results.push_back(std::move(r)); });
  ASSERT_TRUE(runUntil([&] { return results.size() == 6; }));
  // The refusal is posted, so it arrives before the replies.
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error(), RedisError::Overloaded);
  for (std::size_t i = 1; i < results.size(); ++i) EXPECT_STATUS(results[i], "PONG");
  EXPECT_EQ(c.stats().overloaded, 1u);
}

TEST_F(RedisLive, StopAnswersPendingCommandsWithDisconnected) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisClient c(io_, options(), log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));
  std::vector<Result> results;
  for (int i = 0; i < 3; ++i) c.command({"PING"}, [&](Result r) { results.push_back(std::move(r)); });
  c.stop();
  ASSERT_EQ(results.size(), 3u);  // before stop() returned
  for (const auto& r : results) {
    ASSERT_FALSE(r) << show(r);
    EXPECT_EQ(r.error(), RedisError::Disconnected);
  }
  EXPECT_FALSE(c.connected());
  runFor(100ms);
  EXPECT_FALSE(c.connected());  // stopped means no reconnect
  c.start();                    // and it can start again
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));
}

TEST_F(RedisLive, DestroyingTheClientDropsPendingCallbacksSafely) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  int called = 0;
  {
    auto c = std::make_unique<RedisClient>(io_, options(), log_);
    c->start();
    ASSERT_TRUE(runUntil([&] { return c->connected(); }));
    for (int i = 0; i < 3; ++i) c->command({"PING"}, [&](Result) { ++called; });
  }
  runFor(100ms);
  EXPECT_EQ(called, 0);

  // Destroyed from inside one of its own callbacks, with more replies queued behind.
  auto c = std::make_unique<RedisClient>(io_, options(), log_);
  c->start();
  ASSERT_TRUE(runUntil([&] { return c->connected(); }));
  c->command({"PING"}, [&](Result r) {
    EXPECT_TRUE(r);
    ++called;
    c.reset();
  });
  for (int i = 0; i < 3; ++i) c->command({"PING"}, [&](Result) { called += 100; });
  ASSERT_TRUE(runUntil([&] { return c == nullptr; }));
  runFor(100ms);
  EXPECT_EQ(called, 1);
}

TEST_F(RedisLive, PubSubCommandsAreRefusedOnTheCommandConnection) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  RedisClient c(io_, options(), log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));
  for (const char* cmd : {"SUBSCRIBE", "psubscribe", "MONITOR"}) {
    const Result r = call(c, {cmd, "x"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, RedisReply::Type::Error);
    EXPECT_NE(r->str.find("RedisSubscriber"), std::string::npos);
  }
  EXPECT_EQ(call(c, {})->type, RedisReply::Type::Error);
  EXPECT_STATUS(call(c, {"PING"}), "PONG");
}

TEST_F(RedisLive, ConnectsToAnIpv6Literal) {
  // "-::1": optional, so the server still starts on a host without IPv6 loopback.
  ASSERT_NO_FATAL_FAILURE(startServer({"--bind", "127.0.0.1", "-::1"}));
  if (!canConnect6(server_->port())) GTEST_SKIP() << "no IPv6 loopback on this host";
  RedisOptions o = options();
  o.endpoint.host = "::1";
  RedisClient c(io_, o, log_);
  c.start();
  ASSERT_TRUE(runUntil([&] { return c.connected(); }));
  EXPECT_STATUS(call(c, {"SET", "v6", "yes"}), "OK");
  EXPECT_NE(logText_.str().find("redis://[::1]:"), std::string::npos);
}

TEST_F(RedisLive, EndpointWithAHostNameIsNeverConnected) {
  RedisOptions o = options();
  o.endpoint.host = "localhost";
  RedisClient c(io_, o, log_);
  c.start();
  runFor(50ms);
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(c.stats().connectFailures, 0u);
  EXPECT_NE(logText_.str().find("redis.bad_endpoint"), std::string::npos);
}

}  // namespace
}  // namespace parley::redis
