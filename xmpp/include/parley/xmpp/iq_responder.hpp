// The IQs the component answers by itself (pure: Tag in, Tag out).
//   get/set with exactly one child, else bad-request (RFC 6120 §8.2.3);
//   disco#info (XEP-0030): the component JID → identity <category>/<type> and
//     the features; a user's bare JID → account/registered, a full JID →
//     client/phone; a node → item-not-found;
//   disco#items → empty; XEP-0199 ping → empty result;
//   XEP-0092 version, to the component JID only;
//   anything else → service-unavailable (RFC 6120 §8.4).
//   result and error IQs are never answered (§8.2.3, §8.3.1).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "parley/xmpp/component.hpp"

namespace gloox {
class Tag;
}

namespace parley::xmpp::detail {

class IqResponder {
 public:
  explicit IqResponder(const ComponentOptions& options);
  /// The answer to `iq`, or nullptr when it must not be answered.
  [[nodiscard]] std::unique_ptr<gloox::Tag> answer(const gloox::Tag& iq) const;
  /// The features disco#info lists for the component JID.
  [[nodiscard]] const std::vector<std::string>& features() const { return features_; }

 private:
  std::string domain_;
  std::string category_, type_, name_;
  std::string softwareName_, softwareVersion_;
  std::vector<std::string> features_;
};

}  // namespace parley::xmpp::detail
