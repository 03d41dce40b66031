#include <gtest/gtest.h>

#include "config_test_util.hpp"

#include "parley/config/config.hpp"

namespace parley::config {
namespace {
using namespace std::chrono_literals;

using test::errorOf;

TEST(PresenceTable, DefaultsWhenAbsent) {
  auto c = loadString("", "parley.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->presence.minExpires, 60s);
  EXPECT_EQ(c->presence.maxExpires, 3600s);
  EXPECT_EQ(c->presence.maxSubscriptionsPerWatcher, 1000u);
  EXPECT_EQ(c->presence.defaultPolicy, "allow");
}

TEST(PresenceTable, ReadsSubscriptionLimitAndPolicy) {
  auto c = loadString("[presence]\nmax_subscriptions_per_watcher = 50\ndefault_policy = \"allow\"\n", "parley.toml");
  ASSERT_TRUE(c) << c.error().format();
  EXPECT_EQ(c->presence.maxSubscriptionsPerWatcher, 50u);
}

TEST(PresenceTable, AnyPolicyButAllowIsAnErrorNamingLineAndKey) {
  const std::string e = errorOf("[presence]\n\ndefault_policy = \"block\"\n");
  EXPECT_EQ(e.rfind("parley.toml:3:", 0), 0u) << e;
  EXPECT_NE(e.find("presence.default_policy"), std::string::npos) << e;
  EXPECT_NE(e.find("expected allow"), std::string::npos) << e;
}

TEST(PresenceTable, SubscriptionLimitOutOfRangeIsAnError) {
  EXPECT_NE(errorOf("[presence]\nmax_subscriptions_per_watcher = 0\n").find("presence.max_subscriptions_per_watcher"),
            std::string::npos);
}

}  // namespace
}  // namespace parley::config
