#include "connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <strings.h>
#include <utility>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace parley::redis::detail {
namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// The Asio side of one hiredis context (libraries.md §3). hiredis owns the fd
// (redisFree closes it): we only wait on it, and release it in the cleanup
// hook. hiredis re-arms reads after every redisAsyncHandleRead and writes while
// output is pending, so one-shot async_waits plus want-flags are enough; a
// del* hook only clears the flag (cancel() would abort both directions) and a
// late wake-up is ignored.
struct Io : std::enable_shared_from_this<Io> {
  explicit Io(asio::io_context& ctx) : sd(ctx) {}
  redisAsyncContext* ac = nullptr;  ///< null once hiredis has let go of the context (cleanup hook)
  asio::posix::stream_descriptor sd;
  Connection* owner = nullptr;      ///< cleared by Connection::releaseIo()
  bool wantRead = false, wantWrite = false;
  bool readWaiting = false, writeWaiting = false;
  bool tcpUp = false;               ///< hiredis saw the TCP connect complete
  std::string error;                ///< hiredis's errstr when it dropped the context
};

// hiredis's C callbacks. Every entry into hiredis that can run callbacks
// (HandleRead/HandleWrite/Free) happens while a shared_ptr<Io> is held, so the
// Io* they carry is always valid.
struct Hooks {
  static Io& io(void* p) { return *static_cast<Io*>(p); }

  static void addRead(void* p) {
    Io& i = io(p);
    i.wantRead = true;
    if (!i.readWaiting) waitRead(i.shared_from_this());
  }
  static void delRead(void* p) { io(p).wantRead = false; }
  static void addWrite(void* p) {
    Io& i = io(p);
    i.wantWrite = true;
    if (!i.writeWaiting) waitWrite(i.shared_from_this());
  }
  static void delWrite(void* p) { io(p).wantWrite = false; }

  // Called from __redisAsyncFree just before redisFree closes the fd (0.14.1
  // may call it twice on an error disconnect).
  static void cleanup(void* p) {
    Io& i = io(p);
    if (i.ac == nullptr) return;
    if (i.ac->c.err != 0) i.error = i.ac->c.errstr;
    i.ac = nullptr;
    i.wantRead = i.wantWrite = false;
    if (i.sd.is_open()) {
      error_code ignored;
      i.sd.cancel(ignored);
      (void)i.sd.release();  // never close: the fd is hiredis's
    }
  }

  static void waitRead(const std::shared_ptr<Io>& p) {
    p->readWaiting = true;
    p->sd.async_wait(asio::posix::descriptor_base::wait_read, [p](const error_code& ec) {
      p->readWaiting = false;
      if (ec || p->ac == nullptr || !p->wantRead) return;
      redisAsyncHandleRead(p->ac);
      afterHiredis(p);
    });
  }

  static void waitWrite(const std::shared_ptr<Io>& p) {
    p->writeWaiting = true;
    p->sd.async_wait(asio::posix::descriptor_base::wait_write, [p](const error_code& ec) {
      p->writeWaiting = false;
      if (ec || p->ac == nullptr || !p->wantWrite) return;
      redisAsyncHandleWrite(p->ac);
      // A connect still in progress returns without re-arming (0.14.1's
      // __redisAsyncHandleConnect): keep waiting for it ourselves.
      if (p->ac != nullptr && (p->ac->c.flags & REDIS_CONNECTED) == 0 && !p->writeWaiting) {
        p->wantWrite = true;
        waitWrite(p);
      }
      afterHiredis(p);
    });
  }

  // hiredis frees a context by itself on a read/write error, a refused
  // connect or EOF: the cleanup hook has then cleared `ac`.
  static void afterHiredis(const std::shared_ptr<Io>& p) {
    if (p->ac != nullptr || p->owner == nullptr) return;
    const auto owner = p->owner->shared_from_this();
    owner->onLost(p->error.empty() ? std::string("connection lost") : p->error);
  }

  static void onTcpConnect(const redisAsyncContext* ac, int status) {
    if (status == REDIS_OK) static_cast<Io*>(ac->data)->tcpUp = true;
  }

  // A reply (NULL when the context is being freed: the owner, if any, is told
  // through afterHiredis or has already let go).
  static void onReply(redisAsyncContext*, void* reply, void* privdata) {
    Io& i = io(privdata);
    if (reply == nullptr || i.owner == nullptr) return;
    const auto owner = i.owner->shared_from_this();
    owner->onReply(*static_cast<const redisReply*>(reply));
  }

