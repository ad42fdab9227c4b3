// Secrets Manager: CreateSecret, GetSecretValue, PutSecretValue, UpdateSecret, DeleteSecret,
// DescribeSecret and ListSecrets (X-Amz-Target secretsmanager.*), on the encrypted SecretStore.
// Errors are Secrets Manager's own: ResourceNotFoundException, ResourceExistsException,
// InvalidRequestException (the secret's state forbids it), InvalidParameterException (bad input;
// the Service renames the shared validators' InvalidInputException) and
// InvalidNextTokenException. SecretBinary travels as base64 in JSON, as botocore sends it.
#include <algorithm>

#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"
#include "store/page_token.h"
#include "util/clock.h"
#include "util/string.h"

namespace kiln::api {
namespace {

using nlohmann::json;
using secrets::Secret;

constexpr std::size_t kMaxValue = 65536;
constexpr std::string_view kCurrent = "AWSCURRENT";

tl::unexpected<ApiError> invalid_parameter(std::string message) {
  return api_fail("InvalidParameterException", std::move(message));
}

// The store's errors as Secrets Manager words them; the store's messages are the service's.
ApiError sm_error(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kNotFound: return {"ResourceNotFoundException", e.message(), 400};
    case ErrorCode::kAlreadyExists: return {"ResourceExistsException", e.message(), 400};
    case ErrorCode::kInvalidArgument: return {"InvalidRequestException", e.message(), 400};
    default: return from_error(e);
  }
}

std::string secret_arn(const std::string& region, const std::string& account,
                       const std::string& name, const std::string& suffix) {
  return "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + name + "-" + suffix;
}

double seconds(std::int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

// "ASCII letters, numbers, and the following characters: /_+=.@-".
bool valid_secret_name(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](unsigned char ch) {
    return std::isalnum(ch) != 0 ||
           std::string_view("/_+=.@-").find(static_cast<char>(ch)) != std::string_view::npos;
  });
}

// Reads SecretString / SecretBinary / ClientRequestToken; nullopt when neither value is given.
ApiResult<std::optional<secrets::NewSecretValue>> read_value(const json& in) {
  Fields f(in, "");
  auto text = sensitive_string(in, "SecretString", false, 1, kMaxValue);
  if (!text) return tl::unexpected(text.error());
  auto binary = sensitive_string(in, "SecretBinary", false, 1, 2 * kMaxValue);
  if (!binary) return tl::unexpected(binary.error());
  auto token = f.string("ClientRequestToken", false, 32, 64);
  if (!token) return tl::unexpected(token.error());
  if (*text && *binary) {
    return invalid_parameter(
        "You can't specify both a binary secret value and a string secret value in the same "
        "secret.");
  }
  if (!*text && !*binary) return std::nullopt;
  secrets::NewSecretValue v;
  v.client_request_token = token->value_or("");
  if (*text) {
    v.secret_string = **text;
  } else {
    v.secret_binary = base64_decode(**binary);
    if (!v.secret_binary) return invalid_parameter("SecretBinary must be base64");
    if (v.secret_binary->empty() || v.secret_binary->size() > kMaxValue) {
      return invalid_parameter("SecretBinary must hold 1 to 65536 bytes");
    }
  }
  return v;
}

// Members Kiln does not implement: refused when given, so nothing is silently dropped.
ApiResult<void> refuse_unsupported(const Fields& f) {
  for (const char* list : {"Tags", "AddReplicaRegions"}) {
    auto l = f.list(list, false, 1000);
    if (!l) return tl::unexpected(l.error());
    if (*l != nullptr && !(*l)->empty()) {
      return invalid_parameter(std::string(list) + " is not supported by Kiln");
    }
  }
  auto type = f.string("Type", false, 0, 256);
  if (!type) return tl::unexpected(type.error());
  if (*type && !(*type)->empty()) return invalid_parameter("Type is not supported by Kiln");
  return {};
}

ApiResult<std::string> secret_id(const Fields& f) {
  auto id = f.string("SecretId", true, 1, 2048);
  if (!id) return tl::unexpected(id.error());
  return **id;
}

