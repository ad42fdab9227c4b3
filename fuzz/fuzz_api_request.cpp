// libFuzzer target for the API's request decoding: routing on X-Amz-Target, JSON decoding and
// every operation's input validation, on an in-memory store. The first line of the input is the
// target's operation name (`SSM.X` and `SM.X` for Parameter Store and Secrets Manager, `Logs.X`
// for CloudWatch Logs, else CodeBuild), the rest the body. Unsigned requests are allowed here, so
// the operations themselves are reached; the SigV4 parser has its own tests. The property: no
// crash, no sanitizer report, and never a 5xx (a 5xx makes clients retry).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/service.h"
#include "auth/keys.h"
#include "secrets/secret_store.h"
#include "store/store.h"
#include "util/clock.h"

namespace {

class NoBuilds final : public kiln::api::BuildControl {
 public:
  void wake() override {}
  bool stop(const std::string&) override { return false; }
  bool stop_batch(const std::string&) override { return false; }
  kiln::Result<void> retry_batch(const std::string&, bool) override {
    return kiln::fail(kiln::ErrorCode::kInvalidArgument, "no batches here");
  }
};

struct World {
  std::unique_ptr<kiln::store::Store> store = kiln::store::open_sqlite(":memory:").value();
  std::unique_ptr<kiln::auth::KeyFile> keys = kiln::auth::KeyFile::empty("/nonexistent/keys.json");
  NoBuilds control;
  kiln::FakeClock clock;
  std::unique_ptr<kiln::secrets::SecretStore> secrets = kiln::secrets::memory_secret_store(clock);
  kiln::api::Service service{
      kiln::api::ServiceOptions{{}, {"/nonexistent-kiln-fuzz"}, true, 900, {}},
      *store,
      *secrets,
      *keys,
      control,
      clock};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  kiln::http::Request req;
  req.method = "POST";
  req.target = req.path = "/";
  const std::string op = nl == std::string::npos ? input : input.substr(0, nl);
  std::string target = "CodeBuild_20161006." + op;
  if (op.starts_with("Logs.")) target = "Logs_20140328." + op.substr(5);
  if (op.starts_with("SSM.")) target = "AmazonSSM." + op.substr(4);
  if (op.starts_with("SM.")) target = "secretsmanager." + op.substr(3);
  req.headers = {{"content-type", "application/x-amz-json-1.1"}, {"x-amz-target", target}};
  req.body = nl == std::string::npos ? "" : input.substr(nl + 1);
  const auto r = world.service.handle(req);
  if (r.status >= 500) std::abort();
  return 0;
}
