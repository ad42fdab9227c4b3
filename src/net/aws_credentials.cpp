#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <cstdlib>

#include "net/http_client.h"

namespace kiln::net {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

Result<AwsCredentials> default_aws_credentials() {
  AwsCredentials c{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"),
                   env("AWS_SESSION_TOKEN")};
  if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return c;

  std::string path = env("AWS_SHARED_CREDENTIALS_FILE");
  if (path.empty()) {
    const std::string home = env("HOME");
    if (home.empty())
      return fail(ErrorCode::kNotFound,
                  "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    path = home + "/.aws/credentials";
  }
  std::string profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  boost::property_tree::ptree ini;
  try {
    boost::property_tree::ini_parser::read_ini(path, ini);
  } catch (const boost::property_tree::ini_parser_error& e) {
    return fail(ErrorCode::kNotFound, "no AWS credentials: AWS_ACCESS_KEY_ID is not set and " +
                                          e.filename() + ":" + std::to_string(e.line()) + ": " +
                                          e.message());
  }
  const auto section = ini.get_child_optional(profile);
  if (!section)
    return fail(ErrorCode::kNotFound,
                "no AWS credentials: " + path + " has no profile [" + profile + "]");
  c.access_key_id = section->get<std::string>("aws_access_key_id", "");
  c.secret_access_key = section->get<std::string>("aws_secret_access_key", "");
  c.session_token = section->get<std::string>("aws_session_token", "");
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return fail(ErrorCode::kNotFound, "no AWS credentials: profile [" + profile + "] of " + path +
                                          " lacks aws_access_key_id or aws_secret_access_key");
  return c;
}

std::string default_aws_region() {
  std::string r = env("AWS_REGION");
  if (r.empty()) r = env("AWS_DEFAULT_REGION");
  return r.empty() ? "us-east-1" : r;
}

}  // namespace kiln::net
