// open_secret_store on a real folder: files and modes, persistence, nothing in plaintext on disk,
// tampering and a wrong key detected, and several threads and store objects (processes) at once.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "secrets/secret_store.h"

namespace kiln::secrets {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Runs SQL on the file through a raw connection, as another program editing the file would.
void raw_exec(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_free(err);
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

class SecretStoreFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-secrets-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "test data left in " << root_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path dir() const { return root_ / "data" / "secrets"; }
  std::unique_ptr<SecretStore> open() {
    auto s = open_secret_store(dir(), clock_);
    EXPECT_TRUE(s) << s.error().describe();
    return s ? std::move(*s) : nullptr;
  }
  static void put(SecretStore& s, const std::string& name, const std::string& value,
                  bool overwrite = false) {
    auto r = s.put_parameter({name, ParamType::kSecureString, value, "", "", overwrite});
    ASSERT_TRUE(r) << r.error().describe();
  }
  static NewSecretValue text(const std::string& v) {
    NewSecretValue out;
    out.secret_string = v;
    return out;
  }

  FakeClock clock_;
  fs::path root_;
};

const char* const kWrongKey = "the secret store is corrupt or its key is wrong";

TEST_F(SecretStoreFileTest, CreatesAPrivateFolderKeyAndDatabase) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(mode_of(dir()), 0700U);
  EXPECT_EQ(mode_of(dir() / "master.key"), 0600U);
  EXPECT_EQ(fs::file_size(dir() / "master.key"), 32U);
  EXPECT_TRUE(fs::exists(dir() / "secrets.db"));
}

TEST_F(SecretStoreFileTest, EverythingSurvivesAReopen) {
  std::string suffix;
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    put(*s, "/p", "pv");
    auto c = s->create_secret("sec", "d", "", text("one"));
    ASSERT_TRUE(c) << c.error().describe();
    suffix = c->arn_suffix;
    ASSERT_TRUE(s->put_secret_value("sec", text("two"), {}));
    ASSERT_TRUE(s->put_source_credential({"GITLAB", "PERSONAL_ACCESS_TOKEN", "", "glpat"}, false));
  }
  auto s = open();
  ASSERT_NE(s, nullptr);
  auto p = s->get_parameter("/p");
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->value, "pv");
  auto cur = s->get_secret_value("sec", "", "");
  ASSERT_TRUE(cur) << cur.error().describe();
  EXPECT_EQ(cur->secret_string, "two");
  EXPECT_EQ(cur->arn_suffix, suffix);
  EXPECT_EQ(s->get_secret_value("sec", "", "AWSPREVIOUS")->secret_string, "one");
  EXPECT_EQ(s->source_credential("GITLAB")->token, "glpat");
}

TEST_F(SecretStoreFileTest, NoValueIsPlaintextOnDisk) {
  const std::string marker = "PLAINTEXT-MARKER-7f3a";
  auto s = open();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->put_parameter({"/name-on-disk", ParamType::kString, marker, "", "", false}));
  put(*s, "/secure", marker);
  ASSERT_TRUE(s->create_secret("sec", "", "", text(marker)));
  NewSecretValue bin;
  bin.secret_binary = marker;
  ASSERT_TRUE(s->create_secret("bin", "", "", bin));
  ASSERT_TRUE(s->put_source_credential({"GITHUB", "OAUTH", "", marker}, false));
  auto on_disk = [&] { return slurp(dir() / "secrets.db") + slurp(dir() / "secrets.db-wal"); };
  // The names are not secret: finding one shows the bytes searched are the store's.
  EXPECT_NE(on_disk().find("/name-on-disk"), std::string::npos);
  EXPECT_EQ(on_disk().find(marker), std::string::npos);
  s.reset();  // the last close checkpoints the WAL into the database
  EXPECT_NE(slurp(dir() / "secrets.db").find("/name-on-disk"), std::string::npos);
  EXPECT_EQ(on_disk().find(marker), std::string::npos);
}

