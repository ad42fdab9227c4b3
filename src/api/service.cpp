#include "api/service.h"

#include <array>
#include <chrono>

#include "api/authorize.h"
#include "api/validate.h"
#include "util/files.h"
#include "util/json_text.h"

namespace kiln::api {
namespace {

using nlohmann::json;

// The services behind X-Amz-Target prefixes. A request must be signed for its prefix's service,
// so a signature made for one service cannot be replayed against another. Each service has its
// own error code for bad input; the shared validators say InvalidInputException (CodeBuild's),
// which is renamed on the way out.
struct Api {
  std::string_view prefix;
  std::string_view signing_name;
  std::string_view bad_input;
};
constexpr std::array<Api, 4> kApis = {{
    {"CodeBuild_20161006.", "codebuild", "InvalidInputException"},
    {"Logs_20140328.", "logs", "InvalidParameterException"},
    {"AmazonSSM.", "ssm", "ValidationException"},
    {"secretsmanager.", "secretsmanager", "InvalidParameterException"},
}};

const Api* api_of(std::string_view target) {
  for (const auto& a : kApis) {
    if (target.starts_with(a.prefix)) return &a;
  }
  return nullptr;
}

http::Response json_response(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"x-amzn-RequestId", make_uuid()}};
  r.body = json_text(body);
  return r;
}

http::Response error_response(const ApiError& e) {
  http::Response r = json_response(e.status, json{{"__type", e.type}, {"message", e.message}});
  r.headers.emplace_back("X-Amzn-ErrorType", e.type);
  return r;
}