std::string current_version(const Secret& s) {
  for (const auto& v : s.versions) {
    if (std::find(v.stages.begin(), v.stages.end(), kCurrent) != v.stages.end()) {
      return v.version_id;
    }
  }
  return "";
}

json version_stages(const Secret& s) {
  json map = json::object();
  for (const auto& v : s.versions) {
    if (!v.stages.empty()) map[v.version_id] = v.stages;
  }
  return map;
}

// ListSecrets filters: each value is a prefix (a leading '!' negates it); any value of a filter
// may match, and every filter must. Kiln's secrets have no tags, replicas or owning service.
bool filter_matches(const Secret& s, const std::string& key, const std::string& value) {
  const bool negate = value.starts_with('!');
  const std::string v = negate ? value.substr(1) : value;
  bool hit = false;
  if (key == "name") {
    hit = s.name.starts_with(v);
  } else if (key == "description") {
    hit = to_lower(s.description).starts_with(to_lower(v));
  } else if (key == "all") {
    const std::string haystack = to_lower(s.name + " " + s.description);
    hit = true;
    for (std::size_t i = 0; i < v.size();) {
      const auto sp = std::min(v.find(' ', i), v.size());
      if (sp > i && haystack.find(to_lower(v.substr(i, sp - i))) == std::string::npos) hit = false;
      i = sp + 1;
    }
  }
  return hit != negate;
}

}  // namespace

ApiResult<json> Service::create_secret(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("Name", true, 1, 512);
  if (!name) return tl::unexpected(name.error());
  auto description = f.string("Description", false, 0, 2048);
  if (!description) return tl::unexpected(description.error());
  auto kms = f.string("KmsKeyId", false, 0, 2048);
  if (!kms) return tl::unexpected(kms.error());
  auto force = f.boolean("ForceOverwriteReplicaSecret");
  if (!force) return tl::unexpected(force.error());
  if (auto ok = refuse_unsupported(f); !ok) return tl::unexpected(ok.error());
  auto value = read_value(c.in);
  if (!value) return tl::unexpected(value.error());
  if (!valid_secret_name(**name)) {
    return invalid_parameter(
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
        "following: -/_+=.@");
  }
  auto secret = secrets_.create_secret(**name, description->value_or(""), kms->value_or(""),
                                       value->value_or(secrets::NewSecretValue{}));
  if (!secret) return tl::unexpected(sm_error(secret.error()));
  json out = {{"ARN", secret_arn(c.region, options_.account.id, secret->name, secret->arn_suffix)},
              {"Name", secret->name}};
  if (*value) out["VersionId"] = current_version(*secret);
  return out;
}

ApiResult<json> Service::get_secret_value(const Call& c) {
  Fields f(c.in, "");
  auto id = secret_id(f);
  if (!id) return tl::unexpected(id.error());
  auto version = f.string("VersionId", false, 32, 64);
  if (!version) return tl::unexpected(version.error());
  auto stage = f.string("VersionStage", false, 1, 256);
  if (!stage) return tl::unexpected(stage.error());
  auto v = secrets_.get_secret_value(*id, version->value_or(""), stage->value_or(""));
  if (!v) return tl::unexpected(sm_error(v.error()));
  json out = {{"ARN", secret_arn(c.region, options_.account.id, v->name, v->arn_suffix)},
              {"Name", v->name},
              {"VersionId", v->version_id},
              {"VersionStages", v->stages},
              {"CreatedDate", seconds(v->created_ms)}};
  if (v->secret_string) out["SecretString"] = *v->secret_string;
  if (v->secret_binary) out["SecretBinary"] = base64_encode(*v->secret_binary);
  return out;
}