  // Everything hiredis routes to a channel's subscription callback: the
  // (un)subscribe confirmations and the messages.
  static void onPush(redisAsyncContext*, void* reply, void* privdata) {
    Io& i = io(privdata);
    if (reply == nullptr || i.owner == nullptr) return;
    const auto owner = i.owner->shared_from_this();
    owner->onPush(*static_cast<const redisReply*>(reply));
  }
};

namespace {

RedisReply toReply(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      out.elements.reserve(r.elements);
      for (std::size_t k = 0; k < r.elements; ++k) out.elements.push_back(toReply(*r.element[k]));
      break;
    default:
      break;  // REDIS_REPLY_NIL
  }
  return out;
}

std::string_view text(const redisReply& r) {
  return r.str == nullptr ? std::string_view{} : std::string_view(r.str, r.len);
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Commands that hiredis 0.14.1 routes outside the in-order reply list
// (async.c, __redisAsyncCommand): sent on a command connection they would
// hand later replies to the wrong callbacks.
bool isPubSubOrMonitor(std::string_view name) {
  for (std::string_view c : {"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "monitor"})
    if (equalsNoCase(name, c)) return true;
  return false;
}

// A server's error text, made safe to log: bounded, printable, and without the
// password should a server ever echo it.
std::string sanitize(std::string message, const std::string& password) {
  if (!password.empty())
    for (std::size_t at = message.find(password); at != std::string::npos; at = message.find(password, at))
      message.replace(at, password.size(), "***");
  if (message.size() > 200) message.resize(200);
  for (char& c : message)
    if (c < 0x20 || c == 0x7f) c = '?';
  return message;
}

std::shared_ptr<spdlog::logger> orSilent(std::shared_ptr<spdlog::logger> log) {
  return log ? std::move(log) : std::make_shared<spdlog::logger>("redis");  // no sinks: logs nothing
}

}  // namespace

Connection::Connection(asio::io_context& ctx, RedisOptions options, std::shared_ptr<spdlog::logger> log, Role role)
    : ctx_(ctx),
      options_(std::move(options)),
      url_(redactedUrl(options_.endpoint)),
      log_(orSilent(std::move(log))),
      role_(role),
      connectTimer_(ctx),
      commandTimer_(ctx),
      retryTimer_(ctx),
      rng_(std::random_device{}()) {}

Connection::~Connection() { releaseIo(); }

void Connection::start() {
  if (closed_ || phase_ != Phase::Stopped) return;
  if (auto ok = checkEndpoint(options_.endpoint); !ok) {
    log_->error("redis.bad_endpoint role={} endpoint={} error=\"{}\"", roleName(), url_, ok.error());
    return;
  }
  ++epoch_;
  failures_ = 0;
  lastFailure_.clear();
  connect();
}

void Connection::stop() {
  if (phase_ == Phase::Stopped) return;
  phase_ = Phase::Stopped;
  ++epoch_;
  retryTimer_.cancel();
  connectTimer_.cancel();
  commandTimer_.cancel();
  releaseIo();
  log_->info("redis.stopped role={} endpoint={}", roleName(), url_);
  auto failed = std::exchange(pending_, {});
  failAll(failed, RedisError::Disconnected);
}

void Connection::close() {
  closed_ = true;
  stateCb_ = nullptr;
  channels_.clear();
  phase_ = Phase::Stopped;
  ++epoch_;
  retryTimer_.cancel();
  connectTimer_.cancel();
  commandTimer_.cancel();
  releaseIo();
  pending_.clear();
}

void Connection::connect() {
  phase_ = Phase::Connecting;
  log_->debug("redis.connecting role={} endpoint={} attempt={}", roleName(), url_, failures_ + 1);
  // Non-blocking: the host is an IP literal (checkEndpoint), so hiredis's
  // getaddrinfo() does no lookup, and connect() returns EINPROGRESS.
  redisAsyncContext* ac = redisAsyncConnect(options_.endpoint.host.c_str(), options_.endpoint.port);
  if (ac == nullptr) return lose(RedisError::Disconnected, "redis.connect_failed", "out of memory", Level::err);
  if (ac->err != 0) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);
    return lose(RedisError::Disconnected, "redis.connect_failed", why, Level::warn);
  }
  auto io = std::make_shared<Io>(ctx_);
  error_code ec;
  io->sd.assign(ac->c.fd, ec);
  if (ec) {
    redisAsyncFree(ac);
    return lose(RedisError::Disconnected, "redis.connect_failed", "cannot watch the socket: " + ec.message(),
                Level::err);
  }
  io->ac = ac;
  io->owner = this;
  ac->data = io.get();
  ac->ev.data = io.get();
  ac->ev.addRead = &Hooks::addRead;
  ac->ev.delRead = &Hooks::delRead;
  ac->ev.addWrite = &Hooks::addWrite;
  ac->ev.delWrite = &Hooks::delWrite;
  ac->ev.cleanup = &Hooks::cleanup;
  io_ = io;
  // Dead peers on an idle link (the subscriber is idle by nature): hiredis's
  // keepalive probes after 15 s of silence.
  (void)redisEnableKeepAlive(&ac->c);
  // Also arms the first write wait: writability is how the connect completes.
  redisAsyncSetConnectCallback(ac, &Hooks::onTcpConnect);

  connectTimer_.expires_after(options_.connectTimeout);
  connectTimer_.async_wait([self = shared_from_this(), weak = std::weak_ptr<Io>(io)](const error_code& e) {
    const auto current = weak.lock();
    if (e || !current || self->io_ != current || self->phase_ != Phase::Connecting) return;
    const auto ms = std::to_string(self->options_.connectTimeout.count());
    self->lose(RedisError::Timeout, "redis.connect_timeout",
               (current->tcpUp ? "no handshake reply within " : "no TCP connection within ") + ms + " ms",
               Level::warn);
  });
  // hiredis queues these until the connect completes; AUTH must be first.
  sendHandshake();
}

