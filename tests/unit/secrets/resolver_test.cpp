#include "secrets/resolver.h"

#include <gtest/gtest.h>

#include <map>

namespace kiln::secrets {
namespace {

TEST(SecretReference, NameOnly) {
  auto r = parse_secret_reference("TestSecret");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->secret_id, "TestSecret");
  EXPECT_EQ(r->json_key, "");
  EXPECT_EQ(r->version_stage, "");
  EXPECT_EQ(r->version_id, "");
}

TEST(SecretReference, AllFields) {
  auto r = parse_secret_reference("db:password:AWSPREVIOUS");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->secret_id, "db");
  EXPECT_EQ(r->json_key, "password");
  EXPECT_EQ(r->version_stage, "AWSPREVIOUS");
  auto v = parse_secret_reference("db:::0b3c2f7e-1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->json_key, "");
  EXPECT_EQ(v->version_id, "0b3c2f7e-1");
}

TEST(SecretReference, ArnKeepsItsColons) {
  auto r = parse_secret_reference("arn:aws:secretsmanager:us-east-1:123:secret:x-AbCdEf:key::v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->secret_id, "arn:aws:secretsmanager:us-east-1:123:secret:x-AbCdEf");
  EXPECT_EQ(r->json_key, "key");
  EXPECT_EQ(r->version_stage, "");
  EXPECT_EQ(r->version_id, "v1");
  auto bare = parse_secret_reference("arn:aws:secretsmanager:us-east-1:123:secret:x-AbCdEf");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->secret_id, "arn:aws:secretsmanager:us-east-1:123:secret:x-AbCdEf");
  EXPECT_EQ(bare->json_key, "");
}

TEST(SecretReference, Refusals) {
  EXPECT_EQ(parse_secret_reference("a:b:c:d:e").error().message(),
            "InvalidParameterException: too many fields in secrets-manager reference a:b:c:d:e "
            "(secret-id:json-key:version-stage:version-id)");
  EXPECT_EQ(parse_secret_reference("a::AWSCURRENT:v1").error().message(),
            "InvalidParameterException: version-stage and version-id are mutually exclusive in "
            "a::AWSCURRENT:v1");
  EXPECT_EQ(parse_secret_reference(":k").error().message(),
            "InvalidParameterException: empty secret-id in :k");
  EXPECT_FALSE(parse_secret_reference("arn:aws:secretsmanager:us-east-1"));
}

// Answers from a map keyed by "id|stage|version"; records what was asked.
class MapResolver final : public SecretResolver {
 public:
  std::map<std::string, std::string> secrets;
  std::string asked;
  Result<std::string> parameter(const std::string& name) override {
    return fail(ErrorCode::kNotFound, "parameter does not exist: " + name);
  }
  Result<std::string> secret_text(const SecretReference& ref) override {
    asked = ref.secret_id + "|" + ref.version_stage + "|" + ref.version_id;
    const auto it = secrets.find(asked);
    if (it == secrets.end())
      return fail(ErrorCode::kNotFound, "Secrets Manager can't find the specified secret.");
    return it->second;
  }
};

TEST(SecretResolver, JsonKeyLookup) {
  MapResolver m;
  m.secrets["db||"] = R"({"user":"admin","password":"s3cr3t-pass","port":5432})";
  EXPECT_EQ(*m.secret("db:password"), "s3cr3t-pass");
  EXPECT_EQ(*m.secret("db:port"), "5432");  // non-strings as their JSON text
  EXPECT_EQ(*m.secret("db"), R"({"user":"admin","password":"s3cr3t-pass","port":5432})");
  EXPECT_EQ(m.secret("db:nope").error().message(), "json key nope not found in secret db");
  m.secrets["plain||"] = "not json";
  EXPECT_EQ(m.secret("plain:k").error().message(),
            "secret plain is not a JSON object, so it has no key k");
}

TEST(SecretResolver, PassesStageAndVersion) {
  MapResolver m;
  m.secrets["db|AWSPREVIOUS|"] = "old-value-1";
  EXPECT_EQ(*m.secret("db::AWSPREVIOUS"), "old-value-1");
  EXPECT_EQ(m.asked, "db|AWSPREVIOUS|");
  EXPECT_FALSE(m.secret("db:::v9"));
  EXPECT_EQ(m.asked, "db||v9");
}

TEST(SecretResolver, ErrorsNameTheException) {
  MapResolver m;
  EXPECT_EQ(m.secret("missing").error().message(),
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
}

TEST(SecretResolver, OverlayAnswersFirst) {
  MapResolver m;
  m.secrets["db||"] = "from-store";
  OverlaySecretResolver o({{"/p/one", "one-off-value"}, {"tok", R"({"k":"vv"})"}}, m);
  EXPECT_EQ(*o.parameter("/p/one"), "one-off-value");
  EXPECT_EQ(o.parameter("/p/two").error().message(), "parameter does not exist: /p/two");
  EXPECT_EQ(*o.secret("tok:k"), "vv");
  EXPECT_EQ(*o.secret("db"), "from-store");
}

TEST(SecretResolver, NullFailsWithCodeBuildWords) {
  NullSecretResolver n;
  EXPECT_EQ(n.parameter("/x").error().message(),
            "parameter does not exist: /x (this run has no parameter store)");
  EXPECT_EQ(n.secret("s").error().message(),
            "ResourceNotFoundException: Secrets Manager can't find the specified secret. (this "
            "run has no secrets manager)");
}

TEST(SecretResolver, StoreResolver) {
  FakeClock clock;
  auto store = memory_secret_store(clock);
  PutParameterInput p;
  p.name = "/app/token";
  p.type = ParamType::kSecureString;
  p.value = "param-value-123";
  ASSERT_TRUE(store->put_parameter(p));
  NewSecretValue v;
  v.secret_string = R"({"password":"first-pass-1"})";
  ASSERT_TRUE(store->create_secret("db", "", "", v));
  v.secret_string = R"({"password":"second-pass-2"})";
  ASSERT_TRUE(store->put_secret_value("db", v, {}));

  StoreSecretResolver r(*store);
  EXPECT_EQ(*r.parameter("/app/token"), "param-value-123");
  EXPECT_EQ(r.parameter("/app/none").error().message(), "parameter does not exist: /app/none");
  EXPECT_EQ(*r.secret("db:password"), "second-pass-2");
  EXPECT_EQ(*r.secret("db:password:AWSPREVIOUS"), "first-pass-1");
  EXPECT_EQ(r.secret("nope").error().message(),
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
}

}  // namespace
}  // namespace kiln::secrets
