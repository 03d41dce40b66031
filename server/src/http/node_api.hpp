// The HTTP API of a node (docs/api.md): what the Api's ports read in the
// running node. Built by Node::Impl when [http] enabled = true.
#pragma once

#include <functional>
#include <memory>

#include "api.hpp"
#include "http_server.hpp"

namespace parley::presence {
class Notifier;
class Publisher;
}  // namespace parley::presence
namespace parley::bridge {
class Bridge;
}  // namespace parley::bridge
namespace parley::simple {
class SipStack;
}  // namespace parley::simple
namespace parley::xmpp {
class Component;
}  // namespace parley::xmpp

namespace parley::server {
class NodeStorage;

namespace http {

struct NodeParts {
  const config::Config& cfg;
  simple::SipStack& stack;
  presence::Notifier& notifier;
  presence::Publisher& publisher;
  NodeStorage& storage;
  const xmpp::Component* component;  ///< null without [xmpp]
  const bridge::Bridge* bridge;       ///< null without [xmpp]
  std::function<void()> afterEvent;  ///< re-arms the SIP timer after a request was handled
};

/// The API and its server on the node's loop.
class NodeApi {
 public:
  NodeApi(boost::asio::io_context& io, NodeParts parts, std::shared_ptr<spdlog::logger> log);
  ~NodeApi();
  tl::expected<void, std::string> start() { return server_->start(); }
  void stop() { server_->stop(); }
  /// An XMPP contact's presence changed (its SIP form, as the bridge reports it).
  void contactChanged(std::string_view aor);

 private:
  ApiPorts ports();
  [[nodiscard]] std::string metrics() const;
  /// GET /api/v1/stats: counts, link states and rates.
  nlohmann::json stats();
  /// The counters the stats' rates are made of, at one moment.
  struct Totals {
    std::chrono::steady_clock::time_point at{};
    std::uint64_t sipRequests = 0, notifies = 0, publications = 0, bridged = 0, streamed = 0;
  };
  [[nodiscard]] Totals totals() const;
  boost::asio::io_context& io_;
  NodeParts parts_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  Totals rateBase_{started_};  // the last read the rates were taken against
  nlohmann::json rates_ = nlohmann::json::object();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<Api> api_;
  std::unique_ptr<Server> server_;
};

}  // namespace http
}  // namespace parley::server
