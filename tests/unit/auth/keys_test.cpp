// The key store on real files in a temp folder: formats, modes, malformed files, bootstrap.
#include "auth/keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <thread>

#include "util/files.h"

namespace kiln::auth {
namespace {

namespace fs = std::filesystem;

int mode_of(const fs::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-keys-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "kept " << dir_ << "\n";
      return;
    }
    fs::remove_all(dir_);
  }
  void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  std::string load_error(const std::string& text) {
    write(dir_ / "keys.json", text);
    auto f = KeyFile::load(dir_ / "keys.json");
    if (f) return "loaded";
    EXPECT_EQ(f.error().code(), ErrorCode::kParse);
    return f.error().describe();
  }

  fs::path dir_;
};

TEST_F(KeysTest, CreateMakesAwsShapedKeysAndSavesThem) {
  auto file = KeyFile::empty(dir_ / "keys.json");
  auto key = file->create("alice");
  ASSERT_TRUE(key) << key.error().describe();
  EXPECT_TRUE(std::regex_match(key->id, std::regex("AKIA[A-Z0-9]{16}"))) << key->id;
  EXPECT_TRUE(std::regex_match(key->secret, std::regex("[A-Za-z0-9+/]{40}"))) << key->secret;
  EXPECT_EQ(key->user, "alice");
  EXPECT_TRUE(key->active);
  EXPECT_EQ(mode_of(dir_ / "keys.json"), 0600);

  auto found = file->find(key->id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->secret, key->secret);
  EXPECT_FALSE(file->find("AKIANOTAKEY000000000"));

  auto reloaded = KeyFile::load(dir_ / "keys.json");
  ASSERT_TRUE(reloaded) << reloaded.error().describe();
  auto again = (*reloaded)->find(key->id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->secret, key->secret);
  EXPECT_EQ(again->user, "alice");
  EXPECT_TRUE(again->active);
}

TEST_F(KeysTest, KeysAreDistinct) {
  auto file = KeyFile::empty(dir_ / "keys.json");
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 20; ++i) {
    auto key = file->create("u");
    ASSERT_TRUE(key);
    ids.insert(key->id);
    secrets.insert(key->secret);
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(secrets.size(), 20u);
  EXPECT_EQ(file->list().size(), 20u);
}

TEST_F(KeysTest, RejectsBadUserNames) {
  auto file = KeyFile::empty(dir_ / "keys.json");
  for (std::string bad : {std::string(), std::string(65, 'a'), std::string("a b"),
                          std::string("a/b"), std::string("x\n")}) {
    auto key = file->create(bad);
    ASSERT_FALSE(key) << bad;
    EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(file->create("a b").error().message(),
            "invalid user name 'a b': use 1 to 64 letters, digits and the characters +=,.@_-");
  EXPECT_TRUE(file->create("ci.bot+build=1,x@y_z-2"));
  EXPECT_FALSE(fs::exists(dir_ / "keys.json.tmp"));
}

TEST_F(KeysTest, RevokeListAndPersist) {
  auto file = KeyFile::empty(dir_ / "keys.json");
  auto a = file->create("alice").value();
  auto b = file->create("bob").value();
  ASSERT_TRUE(file->revoke(a.id));
  ASSERT_TRUE(file->revoke(a.id));  // again: still fine
  EXPECT_FALSE(file->find(a.id)->active);
  EXPECT_TRUE(file->find(b.id)->active);

  auto missing = file->revoke("AKIA0000000000000000");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "no access key AKIA0000000000000000");

  auto list = (*KeyFile::load(dir_ / "keys.json"))->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, a.id);
  EXPECT_EQ(list[0].user, "alice");
  EXPECT_FALSE(list[0].active);
  EXPECT_EQ(list[1].id, b.id);
  EXPECT_TRUE(list[1].active);
}

TEST_F(KeysTest, RevokedKeysNoLongerVerify) {
  auto file = KeyFile::empty(dir_ / "keys.json");
  auto key = file->create("alice").value();
  std::vector<std::pair<std::string, std::string>> headers = {{"host", "localhost:8080"},
                                                              {"x-amz-date", "20261122T025025Z"}};
  SignedRequest req{"POST", "/", "", &headers, "{}"};
  headers.emplace_back("authorization", sign_request(req, key, "us-east-1", "codebuild"));
  constexpr std::string_view services[] = {"codebuild"};
  const std::int64_t now = 1795315825;
  auto id = verify(req, *file, now, services);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->user, "alice");
  ASSERT_TRUE(file->revoke(key.id));
  EXPECT_EQ(verify(req, *file, now, services).error().type, "UnrecognizedClientException");
}

