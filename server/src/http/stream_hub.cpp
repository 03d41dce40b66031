#include "stream_hub.hpp"

#include <utility>

namespace parley::server::http {
using nlohmann::json;

namespace {

json errorJson(std::string_view code, std::string_view message) {
  return json{{"code", code}, {"message", message}};
}

}  // namespace

StreamHub::StreamHub(Ports ports) : ports_(std::move(ports)) {}

StreamHub::~StreamHub() {
  *alive_ = false;
  // The transports outlive the hub only while shutting down: nothing is sent any more.
  auto clients = std::move(clients_);
  for (auto& [id, c] : clients) c.peer->close();
}

std::shared_ptr<const std::string> StreamHub::frame(Format format, std::string_view event, const json& payload) {
  if (format == Format::EventStream) {
    // RFC 8895 (the HTML event-stream format): a JSON dump has no line breaks.
    std::string text;
    const std::string data = payload.dump();
    text.reserve(event.size() + data.size() + 16);
    text.append("event: ").append(event).append("\ndata: ").append(data).append("\n\n");
    return std::make_shared<const std::string>(std::move(text));
  }
  if (event == "hello") {
    json j = payload;
    j["type"] = "hello";
    return std::make_shared<const std::string>(j.dump());
  }
  return std::make_shared<const std::string>(json{{"type", event}, {std::string(event), payload}}.dump());
}

StreamHandlers StreamHub::open(std::shared_ptr<StreamPeer> peer, Format format, const std::vector<std::string>& addresses,
                               bool all) {
  const ClientId id = nextId_++;
  Client client{std::move(peer), format, {}, all};
  client.refilled = ports_.clock ? ports_.clock() : std::chrono::steady_clock::now();
  clients_.emplace(id, std::move(client));
  if (all) all_.insert(id);
  ++stats_.opened;
  std::weak_ptr<bool> alive = alive_;
  StreamHandlers h;
  h.onMessage = [this, alive, id](std::string_view text) {
    if (alive.lock()) onMessage(id, text);
  };
  h.onClose = [this, alive, id]() {
    if (alive.lock()) close(id);
  };
  if (sendTo(id, "hello", ports_.hello ? ports_.hello() : json::object())) watch(id, addresses);
  return h;
}

void StreamHub::close(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  for (const auto& address : it->second.watched) {
    auto w = watchers_.find(address);
    if (w == watchers_.end()) continue;
    w->second.erase(id);
    if (w->second.empty()) watchers_.erase(w);
  }
  all_.erase(id);
  clients_.erase(it);
}

bool StreamHub::sendTo(ClientId id, std::string_view event, const json& payload) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return false;
  return push(id, it->second.peer, frame(it->second.format, event, payload));
}

bool StreamHub::push(ClientId id, std::shared_ptr<StreamPeer> peer, std::shared_ptr<const std::string> message) {
  ++stats_.messages;
  // `peer` is a copy: closing the client may drop the hub's own reference mid-call.
  if (peer->send(std::move(message))) return true;
  ++stats_.dropped;  // the peer refused: it dropped the client (queue full)
  close(id);
  return false;
}

void StreamHub::onMessage(ClientId id, std::string_view text) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = it->second;
  const auto now = ports_.clock ? ports_.clock() : std::chrono::steady_clock::now();
  c.budget = std::min(kMessagesPerSecond,
                      c.budget + std::chrono::duration<double>(now - c.refilled).count() * kMessagesPerSecond);
  c.refilled = now;
  if (c.budget < 1) {
    sendTo(id, "error", errorJson("rate_limited", "too many messages; at most 10 a second"));
    return;
  }
  c.budget -= 1;
  auto bad = [&](std::string_view why) { sendTo(id, "error", errorJson("bad_request", why)); };
  const json msg = json::parse(text, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) return bad("a message is a JSON object");
  const auto op = msg.find("op");
  if (op == msg.end() || !op->is_string()) return bad("op must be \"watch\" or \"unwatch\"");
  const bool watching = *op == "watch";
  if (!watching && *op != "unwatch") return bad("op must be \"watch\" or \"unwatch\"");

  std::vector<std::string> addresses;
  if (const auto list = msg.find("addresses"); list != msg.end()) {
    if (!list->is_array()) return bad("addresses must be an array of strings");
    for (const auto& a : *list) {
      if (!a.is_string() || a.get_ref<const std::string&>().empty()) return bad("addresses must be an array of strings");
      addresses.push_back(a.get<std::string>());
    }
  }
  bool all = false;
  if (const auto a = msg.find("all"); a != msg.end()) {
    if (!a->is_boolean()) return bad("all must be true or false");
    all = a->get<bool>();
  }
  if (addresses.empty() && !all) return bad("give addresses, or all: true");

  auto& client = clients_.at(id);
  if (all) {
    client.all = watching;
    if (watching) all_.insert(id);
    else all_.erase(id);
  }
  if (watching) return watch(id, addresses);
  unwatch(id, addresses);
}

