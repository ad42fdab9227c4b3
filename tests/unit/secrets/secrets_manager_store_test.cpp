// The secrets manager half of the SecretStore contract, on the in-memory store: lookup by name
// and ARN, versions and staging labels, idempotent tokens, deletion and its recovery window.
#include <gtest/gtest.h>

#include <chrono>

#include "secrets/secret_store.h"

namespace kiln::secrets {
namespace {

using std::chrono::milliseconds;
constexpr std::int64_t kStart = 1700000000000;  // FakeClock's epoch, in ms
constexpr std::int64_t kDay = 86400000;
const std::string kArnPrefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";
const char* const kNoSecret = "Secrets Manager can't find the specified secret.";
const char* const kMarked =
    "You can't perform this operation on the secret because it was marked for deletion.";

NewSecretValue text(const std::string& s, const std::string& token = "") {
  NewSecretValue v;
  v.secret_string = s;
  v.client_request_token = token;
  return v;
}

class SecretsManagerStoreTest : public ::testing::Test {
 protected:
  Secret create(const std::string& name, const std::optional<std::string>& value,
                const std::string& token = "") {
    NewSecretValue v;
    v.secret_string = value;
    v.client_request_token = token;
    auto r = store_->create_secret(name, "desc", "alias/k", v);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : Secret{};
  }
  SecretVersionInfo put(const std::string& id, const std::string& value,
                        const std::string& token = "", std::vector<std::string> stages = {}) {
    auto r = store_->put_secret_value(id, text(value, token), stages);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : SecretVersionInfo{};
  }
  // The value of the version holding `stage`, or the error's message.
  std::string at(const std::string& id, const std::string& stage = "") {
    auto r = store_->get_secret_value(id, "", stage);
    if (!r) return "error: " + r.error().message();
    return r->secret_string.value_or("(binary)");
  }

  FakeClock clock_;
  std::unique_ptr<SecretStore> store_ = memory_secret_store(clock_);
};

TEST_F(SecretsManagerStoreTest, CreateStagesTheFirstVersionCurrent) {
  const Secret s = create("db-pass", "s3cret");
  EXPECT_EQ(s.name, "db-pass");
  EXPECT_EQ(s.description, "desc");
  EXPECT_EQ(s.kms_key_id, "alias/k");
  EXPECT_EQ(s.created_ms, kStart);
  EXPECT_EQ(s.deleted_ms, 0);
  ASSERT_EQ(s.arn_suffix.size(), 6U);
  for (const char c : s.arn_suffix) EXPECT_NE(std::isalnum(static_cast<unsigned char>(c)), 0);
  ASSERT_EQ(s.versions.size(), 1U);
  const std::string& id = s.versions[0].version_id;
  ASSERT_EQ(id.size(), 36U);
  EXPECT_EQ(id[14], '4') << "not a UUID v4: " << id;
  EXPECT_EQ(s.versions[0].stages, std::vector<std::string>{"AWSCURRENT"});

  auto v = store_->get_secret_value("db-pass", "", "");
  ASSERT_TRUE(v) << v.error().describe();
  EXPECT_EQ(v->name, "db-pass");
  EXPECT_EQ(v->arn_suffix, s.arn_suffix);
  EXPECT_EQ(v->version_id, id);
  EXPECT_EQ(v->secret_string, "s3cret");
  EXPECT_EQ(v->secret_binary, std::nullopt);
  EXPECT_EQ(v->stages, std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(v->created_ms, kStart);
}

TEST_F(SecretsManagerStoreTest, CreateUsesTheClientTokenAsVersionId) {
  const Secret s = create("t", "v", "token-0001");
  ASSERT_EQ(s.versions.size(), 1U);
  EXPECT_EQ(s.versions[0].version_id, "token-0001");
}

TEST_F(SecretsManagerStoreTest, CreateTakenNameIsAlreadyExists) {
  create("dup", "1");
  auto again = store_->create_secret("dup", "", "", text("2"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message(), "The operation failed because the secret dup already exists.");
  EXPECT_EQ(at("dup"), "1");
}

TEST_F(SecretsManagerStoreTest, CreateWithoutValueHasNoVersion) {
  EXPECT_TRUE(create("empty", std::nullopt).versions.empty());
  EXPECT_EQ(at("empty"),
            "error: Secrets Manager can't find the specified secret value for staging label: "
            "AWSCURRENT");
  put("empty", "now");
  EXPECT_EQ(at("empty"), "now");
}

TEST_F(SecretsManagerStoreTest, CreateWithBothKindsIsRefusedAndMakesNothing) {
  NewSecretValue v = text("s");
  v.secret_binary = "b";
  auto r = store_->create_secret("both", "", "", v);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->describe_secret("both").error().code(), ErrorCode::kNotFound);
}

TEST_F(SecretsManagerStoreTest, BinaryValuesKeepEveryByte) {
  NewSecretValue v;
  v.secret_binary = std::string("\0\xff\x01s", 4);
  ASSERT_TRUE(store_->create_secret("bin", "", "", v));
  auto got = store_->get_secret_value("bin", "", "");
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->secret_binary, std::string("\0\xff\x01s", 4));
  EXPECT_EQ(got->secret_string, std::nullopt);
}

TEST_F(SecretsManagerStoreTest, FoundByFullAndPartialArn) {
  const Secret s = create("my-db-pass", "v");
  EXPECT_EQ(at(kArnPrefix + "my-db-pass-" + s.arn_suffix), "v");
  EXPECT_EQ(at(kArnPrefix + "my-db-pass"), "v");
  const std::string other = s.arn_suffix == "AAAAAA" ? "BBBBBB" : "AAAAAA";
  EXPECT_EQ(at(kArnPrefix + "my-db-pass-" + other), std::string("error: ") + kNoSecret);
  EXPECT_EQ(at("arn:aws:ssm:us-east-1:123456789012:parameter/my-db-pass"),
            std::string("error: ") + kNoSecret);
  auto d = store_->describe_secret(kArnPrefix + "my-db-pass-" + s.arn_suffix);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->name, "my-db-pass");
}

TEST_F(SecretsManagerStoreTest, MissingSecretIsNotFound) {
  auto r = store_->get_secret_value("nope", "", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), kNoSecret);
  EXPECT_EQ(store_->put_secret_value("nope", text("v"), {}).error().message(), kNoSecret);
  EXPECT_EQ(store_->delete_secret("nope", 7, false).error().code(), ErrorCode::kNotFound);
}

