#include "secrets/masker.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace kiln::secrets {
namespace {

// Feeds `text` cut at the given offsets (ascending) and returns everything emitted.
std::string stream(Masker& m, std::string_view text, const std::vector<std::size_t>& cuts) {
  std::string out;
  std::size_t from = 0;
  for (const std::size_t cut : cuts) {
    out += m.feed(text.substr(from, cut - from));
    from = cut;
  }
  out += m.feed(text.substr(from));
  out += m.finish();
  return out;
}

Masker with(const std::vector<std::string>& values) {
  Masker m;
  for (const auto& v : values) EXPECT_TRUE(m.add(v)) << v;
  return m;
}

// Every way of cutting `text` in two gives `expected`, and so do the whole-string paths.
// Short texts are decided byte by byte near their end; the padded copies (at each of the four
// sampling phases) go through the sampled scan that long chunks take.
void expect_every_split(const std::vector<std::string>& values, std::string_view text,
                        const std::string& expected) {
  EXPECT_EQ(mask_all(text, values), expected);
  Masker m = with(values);
  EXPECT_EQ(m.mask(text), expected);
  for (std::size_t i = 0; i <= text.size(); ++i) {
    EXPECT_EQ(stream(m, text, {i}), expected) << "cut at " << i;
    EXPECT_EQ(m.held(), 0U);
  }
  const std::string tail(64, '.');
  for (std::size_t pad = 0; pad < 4; ++pad) {
    const std::string head(pad, '.');
    const std::string padded = head + std::string(text) + tail;
    EXPECT_EQ(m.mask(padded), head + expected + tail) << "pad " << pad;
    EXPECT_EQ(stream(m, padded, {padded.size() / 2}), head + expected + tail) << "pad " << pad;
  }
}

TEST(Masker, RefusesValuesShorterThanTheMinimum) {
  Masker m;
  EXPECT_FALSE(m.add(""));
  EXPECT_FALSE(m.add("true"));
  EXPECT_FALSE(m.add("1234567"));
  EXPECT_EQ(m.value_count(), 0U);
  EXPECT_TRUE(m.add("12345678"));
  EXPECT_EQ(m.value_count(), 1U);
  EXPECT_EQ(m.mask("1234567 true 12345678"), "1234567 true ***");
  EXPECT_EQ(mask_all("1234567 12345678", {"1234567", "12345678"}), "1234567 ***");
}

TEST(Masker, IgnoresDuplicates) {
  Masker m;
  EXPECT_TRUE(m.add("hunter2hunter2"));
  EXPECT_TRUE(m.add("hunter2hunter2"));
  EXPECT_EQ(m.value_count(), 1U);
  EXPECT_EQ(m.mask("pw=hunter2hunter2."), "pw=***.");
}

TEST(Masker, SplitAtEveryOffset) {
  expect_every_split({"s3cr3t-Val"}, "token: s3cr3t-Val\n", "token: ***\n");
  expect_every_split({"s3cr3t-Val"}, "s3cr3t-Val", "***");
  expect_every_split({"s3cr3t-Val"}, "s3cr3t-Va", "s3cr3t-Va");  // cut short: not a match
  expect_every_split({"s3cr3t-Val"}, "s3cr3t-Vas3cr3t-Val!", "s3cr3t-Va***!");
}

TEST(Masker, SplitAtEveryPairOfOffsets) {
  const std::string text = "a=p4ssw0rd-xyz b=p4ssw0rd-x";
  const std::string expected = "a=*** b=p4ssw0rd-x";
  Masker m = with({"p4ssw0rd-xyz"});
  for (std::size_t i = 0; i <= text.size(); ++i) {
    for (std::size_t j = i; j <= text.size(); ++j) {
      EXPECT_EQ(stream(m, text, {i, j}), expected) << i << "," << j;
    }
  }
}

TEST(Masker, SeveralSecretsInOneLine) {
  expect_every_split({"first-secret", "second-secret", "third-secret"},
                     "1=first-secret 2=second-secret 3=third-secret 1=first-secret\n",
                     "1=*** 2=*** 3=*** 1=***\n");
}

TEST(Masker, OverlappingSecretsTakeTheEarlierStart) {
  // "abcdefgh12" starts first; masking resumes after it, so the rest of the second is shown.
  expect_every_split({"abcdefgh12", "gh12345678"}, "xxabcdefgh12345678yy", "xx***345678yy");
  // When the second starts first, it wins.
  expect_every_split({"abcdefgh12", "gh12345678"}, "fgh12345678abcdefgh12", "f******");
}

TEST(Masker, OverlappingStartsOneByteApart) {
  // Starts at 0, 1 and 2 in one sampling window: the earliest must win.
  expect_every_split({"bcdefghijklm", "cdefghijklmnopq"}, "abcdefghijklmnopq", "a***nopq");
  expect_every_split({"abcdefghij", "bcdefghijklmnop"}, "abcdefghijklmnop", "***klmnop");
  expect_every_split({"cdefghij", "bcdefghijk"}, "xbcdefghijk", "x***");
}

TEST(Masker, LongestMatchWinsAtOnePosition) {
  const std::vector<std::string> values = {"password", "password123"};
  expect_every_split(values, "pw password123!", "pw ***!");
  expect_every_split(values, "pw password12!", "pw ***12!");
  expect_every_split(values, "pw password", "pw ***");
  expect_every_split(values, "pw password1", "pw ***1");
}

TEST(Masker, AdjacentSecrets) {
  expect_every_split({"secretAAA1", "secretBBB2"}, "secretAAA1secretBBB2secretAAA1", "*********");
}

TEST(Masker, MultibyteUtf8ValuesAreBytes) {
  const std::string value = "p\xc3\xa4ssw\xc3\xb6rd-\xe2\x82\xac";  // "pässwörd-€"
  expect_every_split({value}, "pw=" + value + " \xc3\xa4", "pw=*** \xc3\xa4");
  // The same letters in another normalisation are other bytes: not masked.
  const std::string decomposed = "pa\xcc\x88ssw\xc3\xb6rd-\xe2\x82\xac";
  expect_every_split({value}, decomposed, decomposed);
}

TEST(Masker, AccessKeyIdsAreMaskedWithoutBeingRegistered) {
  expect_every_split({}, "key=AKIAIOSFODNN7EXAMPLE\n", "key=***\n");
  expect_every_split({}, "ASIA0123456789ABCDEF,AKIAIOSFODNN7EXAMPLE", "***,***");
  // 20 bytes is the whole pattern: a 21st key character is shown.
  expect_every_split({}, "AKIAIOSFODNN7EXAMPLE1", "***1");
}

TEST(Masker, AccessKeyIdNearMissesAreShown) {
  for (const std::string text :
       {"AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPL-", "akiaiosfodnn7example",
        "AKIAIOSFODNN7EXAMPLe", "AKIAiOSFODNN7EXAMPLE", "ABIAIOSFODNN7EXAMPLE",
        "AKIBIOSFODNN7EXAMPLE", "AKIA IOSFODNN7EXAMPLE"}) {
    expect_every_split({}, text, text);
  }
}

TEST(Masker, ValueLongerThanAKeyIdBeatsIt) {
  const std::string v = "AKIAIOSFODNN7EXAMPLE/wJalrXUtnFEMI";
  expect_every_split({v}, v + "K", "***K");
  expect_every_split({v}, "AKIAIOSFODNN7EXAMPLE/x", "***/x");
}

TEST(Masker, TextThatCannotStartASecretIsNotDelayed) {
  Masker m = with({"supersecret1", "another-one-2"});
  EXPECT_EQ(m.feed("hello\n"), "hello\n");
  EXPECT_EQ(m.held(), 0U);
  EXPECT_EQ(m.feed("log: sup"), "log: ");  // "sup" may begin "supersecret1"
  EXPECT_EQ(m.held(), 3U);
  EXPECT_EQ(m.feed("per"), "supper");  // now it cannot
  EXPECT_EQ(m.held(), 0U);
  EXPECT_EQ(m.feed("x AKIA"), "x ");
  EXPECT_EQ(m.held(), 4U);
  EXPECT_EQ(m.finish(), "AKIA");
  EXPECT_EQ(m.held(), 0U);
  EXPECT_EQ(m.finish(), "");
}

TEST(Masker, CarryHoldsOnlyAPossibleStart) {
  Masker m = with({"aaaaaaaaab"});
  // Every position with 10 bytes after it is decided; the last 9 could begin the value.
  EXPECT_EQ(m.feed(std::string(20, 'a')), std::string(11, 'a'));
  EXPECT_EQ(m.held(), 9U);
  EXPECT_EQ(m.feed("b"), "***");
  EXPECT_EQ(m.held(), 0U);
}

TEST(Masker, KeyIdSplitAcrossManySmallChunks) {
  Masker m;
  std::string out;
  for (const char c : std::string("id AKIAIOSFODNN7EXAMPLE done")) out += m.feed(std::string(1, c));
  EXPECT_EQ(out, "id *** done");
  EXPECT_EQ(m.finish(), "");
}

TEST(Masker, ValueAddedMidStreamAppliesToWhatIsNotYetEmitted) {
  Masker m;
  EXPECT_EQ(m.feed("before late-secret-1 "), "before late-secret-1 ");
  EXPECT_TRUE(m.add("late-secret-1"));
  EXPECT_EQ(m.feed("after late-secret-1\n"), "after ***\n");
}

TEST(Masker, FinishStartsANewStream) {
  Masker m = with({"hunter2hunter2"});
  EXPECT_EQ(m.feed("a hunter2"), "a ");
  EXPECT_EQ(m.finish(), "hunter2");
  EXPECT_EQ(m.feed("hunter2 b"), "hunter2 b");  // not glued to the previous stream's tail
}

TEST(Masker, LongChunksWithSecretsEverywhere) {
  const std::vector<std::string> values = {"0123456789abcdef", "fedcba9876543210xyz"};
  std::string text;
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    const std::string filler(static_cast<std::size_t>(i % 37), 'x');
    text += filler + values[static_cast<std::size_t>(i) % 2] + "\n";
    expected += filler + "***\n";
  }
  Masker m = with(values);
  EXPECT_EQ(m.mask(text), expected);
  EXPECT_EQ(stream(m, text, {text.size() / 3, text.size() / 3 + 5, 2 * text.size() / 3}), expected);
}

