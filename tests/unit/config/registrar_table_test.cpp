#include <gtest/gtest.h>

#include "config_test_util.hpp"

#include "parley/config/config.hpp"

namespace parley::config {
namespace {
using namespace std::chrono_literals;

using test::errorOf;

TEST(RegistrarTable, DefaultsWhenAbsent) {
  auto c = loadString("", "parley.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->registrar.minExpires, 60s);
  EXPECT_EQ(c->registrar.maxExpires, 3600s);
  EXPECT_EQ(c->registrar.defaultExpires, 3600s);
  EXPECT_EQ(c->registrar.maxContacts, 10u);
}

TEST(RegistrarTable, ReadsEveryKey) {
  auto c = loadString("[registrar]\nmin_expires = 30\nmax_expires = 7200\ndefault_expires = 600\nmax_contacts = 3\n",
                      "parley.toml");
  ASSERT_TRUE(c) << c.error().format();
  EXPECT_EQ(c->registrar.minExpires, 30s);
  EXPECT_EQ(c->registrar.maxExpires, 7200s);
  EXPECT_EQ(c->registrar.defaultExpires, 600s);
  EXPECT_EQ(c->registrar.maxContacts, 3u);
}

TEST(RegistrarTable, MaxBelowMinIsAnErrorNamingTheKey) {
  const std::string e = errorOf("[registrar]\nmin_expires = 600\nmax_expires = 300\n");
  EXPECT_EQ(e.rfind("parley.toml:3:", 0), 0u) << e;
  EXPECT_NE(e.find("registrar.max_expires"), std::string::npos) << e;
}

TEST(RegistrarTable, DefaultOutsideMinMaxIsAnError) {
  EXPECT_NE(errorOf("[registrar]\ndefault_expires = 10\n").find("registrar.default_expires"),
            std::string::npos);
}

TEST(RegistrarTable, UnknownKeyIsAnError) {
  EXPECT_NE(errorOf("[registrar]\nmax_contact = 3\n").find("registrar.max_contact: unknown key"),
            std::string::npos)
      << errorOf("[registrar]\nmax_contact = 3\n");
}

}  // namespace
}  // namespace parley::config
