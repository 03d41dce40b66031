// Process-wide logging: one named spdlog logger per module ("node", "sip",
// "transport" ...), all feeding one asynchronous sink through a bounded queue
// that overwrites the oldest entries rather than blocking the event loop.
// Messages are `event key=value ...`; the JSON format escapes them into a
// "msg" field. Secrets never reach a logger: callers redact at the source.
#pragma once

#include <memory>
#include <string_view>

#include "parley/config/config.hpp"

namespace spdlog {
class logger;
}

namespace parley::server {

struct LogOptions {
  config::LogLevel level = config::LogLevel::Info;
  config::LogFormat format = config::LogFormat::Text;
  std::size_t queueSize = 8192;  ///< entries; overflow overwrites the oldest
};

/// Sets up the shared sink and thread pool. Call once, before any logger().
void initLogging(const LogOptions& options);
/// The logger for a module, created on first use with the configured level.
[[nodiscard]] std::shared_ptr<spdlog::logger> logger(std::string_view module);
/// Flushes and stops the background thread (call at exit).
void shutdownLogging();

}  // namespace parley::server
