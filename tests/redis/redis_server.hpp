// A redis-server child process per test, on a free loopback port, stopped by
// PID (`--bind 127.0.0.1 --port <free> --save '' --appendonly no --daemonize no`).
// Shared by the live tests of tests/redis/; every wait has a time limit.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace parley::redis::test_support {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline std::string findRedisServer() {
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const std::string dir(rest.substr(0, colon));
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
      const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/redis-server";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  if (::access("/usr/bin/redis-server", X_OK) == 0) return "/usr/bin/redis-server";
  return {};
}

inline sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

inline std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool canConnect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

inline bool canConnect6(std::uint16_t port) {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A redis-server child process on 127.0.0.1:port.
class RedisServer {
 public:
  RedisServer(std::uint16_t port, std::vector<std::string> extra) : port_(port), extra_(std::move(extra)) {}
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// Starts it and waits until it accepts connections: "" or why not.
  std::string start() {
    const std::string binary = findRedisServer();
    if (binary.empty()) return "redis-server not found on PATH or in /usr/bin: apt-get install redis-server";
    std::vector<std::string> args = {binary,   "--bind",       "127.0.0.1", "--port",      std::to_string(port_),
                                     "--save", "",             "--appendonly", "no",       "--daemonize",
                                     "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return "cannot start redis-server: " + std::string(std::strerror(rc));
    }
    for (const auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
      if (canConnect(port_)) return "";
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return "redis-server exited at start (port " + std::to_string(port_) + " taken?)";
      }
      std::this_thread::sleep_for(10ms);
    }
    return "redis-server did not listen within 5 s";
  }

  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  void kill9() {
    signal(SIGKILL);
    reap(2s);
  }

  void stop() {
    if (pid_ <= 0) return;
    signal(SIGCONT);
    signal(SIGTERM);
    if (!reap(3s)) kill9();
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  bool reap(std::chrono::milliseconds limit) {
    for (const auto deadline = Clock::now() + limit; pid_ > 0 && Clock::now() < deadline;) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
      else std::this_thread::sleep_for(5ms);
    }
    return pid_ <= 0;
  }

  std::uint16_t port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

}  // namespace parley::redis::test_support
