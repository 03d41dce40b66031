// One Parley node: the io_context and everything that runs on it. Single
// thread, no locks (see docs/architecture.md). Lifecycle:
//   start()  binds every listener (port 0 = any free port) and logs each one
//   run()    serves until SIGINT/SIGTERM, then drains: stop accepting TCP,
//            wait (up to node.shutdown_timeout) for in-flight transactions,
//            close sockets and return 0. A second signal skips the wait.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "parley/config/config.hpp"

namespace parley::server {

class Node {
 public:
  explicit Node(config::Config cfg);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Binds the listeners. On error, says which listener and why.
  [[nodiscard]] tl::expected<void, std::string> start();
  /// Runs the loop until a stop; returns the process exit code.
  int run();
  /// Asks the node to stop as if it had received SIGTERM (thread-safe).
  void requestStop();

  struct BoundListener {
    std::string transport;  // "udp" | "tcp"
    std::string address;
    std::uint16_t port = 0;
  };
  [[nodiscard]] std::vector<BoundListener> listeners() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::server
