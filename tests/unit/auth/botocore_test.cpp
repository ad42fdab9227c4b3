// Requests signed by real botocore, verified by Kiln: botocore's SigV4Auth on hand-made requests,
// and full botocore clients (the code path of boto3 and AWS CLI v1) whose HTTP send is replaced
// by a hook that captures the request. botocore is Debian's python3-botocore (install-deps.sh);
// without a python3 that has it the tests skip, or fail under KILN_REQUIRE_BOTOCORE
// (scripts/test.sh sets it).
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "auth/keys.h"
#include "auth/sigv4.h"
#include "util/files.h"

namespace kiln::auth {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Reads a JSON list of specs (argv[1]); for each, signs or sends the request it describes and
// records what went on the wire. One python run for the whole suite: starting python and
// importing botocore is most of the cost. The environment is scrubbed so the machine's own AWS
// settings cannot leak in.
constexpr const char* kScript = R"PY(
import json, os, sys, traceback
from urllib.parse import urlsplit
for v in list(os.environ):
    if v.startswith('AWS_'):
        del os.environ[v]
os.environ['AWS_CONFIG_FILE'] = os.devnull
import botocore.auth, botocore.awsrequest, botocore.credentials, botocore.session

def text(v):
    return v.decode('utf-8') if isinstance(v, (bytes, bytearray)) else (v or '')

def sign(spec):
    creds = botocore.credentials.Credentials(spec['key'], spec['secret'], spec.get('token'))
    req = botocore.awsrequest.AWSRequest(method=spec['method'], url=spec['url'],
                                         headers=spec.get('headers', {}),
                                         data=spec['body'].encode('utf-8'))
    botocore.auth.SigV4Auth(creds, spec['service'], spec['region']).add_auth(req)
    return req, spec['region']

def send(spec):
    os.environ['AWS_SHARED_CREDENTIALS_FILE'] = spec.get('credentials_file', os.devnull)
    kwargs = {}
    if 'key' in spec:
        kwargs = dict(aws_access_key_id=spec['key'], aws_secret_access_key=spec['secret'],
                      aws_session_token=spec.get('token'))
    if 'region' in spec:
        kwargs['region_name'] = spec['region']
    client = botocore.session.Session().create_client(spec['service'], endpoint_url=spec['url'],
                                                      **kwargs)
    captured = {}
    class Raw:
        def stream(self, **_):
            yield spec['response'].encode()
    def capture(request, **_):
        captured['request'] = request
        return botocore.awsrequest.AWSResponse(request.url, 200, {}, Raw())
    client.meta.events.register('before-send', capture)
    getattr(client, spec['operation'])(**spec.get('params', {}))
    return captured['request'], client.meta.region_name

out = {}
for name, spec in json.load(open(sys.argv[1])).items():
    try:
        req, region = (sign if spec['mode'] == 'sign' else send)(spec)
        u = urlsplit(req.url)
        out[name] = {'method': req.method, 'path': u.path, 'query': u.query, 'host': u.netloc,
                     'region': region, 'body': text(req.body),
                     'headers': [[k.lower(), text(v)] for k, v in req.headers.items()]}
    except Exception:
        out[name] = {'error': traceback.format_exc()}
json.dump(out, sys.stdout)
)PY";

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The first python3 that can import botocore: $KILN_TEST_PYTHON, /usr/bin/python3, then PATH's.
const std::optional<std::string>& botocore_python() {
  static const std::optional<std::string> found = []() -> std::optional<std::string> {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("KILN_TEST_PYTHON")) candidates.emplace_back(env);
    candidates.emplace_back("/usr/bin/python3");
    candidates.emplace_back("python3");
    for (const auto& c : candidates) {
      const std::string cmd = shell_quote(c) +
                              " -c 'import botocore.auth, botocore.awsrequest, "
                              "botocore.credentials' >/dev/null 2>&1";
      if (std::system(cmd.c_str()) == 0) return c;
    }
    return std::nullopt;
  }();
  return found;
}

