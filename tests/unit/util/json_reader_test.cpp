// JsonReader: typed reads of untrusted JSON, the first failure named by its path.
#include "util/json_reader.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace kiln {
namespace {

using nlohmann::json;

TEST(JsonReader, ReadsEveryTypeAndLeavesAbsentAndNullAlone) {
  const json j = json::parse(R"({"s": "x", "b": true, "n": 1.5, "i": 7, "l": ["a", "b"],
                                 "m": {"k": "v"}, "z": null})");
  JsonReader r;
  std::string s = "keep", z = "keep";
  bool b = false;
  double n = 0;
  int i = 0;
  std::vector<std::string> l;
  std::map<std::string, std::string> m;
  std::optional<std::string> os, absent;
  r.read(j, "", "s", s);
  r.read(j, "", "b", b);
  r.read(j, "", "n", n);
  r.read(j, "", "i", i);
  r.read(j, "", "l", l);
  r.read(j, "", "m", m);
  r.read(j, "", "z", z);
  r.read(j, "", "s", os);
  r.read(j, "", "missing", absent);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(s, "x");
  EXPECT_TRUE(b);
  EXPECT_EQ(n, 1.5);
  EXPECT_EQ(i, 7);
  EXPECT_EQ(l, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(m.at("k"), "v");
  EXPECT_EQ(z, "keep");
  EXPECT_EQ(os, "x");
  EXPECT_FALSE(absent);
}

TEST(JsonReader, TheFirstFailureIsKeptWithItsPath) {
  const json j = json::parse(R"({"a": {"list": [{"x": 1}, {"x": "no"}]}, "b": 3})");
  JsonReader r;
  const json* a = r.object(j, "", "a");
  ASSERT_NE(a, nullptr);
  r.each_object(*a, "a", "list", [&](const json& item, const std::string& at) {
    int x = 0;
    r.read(item, at, "x", x);
  });
  std::string b;
  r.read(j, "", "b", b);  // would fail too, but the first failure stays
  EXPECT_EQ(r.error(), "a.list[1].x: expected a number");
}

TEST(JsonReader, RequiredMembersAndWholeNumbersInRange) {
  JsonReader missing;
  std::string s;
  missing.read(json::object(), "top", "name", s, true);
  EXPECT_EQ(missing.error(), "top.name: missing");

  const json j = json::parse(R"({"big": 18446744073709551615, "neg": -1, "frac": 1.5,
                                 "huge": 1e300, "ok": 4294967295})");
  for (const char* key : {"big", "neg", "frac", "huge"}) {
    JsonReader r;
    std::uint32_t u = 0;
    r.read(j, "", key, u);
    EXPECT_EQ(r.error(), std::string(key) + ": expected a whole number in range") << key;
  }
  JsonReader r;
  std::uint32_t u = 0;
  long long ll = 0;
  r.read(j, "", "ok", u);
  r.read(j, "", "neg", ll);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(u, 4294967295u);
  EXPECT_EQ(ll, -1);
}

TEST(JsonReader, NotAnObjectReadsNothing) {
  JsonReader r;
  std::string s = "keep";
  r.read(json::array({1, 2}), "", "s", s);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(s, "keep");
}

}  // namespace
}  // namespace kiln
