// Shared by delivery_test.cpp and delivery_errors_test.cpp: tests/corpus/webhooks (real
// deliveries, read unchanged; README.md there) and parse_delivery over its files, each with the
// event header SOURCES.tsv names.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "webhook/delivery.h"

namespace kiln::webhook::test {

namespace fs = std::filesystem;
using nlohmann::json;
using Files = std::vector<std::string>;

// tests/unit/webhook/delivery_corpus.h -> the repository root.
inline const fs::path kCorpus =
    fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "tests" /
    "corpus" / "webhooks";
inline const std::string kZeros(40, '0');

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string body_of(const std::string& file) {
  return read_file(kCorpus / file);
}

inline Headers headers_for(const std::string& file, const std::string& event) {
  if (file.rfind("github/", 0) == 0)
    return {{"x-github-event", event},
            {"x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
            {"user-agent", "GitHub-Hookshot/1c6af21"},
            {"content-type", "application/json"}};
  if (file.rfind("gitlab/", 0) == 0)
    return {{"x-gitlab-event", event},
            {"x-gitlab-event-uuid", "gl-uuid"},
            {"user-agent", "GitLab/16.0.0"}};
  return {{"x-event-key", event},
          {"x-request-uuid", "bb-uuid"},
          {"user-agent", "Bitbucket-Webhooks/2.0"}};
}

// The event column of SOURCES.tsv, by file.
inline std::vector<std::pair<std::string, std::string>> sources() {
  std::vector<std::pair<std::string, std::string>> rows;
  std::istringstream in(read_file(kCorpus / "SOURCES.tsv"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto tab1 = line.find('\t');
    const auto tab2 = line.find('\t', tab1 + 1);
    const auto tab3 = line.find('\t', tab2 + 1);
    rows.emplace_back(line.substr(0, tab1), line.substr(tab2 + 1, tab3 - tab2 - 1));
  }
  return rows;
}

inline std::string event_of(const std::string& file) {
  for (const auto& [f, event] : sources())
    if (f == file) return event;
  ADD_FAILURE() << file << " is not in SOURCES.tsv";
  return "";
}

inline Event parse_file(const std::string& file) {
  auto e = parse_delivery(headers_for(file, event_of(file)), body_of(file));
  EXPECT_TRUE(e.has_value()) << file << ": " << (e ? "" : e.error().describe());
  return e ? *e : Event{};
}

// The file's body with `edit` applied (for the cases the corpus lacks; the signature tests use
// the bytes unchanged).
inline Event parse_edited(const std::string& file, const std::string& event,
                          const std::function<void(json&)>& edit) {
  json j = json::parse(body_of(file));
  edit(j);
  auto e = parse_delivery(headers_for(file, event), j.dump());
  EXPECT_TRUE(e.has_value()) << file << ": " << (e ? "" : e.error().describe());
  return e ? *e : Event{};
}

inline std::string parse_error(const std::string& file, const std::string& event,
                               const std::function<void(json&)>& edit) {
  json j = json::parse(body_of(file));
  edit(j);
  auto e = parse_delivery(headers_for(file, event), j.dump());
  if (e) return "parsed";
  EXPECT_EQ(e.error().code(), ErrorCode::kParse);
  return e.error().message();
}

}  // namespace kiln::webhook::test