// What botocore put on the wire, as the HTTP layer would hand it to verify().
struct WireRequest {
  std::string method, path, query, body, region;
  std::vector<std::pair<std::string, std::string>> headers;
  SignedRequest view() const { return {method, path, query, &headers, body}; }
  const std::string& header(const std::string& name) const {
    static const std::string none;
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return none;
  }
};

// Everything botocore is asked for, signed in one python run when the suite starts.
struct Suite {
  fs::path dir;
  std::unique_ptr<KeyFile> keys;  // holds `key`
  AccessKey key;
  std::unique_ptr<KeyFile> admin_keys;  // bootstrapped in dir/data
  std::map<std::string, WireRequest> wire;
  std::string failure;  // why the run failed, if it did
};

json sign_spec(const AccessKey& key, const std::string& url, const std::string& body) {
  return {{"mode", "sign"},
          {"url", url},
          {"method", "POST"},
          {"body", body},
          {"key", key.id},
          {"secret", key.secret},
          {"region", "us-east-1"},
          {"service", "codebuild"},
          {"headers",
           {{"X-Amz-Target", "CodeBuild_20161006.ListProjects"},
            {"Content-Type", "application/x-amz-json-1.1"}}}};
}

json client_spec(const AccessKey& key, const std::string& service, const std::string& url,
                 const std::string& region, const std::string& operation, json params,
                 const std::string& response) {
  return {{"mode", "client"},
          {"service", service},
          {"url", url},
          {"region", region},
          {"key", key.id},
          {"secret", key.secret},
          {"operation", operation},
          {"params", std::move(params)},
          {"response", response}};
}

json all_specs(const Suite& s, const fs::path& credentials) {
  json specs;
  specs["plain"] = sign_spec(s.key, "http://127.0.0.1:48123/", "{}");
  specs["tamper"] = sign_spec(s.key, "http://127.0.0.1:48123/", "{\"sortBy\": \"NAME\"}");
  json odd = sign_spec(s.key, "http://kiln.example:8443/codebuild-api/./x/../y%20z?b=2&a=1&a=0",
                       "{\"name\": \"caf\xc3\xa9 \\u2603\",  \"n\": 1}");
  odd["method"] = "PUT";
  odd["headers"]["X-Custom"] = "  spaced    out\tvalue  ";
  odd["region"] = "ap-southeast-2";
  specs["odd"] = odd;
  json token = sign_spec(s.key, "http://127.0.0.1:48123/", "{}");
  token["token"] = "TOKEN123";
  specs["token"] = token;
  json codebuild =
      client_spec(s.key, "codebuild", "http://127.0.0.1:48123", "eu-west-1", "list_projects",
                  {{"sortBy", "NAME"}, {"sortOrder", "ASCENDING"}}, "{\"projects\": []}");
  specs["codebuild_client"] = codebuild;
  codebuild["token"] = "SESSION-TOKEN";
  specs["codebuild_client_token"] = codebuild;
  specs["logs_client"] =
      client_spec(s.key, "logs", "http://127.0.0.1:48123/kiln", "us-west-2", "describe_log_groups",
                  {{"logGroupNamePrefix", "/aws/codebuild/"}}, "{\"logGroups\": []}");
  specs["credentials_file"] = {{"mode", "client"},
                               {"service", "codebuild"},
                               {"url", "http://localhost:9000"},
                               {"credentials_file", credentials.string()},
                               {"operation", "batch_get_projects"},
                               {"params", {{"names", {"p1"}}}},
                               {"response", "{\"projects\": [], \"projectsNotFound\": [\"p1\"]}"}};
  return specs;
}