// Random values, text and chunkings over a small alphabet, so matches, near misses, overlaps
// and key ids are all common; the streaming output must equal the reference every time.
TEST(Masker, RandomChunkingsMatchTheReference) {
  std::mt19937 rng(20240611);
  const std::string alphabet = "aabbAAKSI01x\n\xc3";
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(rng); };
  auto random_string = [&](std::size_t len) {
    std::string s;
    for (std::size_t i = 0; i < len; ++i) s += alphabet[pick(alphabet.size() - 1)];
    return s;
  };
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<std::string> values;
    Masker m;
    // Half the time the values are pieces of one string, so they overlap each other.
    const std::string base = random_string(40);
    const bool pieces = pick(1) == 0;
    for (std::size_t i = pick(4); i > 0; --i) {
      values.push_back(pieces ? base.substr(pick(30), 6 + pick(10)) : random_string(6 + pick(10)));
      const bool accepted = m.add(values.back());
      EXPECT_EQ(accepted, values.back().size() >= kMinSecretLength);
    }
    // Random bytes, whole values and pieces of values (prefixes and suffixes), so overlaps,
    // adjacent values and near misses are common.
    std::string text;
    for (std::size_t i = pick(30); i > 0; --i) {
      const std::size_t kind = values.empty() ? 0 : pick(3);
      if (kind == 0) {
        text += random_string(pick(12));
      } else {
        const std::string& v = values[pick(values.size() - 1)];
        text += kind == 1 ? v : v.substr(pick(v.size()), pick(v.size()));
        if (pieces && pick(3) == 0) text += base;
      }
    }
    if (pick(3) == 0) text.insert(pick(text.size()), "AKIA" + random_string(16));
    const std::string expected = mask_all(text, values);
    ASSERT_EQ(m.mask(text), expected) << "iter " << iter;
    std::vector<std::size_t> cuts;
    for (std::size_t i = pick(6); i > 0; --i) cuts.push_back(pick(text.size()));
    std::sort(cuts.begin(), cuts.end());
    std::string out;
    std::size_t from = 0;
    for (const std::size_t cut : cuts) {
      out += m.feed(std::string_view(text).substr(from, cut - from));
      ASSERT_LT(m.held(), m.max_match_length());
      from = cut;
    }
    out += m.feed(std::string_view(text).substr(from));
    out += m.finish();
    ASSERT_EQ(out, expected) << "iter " << iter << " text " << text;
  }
}

}  // namespace
}  // namespace kiln::secrets