TEST_F(KeysTest, SaveFailureLeavesTheStoreUnchanged) {
  auto file = KeyFile::empty(dir_ / "no-such-dir" / "keys.json");
  auto key = file->create("alice");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kIo);
  EXPECT_NE(key.error().describe().find("while saving the access keys: create "), std::string::npos)
      << key.error().describe();
  EXPECT_TRUE(file->list().empty());
}

TEST_F(KeysTest, RevokeFailureKeepsTheKeyActive) {
  auto file = KeyFile::empty(dir_ / "sub" / "keys.json");
  fs::create_directory(dir_ / "sub");
  auto key = file->create("alice").value();
  fs::remove_all(dir_ / "sub");
  ASSERT_FALSE(file->revoke(key.id));
  EXPECT_TRUE(file->find(key.id)->active);
}

TEST_F(KeysTest, MissingFile) {
  auto f = KeyFile::load(dir_ / "keys.json");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), ErrorCode::kNotFound);
}

TEST_F(KeysTest, MalformedFilesNameTheFileAndTheProblem) {
  const std::string p = (dir_ / "keys.json").string();
  EXPECT_EQ(load_error("[]"), p + ": the top level must be a JSON object");
  EXPECT_EQ(load_error("{}"), p + ": \"keys\" must be an array");
  EXPECT_EQ(load_error(R"({"version": 2, "keys": []})"),
            p + ": unsupported version 2 (expected 1)");
  EXPECT_EQ(load_error(R"({"keys": [42]})"), p + ": keys[0] must be an object");
  EXPECT_EQ(load_error(R"({"keys": [{"secretAccessKey": "s", "user": "u", "active": true}]})"),
            p + ": keys[0].accessKeyId must be a non-empty string");
  EXPECT_EQ(load_error(R"({"keys": [{"accessKeyId": "AK/1", "secretAccessKey": "s",
                                     "user": "u", "active": true}]})"),
            p + ": keys[0].accessKeyId must be 1 to 128 letters and digits");
  EXPECT_EQ(load_error(R"({"keys": [{"accessKeyId": "AK1", "secretAccessKey": "",
                                     "user": "u", "active": true}]})"),
            p + ": keys[0].secretAccessKey must be a non-empty string");
  EXPECT_EQ(load_error(R"({"keys": [{"accessKeyId": "AK1", "secretAccessKey": "s",
                                     "user": 7, "active": true}]})"),
            p + ": keys[0].user must be a non-empty string");
  EXPECT_EQ(load_error(R"({"keys": [{"accessKeyId": "AK1", "secretAccessKey": "s",
                                     "user": "u", "active": "yes"}]})"),
            p + ": keys[0].active must be true or false");
  EXPECT_EQ(load_error(R"({"keys": [
      {"accessKeyId": "AK1", "secretAccessKey": "s", "user": "u", "active": true},
      {"accessKeyId": "AK1", "secretAccessKey": "t", "user": "v", "active": false}]})"),
            p + ": keys[1].accessKeyId AK1 appears twice");

  const std::string not_json = load_error("{\"keys\": [");
  EXPECT_TRUE(not_json.starts_with(p + ": not valid JSON: [json.exception.parse_error.101] "))
      << not_json;
  EXPECT_NE(not_json.find("line 1, column 11"), std::string::npos) << not_json;
  EXPECT_TRUE(load_error("").starts_with(p + ": not valid JSON: ")) << load_error("");
  EXPECT_TRUE(load_error(std::string("\xff\xfe", 2)).starts_with(p + ": not valid JSON: "));
}

TEST_F(KeysTest, AcceptsAHandWrittenFile) {
  write(dir_ / "keys.json", R"({"keys": [{"accessKeyId": "AKIDEXAMPLE",
      "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "user": "dev",
      "active": true}]})");
  auto f = KeyFile::load(dir_ / "keys.json");
  ASSERT_TRUE(f) << f.error().describe();
  EXPECT_EQ((*f)->find("AKIDEXAMPLE")->user, "dev");
}