ApiResult<json> Service::put_secret_value(const Call& c) {
  Fields f(c.in, "");
  auto id = secret_id(f);
  if (!id) return tl::unexpected(id.error());
  auto stages_in = f.list("VersionStages", false, 20);
  if (!stages_in) return tl::unexpected(stages_in.error());
  auto rotation = f.string("RotationToken", false, 36, 256);
  if (!rotation) return tl::unexpected(rotation.error());
  std::vector<std::string> stages;
  if (*stages_in != nullptr) {
    if ((*stages_in)->empty()) return invalid_parameter("VersionStages must not be empty");
    for (const auto& s : **stages_in) {
      if (!s.is_string() || s.get_ref<const std::string&>().empty() ||
          s.get_ref<const std::string&>().size() > 256) {
        return invalid_parameter("VersionStages must hold strings of 1 to 256 characters");
      }
      stages.push_back(s);
    }
  }
  auto value = read_value(c.in);
  if (!value) return tl::unexpected(value.error());
  if (!*value) return invalid_parameter("You must provide either SecretString or SecretBinary.");
  auto info = secrets_.put_secret_value(*id, **value, stages);
  if (!info) return tl::unexpected(sm_error(info.error()));
  auto secret = secrets_.describe_secret(*id);
  if (!secret) return tl::unexpected(sm_error(secret.error()));
  return json{{"ARN", secret_arn(c.region, options_.account.id, secret->name, secret->arn_suffix)},
              {"Name", secret->name},
              {"VersionId", info->version_id},
              {"VersionStages", info->stages}};
}

ApiResult<json> Service::update_secret(const Call& c) {
  Fields f(c.in, "");
  auto id = secret_id(f);
  if (!id) return tl::unexpected(id.error());
  auto description = f.string("Description", false, 0, 2048);
  if (!description) return tl::unexpected(description.error());
  auto kms = f.string("KmsKeyId", false, 0, 2048);
  if (!kms) return tl::unexpected(kms.error());
  if (auto ok = refuse_unsupported(f); !ok) return tl::unexpected(ok.error());
  auto value = read_value(c.in);
  if (!value) return tl::unexpected(value.error());
  auto secret = secrets_.update_secret(*id, *description, *kms, *value);
  if (!secret) return tl::unexpected(sm_error(secret.error()));
  json out = {{"ARN", secret_arn(c.region, options_.account.id, secret->name, secret->arn_suffix)},
              {"Name", secret->name}};
  if (*value) out["VersionId"] = current_version(*secret);
  return out;
}

