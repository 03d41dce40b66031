// parleyd: the Parley daemon.
//   parleyd --config FILE        run
//   parleyd --check-config FILE  validate FILE and exit 0 (valid) or 1
//   parleyd --version | --help
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "parley/config/config.hpp"
#include "parley/server/logging.hpp"
#include "parley/server/node.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: parleyd --config FILE\n"
    "       parleyd --check-config FILE\n"
    "       parleyd --version\n";

int usage(int code) {
  std::fputs(kUsage.data(), code == 0 ? stdout : stderr);
  return code;
}

int run(const std::string& path) {
  auto cfg = parley::config::loadFile(path);
  if (!cfg) {
    std::fprintf(stderr, "parleyd: %s\n", cfg.error().format().c_str());
    return 1;
  }
  parley::server::initLogging({cfg->node.logLevel, cfg->node.logFormat});
  auto log = parley::server::logger("node");
  log->info("node.starting node={} version={} allocator={} config={}", cfg->node.id, PARLEY_VERSION, PARLEY_ALLOCATOR, path);
  int code = 0;
  {
    parley::server::Node node(std::move(*cfg));
    if (auto started = node.start(); !started) {
      log->error("node.start_failed reason=\"{}\"", started.error());
      code = 2;
    } else {
      code = node.run();
    }
  }
  parley::server::shutdownLogging();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "--version") {
      std::printf("parleyd %s\n", PARLEY_VERSION);
      return 0;
    }
    if (cmd == "--help" || cmd == "-h") return usage(0);
    if (argc != 3) return usage(64);
    if (cmd == "--check-config") {
      auto cfg = parley::config::loadFile(argv[2]);
      if (!cfg) {
        std::fprintf(stderr, "%s\n", cfg.error().format().c_str());
        return 1;
      }
      std::printf("%s: configuration ok\n", argv[2]);
      return 0;
    }
    if (cmd == "--config") return run(argv[2]);
    return usage(64);
  } catch (const std::exception& e) {
    // Start-up failures only: nothing on the data path throws.
    std::fprintf(stderr, "parleyd: fatal: %s\n", e.what());
    return 2;
  }
}