void Connection::sendHandshake() {
  std::vector<std::vector<std::string>> steps;
  const RedisEndpoint& ep = options_.endpoint;
  if (!ep.password.empty()) steps.push_back({"AUTH", ep.password});
  // Pub/sub channels are global, not per database: the subscriber skips SELECT.
  if (role_ == Role::Commands && ep.db != 0) steps.push_back({"SELECT", std::to_string(ep.db)});
  // Without either, a PING: a server that accepts TCP but does not answer
  // (stopped, overloaded) must not count as up.
  if (steps.empty()) steps.push_back({"PING"});
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const bool last = k + 1 == steps.size();
    std::string step = steps[k][0];
    issue(steps[k], Route::Regular, true, [this, step, last](tl::expected<RedisReply, RedisError> r) {
      if (!r) return;  // the link is being dropped; lose() reports why
      if (r->type == RedisReply::Type::Error) return handshakeFailed(step, std::move(r->str));
      if (last) handshakeDone();
    });
  }
}

void Connection::handshakeFailed(const std::string& step, std::string message) {
  message = sanitize(std::move(message), options_.endpoint.password);
  // Needs an operator (wrong password, NOAUTH, bad db): logged as an error.
  if (step == "AUTH")
    lose(RedisError::Disconnected, "redis.auth_failed", "AUTH refused: " + message + " (check the redis URL's password)",
         Level::err);
  else
    lose(RedisError::Disconnected, "redis.handshake_failed", step + " refused: " + message, Level::err);
}

void Connection::handshakeDone() {
  handshaken_ = true;
  if (role_ == Role::Commands || channels_.empty()) return becomeUp();
  // Resubscribe everything; up when Redis has confirmed the last one, so that
  // a message published after onStateChange(true) is sure to arrive.
  std::size_t left = channels_.size();
  for (const auto& entry : channels_) {
    const bool last = --left == 0;
    subscribeOnWire(entry.first, [this, last](tl::expected<RedisReply, RedisError> r) {
      if (r && last && phase_ == Phase::Connecting) becomeUp();
    });
  }
}

void Connection::becomeUp() {
  connectTimer_.cancel();
  phase_ = Phase::Up;
  failures_ = 0;
  lastFailure_.clear();
  if (everUp_) ++stats_.reconnects;
  everUp_ = true;
  log_->info("redis.up role={} endpoint={}", roleName(), url_);
  armCommandTimer();  // deadlines are the connect timer's job until now (checkDeadline)
  if (stateCb_) {
    auto cb = stateCb_;  // a copy: the callback may replace itself
    cb(true);
  }
}