TEST_F(KeysTest, SharedCredentialsFile) {
  const fs::path p = dir_ / "credentials";
  write(p, "old");
  ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
  const AccessKey key{"AKIAABCDEFGHIJKLMNOP", "abc/def+ghi", "admin"};
  ASSERT_TRUE(write_shared_credentials(p, key, "eu-west-1"));
  EXPECT_EQ(*read_file(p),
            "[default]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n"
            "aws_secret_access_key = abc/def+ghi\nregion = eu-west-1\n");
  EXPECT_EQ(mode_of(p), 0600);
  ASSERT_TRUE(write_shared_credentials(p, key, ""));
  EXPECT_EQ(*read_file(p),
            "[default]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n"
            "aws_secret_access_key = abc/def+ghi\n");
}

TEST_F(KeysTest, CredentialsAreNeverReadableByOthersEvenUnderAWideUmask) {
  const mode_t old = ::umask(0);
  auto ok = write_shared_credentials(dir_ / "credentials", {"AKIA1", "s", "u"}, "us-east-1");
  auto file = KeyFile::empty(dir_ / "keys.json");
  auto key = file->create("u");
  ::umask(old);
  ASSERT_TRUE(ok);
  ASSERT_TRUE(key);
  EXPECT_EQ(mode_of(dir_ / "credentials"), 0600);
  EXPECT_EQ(mode_of(dir_ / "keys.json"), 0600);
}

TEST_F(KeysTest, BootstrapFirstStartThenLoad) {
  auto first = bootstrap(dir_, "eu-west-1");
  ASSERT_TRUE(first) << first.error().describe();
  ASSERT_EQ(first->new_credentials, dir_ / "credentials");
  auto keys = first->keys->list();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].user, "admin");
  EXPECT_TRUE(keys[0].active);
  const AccessKey admin = *first->keys->find(keys[0].id);
  EXPECT_EQ(mode_of(dir_ / "keys.json"), 0600);
  EXPECT_EQ(mode_of(dir_ / "credentials"), 0600);
  EXPECT_EQ(*read_file(dir_ / "credentials"), "[default]\naws_access_key_id = " + admin.id +
                                                  "\naws_secret_access_key = " + admin.secret +
                                                  "\nregion = eu-west-1\n");

  // Later starts load the same key and leave the credentials file alone.
  fs::remove(dir_ / "credentials");
  auto second = bootstrap(dir_);
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_FALSE(second->new_credentials);
  EXPECT_FALSE(fs::exists(dir_ / "credentials"));
  auto loaded = second->keys->find(admin.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->secret, admin.secret);
}

TEST_F(KeysTest, BootstrapRefusesAMalformedFileAndKeepsIt) {
  write(dir_ / "keys.json", "{\"keys\": {}}");
  auto r = bootstrap(dir_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().describe(),
            "while loading the access keys: " + (dir_ / "keys.json").string() +
                ": \"keys\" must be an array");
  EXPECT_EQ(*read_file(dir_ / "keys.json"), "{\"keys\": {}}");
  EXPECT_FALSE(fs::exists(dir_ / "credentials"));
}

TEST_F(KeysTest, BootstrapNeedsTheDataFolder) {
  auto r = bootstrap(dir_ / "missing");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_TRUE(r.error().describe().starts_with("while saving the access keys: create "))
      << r.error().describe();
}

// docs/security.md, finding 12: a deleted keys.json used to make a new admin key over
// `credentials`.
TEST_F(KeysTest, BootstrapNeverWritesOverExistingCredentials) {
  write(dir_ / "credentials", "[default]\naws_access_key_id = AKIAOLD\n");
  auto r = bootstrap(dir_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(r.error().describe(),
            (dir_ / "keys.json").string() + " is missing but " + (dir_ / "credentials").string() +
                " exists: this data folder was used before, so its keys were lost. Kiln will not "
                "make a new admin key over existing credentials. Restore keys.json from a backup, "
                "or make a new admin key explicitly with `kiln key create --data " +
                dir_.string() + " --policy docs/policies/admin.json`");
  EXPECT_EQ(*read_file(dir_ / "credentials"), "[default]\naws_access_key_id = AKIAOLD\n");
  EXPECT_FALSE(fs::exists(dir_ / "keys.json"));
}

TEST_F(KeysTest, BootstrapRefusesAUsedFolderWithoutKeys) {
  write(dir_ / "kiln.db", "");
  auto r = bootstrap(dir_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().describe().find("kiln.db exists"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "keys.json"));
  EXPECT_FALSE(fs::exists(dir_ / "credentials"));
}

TEST_F(KeysTest, TheBootstrapAdminHasAnExplicitFullPolicy) {
  auto first = bootstrap(dir_).value();
  const auto admin = first.keys->list().front();
  EXPECT_EQ(admin.rights, "policy");
  auto policy = first.keys->policy_of(admin.id);
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->evaluate("codebuild:StartBuild", "arn:aws:codebuild:r:1:project/p"),
            Decision::kAllow);
  EXPECT_EQ(policy->evaluate("kiln:PrivilegedBuild", "*"), Decision::kAllow);
}

