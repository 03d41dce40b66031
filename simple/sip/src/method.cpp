#include "parley/sip/method.hpp"

#include <array>
#include <utility>

namespace parley::sip {
namespace {
constexpr std::array<std::pair<std::string_view, Method>, 14> kMethods{{
    {"INVITE", Method::Invite},       {"ACK", Method::Ack},
    {"BYE", Method::Bye},             {"CANCEL", Method::Cancel},
    {"OPTIONS", Method::Options},     {"REGISTER", Method::Register},
    {"SUBSCRIBE", Method::Subscribe}, {"NOTIFY", Method::Notify},
    {"PUBLISH", Method::Publish},     {"MESSAGE", Method::Message},
    {"INFO", Method::Info},           {"PRACK", Method::Prack},
    {"UPDATE", Method::Update},       {"REFER", Method::Refer},
}};
}  // namespace

Method methodFromToken(std::string_view token) {
  for (const auto& [name, m] : kMethods)
    if (name == token) return m;
  return Method::Unknown;
}

std::string_view methodName(Method m) {
  for (const auto& [name, mm] : kMethods)
    if (mm == m) return name;
  return {};
}

}  // namespace parley::sip
