// AuthorizingSecretResolver over a fake inner resolver and a real keys.json in a temp folder:
// a build reads only what its project's key may read, with IAM's message, and never asks the
// store for what is denied.
#include "server/secret_access.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include "auth/keys.h"

namespace kiln::server {
namespace {

namespace fs = std::filesystem;

// Answers every name with "value-of-NAME" and counts the lookups that reached it.
class FakeStore final : public secrets::SecretResolver {
 public:
  Result<std::string> parameter(const std::string& name) override {
    ++asked;
    return "value-of-" + name;
  }
  Result<std::string> secret_text(const secrets::SecretReference& ref) override {
    ++asked;
    return "value-of-" + ref.secret_id;
  }
  int asked = 0;
};

constexpr const char* kTeamA = R"({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ssm:GetParameter",
     "Resource": "arn:aws:ssm:eu-west-1:123456789012:parameter/team-a/*"},
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-a/*"},
    {"Effect": "Deny", "Action": "ssm:GetParameter",
     "Resource": "arn:aws:ssm:eu-west-1:123456789012:parameter/team-a/locked"}]})";

class SecretAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-secret-access-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    keys_ = auth::KeyFile::empty(dir_ / "keys.json");
    auto policy = auth::Policy::parse(kTeamA);
    ASSERT_TRUE(policy) << policy.error().describe();
    auto key = keys_->create("team-a", *policy);
    ASSERT_TRUE(key) << key.error().describe();
    key_id_ = key->id;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "kept " << dir_ << "\n";
      return;
    }
    fs::remove_all(dir_);
  }
  AuthorizingSecretResolver resolver(const std::string& key_id) {
    api::ArnContext arns{"eu-west-1", "123456789012", [](const std::string& id) -> std::string {
                           if (id != "team-a/db") return "";
                           return "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + id +
                                  "-AbCdEf";
                         }};
    return AuthorizingSecretResolver({key_id, dir_ / "keys.json", arns}, inner_);
  }
  std::string denied(const std::string& action, const std::string& resource) {
    return "AccessDeniedException: User: arn:aws:iam::123456789012:user/team-a is not "
           "authorized to perform: " +
           action + " on resource: " + resource + " because no identity-based policy allows the " +
           action + " action";
  }

  fs::path dir_;
  std::unique_ptr<auth::KeyFile> keys_;
  std::string key_id_;
  FakeStore inner_;
};

TEST_F(SecretAccessTest, AllowedReadsReachTheStore) {
  auto r = resolver(key_id_);
  auto p = r.parameter("/team-a/x");
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(*p, "value-of-/team-a/x");
  auto s = r.secret("team-a/db");
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(*s, "value-of-team-a/db");
  EXPECT_EQ(inner_.asked, 2);
}

TEST_F(SecretAccessTest, AParameterOutsideThePolicyIsDeniedInIamWords) {
  auto r = resolver(key_id_);
  auto p = r.parameter("/team-b/secret");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kPermission);
  EXPECT_EQ(
      p.error().message(),
      denied("ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/team-b/secret"));
  EXPECT_EQ(inner_.asked, 0);  // not even whether it exists
}

TEST_F(SecretAccessTest, AnExplicitDenyWins) {
  auto p = resolver(key_id_).parameter("/team-a/locked");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(),
            "AccessDeniedException: User: arn:aws:iam::123456789012:user/team-a is not "
            "authorized to perform: ssm:GetParameter on resource: "
            "arn:aws:ssm:eu-west-1:123456789012:parameter/team-a/locked with an explicit deny in "
            "an identity-based policy");
}

TEST_F(SecretAccessTest, SecretsAreCheckedOnTheirStoredArn) {
  auto r = resolver(key_id_);
  // By ARN, with a JSON key: the check is on the secret, the reference's parts aside.
  auto s = r.secret("team-b/db:password");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            denied("secretsmanager:GetSecretValue",
                   "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-b/db"));
  EXPECT_EQ(inner_.asked, 0);
}

TEST_F(SecretAccessTest, ParameterArnsAndNamesWithoutSlashAreTheSameResource) {
  auto r = resolver(key_id_);
  EXPECT_TRUE(r.parameter("team-a/plain"));
  EXPECT_TRUE(r.parameter("arn:aws:ssm:eu-west-1:123456789012:parameter/team-a/x"));
  EXPECT_FALSE(r.parameter("arn:aws:ssm:eu-west-1:123456789012:parameter/team-b/x"));
}

TEST_F(SecretAccessTest, ARevokedKeyDeniesFromTheNextRead) {
  auto r = resolver(key_id_);
  ASSERT_TRUE(r.parameter("/team-a/x"));
  ASSERT_TRUE(keys_->revoke(key_id_));
  auto p = r.parameter("/team-a/x");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kPermission);
  EXPECT_EQ(p.error().message(),
            "AccessDeniedException: cannot perform ssm:GetParameter on resource: "
            "arn:aws:ssm:eu-west-1:123456789012:parameter/team-a/x: the access key " +
                key_id_ +
                " of user team-a (the project's key, whose rights its builds read parameters and "
                "secrets with) "
                "is revoked; update the project with an active key (docs/server.md)");
  EXPECT_EQ(inner_.asked, 1);
}

TEST_F(SecretAccessTest, AnUnknownKeyOrAnUnreadableKeyFileDenies) {
  auto unknown = resolver("AKIAAAAAAAAAAAAAAAAA").parameter("/team-a/x");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("does not exist"), std::string::npos)
      << unknown.error().message();
  fs::remove(dir_ / "keys.json");
  auto gone = resolver(key_id_).secret("team-a/db");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kPermission);
  EXPECT_NE(gone.error().message().find("cannot be read"), std::string::npos)
      << gone.error().message();
  EXPECT_EQ(inner_.asked, 0);
}

TEST_F(SecretAccessTest, ANarrowedPolicyAppliesToTheNextRead) {
  auto r = resolver(key_id_);
  ASSERT_TRUE(r.secret("team-a/db"));
  auto none = auth::Policy::parse(R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": "codebuild:*", "Resource": "*"}]})");
  ASSERT_TRUE(none) << none.error().describe();
  ASSERT_TRUE(keys_->set_policy(key_id_, *none));
  EXPECT_FALSE(r.secret("team-a/db"));
}

}  // namespace
}  // namespace kiln::server