// Runs the script over every spec; on failure returns why.
std::string run_botocore(Suite& s, const json& specs) {
  const fs::path script = s.dir / "sign.py", input = s.dir / "specs.json",
                 err = s.dir / "stderr.txt";
  if (!write_file_atomic(script, kScript) || !write_file_atomic(input, specs.dump())) {
    return "cannot write the script";
  }
  const std::string cmd = shell_quote(*botocore_python()) + " " + shell_quote(script.string()) +
                          " " + shell_quote(input.string()) + " 2>" + shell_quote(err.string());
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "python failed (" + std::to_string(status) + "): " + read_file(err).value_or("");
  }
  const json results = json::parse(out, nullptr, false);
  if (results.is_discarded()) return "not JSON: " + out;
  std::string failures;
  for (const auto& [name, w] : results.items()) {
    if (w.contains("error")) {
      failures += name + ": " + w["error"].get<std::string>();
      continue;
    }
    WireRequest r{w["method"],
                  w["path"],
                  w["query"],
                  w["body"],
                  w["region"].is_string() ? w["region"].get<std::string>() : "",
                  {}};
    for (const auto& h : w["headers"]) r.headers.emplace_back(h[0], h[1]);
    // Newer botocore leaves Host to urllib3, which adds it when sending; Debian's 1.29 sets it
    // itself. Added twice, it would be signed as "host:a,a".
    if (r.header("host").empty()) r.headers.emplace_back("host", w["host"]);
    s.wire[name] = std::move(r);
  }
  return failures;
}

class BotocoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!botocore_python()) return;
    suite_ = new Suite;
    std::string tmpl = (fs::temp_directory_path() / "kiln-botocore-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      suite_->failure = "mkdtemp failed";
      return;
    }
    suite_->dir = tmpl;
    suite_->keys = KeyFile::empty(suite_->dir / "keys.json");
    auto key = suite_->keys->create("alice");
    const fs::path data = suite_->dir / "data";
    std::error_code ec;
    fs::create_directory(data, ec);
    auto boot = bootstrap(data, "eu-central-1");
    if (!key || !boot || !boot->new_credentials) {
      suite_->failure = "cannot make keys";
      return;
    }
    suite_->key = *key;
    suite_->admin_keys = std::move(boot->keys);
    suite_->failure = run_botocore(*suite_, all_specs(*suite_, *boot->new_credentials));
  }
  static void TearDownTestSuite() {
    if (suite_ == nullptr) return;
    if (failed_) {
      std::cerr << "kept " << suite_->dir << "\n";
    } else {
      std::error_code ec;
      fs::remove_all(suite_->dir, ec);
    }
    delete suite_;
    suite_ = nullptr;
  }
  void SetUp() override {
    if (suite_ == nullptr) {
      if (std::getenv("KILN_REQUIRE_BOTOCORE") != nullptr)
        FAIL() << "no python3 with botocore (KILN_REQUIRE_BOTOCORE): install python3-botocore";
      GTEST_SKIP() << "no python3 with botocore";
    }
    ASSERT_EQ(suite_->failure, "");
  }
  void TearDown() override { failed_ = failed_ || HasFailure(); }

  const WireRequest& wire(const std::string& name) const { return suite_->wire.at(name); }
  tl::expected<Identity, AuthError> check(const WireRequest& r, std::int64_t offset = 0) const {
    static constexpr std::string_view services[] = {"codebuild", "logs"};
    return verify(r.view(), *suite_->keys, std::time(nullptr) + offset, services);
  }

  static inline Suite* suite_ = nullptr;
  static inline bool failed_ = false;
};

TEST_F(BotocoreTest, SigV4AuthOnACodeBuildRequest) {
  auto id = check(wire("plain"));
  ASSERT_TRUE(id) << id.error().type << ": " << id.error().message;
  EXPECT_EQ(id->access_key_id, suite_->key.id);
  EXPECT_EQ(id->user, "alice");
  EXPECT_EQ(id->region, "us-east-1");
  EXPECT_EQ(id->service, "codebuild");
}

