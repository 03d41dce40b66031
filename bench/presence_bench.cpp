// In-process figures for the presence agent, without sockets or sipp: heap per
// subscription and per presentity (glibc mallinfo2: bytes in allocated chunks,
// malloc overhead included), and CPU per fan-out NOTIFY (PUBLISH → compose →
// one NOTIFY per watcher → the watchers' 200s), on one core, with the same
// SipStack, Publisher, Notifier and memory stores parleyd runs.
// Run: build/bench/bench_presence [watchers] [presentities]   (default 10000 100)
// The sipp comparison with Kamailio is bench/notify_load.sh; this one is for
// quick, repeatable iteration (also under callgrind).
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "parley/presence/notifier.hpp"
#include "parley/presence/publisher.hpp"
#include "parley/sip/parser.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "parley/storage/memory_subscription_store.hpp"

namespace {
using namespace parley;
using namespace std::chrono_literals;

struct Sink : txn::TransportSink {
  void transmit(const sip::Peer&, std::string_view bytes) override {
    if (bytes.starts_with("NOTIFY ")) notifies.emplace_back(bytes);
  }
  std::vector<std::string> notifies;
};

std::size_t heapInUse() { return mallinfo2().uordblks; }

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// What sipp's subscribe_hold.xml sends, header for header.
std::string subscribeText(int watcher, int presentity) {
  const std::string w = std::to_string(watcher), p = std::to_string(presentity);
  return "SUBSCRIBE sip:user" + p + "@sip.localhost SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" + w + "-1-0\r\n"
         "From: sipp <sip:watcher" + w + "@sip.localhost>;tag=" + w + "SIPpTag001\r\n"
         "To: <sip:user" + p + "@sip.localhost>\r\n"
         "Call-ID: " + w + "-12345@127.0.0.1\r\n"
         "CSeq: 1 SUBSCRIBE\r\n"
         "Contact: <sip:watcher" + w + "@127.0.0.1:5070>\r\n"
         "Max-Forwards: 70\r\nEvent: presence\r\nAccept: application/pidf+xml\r\nExpires: 3600\r\n"
         "Content-Length: 0\r\n\r\n";
}

std::string publishText(int presentity, int n, bool open) {
  const std::string p = std::to_string(presentity), k = std::to_string(n);
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:user" + p + "@sip.localhost\">\n"
      " <tuple id=\"t" + p + "\">\n  <status><basic>" + (open ? "open" : "closed") + "</basic></status>\n"
      "  <contact priority=\"0.8\">sip:user" + p + "@127.0.0.1</contact>\n </tuple>\n</presence>\n";
  return "PUBLISH sip:user" + p + "@sip.localhost SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-p" + p + "-" + k + "\r\n"
         "From: <sip:user" + p + "@sip.localhost>;tag=p" + k + "\r\n"
         "To: <sip:user" + p + "@sip.localhost>\r\n"
         "Call-ID: pub-" + p + "-" + k + "@127.0.0.1\r\nCSeq: 1 PUBLISH\r\nMax-Forwards: 70\r\n"
         "Event: presence\r\nExpires: 3600\r\nContent-Type: application/pidf+xml\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The watcher's 200 to a NOTIFY.
std::string okFor(const std::string& notify) {
  auto m = sip::Parser{}.parseDatagram(notify);
  if (!m) std::abort();
  std::string text = "SIP/2.0 200 OK\r\n";
  for (const auto& h : m->headers())
    if (h.id == sip::HeaderId::Via || h.id == sip::HeaderId::From || h.id == sip::HeaderId::To ||
        h.id == sip::HeaderId::CallId || h.id == sip::HeaderId::CSeq)
      text.append(sip::headerName(h.id)).append(": ").append(h.value).append("\r\n");
  return text + "Content-Length: 0\r\n\r\n";
}

struct Agent {
  explicit Agent(std::size_t maxTransactions)
      : stack(options(maxTransactions, skew), sink),
        publisher(publishOptions(skew), publications),
        notifier(notifyOptions(skew), stack, subscriptions, publisher) {
    stack.registerMethod(publisher.registration());
    stack.registerMethod(notifier.registration());
    publisher.setListener([this](const presence::PublicationChange& c) { notifier.onPublication(c); });
  }
  // Both clocks run `skew` ahead of the real ones, so the bench can jump past Timer J/K.
  static simple::StackOptions options(std::size_t maxTransactions, const std::chrono::seconds& skew) {
    simple::StackOptions o;
    o.domains = {"sip.localhost"};
    o.transactions.maxTransactions = maxTransactions;
    o.clock = [&skew] { return std::chrono::steady_clock::now() + skew; };
    return o;
  }
  static presence::PublishOptions publishOptions(const std::chrono::seconds& skew) {
    presence::PublishOptions o;
    o.wallClock = [&skew] { return std::chrono::system_clock::now() + skew; };
    return o;
  }
  static presence::NotifyOptions notifyOptions(const std::chrono::seconds& skew) {
    presence::NotifyOptions o;
    o.maxSubscriptionsPerWatcher = 100000;
    o.wallClock = [&skew] { return std::chrono::system_clock::now() + skew; };
    return o;
  }
  void in(const std::string& text) { stack.onDatagram(text, from, stack.now()); }
  /// Jumps past every transaction's lifetime (Timer J 32 s) and fires what is due.
  void settle() {
    skew += 40s;
    stack.advance(stack.now());
  }

  std::chrono::seconds skew{0};  // before the members whose clocks read it
  Sink sink;
  simple::SipStack stack;
  storage::MemoryListStore<storage::Publication> publications;
  storage::MemorySubscriptionStore subscriptions;
  presence::Publisher publisher;
  presence::Notifier notifier;
  sip::Peer from{sip::Transport::Udp, "127.0.0.1", 5070, 0, 0};
};

}  // namespace

int main(int argc, char** argv) {
  const int watchers = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int presentities = argc > 2 ? std::atoi(argv[2]) : 100;
  if (watchers <= 0 || presentities <= 0) {
    std::fprintf(stderr, "usage: %s [watchers>0] [presentities>0]\n", argv[0]);
    return 2;
  }
  const int rounds = 5;
  // Room for every transaction of the run (they linger 32 s; nothing here advances time).
  Agent agent(static_cast<std::size_t>(watchers) * (rounds + 3) + 10 * presentities * (rounds + 2) + 1000);
  // Warm up allocator arenas and the Xerces reader outside the measurement.
  agent.in(publishText(presentities + 1, 0, true));

  // Heap per subscription: the store record, its indexes, the watch, its timer and the
  // lingering server/client transactions (SUBSCRIBE kept 32 s by Timer J; NOTIFY by Timer K
  // 5 s) — everything a held subscription costs right after it was made.
  std::vector<std::string> texts;
  texts.reserve(watchers);
  for (int w = 0; w < watchers; ++w) texts.push_back(subscribeText(w, w % presentities));
  std::size_t heap0 = heapInUse();
  double cpu0 = cpuSeconds();
  for (const auto& t : texts) agent.in(t);
  double cpu1 = cpuSeconds();
  std::size_t heap1 = heapInUse();
  std::vector<std::string> oks;
  oks.reserve(agent.sink.notifies.size());
  for (const auto& n : agent.sink.notifies) oks.push_back(okFor(n));
  const std::size_t initial = agent.sink.notifies.size();
  agent.sink.notifies.clear();
  const double cpuOk0 = cpuSeconds();
  for (const auto& ok : oks) agent.in(ok);
  const double cpuOk1 = cpuSeconds();
  // What the bench itself allocated since heap0 must not count: the watchers' answers.
  oks = {};
  agent.sink.notifies = {};
  agent.settle();
  const std::size_t heap2 = heapInUse();
  std::printf("subscriptions: %d on %d presentities; NOTIFYs after SUBSCRIBE: %zu\n", watchers, presentities, initial);
  std::printf("  SUBSCRIBE + its NOTIFY + the NOTIFY's 200: %.2f us CPU each\n",
              ((cpu1 - cpu0) + (cpuOk1 - cpuOk0)) * 1e6 / watchers);
  std::printf("  heap per subscription: %.0f B held (%.0f B right after it was made, with its two\n"
              "    transactions: the SUBSCRIBE's lingers 32 s for retransmissions, the NOTIFY's 5 s)\n",
              (static_cast<double>(heap2) - static_cast<double>(heap0)) / watchers,
              static_cast<double>(heap1 - heap0) / watchers);
  std::printf("  the store's share: records %zu, resources %zu; watches %zu\n", agent.subscriptions.size(),
              agent.subscriptions.resources(), agent.notifier.watches());

  // Fan-out: each round publishes a new state to every presentity; every watcher gets
  // one NOTIFY per round and answers it.
  double fanCpu = 0;
  std::size_t notifies = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::string> pubs;
    for (int p = 0; p < presentities; ++p) pubs.push_back(publishText(p, r, r % 2 == 0));
    const double a = cpuSeconds();
    for (const auto& t : pubs) agent.in(t);
    const double b = cpuSeconds();
    oks.clear();
    for (const auto& n : agent.sink.notifies) oks.push_back(okFor(n));
    notifies += agent.sink.notifies.size();
    agent.sink.notifies.clear();
    const double c = cpuSeconds();
    for (const auto& ok : oks) agent.in(ok);
    fanCpu += (b - a) + (cpuSeconds() - c);
  }
  std::printf("fan-out: %d rounds x %d PUBLISH -> %zu NOTIFYs (expected %d)\n", rounds, presentities, notifies,
              rounds * watchers);
  std::printf("  per NOTIFY (its share of PUBLISH + compose, build, send, 200 received): %.2f us CPU\n",
              fanCpu * 1e6 / static_cast<double>(notifies));

  // Heap per presentity: distinct presentities, one publication each, nobody watching.
  agent.settle();
  heap0 = heapInUse();
  const int published = 10000;
  for (int p = 0; p < published; ++p) agent.in(publishText(1000000 + p, 0, true));
  heap1 = heapInUse();
  agent.settle();
  std::printf("presentities: heap per published presentity: %.0f B held (%.0f B with its PUBLISH transaction)\n",
              (static_cast<double>(heapInUse()) - static_cast<double>(heap0)) / published,
              static_cast<double>(heap1 - heap0) / published);
  return 0;
}