TEST_F(SecretStoreFileTest, ValuesMovedToAnotherRowDoNotOpen) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  put(*s, "/a", "value-a");
  put(*s, "/b", "value-b");
  ASSERT_TRUE(s->create_secret("x", "", "", text("x1")));
  ASSERT_TRUE(s->create_secret("y", "", "", text("y1")));
  ASSERT_TRUE(s->put_source_credential({"GITHUB", "OAUTH", "", "t1"}, false));
  ASSERT_TRUE(s->put_source_credential({"GITLAB", "OAUTH", "", "t2"}, false));
  // Edited while the store is open, as another process could.
  raw_exec(dir() / "secrets.db",
           "UPDATE parameters SET sealed = CASE name WHEN '/a' THEN "
           "(SELECT sealed FROM parameters WHERE name = '/b') ELSE "
           "(SELECT sealed FROM parameters WHERE name = '/a') END;"
           "UPDATE secret_versions SET sealed = CASE secret WHEN 'x' THEN "
           "(SELECT sealed FROM secret_versions WHERE secret = 'y') ELSE "
           "(SELECT sealed FROM secret_versions WHERE secret = 'x') END;"
           "UPDATE source_credentials SET sealed = "
           "(SELECT sealed FROM source_credentials WHERE server_type = 'GITLAB');");
  ::testing::internal::CaptureStderr();
  auto a = s->get_parameter("/a");
  const std::string logged = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(a.error().message(),
            std::string("cannot decrypt the value of param:/a:1: ") + kWrongKey);
  // The files are in the server's log, not in the error an API caller sees (docs/security.md).
  const std::string described = a.error().describe();
  EXPECT_EQ(described.find((dir() / "secrets.db").string()), std::string::npos) << described;
  EXPECT_NE(logged.find((dir() / "secrets.db").string()), std::string::npos) << logged;
  EXPECT_EQ(described.find("value-"), std::string::npos) << described;
  EXPECT_EQ(logged.find("value-"), std::string::npos) << logged;
  EXPECT_EQ(s->list_parameters().error().code(), ErrorCode::kInternal);

  auto x = s->get_secret_value("x", "", "");
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().code(), ErrorCode::kInternal);
  EXPECT_NE(x.error().message().find(kWrongKey), std::string::npos);
  EXPECT_EQ(s->source_credential("GITHUB").error().code(), ErrorCode::kInternal);
  ASSERT_TRUE(s->source_credential("GITLAB")) << "the row that kept its own value still opens";
}

TEST_F(SecretStoreFileTest, EditedVersionNumberOrGarbageDoesNotOpen) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  put(*s, "/v", "value");
  put(*s, "/g", "value");
  raw_exec(dir() / "secrets.db",
           "UPDATE parameters SET version = 2 WHERE name = '/v';"
           "UPDATE parameters SET sealed = 'not base64!' WHERE name = '/g';");
  auto v = s->get_parameter("/v");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message(),
            std::string("cannot decrypt the value of param:/v:2: ") + kWrongKey);
  auto g = s->get_parameter("/g");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(g.error().message(),
            std::string("cannot decrypt the value of param:/g:1: ") + kWrongKey);
}

// docs/security.md: another key used to open the store and then fail every read; the canary sealed
// at first open refuses it at once, naming both files.
TEST_F(SecretStoreFileTest, AnotherKeyFileIsRefusedOnOpen) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    put(*s, "/p", "v");
    ASSERT_TRUE(s->put_source_credential({"GITHUB", "OAUTH", "", "t"}, false));
  }
  std::ofstream(dir() / "master.key", std::ios::binary | std::ios::trunc) << std::string(32, 'z');
  ::testing::internal::CaptureStderr();
  auto s = open_secret_store(dir(), clock_);
  ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  const std::string key = (dir() / "master.key").string();
  EXPECT_EQ(s.error().message().rfind("the master key " + key + " does not open its canary in " +
                                          (dir() / "secrets.db").string() +
                                          ": it is not the key this secret store was sealed with",
                                      0),
            0U)
      << s.error().message();
}

// A store written before the canary existed: its values vouch for the key instead.
TEST_F(SecretStoreFileTest, StoreWithoutCanaryChecksItsValues) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    put(*s, "/p", "v");
  }
  raw_exec(dir() / "secrets.db", "DELETE FROM key_canary;");
  ASSERT_NE(open(), nullptr);  // the right key: the canary is made again
  raw_exec(dir() / "secrets.db", "DELETE FROM key_canary;");
  std::ofstream(dir() / "master.key", std::ios::binary | std::ios::trunc) << std::string(32, 'z');
  ::testing::internal::CaptureStderr();
  auto s = open_secret_store(dir(), clock_);
  ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("does not open the stored values"), std::string::npos)
      << s.error().message();
}