TEST_F(SecretsManagerStoreTest, PutRotatesCurrentToPrevious) {
  const std::string v1 = create("r", "one").versions.at(0).version_id;
  clock_.advance(milliseconds(1000));
  const SecretVersionInfo v2 = put("r", "two");
  EXPECT_EQ(v2.stages, std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(v2.created_ms, kStart + 1000);
  EXPECT_EQ(at("r"), "two");
  EXPECT_EQ(at("r", "AWSPREVIOUS"), "one");
  const SecretVersionInfo v3 = put("r", "three");
  EXPECT_EQ(at("r", "AWSCURRENT"), "three");
  EXPECT_EQ(at("r", "AWSPREVIOUS"), "two");

  auto d = store_->describe_secret("r");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->changed_ms, kStart + 1000);
  ASSERT_EQ(d->versions.size(), 3U);  // creation order
  EXPECT_EQ(d->versions[0].version_id, v1);
  EXPECT_TRUE(d->versions[0].stages.empty());
  EXPECT_EQ(d->versions[1].stages, std::vector<std::string>{"AWSPREVIOUS"});
  EXPECT_EQ(d->versions[2].version_id, v3.version_id);

  auto old = store_->get_secret_value("r", v1, "");
  ASSERT_TRUE(old) << old.error().describe();
  EXPECT_EQ(old->secret_string, "one");
  EXPECT_TRUE(old->stages.empty());
}