TEST_F(KeysTest, OldFilesKeepTheBootstrapAdminAndGiveOtherKeysNothing) {
  write(dir_ / "keys.json", R"({"version": 1, "keys": [
      {"accessKeyId": "AKIA1", "secretAccessKey": "s", "user": "admin", "active": true},
      {"accessKeyId": "AKIA2", "secretAccessKey": "s", "user": "admin", "active": true},
      {"accessKeyId": "AKIA3", "secretAccessKey": "s", "user": "dev", "active": true}]})");
  auto f = KeyFile::load(dir_ / "keys.json").value();
  ASSERT_TRUE(f->policy_of("AKIA1"));
  EXPECT_EQ(f->policy_of("AKIA1")->evaluate("ssm:PutParameter", "*"), Decision::kAllow);
  EXPECT_FALSE(f->policy_of("AKIA2"));
  EXPECT_FALSE(f->policy_of("AKIA3"));
  EXPECT_FALSE(f->policy_of("AKIANONE"));
  EXPECT_EQ(f->list()[0].rights, "full (bootstrap admin without a policy)");
  EXPECT_EQ(f->list()[2].rights, "none (no policy)");
  // Saving keeps the old admin's file shape, so its rights survive a later change.
  ASSERT_TRUE(f->create("carol"));
  auto again = KeyFile::load(dir_ / "keys.json").value();
  EXPECT_TRUE(again->policy_of("AKIA1"));
  EXPECT_EQ(again->list()[0].rights, "full (bootstrap admin without a policy)");
}

TEST_F(KeysTest, NewKeysHaveNoRightsUntilGivenAPolicy) {
  auto file = KeyFile::empty(dir_ / "keys.json");
  auto key = file->create("admin").value();  // even named admin: only bootstrap() makes admins
  EXPECT_FALSE(file->policy_of(key.id));
  auto policy = Policy::parse(R"({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
      "Action": "codebuild:BatchGet*", "Resource": "*"}})")
                    .value();
  ASSERT_TRUE(file->set_policy(key.id, policy));
  auto loaded = KeyFile::load(dir_ / "keys.json").value();
  ASSERT_TRUE(loaded->policy_of(key.id));
  EXPECT_EQ(loaded->policy_of(key.id)->evaluate("codebuild:BatchGetBuilds", "x"), Decision::kAllow);
  EXPECT_EQ(loaded->policy_of(key.id)->evaluate("codebuild:StartBuild", "x"),
            Decision::kImplicitDeny);
  EXPECT_EQ(loaded->policy_of(key.id)->document(), policy.document());
  auto with = file->create("bob", policy).value();
  EXPECT_TRUE(KeyFile::load(dir_ / "keys.json").value()->policy_of(with.id));
  EXPECT_EQ(file->set_policy("AKIANONE", policy).error().code(), ErrorCode::kNotFound);
}

TEST_F(KeysTest, AMalformedPolicyNamesTheKeyAndTheField) {
  const std::string p = (dir_ / "keys.json").string();
  EXPECT_EQ(load_error(R"({"keys": [{"accessKeyId": "AK1", "secretAccessKey": "s",
      "user": "u", "active": true, "policy": {"Statement": {"Effect": "Allow",
      "Action": "StartBuild", "Resource": "*"}}}]})"),
            p + ": keys[0].policy: Statement.Action: 'StartBuild' is not an action "
                "(service:Name, or *)");
}

TEST_F(KeysTest, FindDuringChanges) {
  auto file = KeyFile::empty(dir_ / "keys.json");
  auto first = file->create("alice").value();
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::thread reader([&] {
    while (!stop) {
      if (!file->find(first.id)) ++misses;
      (void)file->list();
    }
  });
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(file->create("bob"));
  stop = true;
  reader.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(file->list().size(), 11u);
}

}  // namespace
}  // namespace kiln::auth