void StreamHub::watch(ClientId id, const std::vector<std::string>& addresses) {
  for (const auto& given : addresses) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    auto address = ports_.resolve(given);
    if (!address) {
      if (!sendTo(id, "presence", json{{"address", given}, {"error", errorJson("not_served", "not an address this server knows")}}))
        return;
      continue;
    }
    Client& client = it->second;
    if (!client.watched.contains(*address)) {
      if (client.watched.size() >= kMaxWatched) {
        sendTo(id, "error", errorJson("too_many", "at most 1000 addresses per client"));
        return;
      }
      client.watched.insert(*address);
      watchers_[*address].insert(id);
    }
    // The snapshot, to this client only; a change meanwhile is sent to it as well.
    std::weak_ptr<bool> alive = alive_;
    ports_.presence(*address, [this, alive, id, address = *address](json presence) {
      if (!alive.lock()) return;
      auto c = clients_.find(id);
      if (c == clients_.end() || !c->second.watched.contains(address)) return;
      sendTo(id, "presence", presence);
    });
  }
}

void StreamHub::unwatch(ClientId id, const std::vector<std::string>& addresses) {
  auto& client = clients_.at(id);
  for (const auto& given : addresses) {
    auto address = ports_.resolve(given);
    if (!address || client.watched.erase(*address) == 0) continue;
    auto w = watchers_.find(*address);
    if (w == watchers_.end()) continue;
    w->second.erase(id);
    if (w->second.empty()) watchers_.erase(w);
  }
}

void StreamHub::changed(const std::string& address) {
  if (all_.empty() && !watchers_.contains(address)) return;  // nobody to tell: nothing read
  auto [it, fresh] = composing_.try_emplace(address, false);
  if (!fresh) {
    it->second = true;  // one more read after the one in flight
    return;
  }
  compose(address);
}

struct StreamHub::Delivery {
  std::string address;
  nlohmann::json presence;
  std::shared_ptr<const std::string> framed[2];  // per Format, made on first use
  std::vector<ClientId> targets;
  std::size_t next = 0;
};

void StreamHub::compose(const std::string& address) {
  std::weak_ptr<bool> alive = alive_;
  ports_.presence(address, [this, alive, address](json presence) {
    if (!alive.lock()) return;
    auto d = std::make_shared<Delivery>();
    d->address = address;
    d->presence = std::move(presence);
    d->targets.assign(all_.begin(), all_.end());
    if (auto w = watchers_.find(address); w != watchers_.end())
      for (ClientId id : w->second)
        if (!all_.contains(id)) d->targets.push_back(id);
    if (!d->targets.empty()) ++stats_.changes;
    if (!ports_.defer) return deliver(std::move(d));
    ports_.defer([this, alive, d] {
      if (alive.lock()) deliver(d);
    });
  });
}

void StreamHub::deliver(std::shared_ptr<Delivery> d) {
  const std::size_t end = ports_.defer ? std::min(d->targets.size(), d->next + kChunk) : d->targets.size();
  for (; d->next < end; ++d->next) {
    const ClientId id = d->targets[d->next];
    auto c = clients_.find(id);  // gone meanwhile, or dropped by an earlier send
    if (c == clients_.end()) continue;
    auto& message = d->framed[static_cast<std::size_t>(c->second.format)];
    if (!message) message = frame(c->second.format, "presence", d->presence);
    push(id, c->second.peer, message);
  }
  if (d->next < d->targets.size()) {
    std::weak_ptr<bool> alive = alive_;
    return ports_.defer([this, alive, d] {
      if (alive.lock()) deliver(d);
    });
  }
  // Written to everyone: read again if the address changed meanwhile, so the newest state goes last.
  auto pending = composing_.find(d->address);
  if (pending != composing_.end() && pending->second) {
    pending->second = false;
    return compose(d->address);
  }
  composing_.erase(d->address);
}

}  // namespace parley::server::http