TEST_F(SecretsManagerStoreTest, MissingVersionOrStageIsNotFound) {
  create("s", "v");
  auto by_id = store_->get_secret_value("s", "no-such-version", "");
  ASSERT_FALSE(by_id);
  EXPECT_EQ(by_id.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(by_id.error().message(),
            "Secrets Manager can't find the specified secret value for VersionId: "
            "no-such-version");
  auto by_stage = store_->get_secret_value("s", "", "AWSPENDING");
  ASSERT_FALSE(by_stage);
  EXPECT_EQ(by_stage.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(by_stage.error().message(),
            "Secrets Manager can't find the specified secret value for staging label: "
            "AWSPENDING");
}

TEST_F(SecretsManagerStoreTest, PutWithOtherStagesLeavesCurrentAlone) {
  create("p", "one");
  const SecretVersionInfo pending = put("p", "two", "", {"AWSPENDING"});
  EXPECT_EQ(pending.stages, std::vector<std::string>{"AWSPENDING"});
  EXPECT_EQ(at("p"), "one");
  EXPECT_EQ(at("p", "AWSPENDING"), "two");
  auto both = store_->get_secret_value("p", pending.version_id, "AWSPENDING");
  ASSERT_TRUE(both) << both.error().describe();
  EXPECT_EQ(both->secret_string, "two");
  auto mismatch = store_->get_secret_value("p", pending.version_id, "AWSCURRENT");
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SecretsManagerStoreTest, SameTokenSameValueIsIdempotent) {
  create("i", "one");
  const SecretVersionInfo first = put("i", "two", "tok-1");
  EXPECT_EQ(first.version_id, "tok-1");
  clock_.advance(milliseconds(1000));
  const SecretVersionInfo again = put("i", "two", "tok-1");
  EXPECT_EQ(again.version_id, "tok-1");
  EXPECT_EQ(again.created_ms, first.created_ms);
  EXPECT_EQ(again.stages, std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(at("i", "AWSPREVIOUS"), "one") << "a retry must not rotate again";
  EXPECT_EQ(store_->describe_secret("i")->versions.size(), 2U);

  auto other = store_->put_secret_value("i", text("three", "tok-1"), {});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(other.error().message(),
            "The client request token tok-1 is already used by a version of this secret with a "
            "different value.");
  EXPECT_EQ(at("i"), "two");
}

TEST_F(SecretsManagerStoreTest, UpdateChangesMetadataAndOptionallyTheValue) {
  create("u", "one");
  clock_.advance(milliseconds(2000));
  auto meta = store_->update_secret("u", "new desc", std::nullopt, std::nullopt);
  ASSERT_TRUE(meta) << meta.error().describe();
  EXPECT_EQ(meta->description, "new desc");
  EXPECT_EQ(meta->kms_key_id, "alias/k");
  EXPECT_EQ(meta->changed_ms, kStart + 2000);
  EXPECT_EQ(meta->versions.size(), 1U);
  auto value = store_->update_secret("u", std::nullopt, "alias/other", text("two"));
  ASSERT_TRUE(value) << value.error().describe();
  EXPECT_EQ(value->description, "new desc");
  EXPECT_EQ(value->kms_key_id, "alias/other");
  EXPECT_EQ(value->versions.size(), 2U);
  EXPECT_EQ(at("u"), "two");
  EXPECT_EQ(at("u", "AWSPREVIOUS"), "one");
}

TEST_F(SecretsManagerStoreTest, DeleteWithRecoveryWindow) {
  create("d", "v");
  clock_.advance(milliseconds(1000));
  auto del = store_->delete_secret("d", 7, false);
  ASSERT_TRUE(del) << del.error().describe();
  EXPECT_EQ(del->deleted_ms, kStart + 1000 + 7 * kDay);

  EXPECT_EQ(at("d"), std::string("error: ") + kMarked);
  EXPECT_EQ(store_->get_secret_value("d", "", "").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->put_secret_value("d", text("w"), {}).error().message(), kMarked);
  EXPECT_EQ(store_->update_secret("d", "x", std::nullopt, std::nullopt).error().message(), kMarked);
  EXPECT_EQ(store_->delete_secret("d", 7, false).error().message(), kMarked);
  EXPECT_EQ(store_->create_secret("d", "", "", text("w")).error().code(),
            ErrorCode::kAlreadyExists);
  auto described = store_->describe_secret("d");
  ASSERT_TRUE(described);
  EXPECT_EQ(described->deleted_ms, kStart + 1000 + 7 * kDay);
  EXPECT_EQ(store_->list_secrets()->size(), 1U);

  clock_.advance(milliseconds(7 * kDay));  // the window has passed: gone for good
  EXPECT_EQ(store_->describe_secret("d").error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->list_secrets()->empty());
  create("d", "reborn");
  EXPECT_EQ(at("d"), "reborn");
}

TEST_F(SecretsManagerStoreTest, RecoveryWindowMustBe7To30Days) {
  create("w", "v");
  for (const int days : {6, 31, 0}) {
    auto r = store_->delete_secret("w", days, false);
    ASSERT_FALSE(r) << days;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(),
              "The recovery window must be between 7 and 30 days (inclusive).");
  }
  auto r = store_->delete_secret("w", 30, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deleted_ms, kStart + 30 * kDay);
}

TEST_F(SecretsManagerStoreTest, ForceDeleteRemovesAtOnce) {
  create("f", "v");
  create("g", "v");
  ASSERT_TRUE(store_->delete_secret("g", 7, false));
  auto del = store_->delete_secret("f", 0, true);
  ASSERT_TRUE(del) << del.error().describe();
  EXPECT_EQ(del->deleted_ms, kStart);
  EXPECT_EQ(store_->describe_secret("f").error().message(), kNoSecret);
  ASSERT_TRUE(store_->delete_secret("g", 0, true)) << "a marked secret can still be forced";
  EXPECT_TRUE(store_->list_secrets()->empty());
  create("f", "again");
  EXPECT_EQ(at("f"), "again");
}

TEST_F(SecretsManagerStoreTest, ListSecretsSortedWithVersions) {
  create("b", "1");
  create("a", std::nullopt);
  put("b", "2");
  auto all = store_->list_secrets();
  ASSERT_TRUE(all) << all.error().describe();
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ(all->at(0).name, "a");
  EXPECT_TRUE(all->at(0).versions.empty());
  EXPECT_EQ(all->at(1).name, "b");
  ASSERT_EQ(all->at(1).versions.size(), 2U);
  EXPECT_EQ(all->at(1).versions[1].stages, std::vector<std::string>{"AWSCURRENT"});
}

TEST_F(SecretsManagerStoreTest, KeepsAtMostAHundredUnstagedVersions) {
  create("many", "0");
  for (int i = 1; i <= 105; ++i) put("many", std::to_string(i));
  auto d = store_->describe_secret("many");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->versions.size(), 102U);  // 100 unstaged + AWSPREVIOUS + AWSCURRENT
  EXPECT_EQ(at("many"), "105");
  EXPECT_EQ(at("many", "AWSPREVIOUS"), "104");
}

}  // namespace
}  // namespace kiln::secrets
