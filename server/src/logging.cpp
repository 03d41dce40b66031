#include "parley/server/logging.hpp"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace parley::server {
namespace {

spdlog::level::level_enum toSpdlog(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::Trace: return spdlog::level::trace;
    case config::LogLevel::Debug: return spdlog::level::debug;
    case config::LogLevel::Info: return spdlog::level::info;
    case config::LogLevel::Warn: return spdlog::level::warn;
    case config::LogLevel::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// %* : the message payload escaped as a JSON string body.
class JsonEscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        dest.append(esc, esc + sizeof esc);
      } else {
        dest.push_back(c);
      }
    }
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedPayload>();
  }
};

struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::stdout_sink_mt> sink;
  spdlog::level::level_enum level = spdlog::level::info;
  bool initialised = false;
};

State& state() {
  static State s;
  return s;
}

}  // namespace

void initLogging(const LogOptions& options) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.initialised) return;
  spdlog::init_thread_pool(options.queueSize, 1);
  s.sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (options.format == config::LogFormat::Json) {
    formatter->add_flag<JsonEscapedPayload>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","module":"%n","msg":"%*"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l %-9n %v");
  }
  s.sink->set_formatter(std::move(formatter));
  s.level = toSpdlog(options.level);
  s.initialised = true;
}

std::shared_ptr<spdlog::logger> logger(std::string_view module) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  const std::string name(module);
  if (auto existing = spdlog::get(name)) return existing;
  if (!s.initialised) {
    // Before initLogging (tests, early errors): a synchronous stdout logger.
    if (!s.sink) s.sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto log = std::make_shared<spdlog::logger>(name, s.sink);
    log->set_level(s.level);
    spdlog::register_logger(log);
    return log;
  }
  auto log = std::make_shared<spdlog::async_logger>(name, s.sink, spdlog::thread_pool(),
                                                    spdlog::async_overflow_policy::overrun_oldest);
  log->set_level(s.level);
  log->flush_on(spdlog::level::info);  // lifecycle lines reach pipes promptly
  spdlog::register_logger(log);
  return log;
}

void shutdownLogging() {
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  spdlog::shutdown();
}

}  // namespace parley::server
