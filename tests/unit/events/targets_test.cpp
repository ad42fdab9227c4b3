#include "events/targets.h"

#include <deque>

#include <gtest/gtest.h>

#include "events/events_fixture.h"
#include "util/files.h"
#include "util/string.h"

namespace kiln::events {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

const auto kDay = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));

// Answers each send() with the next scripted status (0 = a connection error); records requests.
class FakeClient final : public net::HttpClient {
 public:
  explicit FakeClient(std::deque<long>& script, std::vector<net::HttpRequest>& sent)
      : script_(script), sent_(sent) {}
  Result<net::HttpResponse> send(const net::HttpRequest& req) override {
    sent_.push_back(req);
    const long status = script_.empty() ? 200 : script_.front();
    if (!script_.empty()) script_.pop_front();
    if (status == 0) return tl::unexpected(Error(ErrorCode::kIo, "connect: refused"));
    net::HttpResponse r;
    r.status = status;
    return r;
  }

 private:
  std::deque<long>& script_;
  std::vector<net::HttpRequest>& sent_;
};

json event(int n, const std::string& project,
           const std::string& type = "CodeBuild Build State Change") {
  return {{"id", "id-" + std::to_string(n)},
          {"detail-type", type},
          {"detail", {{"project-name", project}}}};
}

Rule rule(int max_attempts = 3) {
  Rule r;
  r.name = "hook";
  r.url = "http://127.0.0.1:9/x";
  r.projects = {"app"};
  r.secret = "key";
  r.max_attempts = max_attempts;
  return r;
}

class TargetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::open(dir_.path() / "events");
    ASSERT_TRUE(j);
    journal_ = std::move(*j);
  }
  std::unique_ptr<TargetWorker> worker(Rule r, bool stop_on_sleep = false) {
    WorkerDeps deps;
    deps.make_client = [this] { return std::make_unique<FakeClient>(script_, sent_); };
    deps.sleep = [this, stop_on_sleep](milliseconds d) {
      sleeps_.push_back(d);
      return !stop_on_sleep;
    };
    deps.stopping = [] { return false; };
    return std::make_unique<TargetWorker>(std::move(r), *journal_, dir_.path() / "events", deps);
  }
  void append(const json& e) { ASSERT_TRUE(journal_->append(e, kDay)); }
  std::vector<json> dead_letters() {
    std::vector<json> out;
    auto text = read_file(dir_.path() / "events" / "dead-letter" / "hook.jsonl");
    if (!text) return out;
    for (auto line : split(*text, '\n'))
      if (!line.empty()) out.push_back(json::parse(line));
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Journal> journal_;
  std::deque<long> script_;
  std::vector<net::HttpRequest> sent_;
  std::vector<milliseconds> sleeps_;
};

TEST(Rules, ParsesAndRefusesWithTheRuleNamed) {
  auto rules = parse_rules(R"([{"name":"a","url":"https://h/x","projects":["*"],"secret":"s"},
      {"name":"b","url":"http://h/y","projects":["p"],"secret":"s",
       "detailTypes":["CodeBuild Build Phase Change"],"maxAttempts":2}])");
  ASSERT_TRUE(rules) << rules.error().message();
  ASSERT_EQ(rules->size(), 2U);
  EXPECT_EQ((*rules)[0].max_attempts, 6);
  EXPECT_EQ((*rules)[1].max_attempts, 2);
  EXPECT_TRUE(rule_matches((*rules)[0], "any", "CodeBuild Build State Change"));
  EXPECT_FALSE(rule_matches((*rules)[1], "p", "CodeBuild Build State Change"));
  EXPECT_TRUE(rule_matches((*rules)[1], "p", "CodeBuild Build Phase Change"));
  EXPECT_FALSE(rule_matches((*rules)[1], "q", "CodeBuild Build Phase Change"));

  auto bad = [](const std::string& text) { return parse_rules(text).error().message(); };
  EXPECT_EQ(bad(R"({})"), "the rules file must be a JSON array of rules");
  EXPECT_EQ(bad(R"([{"name":"x","url":"ftp://h","projects":["*"],"secret":"s"}])"),
            "rule 1 (x): url must be http:// or https://");
  EXPECT_EQ(bad(R"([{"name":"x","url":"http://h","projects":["*"]}])"),
            "rule 1 (x): secret is missing: every POST is signed");
  EXPECT_EQ(bad(R"([{"name":"../x","url":"http://h","projects":["*"],"secret":"s"}])"),
            "rule 1 (../x): name must be 1-64 of A-Z a-z 0-9 - _");
  EXPECT_EQ(bad(R"([{"name":"x","url":"http://h","projects":["*"],"secret":"s","extra":1}])"),
            "rule 1 (x): unknown member extra");
  EXPECT_EQ(bad(R"([{"name":"x","url":"http://h","projects":["*"],"secret":"s"},
                    {"name":"x","url":"http://h","projects":["*"],"secret":"s"}])"),
            "rule 2: the name x is taken by an earlier rule");
}

TEST(Rules, TheSignatureIsHmacSha256OfTheExactBody) {
  // printf body | openssl dgst -sha256 -hmac key
  EXPECT_EQ(signature("key", "body"),
            "sha256=515aae133b435d4000956731f68ae5cf5eb85d4f0dc6a546d2bfcd3595ec1ae1");
  const std::string body = event(1, "app").dump();
  const auto req = delivery_request(rule(), 12, body);
  EXPECT_EQ(req.body, body);
  auto header = [&](const std::string& name) {
    for (const auto& [k, v] : req.headers)
      if (k == name) return v;
    return std::string();
  };
  EXPECT_EQ(header("X-Kiln-Signature-256"), signature("key", body));
  EXPECT_EQ(header("X-Kiln-Event-Id"), "id-1");
  EXPECT_EQ(header("X-Kiln-Event-Sequence"), "12");
  EXPECT_EQ(header("Content-Type"), "application/json");
}

TEST_F(TargetsTest, RetriesWithBackoffThenDelivers) {
  auto w = worker(rule(6));
  ASSERT_TRUE(w->start());
  append(event(1, "app"));
  script_ = {503, 0, 429, 200};
  w->drain();
  EXPECT_EQ(sent_.size(), 4U);
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000),
                                                milliseconds(4000)}));
  EXPECT_EQ(w->cursor(), 1U);
  EXPECT_TRUE(dead_letters().empty());
}

