// The SecretStore contract on the in-memory store: parameters, secrets and their staging
// labels, source credentials. The on-disk behaviour is in secret_store_file_test.cpp.
#include "secrets/secret_store.h"

#include <gtest/gtest.h>

#include <chrono>

namespace kiln::secrets {
namespace {

using std::chrono::milliseconds;
constexpr std::int64_t kStart = 1700000000000;  // FakeClock's epoch, in ms

std::vector<std::string> names(const std::vector<Parameter>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.name);
  return out;
}

class SecretStoreTest : public ::testing::Test {
 protected:
  std::int64_t put(const std::string& name, const std::string& value, bool overwrite = false,
                   ParamType type = ParamType::kString, const std::string& description = "") {
    auto r = store_->put_parameter({name, type, value, description, "", overwrite});
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : -1;
  }

  FakeClock clock_;
  std::unique_ptr<SecretStore> store_ = memory_secret_store(clock_);
};

// ---- Parameters ----

TEST_F(SecretStoreTest, ParamTypeNames) {
  EXPECT_STREQ(to_string(ParamType::kStringList), "StringList");
  EXPECT_EQ(param_type_from("SecureString"), ParamType::kSecureString);
  EXPECT_EQ(param_type_from("securestring"), std::nullopt);
}

TEST_F(SecretStoreTest, PutThenGetParameter) {
  EXPECT_EQ(put("/app/db/password", "hunter2", false, ParamType::kSecureString, "the db"), 1);
  auto p = store_->get_parameter("/app/db/password");
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->name, "/app/db/password");
  EXPECT_EQ(p->type, ParamType::kSecureString);
  EXPECT_EQ(p->value, "hunter2");
  EXPECT_EQ(p->version, 1);
  EXPECT_EQ(p->modified_ms, kStart);
  EXPECT_EQ(p->description, "the db");
  EXPECT_EQ(p->key_id, "alias/aws/ssm");
}

TEST_F(SecretStoreTest, OnlySecureStringsHaveAKeyId) {
  ASSERT_TRUE(store_->put_parameter({"a", ParamType::kString, "v", "", "alias/mine", false}));
  ASSERT_TRUE(store_->put_parameter({"b", ParamType::kSecureString, "v", "", "alias/mine", false}));
  EXPECT_EQ(store_->get_parameter("a")->key_id, "");
  EXPECT_EQ(store_->get_parameter("b")->key_id, "alias/mine");
}

TEST_F(SecretStoreTest, PutExistingParameterNeedsOverwrite) {
  put("/x", "one");
  auto again = store_->put_parameter({"/x", ParamType::kString, "two", "", "", false});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message(),
            "The parameter already exists. To overwrite this value, set the overwrite option in "
            "the request to true.");
  EXPECT_EQ(store_->get_parameter("/x")->value, "one");
}

TEST_F(SecretStoreTest, OverwriteBumpsTheVersion) {
  put("/x", "one", false, ParamType::kString, "first");
  clock_.advance(milliseconds(5000));
  EXPECT_EQ(put("/x", "two", true), 2);
  auto p = store_->get_parameter("/x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->value, "two");
  EXPECT_EQ(p->version, 2);
  EXPECT_EQ(p->modified_ms, kStart + 5000);
  EXPECT_EQ(p->description, "first");  // kept when the overwrite gives none
  EXPECT_EQ(put("/x", "three", true, ParamType::kStringList, "third"), 3);
  p = store_->get_parameter("/x");
  EXPECT_EQ(p->type, ParamType::kStringList);
  EXPECT_EQ(p->description, "third");
}

TEST_F(SecretStoreTest, MissingParameterIsNotFound) {
  auto p = store_->get_parameter("/nope");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(p.error().message(), "Parameter /nope not found.");
}

TEST_F(SecretStoreTest, ParametersByPath) {
  for (const char* n : {"/a/y", "/a/b/c", "/ab", "b", "/a", "/a/x", "/a0"}) put(n, n);
  auto by = [&](const std::string& path, bool recursive) {
    auto r = store_->parameters_by_path(path, recursive);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? names(*r) : std::vector<std::string>{"error"};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(by("/a", false), (V{"/a/x", "/a/y"}));
  EXPECT_EQ(by("/a/", false), (V{"/a/x", "/a/y"}));
  EXPECT_EQ(by("/a", true), (V{"/a/b/c", "/a/x", "/a/y"}));
  EXPECT_EQ(by("/", false), (V{"/a", "/a0", "/ab"}));
  EXPECT_EQ(by("/", true), (V{"/a", "/a/b/c", "/a/x", "/a/y", "/a0", "/ab"}));
  EXPECT_EQ(by("/none", true), V{});
  EXPECT_EQ(store_->parameters_by_path("/a/b", false)->at(0).value, "/a/b/c");
  auto bad = store_->parameters_by_path("a", true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "The path must begin with a forward slash \"/\".");
}

TEST_F(SecretStoreTest, DeleteParameter) {
  put("/x", "v");
  ASSERT_TRUE(store_->delete_parameter("/x"));
  EXPECT_EQ(store_->get_parameter("/x").error().code(), ErrorCode::kNotFound);
  auto again = store_->delete_parameter("/x");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(again.error().message(), "Parameter /x not found.");
  EXPECT_EQ(put("/x", "new"), 1);  // numbering starts again
}

TEST_F(SecretStoreTest, ListParametersSortedByName) {
  put("/b", "2");
  put("a", "1");
  put("/a", "3");
  auto all = store_->list_parameters();
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(names(*all), (std::vector<std::string>{"/a", "/b", "a"}));
  EXPECT_EQ(all->at(2).value, "1");
}

// ---- Source credentials ----

TEST_F(SecretStoreTest, SourceCredentials) {
  using C = SecretStore::SourceCredential;
  ASSERT_TRUE(
      store_->put_source_credential({"GITHUB", "PERSONAL_ACCESS_TOKEN", "", "ghp_1"}, false));
  ASSERT_TRUE(store_->put_source_credential({"BITBUCKET", "BASIC_AUTH", "me", "app-pw"}, false));
  auto dup = store_->put_source_credential({"GITHUB", "PERSONAL_ACCESS_TOKEN", "", "ghp_2"}, false);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().message(), "Source credentials for server type GITHUB already exist.");
  EXPECT_EQ(store_->source_credential("GITHUB")->token, "ghp_1");
  ASSERT_TRUE(store_->put_source_credential({"GITHUB", "OAUTH", "", "ghp_3"}, true));
  auto gh = store_->source_credential("GITHUB");
  ASSERT_TRUE(gh) << gh.error().describe();
  EXPECT_EQ(gh->auth_type, "OAUTH");
  EXPECT_EQ(gh->token, "ghp_3");

  auto all = store_->list_source_credentials();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2U);
  const C& bb = all->at(0);
  EXPECT_EQ(bb.server_type, "BITBUCKET");
  EXPECT_EQ(bb.auth_type, "BASIC_AUTH");
  EXPECT_EQ(bb.username, "me");
  EXPECT_EQ(bb.token, "");
  EXPECT_EQ(all->at(1).server_type, "GITHUB");
  EXPECT_EQ(all->at(1).token, "");

  ASSERT_TRUE(store_->delete_source_credential("GITHUB"));
  auto gone = store_->source_credential("GITHUB");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().message(), "Source credentials for server type GITHUB not found.");
  auto again = store_->delete_source_credential("GITHUB");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "Source credentials for server type GITHUB not found.");
}

}  // namespace
}  // namespace kiln::secrets