// Byte offsets from nlohmann's parse errors, as "line L, column C" of the body.
std::string where_in(const std::string& body, std::size_t byte) {
  std::size_t line = 1;
  std::size_t col = 1;
  for (std::size_t i = 0; i + 1 < byte && i < body.size(); ++i) {
    if (body[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace

ApiResult<std::optional<std::string>> sensitive_string(const json& in, std::string_view name,
                                                       bool required, std::size_t min_len,
                                                       std::size_t max_len) {
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    if (required) return invalid_input("Missing required parameter: " + std::string(name));
    return std::nullopt;
  }
  if (!it->is_string()) return invalid_input(std::string(name) + " must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() < min_len || s.size() > max_len) {
    return invalid_input("1 validation error detected: Value at '" + std::string(name) +
                         "' failed to satisfy constraint: Member must have length between " +
                         std::to_string(min_len) + " and " + std::to_string(max_len));
  }
  return s;
}

Service::Service(ServiceOptions options, store::Store& store, secrets::SecretStore& secrets,
                 const auth::KeyLookup& keys, BuildControl& control, const Clock& clock)
    : options_(std::move(options)),
      store_(store),
      secrets_(secrets),
      keys_(keys),
      control_(control),
      clock_(clock) {}

double Service::now() const {
  return to_epoch_seconds_ms(clock_.now());
}

Service::Op Service::find_op(std::string_view target) const {
  struct Entry {
    std::string_view name;
    Op op;
  };
  static const std::array<Entry, 59> kOps = {{
      {"CodeBuild_20161006.CreateProject", &Service::create_project},
      {"CodeBuild_20161006.UpdateProject", &Service::update_project},
      {"CodeBuild_20161006.DeleteProject", &Service::delete_project},
      {"CodeBuild_20161006.BatchGetProjects", &Service::batch_get_projects},
      {"CodeBuild_20161006.ListProjects", &Service::list_projects},
      {"CodeBuild_20161006.ListCuratedEnvironmentImages", &Service::list_curated_images},
      {"CodeBuild_20161006.StartBuild", &Service::start_build},
      {"CodeBuild_20161006.RetryBuild", &Service::retry_build},
      {"CodeBuild_20161006.ListBuilds", &Service::list_builds},
      {"CodeBuild_20161006.ListBuildsForProject", &Service::list_builds_for_project},
      {"CodeBuild_20161006.BatchDeleteBuilds", &Service::batch_delete_builds},
      {"CodeBuild_20161006.StartBuildBatch", &Service::start_build_batch},
      {"CodeBuild_20161006.RetryBuildBatch", &Service::retry_build_batch},
      {"CodeBuild_20161006.BatchGetBuildBatches", &Service::batch_get_build_batches},
      {"CodeBuild_20161006.ListBuildBatches", &Service::list_build_batches},
      {"CodeBuild_20161006.ListBuildBatchesForProject", &Service::list_build_batches_for_project},
      {"CodeBuild_20161006.DeleteBuildBatch", &Service::delete_build_batch},
      {"Logs_20140328.GetLogEvents", &Service::get_log_events},
      {"Logs_20140328.FilterLogEvents", &Service::filter_log_events},
      {"Logs_20140328.DescribeLogGroups", &Service::describe_log_groups},
      {"Logs_20140328.DescribeLogStreams", &Service::describe_log_streams},
      {"CodeBuild_20161006.ImportSourceCredentials", &Service::import_source_credentials},
      {"CodeBuild_20161006.ListSourceCredentials", &Service::list_source_credentials},
      {"CodeBuild_20161006.DeleteSourceCredentials", &Service::delete_source_credentials},
      {"CodeBuild_20161006.InvalidateProjectCache", &Service::invalidate_project_cache},
      {"CodeBuild_20161006.CreateWebhook", &Service::create_webhook},
      {"CodeBuild_20161006.UpdateWebhook", &Service::update_webhook},
      {"CodeBuild_20161006.DeleteWebhook", &Service::delete_webhook},
      {"CodeBuild_20161006.PutResourcePolicy", &Service::put_resource_policy},
      {"CodeBuild_20161006.GetResourcePolicy", &Service::get_resource_policy},
      {"CodeBuild_20161006.DeleteResourcePolicy", &Service::delete_resource_policy},
      {"CodeBuild_20161006.UpdateProjectVisibility", &Service::update_project_visibility},
      {"CodeBuild_20161006.ListSharedProjects", &Service::list_shared_projects},
      {"CodeBuild_20161006.ListSharedReportGroups", &Service::list_shared_report_groups},
      {"CodeBuild_20161006.CreateReportGroup", &Service::create_report_group},
      {"CodeBuild_20161006.UpdateReportGroup", &Service::update_report_group},
      {"CodeBuild_20161006.DeleteReportGroup", &Service::delete_report_group},
      {"CodeBuild_20161006.BatchGetReportGroups", &Service::batch_get_report_groups},
      {"CodeBuild_20161006.ListReportGroups", &Service::list_report_groups},
      {"CodeBuild_20161006.GetReportGroupTrend", &Service::get_report_group_trend},
      {"CodeBuild_20161006.ListReports", &Service::list_reports},
      {"CodeBuild_20161006.ListReportsForReportGroup", &Service::list_reports_for_report_group},
      {"CodeBuild_20161006.BatchGetReports", &Service::batch_get_reports},
      {"CodeBuild_20161006.DeleteReport", &Service::delete_report},
      {"CodeBuild_20161006.DescribeTestCases", &Service::describe_test_cases},
      {"CodeBuild_20161006.DescribeCodeCoverages", &Service::describe_code_coverages},
      {"AmazonSSM.PutParameter", &Service::put_parameter},
      {"AmazonSSM.GetParameter", &Service::get_parameter},
      {"AmazonSSM.GetParameters", &Service::get_parameters},
      {"AmazonSSM.GetParametersByPath", &Service::get_parameters_by_path},
      {"AmazonSSM.DeleteParameter", &Service::delete_parameter},
      {"AmazonSSM.DescribeParameters", &Service::describe_parameters},
      {"secretsmanager.CreateSecret", &Service::create_secret},
      {"secretsmanager.GetSecretValue", &Service::get_secret_value},
      {"secretsmanager.PutSecretValue", &Service::put_secret_value},
      {"secretsmanager.UpdateSecret", &Service::update_secret},
      {"secretsmanager.DeleteSecret", &Service::delete_secret},
      {"secretsmanager.DescribeSecret", &Service::describe_secret},
      {"secretsmanager.ListSecrets", &Service::list_secrets},
  }};
  for (const auto& e : kOps) {
    if (e.name == target) return e.op;
  }
  return nullptr;
}

Service::RawOp Service::find_raw_op(std::string_view target) const {
  if (target == "CodeBuild_20161006.BatchGetBuilds") return &Service::batch_get_builds;
  return nullptr;
}

Service::PendingOp Service::find_pending_op(std::string_view target) const {
  if (target == "CodeBuild_20161006.StopBuild") return &Service::stop_build;
  if (target == "CodeBuild_20161006.StopBuildBatch") return &Service::stop_build_batch;
  return nullptr;
}

http::Response Service::handle(const http::Request& req) {
  // Signed with the webhook's secret, not SigV4 (precheck.h); checked by deliver_webhook.
  if (req.path.starts_with("/webhooks/")) return deliver_webhook(req);
  if (req.method == "GET" && (req.path.starts_with("/logs/") || req.path == "/events")) {
    // Plain GETs, signed with SigV4 as the API is (unsigned only under --allow-anonymous).
    std::optional<auth::Identity> who;
    if (req.header("authorization") != nullptr || !options_.allow_anonymous) {
      const std::array<std::string_view, 1> services = {"codebuild"};
      const auto secs =
          std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
      auto verified = auth::verify({req.method, req.path, req.query, &req.headers, req.body}, keys_,
                                   secs, services, options_.max_skew_seconds);
      if (!verified) return error_response({verified.error().type, verified.error().message, 400});
      who = std::move(*verified);
    }
    if (req.path == "/events") return get_events(req, who ? &*who : nullptr);
    if (who) {
      if (auto denied = authorize_log_read(req.path, *who)) return error_response(*denied);
    }
    return get_log(req);
  }
  if (req.method != "POST") {
    return error_response({"InvalidInputException",
                           "Kiln's API takes POST requests (AWS JSON 1.1); got " + req.method,
                           400});
  }
  const std::string* target = req.header("x-amz-target");
  if (target == nullptr || target->empty()) {
    return error_response({"InvalidInputException", "Missing X-Amz-Target header", 400});
  }
  const Api* api = api_of(*target);
  if (api == nullptr) {
    return error_response(
        {"InvalidInputException", "Unknown X-Amz-Target service: " + *target, 400});
  }

  std::string user = "anonymous";
  std::string key_id;  // empty: an unsigned request under --allow-anonymous
  std::string region = options_.account.region;
  if (req.header("authorization") != nullptr || !options_.allow_anonymous) {
    const std::array<std::string_view, 1> services = {api->signing_name};
    const auto secs =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    auto who = auth::verify({req.method, req.path, req.query, &req.headers, req.body}, keys_, secs,
                            services, options_.max_skew_seconds);
    if (!who) return error_response({who.error().type, who.error().message, 400});
    user = who->user;
    key_id = who->access_key_id;
    if (!who->region.empty()) region = who->region;
  }

  const Op op = find_op(*target);
  const RawOp raw_op = find_raw_op(*target);
  const PendingOp pending_op = find_pending_op(*target);
  if (op == nullptr && raw_op == nullptr && pending_op == nullptr) {
    return error_response({std::string(api->bad_input),
                           "Unknown operation " + target->substr(api->prefix.size()) +
                               ": this Kiln does not implement it",
                           400});
  }

  json in;
  try {
    in = req.body.empty() ? json::object() : json::parse(req.body);
  } catch (const json::parse_error& e) {
    return error_response(
        {"SerializationException",
         "The request body is not valid JSON (" + where_in(req.body, e.byte) + ")", 400});
  } catch (const json::exception&) {
    // out_of_range 406: a number beyond a double's range (1e400). Its text is not quoted back:
    // it may be as long as the body.
    return error_response({"SerializationException",
                           "The request body holds a number that cannot be represented", 400});
  }
  if (!in.is_object()) {
    return error_response(
        {"SerializationException", "The request body must be a JSON object", 400});
  }
  if (!key_id.empty()) {
    if (auto denied = authorize_call(*target, in, key_id, user, region)) {
      return error_response(*denied);
    }
  }

  try {
    if (raw_op != nullptr) {
      auto out = (this->*raw_op)(Call{in, user, region, key_id, req.header("host")});
      if (!out) return error_response(out.error());
      http::Response r = json_response(200, nullptr);
      r.body = std::move(*out);
      return r;
    }
    if (pending_op != nullptr) {
      auto out = (this->*pending_op)(Call{in, user, region, key_id, req.header("host")});
      if (!out) return error_response(out.error());
      if (auto* ready = std::get_if<json>(&*out)) return json_response(200, *ready);
      http::Response r = json_response(200, nullptr);
      r.body.clear();
      r.stream = std::move(std::get<http::BodyStream>(*out));
      return r;
    }
    auto out = (this->*op)(Call{in, user, region, key_id, req.header("host")});
    if (!out) {
      ApiError e = std::move(out.error());
      if (e.type == "InvalidInputException") e.type = api->bad_input;
      return error_response(e);
    }
    http::Response r = json_response(200, *out);
    // A backstop: the operations that can assemble large answers refuse them earlier.
    if (r.body.size() > kMaxResponseBytes) {
      return error_response(response_too_large("items").value());
    }
    return r;
  } catch (const std::exception& e) {
    // A bug, not the caller's fault: say so, without the details of our internals.
    return error_response({"InternalFailure", "Kiln failed to handle the request", 500});
  }
}

}  // namespace kiln::api