TEST_F(TargetsTest, DeadLettersAfterMaxAttemptsAndMovesOn) {
  auto w = worker(rule(3));
  ASSERT_TRUE(w->start());
  append(event(1, "app"));
  append(event(2, "app"));
  script_ = {500, 500, 500, 200};
  w->drain();
  EXPECT_EQ(sent_.size(), 4U);
  const auto letters = dead_letters();
  ASSERT_EQ(letters.size(), 1U);
  EXPECT_EQ(letters[0]["seq"], 1);
  EXPECT_EQ(letters[0]["attempts"], 3);
  EXPECT_EQ(letters[0]["error"], "HTTP 500");
  EXPECT_EQ(letters[0]["event"], event(1, "app"));
  EXPECT_EQ(w->cursor(), 2U);
}

TEST_F(TargetsTest, AnAnswerThatIsNotWorthRetryingIsDeadLetteredAtOnce) {
  auto w = worker(rule(6));
  ASSERT_TRUE(w->start());
  append(event(1, "app"));
  script_ = {404};
  w->drain();
  EXPECT_EQ(sent_.size(), 1U);
  EXPECT_TRUE(sleeps_.empty());
  ASSERT_EQ(dead_letters().size(), 1U);
  EXPECT_EQ(dead_letters()[0]["error"], "HTTP 404");
}

TEST_F(TargetsTest, OnlyItsProjectsAndTheCursorResumesAfterARestart) {
  append(event(1, "app"));  // before the rule existed: not its business
  {
    auto w = worker(rule());
    ASSERT_TRUE(w->start());
    EXPECT_EQ(w->cursor(), 1U);
    append(event(2, "other"));
    append(event(3, "app"));
    w->drain();
    ASSERT_EQ(sent_.size(), 1U);
    EXPECT_EQ(json::parse(sent_[0].body), event(3, "app"));
    EXPECT_EQ(w->cursor(), 3U);
    // The server stops while the target is down: the event stays due.
  }
  append(event(4, "app"));
  {
    auto w = worker(rule(), /*stop_on_sleep=*/true);
    ASSERT_TRUE(w->start());
    script_ = {0};
    w->drain();
    EXPECT_EQ(w->cursor(), 3U);
  }
  sent_.clear();
  auto w = worker(rule());
  ASSERT_TRUE(w->start());
  EXPECT_EQ(w->cursor(), 3U);
  w->drain();
  ASSERT_EQ(sent_.size(), 1U);
  EXPECT_EQ(json::parse(sent_[0].body), event(4, "app"));
  EXPECT_EQ(json::parse(*read_file(dir_.path() / "events" / "cursors" / "hook.json")),
            (json{{"seq", 4}}));
}

TEST_F(TargetsTest, ThreadsDeliverWhatTheJournalGetsAndStopPromptly) {
  std::vector<Rule> rules{rule()};
  Targets targets(rules, *journal_, dir_.path() / "events",
                  [this] { return std::make_unique<FakeClient>(script_, sent_); });
  ASSERT_TRUE(targets.start());
  append(event(1, "app"));
  targets.notify();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto cursor = read_file(dir_.path() / "events" / "cursors" / "hook.json");
    if (cursor && json::parse(*cursor)["seq"] == 1) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  targets.stop();
  ASSERT_EQ(sent_.size(), 1U);
}

}  // namespace
}  // namespace kiln::events