TEST_F(BotocoreTest, OddPathQueryHeadersAndBody) {
  const WireRequest& r = wire("odd");
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.path, "/codebuild-api/./x/../y%20z");
  EXPECT_EQ(r.query, "b=2&a=1&a=0");
  EXPECT_EQ(r.header("x-custom"), "  spaced    out\tvalue  ");
  auto id = check(r);
  ASSERT_TRUE(id) << id.error().type << ": " << id.error().message;
  EXPECT_EQ(id->region, "ap-southeast-2");
}

TEST_F(BotocoreTest, SessionTokenIsSignedAndVerifies) {
  const WireRequest& r = wire("token");
  EXPECT_EQ(r.header("x-amz-security-token"), "TOKEN123");
  EXPECT_NE(r.header("authorization")
                .find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                      "x-amz-target,"),
            std::string::npos)
      << r.header("authorization");
  auto id = check(r);
  EXPECT_TRUE(id) << id.error().type << ": " << id.error().message;
}

TEST_F(BotocoreTest, TamperingAndStalenessAreCaught) {
  const WireRequest& r = wire("tamper");
  ASSERT_TRUE(check(r));
  WireRequest tampered = r;
  tampered.body = "{\"sortBy\": \"CREATED_TIME\"}";
  EXPECT_EQ(check(tampered).error().type, "InvalidSignatureException");
  EXPECT_TRUE(check(r, 2000).error().message.starts_with("Signature expired: "));
  EXPECT_TRUE(check(r, -2000).error().message.starts_with("Signature not yet current: "));
}

TEST_F(BotocoreTest, CodeBuildClientRequest) {
  const WireRequest& r = wire("codebuild_client");
  EXPECT_EQ(r.header("x-amz-target"), "CodeBuild_20161006.ListProjects");
  EXPECT_FALSE(r.header("user-agent").empty());
  EXPECT_EQ(json::parse(r.body), json({{"sortBy", "NAME"}, {"sortOrder", "ASCENDING"}}));
  auto id = check(r);
  ASSERT_TRUE(id) << id.error().type << ": " << id.error().message;
  EXPECT_EQ(id->region, "eu-west-1");
  EXPECT_EQ(id->service, "codebuild");

  const WireRequest& with_token = wire("codebuild_client_token");
  EXPECT_EQ(with_token.header("x-amz-security-token"), "SESSION-TOKEN");
  EXPECT_TRUE(check(with_token));
}

TEST_F(BotocoreTest, LogsClientRequest) {
  const WireRequest& r = wire("logs_client");
  EXPECT_EQ(r.path, "/kiln");
  auto id = check(r);
  ASSERT_TRUE(id) << id.error().type << ": " << id.error().message;
  EXPECT_EQ(id->service, "logs");
  static constexpr std::string_view only_codebuild[] = {"codebuild"};
  EXPECT_EQ(verify(r.view(), *suite_->keys, std::time(nullptr), only_codebuild).error().message,
            "Credential should be scoped to correct service: 'codebuild'.");
}

TEST_F(BotocoreTest, BootstrappedCredentialsFileWorksWithBotocore) {
  const WireRequest& r = wire("credentials_file");
  EXPECT_EQ(r.region, "eu-central-1");  // read from the credentials file
  static constexpr std::string_view services[] = {"codebuild"};
  auto id = verify(r.view(), *suite_->admin_keys, std::time(nullptr), services);
  ASSERT_TRUE(id) << id.error().type << ": " << id.error().message;
  EXPECT_EQ(id->user, "admin");
  EXPECT_EQ(id->region, "eu-central-1");
  // The suite's other key is not in this store.
  EXPECT_EQ(
      verify(wire("plain").view(), *suite_->admin_keys, std::time(nullptr), services).error().type,
      "UnrecognizedClientException");
}

}  // namespace
}  // namespace kiln::auth
