// The SipStack + Publisher + Notifier harness the notifier tests share: a real
// stack on a recording transport, fake clocks, and the watcher's side of a
// subscription dialog (SUBSCRIBE, the NOTIFYs that came, the answers).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "parley/presence/notifier.hpp"
#include "parley/sip/parser.hpp"
#include "parley/storage/memory_list_store.hpp"
#include "parley/storage/memory_subscription_store.hpp"
#include "sip_test_support.hpp"

namespace parley::presence::fixture {
using namespace std::chrono_literals;

inline const sip::Peer kWatcher{sip::Transport::Udp, "192.0.2.7", 5070, 0, 0};

inline sip::Message parse(std::string_view bytes) {
  auto m = sip::Parser{}.parseDatagram(bytes);
  EXPECT_TRUE(m) << bytes;
  return m ? std::move(*m) : sip::Message{};
}

inline std::string header(const sip::Message& m, sip::HeaderId id) { return std::string(m.header(id).value_or("")); }

// One subscription dialog as the watcher sees it.
struct Dialog {
  std::string callId, fromTag, toTag;
  std::uint32_t cseq = 1;
};

class NotifierFixture : public ::testing::Test {
 protected:
  /// `domains`: what the core serves; the notify options as the derived test wants them.
  NotifierFixture(std::vector<std::string> domains, std::size_t maxSubscriptionsPerWatcher,
                  std::function<std::string(const sip::Peer&)> sentBy)
      : stack_(stackOptions(std::move(domains)), sink_),
        publisher_(publishOptions(), publications_),
        notifier_(notifyOptions(maxSubscriptionsPerWatcher, std::move(sentBy)), stack_, subscriptions_, publisher_) {
    stack_.registerMethod(publisher_.registration());
    stack_.registerMethod(notifier_.registration());
    publisher_.setListener([this](const PublicationChange& c) { notifier_.onPublication(c); });
  }
  simple::StackOptions stackOptions(std::vector<std::string> domains) {
    simple::StackOptions o;
    o.domains = std::move(domains);
    o.clock = [this] { return now_; };
    return o;
  }
  PublishOptions publishOptions() {
    PublishOptions o;
    o.expiry = {60s, 3600s, 3600s};
    o.wallClock = [this] { return wall_; };
    return o;
  }
  NotifyOptions notifyOptions(std::size_t maxSubscriptionsPerWatcher, std::function<std::string(const sip::Peer&)> sentBy) {
    NotifyOptions o;
    o.expiry = {60s, 3600s, 3600s};
    o.maxSubscriptionsPerWatcher = maxSubscriptionsPerWatcher;
    o.wallClock = [this] { return wall_; };
    o.sentBy = std::move(sentBy);
    return o;
  }

  // Moves both clocks; fires what is due.
  void advance(std::chrono::milliseconds d) {
    now_ += d;
    wall_ += d;
    stack_.advance(now_);
  }

  void deliver(const std::string& text, const sip::Peer& from) { stack_.onDatagram(text, from, now_); }

  // A SUBSCRIBE in dialog `d` (a new one while d has no Call-ID) from `fromUri` at `peer`;
  // returns the response. `rows` are extra header rows ("\n"-separated); no Contact when
  // `contact` is empty.
  sip::Message subscribeAs(Dialog& d, std::string_view rows, std::string_view ruri, std::string_view to,
                           std::string_view fromUri, std::string_view contact, const sip::Peer& peer) {
    const std::string n = std::to_string(++n_);
    if (d.callId.empty()) {
      d.callId = "sub-" + n;
      d.fromTag = "w" + n;
    }
    std::string text = "SUBSCRIBE " + std::string(ruri) +
                       " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK-s" + n +
                       "\r\nMax-Forwards: 70\r\nTo: <" + std::string(to) + ">" +
                       (d.toTag.empty() ? "" : ";tag=" + d.toTag) + "\r\nFrom: <" + std::string(fromUri) +
                       ">;tag=" + d.fromTag + "\r\nCall-ID: " + d.callId + "\r\nCSeq: " + std::to_string(d.cseq++) +
                       " SUBSCRIBE\r\n";
    if (!contact.empty()) text += "Contact: " + std::string(contact) + "\r\n";
    parley::test::appendRows(text, rows);
    text += "Content-Length: 0\r\n\r\n";
    const std::size_t before = sink_.sent.size();
    deliver(text, peer);
    EXPECT_GT(sink_.sent.size(), before);
    for (std::size_t i = before; i < sink_.sent.size(); ++i) {
      if (sink_.sent[i].bytes.starts_with("SIP/2.0")) {
        auto r = parse(sink_.sent[i].bytes);
        if (r.statusCode() < 300 && d.toTag.empty()) d.toTag = std::string(r.to().tag());
        return r;
      }
    }
    ADD_FAILURE() << "no response";
    return {};
  }

  // NOTIFYs sent since index `from` (and moves `from` past them).
  std::vector<sip::Message> notifies(std::size_t& from) {
    std::vector<sip::Message> out;
    for (; from < sink_.sent.size(); ++from)
      if (sink_.sent[from].bytes.starts_with("NOTIFY ")) out.push_back(parse(sink_.sent[from].bytes));
    return out;
  }
  std::vector<sip::Message> newNotifies() { return notifies(seen_); }

  // The watcher's answer to a NOTIFY.
  static std::string answerText(const sip::Message& notify, int code) {
    std::string text = "SIP/2.0 " + std::to_string(code) + " Whatever\r\n";
    for (const auto& h : notify.headers())
      if (h.id == sip::HeaderId::Via || h.id == sip::HeaderId::From || h.id == sip::HeaderId::CallId ||
          h.id == sip::HeaderId::CSeq)
        text += std::string(sip::headerName(h.id)) + ": " + std::string(h.value) + "\r\n";
    text += "To: " + header(notify, sip::HeaderId::To) + "\r\nContent-Length: 0\r\n\r\n";
    return text;
  }
  void answer(const sip::Message& notify, int code) { deliver(answerText(notify, code), kWatcher); }

  txn::TimePoint now_ = txn::TimePoint{} + 1000s;
  storage::WallTime wall_ = storage::WallTime{} + std::chrono::hours(24 * 365 * 50);
  parley::test::RecordingSink sink_;
  simple::SipStack stack_;
  storage::MemoryListStore<storage::Publication> publications_;
  storage::MemorySubscriptionStore subscriptions_;
  Publisher publisher_;
  Notifier notifier_;
  std::size_t seen_ = 0;
  int n_ = 0;
};

}  // namespace parley::presence::fixture