TEST_F(SecretStoreFileTest, MissingKeyIsNotReplacedWhileValuesRemain) {
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    put(*s, "/p", "v");
  }
  fs::remove(dir() / "master.key");
  auto s = open_secret_store(dir(), clock_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("master.key is missing, but"), std::string::npos)
      << s.error().message();
  EXPECT_FALSE(fs::exists(dir() / "master.key"));  // no new key was made
}

TEST_F(SecretStoreFileTest, KeyReadableByOthersIsRefused) {
  ASSERT_NE(open(), nullptr);
  ASSERT_EQ(::chmod((dir() / "master.key").c_str(), 0644), 0);
  auto s = open_secret_store(dir(), clock_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  const std::string key = (dir() / "master.key").string();
  EXPECT_EQ(s.error().message(), "cannot use master key " + key +
                                     ": its mode is 0644 but it must be readable by its owner "
                                     "only (chmod 600 " +
                                     key + ")");
  EXPECT_EQ(s.error().describe().rfind("while opening the secret store in " + dir().string(), 0),
            0U)
      << s.error().describe();
}

TEST_F(SecretStoreFileTest, AFileWhereTheFolderShouldBeIsRefused) {
  fs::create_directories(dir().parent_path());
  std::ofstream(dir()) << "x";
  auto s = open_secret_store(dir(), clock_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(),
            "cannot keep secrets in " + dir().string() + ": it is not a directory");
}

TEST_F(SecretStoreFileTest, TwoStoresOnOneFolderSeeEachOther) {
  auto one = open();
  auto two = open();
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  put(*one, "/shared", "from one");
  EXPECT_EQ(two->get_parameter("/shared")->value, "from one");
  put(*two, "/shared", "from two", true);
  auto p = one->get_parameter("/shared");
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->value, "from two");
  EXPECT_EQ(p->version, 2);
  ASSERT_TRUE(one->create_secret("s", "", "", text("1")));
  ASSERT_TRUE(two->put_secret_value("s", text("2"), {}));
  EXPECT_EQ(one->get_secret_value("s", "", "")->secret_string, "2");
}

TEST_F(SecretStoreFileTest, StoresOpenedAtOnceAgreeOnTheKey) {
  std::unique_ptr<SecretStore> stores[4];
  {
    std::vector<std::jthread> threads;
    for (auto& s : stores) threads.emplace_back([&] { s = open(); });
  }
  for (auto& s : stores) ASSERT_NE(s, nullptr);
  put(*stores[0], "/k", "v");
  for (auto& s : stores) {
    auto p = s->get_parameter("/k");
    ASSERT_TRUE(p) << p.error().describe();
    EXPECT_EQ(p->value, "v");
  }
}

TEST_F(SecretStoreFileTest, ConcurrentWritersFromThreadsAndStores) {
  auto shared = open();
  auto other = open();  // stands in for a build worker's process
  ASSERT_NE(shared, nullptr);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(shared->create_secret("counter", "", "", text("0")));
  constexpr int kThreads = 4;
  constexpr int kEach = 10;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      SecretStore& s = t % 2 == 0 ? *shared : *other;
      threads.emplace_back([&s, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string n = std::to_string(t) + "-" + std::to_string(i);
          EXPECT_TRUE(s.put_parameter({"/t/" + n, ParamType::kString, n, "", "", false}));
          EXPECT_TRUE(s.put_parameter({"/hot", ParamType::kString, n, "", "", true}));
          EXPECT_TRUE(s.put_secret_value("counter", text(n), {}));
          EXPECT_TRUE(s.get_secret_value("counter", "", ""));
        }
      });
    }
  }
  auto all = shared->parameters_by_path("/t", false);
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(other->get_parameter("/hot")->version, kThreads * kEach);
  EXPECT_EQ(other->describe_secret("counter")->versions.size(),
            static_cast<std::size_t>(kThreads * kEach + 1));
}

}  // namespace
}  // namespace kiln::secrets