void Connection::lose(RedisError error, std::string_view event, const std::string& reason, Level level) {
  const bool wasUp = phase_ == Phase::Up;
  releaseIo();
  connectTimer_.cancel();
  auto failed = std::exchange(pending_, {});
  const auto userPending = std::count_if(failed.begin(), failed.end(), [](const Pending& p) { return !p.internal; });
  if (wasUp) {
    log_->log(level, "{} role={} endpoint={} reason=\"{}\" failed_commands={}", event, roleName(), url_, reason,
              userPending);
  } else {
    ++stats_.connectFailures;
    // Each distinct failure is news once per streak; its repetitions every
    // retry (up to reconnectMax apart, forever) go to debug.
    const bool news = reason != lastFailure_;
    lastFailure_ = reason;
    log_->log(news ? level : Level::debug, "{} role={} endpoint={} reason=\"{}\" attempt={}", event, roleName(), url_,
              reason, failures_ + 1);
  }
  scheduleRetry();
  if (wasUp && stateCb_) {
    auto cb = stateCb_;
    cb(false);
  }
  failAll(failed, error);
}

void Connection::releaseIo() {
  handshaken_ = false;
  if (!io_) return;
  const std::shared_ptr<Io> io = std::move(io_);
  io_.reset();
  io->owner = nullptr;
  // Runs the pending hiredis callbacks with NULL (ignored: no owner) and the
  // cleanup hook now, or, from inside a hiredis callback, as soon as it returns.
  if (io->ac != nullptr) redisAsyncFree(io->ac);
}

void Connection::scheduleRetry() {
  phase_ = Phase::Waiting;
  // Capped exponential backoff, jitter on the upper half: the nodes that lost
  // the same Redis do not come back in lockstep.
  const std::int64_t lo = std::max<std::int64_t>(1, options_.reconnectMin.count());
  const std::int64_t hi = std::max<std::int64_t>(lo, options_.reconnectMax.count());
  const std::int64_t base = std::min<std::int64_t>(hi, lo << std::min(failures_, 20u));
  std::uniform_int_distribution<std::int64_t> jitter(std::max<std::int64_t>(1, base / 2), base);
  const auto delay = std::chrono::milliseconds(jitter(rng_));
  ++failures_;
  retryTimer_.expires_after(delay);
  retryTimer_.async_wait([self = shared_from_this(), epoch = epoch_](const error_code& ec) {
    if (ec || self->epoch_ != epoch || self->phase_ != Phase::Waiting) return;
    self->connect();
  });
}

bool Connection::issue(const std::vector<std::string>& argv, Route route, bool internal, Callback&& cb) {
  argvScratch_.clear();
  lenScratch_.clear();
  for (const auto& a : argv) {
    argvScratch_.push_back(a.data());
    lenScratch_.push_back(a.size());
  }
  redisCallbackFn* fn = route == Route::Regular ? &Hooks::onReply : &Hooks::onPush;
  // Only appends to hiredis's output buffer and arms a write wait: no I/O and
  // no callback from in here.
  if (redisAsyncCommandArgv(io_->ac, fn, io_.get(), static_cast<int>(argv.size()), argvScratch_.data(),
                            lenScratch_.data()) != REDIS_OK)
    return false;
  const auto now = Clock::now();
  pending_.push_back({std::move(cb), now, now + options_.commandTimeout, internal});
  armCommandTimer();
  return true;
}

void Connection::command(std::vector<std::string> argv, Callback cb) {
  if (!cb) cb = [](tl::expected<RedisReply, RedisError>) {};
  if (argv.empty() || isPubSubOrMonitor(argv.front())) {
    RedisReply refusal;
    refusal.type = RedisReply::Type::Error;
    refusal.str = argv.empty() ? "ERR empty command (not sent)"
                               : "ERR pub/sub and MONITOR are not allowed on a command connection (not sent): "
                                 "use RedisSubscriber";
    asio::post(ctx_, [weak = weak_from_this(), cb = std::move(cb), refusal = std::move(refusal)]() mutable {
      const auto self = weak.lock();
      if (self && !self->closed_) cb(std::move(refusal));
    });
    return;
  }
  if (phase_ != Phase::Up) {
    ++stats_.disconnected;
    return refuseLater(std::move(cb), RedisError::Disconnected);
  }
  if (pending_.size() >= options_.maxPending) {
    ++stats_.overloaded;
    return refuseLater(std::move(cb), RedisError::Overloaded);
  }
  if (!issue(argv, Route::Regular, false, std::move(cb))) {
    // hiredis refuses new commands only while it tears the context down (an
    // error it reports through afterHiredis); issue() did not take cb.
    ++stats_.disconnected;
    return refuseLater(std::move(cb), RedisError::Disconnected);
  }
  ++stats_.commands;
}

