// Masks secret values in a build's log (docs/secrets.md), as CodeBuild does: every registered value
// and every AWS access key id is replaced by "***". Log output arrives in chunks cut anywhere,
// so a secret may straddle two chunks; the masker holds back the few bytes at the end of a
// chunk that could still begin a secret and decides on them when the next chunk (or finish())
// arrives. The result is the same for every way of cutting the text: mask_all() defines it.
// docs/secrets.md ("Masking") describes the rules for users.
//
// Speed: feed() is on the path of every byte a build prints. Text is sampled every fourth
// byte and rejected by a 64 KiB table of two-byte grams (no regex, no per-value work), so
// ordinary text is scanned at several GB/s whatever the number of values; the few candidates
// left are verified against the values. bench/masker_bench.cpp measures it.
//
// Errors: nothing here fails. Values too short to mask are refused by add(), which says so.
// Thread safety: none. One thread calls add/feed/finish; const members may run concurrently
// with each other but not with a non-const one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::secrets {

// Shorter values are not masked: a secret such as "true", "1234" or "admin" would turn up in
// ordinary output and masking it would corrupt the log while hiding nothing worth hiding.
// GitLab refuses masked variables under 8 characters for the same reason.
inline constexpr std::size_t kMinSecretLength = 8;

// What a masked value becomes (CodeBuild's replacement).
inline constexpr std::string_view kMaskText = "***";

// "AKIA" or "ASIA" followed by 16 of [A-Z0-9]: an AWS access key id, masked even when it was
// never registered (CodeBuild does the same).
inline constexpr std::size_t kAccessKeyIdLength = 20;

// The reference semantics, written for clarity rather than speed (tests and the fuzz target
// compare the streaming masker against it). Scans left to right; at each position, if one or
// more values (or the access key id pattern) match there, the longest match is replaced by
// kMaskText and the scan continues after it; otherwise the byte is kept. Values shorter than
// kMinSecretLength are ignored, as add() refuses them. Bytes, not characters: a UTF-8 value is
// matched byte for byte.
std::string mask_all(std::string_view text, const std::vector<std::string>& values);

class Masker {
 public:
  Masker();

  // Registers a value to mask from now on. Returns false, and registers nothing, for a value
  // shorter than kMinSecretLength (the caller should warn that it will appear in the log).
  // A duplicate returns true and changes nothing. May be called between feeds: the new value
  // applies to the held-back bytes and to everything fed afterwards.
  [[nodiscard]] bool add(std::string value);

  // Takes the next chunk of the stream and returns the masked text that is now final. Bytes
  // that could still be the start of a secret (fewer than max_match_length()) are held back
  // until the next feed() or finish(); text that cannot start one is returned at once.
  [[nodiscard]] std::string feed(std::string_view chunk);
  // The same, appending to `out` (lets a caller reuse one buffer for every chunk).
  void feed(std::string_view chunk, std::string& out);

  // End of the stream: returns the held-back bytes, masked, and empties the carry. The masker
  // can then start a new stream with the same values.
  [[nodiscard]] std::string finish();

  // Masks a whole string on its own (no carry involved, the stream is untouched).
  [[nodiscard]] std::string mask(std::string_view text) const;

  std::size_t held() const { return carry_.size(); }  // bytes held back by feed()
  std::size_t value_count() const { return values_.size(); }
  // The longest possible match: the carry is always shorter than this.
  std::size_t max_match_length() const { return max_len_; }

 private:
  struct TailMatch {
    std::size_t len = 0;     // the longest match found in the bytes available (0: none)
    bool undecided = false;  // a (longer) match may still complete with more bytes
  };
  static std::uint8_t offset_bits(std::size_t offset);

  std::size_t scan(std::string_view data, std::size_t stop, bool final, std::string& out) const;
  std::size_t find(const char* d, std::size_t from, std::size_t limit, std::size_t* len) const;
  std::size_t longest_at(const char* d) const;
  TailMatch tail_at(std::string_view data, std::size_t p, bool final) const;
  void index_grams(std::string_view pattern);

  // Sorted by first gram, then longest first, so a lookup finds the longest match first.
  std::vector<std::string> values_;
  std::vector<std::uint16_t> first_grams_;  // first_grams_[i] is the first gram of values_[i]
  // One byte per two-byte gram (64 KiB): bit j says the gram is at offset j (0..3) of some
  // value or of the key id pattern, bit 4+j that it is at offset j+2. A byte load costs less
  // than a bit test in the hot loop, and ordinary text touches few cache lines of the table.
  std::vector<std::uint8_t> flags_;
  std::array<std::uint64_t, 4> first_bytes_{};  // first bytes of the values, for the tail
  std::size_t max_len_ = kAccessKeyIdLength;
  std::string carry_;
};

}  // namespace kiln::secrets
