// seal/unseal (XChaCha20-Poly1305 with the row as associated data) and the master key file.
#include "secrets/seal.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace kiln::secrets {
namespace {

namespace fs = std::filesystem;

const char* const kCorrupt =
    "cannot decrypt the value of param:/a:1: the secret store is corrupt or its key is wrong";

TEST(SealTest, RoundTripsAndHidesThePlaintext) {
  const MasterKey key = MasterKey::random();
  const std::string plain = "correct horse battery staple";
  const std::string sealed = seal(key, plain, "param:/a:1");
  EXPECT_EQ(sealed.size(), 24 + plain.size() + 16);  // nonce, ciphertext, tag
  EXPECT_EQ(sealed.find(plain), std::string::npos);
  // A fresh nonce each time: the same value never seals to the same bytes.
  EXPECT_NE(seal(key, plain, "param:/a:1"), sealed);
  auto opened = unseal(key, sealed, "param:/a:1");
  ASSERT_TRUE(opened) << opened.error().describe();
  EXPECT_EQ(*opened, plain);
}

TEST(SealTest, RoundTripsEmptyAndBinaryValues) {
  const MasterKey key = MasterKey::random();
  const std::string binary("\0\x01\xff\0z", 5);
  for (const std::string& plain : {std::string(), binary}) {
    auto opened = unseal(key, seal(key, plain, "x"), "x");
    ASSERT_TRUE(opened) << opened.error().describe();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(SealTest, OtherAssociatedDataDoesNotOpen) {
  const MasterKey key = MasterKey::random();
  auto opened = unseal(key, seal(key, "v", "param:/b:1"), "param:/a:1");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(opened.error().message(), kCorrupt);
}

TEST(SealTest, OtherKeyTamperingAndTruncationDoNotOpen) {
  const MasterKey key = MasterKey::random();
  const std::string sealed = seal(key, "value", "param:/a:1");
  std::string flipped = sealed;
  flipped[30] = static_cast<char>(flipped[30] ^ 1);
  for (const std::string& bad : {flipped, sealed.substr(0, 39), std::string()}) {
    auto opened = unseal(key, bad, "param:/a:1");
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().message(), kCorrupt);
  }
  auto other = unseal(MasterKey::random(), sealed, "param:/a:1");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kInternal);
}

TEST(SealTest, RandomAlnumIsSixCharactersOfTheAlphabet) {
  const std::string s = random_alnum(6);
  ASSERT_EQ(s.size(), 6U);
  for (const char c : s) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) != 0) << s;
  EXPECT_NE(random_alnum(32), random_alnum(32));
}

class SealKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-seal-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "test data left in " << dir_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path key_file() const { return dir_ / "master.key"; }
  void write_key_file(const std::string& bytes, int mode) {
    std::ofstream(key_file(), std::ios::binary | std::ios::trunc) << bytes;
    ASSERT_EQ(::chmod(key_file().c_str(), static_cast<mode_t>(mode)), 0);
  }
  fs::path dir_;
};

TEST_F(SealKeyFileTest, CreatesAPrivateKeyOnceAndReadsItBack) {
  auto first = MasterKey::load_or_create(key_file());
  ASSERT_TRUE(first) << first.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat(key_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_EQ(st.st_size, 32);
  auto second = MasterKey::load_or_create(key_file());
  ASSERT_TRUE(second) << second.error().describe();
  auto opened = unseal(*second, seal(*first, "v", "ad"), "ad");
  ASSERT_TRUE(opened) << "the second load made a new key";
  EXPECT_EQ(*opened, "v");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "a temporary file was left behind";
}

TEST_F(SealKeyFileTest, RefusesAKeyReadableByOthers) {
  write_key_file(std::string(32, 'k'), 0644);
  auto key = MasterKey::load_or_create(key_file());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(key.error().message(),
            "cannot use master key " + key_file().string() +
                ": its mode is 0644 but it must be readable by its owner only (chmod 600 " +
                key_file().string() + ")");
}

TEST_F(SealKeyFileTest, RefusesAKeyOfTheWrongSize) {
  write_key_file(std::string(31, 'k'), 0600);
  auto key = MasterKey::load_or_create(key_file());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(key.error().message(), "cannot use master key " + key_file().string() +
                                       ": it is 31 bytes but a master key is exactly 32");
}

TEST_F(SealKeyFileTest, RefusesASymlink) {
  write_key_file(std::string(32, 'k'), 0600);
  fs::rename(key_file(), dir_ / "elsewhere.key");
  fs::create_symlink(dir_ / "elsewhere.key", key_file());
  auto key = MasterKey::load_or_create(key_file());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kIo);
  EXPECT_EQ(key.error().message().rfind("open master key " + key_file().string() + ": ", 0), 0U)
      << key.error().message();
}

}  // namespace
}  // namespace kiln::secrets