void Connection::refuseLater(Callback cb, RedisError error) {
  // Posted, not called: a caller that retries from its callback must not
  // recurse, and list_store.hpp's callers may not assume synchronous calls.
  asio::post(ctx_, [weak = weak_from_this(), cb = std::move(cb), error] {
    const auto self = weak.lock();
    if (self && !self->closed_) cb(tl::unexpected(error));
  });
}

void Connection::failAll(std::deque<Pending>& failed, RedisError error) {
  for (auto& p : failed) {
    if (closed_) return;  // the face was destroyed by an earlier callback: drop the rest
    if (!p.internal) {
      if (error == RedisError::Timeout)
        ++stats_.timeouts;
      else
        ++stats_.disconnected;
    }
    p.cb(tl::unexpected(error));
  }
}

void Connection::armCommandTimer() {
  if (commandTimerArmed_ || pending_.empty()) return;
  commandTimerArmed_ = true;
  // Never cancelled per reply (that would post a handler per command): when it
  // fires it looks at whatever is oldest now and re-arms for that.
  commandTimer_.expires_at(pending_.front().deadline);
  commandTimer_.async_wait([self = shared_from_this()](const error_code& ec) {
    self->commandTimerArmed_ = false;
    if (!ec) self->checkDeadline();
  });
}

void Connection::checkDeadline() {
  // While connecting, the connect timer covers the handshake and resubscription;
  // becomeUp() re-arms this one.
  if (closed_ || pending_.empty() || phase_ != Phase::Up) return;
  if (pending_.front().deadline > Clock::now()) return armCommandTimer();
  lose(RedisError::Timeout, "redis.command_timeout",
       "no reply within " + std::to_string(options_.commandTimeout.count()) + " ms: the link is taken as broken",
       Level::warn);
}

void Connection::onReply(const redisReply& reply) {
  if (pending_.empty()) {
    log_->error("redis.unexpected_reply role={} endpoint={}", roleName(), url_);
    return;
  }
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (!p.internal) {
    ++stats_.replies;
    stats_.lastLatencyMs = std::chrono::duration<double, std::milli>(Clock::now() - p.sent).count();
  }
  p.cb(toReply(reply));  // last: the callback may stop or destroy the face
}

void Connection::onPush(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) return;
  const std::string_view kind = text(*reply.element[0]);
  if (equalsNoCase(kind, "message")) {
    const std::string_view channel = text(*reply.element[1]);
    const auto it = channels_.find(channel);
    if (it == channels_.end()) return;  // unsubscribed meanwhile
    ++stats_.messages;
    const auto handler = it->second;  // keeps it alive should it unsubscribe itself
    (*handler)(channel, text(*reply.element[2]));
  } else if (equalsNoCase(kind, "subscribe") || equalsNoCase(kind, "unsubscribe")) {
    onReply(reply);  // one confirmation per (UN)SUBSCRIBE of one channel, in order
  }
}

void Connection::onLost(const std::string& reason) {
  if (phase_ != Phase::Connecting && phase_ != Phase::Up) return;
  if (phase_ == Phase::Up)
    lose(RedisError::Disconnected, "redis.down", reason, Level::warn);
  else
    lose(RedisError::Disconnected, "redis.connect_failed", reason, Level::warn);
}

void Connection::subscribeOnWire(const std::string& channel, Callback onConfirmed) {
  if (!onConfirmed) onConfirmed = [](tl::expected<RedisReply, RedisError>) {};
  if (issue({"SUBSCRIBE", channel}, Route::PubSub, false, std::move(onConfirmed))) ++stats_.commands;
}

void Connection::subscribe(std::string channel, MessageHandler handler) {
  auto shared = std::make_shared<MessageHandler>(std::move(handler));
  const auto [it, inserted] = channels_.insert_or_assign(std::move(channel), std::move(shared));
  // Before the handshake, handshakeDone() will subscribe it with the rest.
  if (inserted && handshaken_ && io_) subscribeOnWire(it->first, {});
}

void Connection::unsubscribe(const std::string& channel) {
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  channels_.erase(it);
  // Only for a channel we did subscribe: hiredis drops the confirmation of an
  // unknown one, and our pending entry would then time out.
  if (handshaken_ && io_ &&
      issue({"UNSUBSCRIBE", channel}, Route::PubSub, false, [](tl::expected<RedisReply, RedisError>) {}))
    ++stats_.commands;
}

}  // namespace parley::redis::detail