ApiResult<json> Service::delete_secret(const Call& c) {
  Fields f(c.in, "");
  auto id = secret_id(f);
  if (!id) return tl::unexpected(id.error());
  auto window = f.integer("RecoveryWindowInDays", false, INT64_MIN, INT64_MAX);
  if (!window) return tl::unexpected(window.error());
  auto force = f.boolean("ForceDeleteWithoutRecovery");
  if (!force) return tl::unexpected(force.error());
  if (*window && force->value_or(false)) {
    return invalid_parameter(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  if (*window && (**window < 7 || **window > 30)) {
    return invalid_parameter(
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  }
  auto secret =
      secrets_.delete_secret(*id, static_cast<int>(window->value_or(30)), force->value_or(false));
  if (!secret) return tl::unexpected(sm_error(secret.error()));
  const auto now_ms = to_epoch_millis(clock_.now());
  return json{{"ARN", secret_arn(c.region, options_.account.id, secret->name, secret->arn_suffix)},
              {"Name", secret->name},
              {"DeletionDate", seconds(secret->deleted_ms != 0 ? secret->deleted_ms : now_ms)}};
}

ApiResult<json> Service::describe_secret(const Call& c) {
  Fields f(c.in, "");
  auto id = secret_id(f);
  if (!id) return tl::unexpected(id.error());
  auto s = secrets_.describe_secret(*id);
  if (!s) return tl::unexpected(sm_error(s.error()));
  json out = {{"ARN", secret_arn(c.region, options_.account.id, s->name, s->arn_suffix)},
              {"Name", s->name},
              {"RotationEnabled", false},
              {"LastChangedDate", seconds(s->changed_ms)},
              {"CreatedDate", seconds(s->created_ms)},
              {"VersionIdsToStages", version_stages(*s)}};
  if (!s->description.empty()) out["Description"] = s->description;
  if (!s->kms_key_id.empty()) out["KmsKeyId"] = s->kms_key_id;
  if (s->deleted_ms != 0) out["DeletedDate"] = seconds(s->deleted_ms);
  return out;
}

ApiResult<json> Service::list_secrets(const Call& c) {
  Fields f(c.in, "");
  auto max = f.integer("MaxResults", false, 1, 100);
  if (!max) return tl::unexpected(max.error());
  auto token = f.string("NextToken", false, 1, 4096);
  if (!token) return tl::unexpected(token.error());
  auto planned = f.boolean("IncludePlannedDeletion");
  if (!planned) return tl::unexpected(planned.error());
  auto order = f.one_of("SortOrder", false, {"asc", "desc"});
  if (!order) return tl::unexpected(order.error());
  auto by = f.one_of("SortBy", false,
                     {"created-date", "last-accessed-date", "last-changed-date", "name"});
  if (!by) return tl::unexpected(by.error());
  auto filters_in = f.list("Filters", false, 10);
  if (!filters_in) return tl::unexpected(filters_in.error());
  std::vector<std::pair<std::string, std::vector<std::string>>> filters;
  if (*filters_in != nullptr) {
    for (const auto& item : **filters_in) {
      if (!item.is_object()) return invalid_parameter("Filters must hold objects");
      Fields g(item, "Filters.member");
      auto key = g.one_of("Key", true,
                          {"description", "name", "tag-key", "tag-value", "primary-region",
                           "owning-service", "all"});
      if (!key) return tl::unexpected(key.error());
      auto values = g.list("Values", true, 10);
      if (!values) return tl::unexpected(values.error());
      std::vector<std::string> vs;
      for (const auto& v : **values) {
        if (!v.is_string() || v.get_ref<const std::string&>().size() > 512) {
          return invalid_parameter("Filter values must be strings of up to 512 characters");
        }
        vs.push_back(v);
      }
      filters.emplace_back(**key, std::move(vs));
    }
  }

  auto all = secrets_.list_secrets();
  if (!all) return tl::unexpected(sm_error(all.error()));
  std::vector<Secret> kept;
  for (auto& s : *all) {
    if (s.deleted_ms != 0 && !planned->value_or(false)) continue;
    const bool ok = std::all_of(filters.begin(), filters.end(), [&](const auto& flt) {
      return std::any_of(flt.second.begin(), flt.second.end(),
                         [&](const std::string& v) { return filter_matches(s, flt.first, v); });
    });
    if (ok) kept.push_back(std::move(s));
  }
  // Kiln does not track reads, so last-accessed-date sorts like last-changed-date.
  const std::string sort_by = by->value_or("created-date");
  const auto key = [&](const Secret& s) {
    return sort_by == "created-date" ? s.created_ms : s.changed_ms;
  };
  std::stable_sort(kept.begin(), kept.end(), [&](const Secret& a, const Secret& b) {
    return sort_by == "name" ? a.name < b.name : key(a) < key(b);
  });
  if (order->value_or("desc") == "desc") std::reverse(kept.begin(), kept.end());

  // Offset tokens, bound to the listing's shape so a token is not replayed on another sort.
  const std::string listing = "sm-list/" + sort_by + "/" + order->value_or("desc");
  std::size_t begin = 0;
  if (*token) {
    auto k = store::read_page_token(**token, listing, "i");
    if (!k || std::get<std::int64_t>(k->front()) < 0) {
      return api_fail("InvalidNextTokenException", "The NextToken value is not valid.");
    }
    begin = std::min(kept.size(), static_cast<std::size_t>(std::get<std::int64_t>(k->front())));
  }
  const std::size_t end =
      std::min(kept.size(), begin + static_cast<std::size_t>(max->value_or(100)));
  json list = json::array();
  for (std::size_t i = begin; i < end; ++i) {
    const Secret& s = kept[i];
    json e = {{"ARN", secret_arn(c.region, options_.account.id, s.name, s.arn_suffix)},
              {"Name", s.name},
              {"LastChangedDate", seconds(s.changed_ms)},
              {"CreatedDate", seconds(s.created_ms)},
              {"SecretVersionsToStages", version_stages(s)}};
    if (!s.description.empty()) e["Description"] = s.description;
    if (!s.kms_key_id.empty()) e["KmsKeyId"] = s.kms_key_id;
    if (s.deleted_ms != 0) e["DeletedDate"] = seconds(s.deleted_ms);
    list.push_back(std::move(e));
  }
  json out = {{"SecretList", list}};
  if (end < kept.size()) {
    out["NextToken"] = store::make_page_token(listing, {static_cast<std::int64_t>(end)});
  }
  return out;
}

}  // namespace kiln::api
