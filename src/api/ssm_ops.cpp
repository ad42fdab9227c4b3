// SSM Parameter Store: PutParameter, GetParameter, GetParameters, GetParametersByPath,
// DeleteParameter and DescribeParameters (X-Amz-Target AmazonSSM.*), on the encrypted
// SecretStore. Errors are SSM's own: ParameterNotFound, ParameterAlreadyExists,
// ValidationException (the Service renames the shared validators' InvalidInputException),
// InvalidNextToken and the InvalidFilter* family.
#include <algorithm>

#include "api/ops_common.h"
#include "api/service.h"
#include "api/validate.h"
#include "store/page_token.h"
#include "util/string.h"

namespace kiln::api {
namespace {

using nlohmann::json;
using secrets::Parameter;
using secrets::ParamType;

constexpr std::size_t kMaxName = 2048;
constexpr std::size_t kMaxStandardValue = 4096;  // SSM's Standard tier
constexpr std::size_t kMaxAdvancedValue = 8192;  // Advanced and Intelligent-Tiering
constexpr int kMaxLevels = 15;

const char* const kNameRules =
    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as "
    "a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as "
    "a mix of letters, numbers and the following 3 symbols .-_";

tl::unexpected<ApiError> validation(std::string message) {
  return api_fail("ValidationException", std::move(message));
}
tl::unexpected<ApiError> not_found_param(const std::string& name) {
  return api_fail("ParameterNotFound", "Parameter " + name + " not found.");
}

// The store's errors as SSM words them for parameter operations.
ApiError ssm_error(const Error& e, const std::string& name) {
  switch (e.code()) {
    case ErrorCode::kNotFound: return not_found_param(name).value();
    case ErrorCode::kAlreadyExists:
      return {"ParameterAlreadyExists",
              "The parameter already exists. To overwrite this value, set the overwrite option in "
              "the request to true.",
              400};
    case ErrorCode::kInvalidArgument: return {"ValidationException", e.message(), 400};
    default: return from_error(e);
  }
}

ApiResult<void> check_new_name(const std::string& name) {
  const bool path = name.find('/') != std::string::npos;
  if (path && name.front() != '/') {
    return validation("Parameter name must be a fully qualified name.");
  }
  const std::string bare = name.front() == '/' ? name.substr(1) : name;
  const std::string head = to_lower(bare.substr(0, 3));
  const bool chars_ok = std::all_of(bare.begin(), bare.end(), [](unsigned char ch) {
    return std::isalnum(ch) != 0 || ch == '.' || ch == '-' || ch == '_' || ch == '/';
  });
  if (bare.empty() || head == "aws" || head == "ssm" || !chars_ok || bare.back() == '/' ||
      bare.find("//") != std::string::npos) {
    return validation(kNameRules);
  }
  if (std::count(name.begin(), name.end(), '/') > kMaxLevels) {
    return api_fail("HierarchyLevelLimitExceededException",
                    "A hierarchy can have a maximum of 15 levels.");
  }
  return {};
}

// Clients may name a parameter by its ARN; ours drop the name's leading slash, so both
// spellings are tried.
std::vector<std::string> candidate_names(const std::string& name) {
  const std::string_view marker = ":parameter/";
  const auto at = name.find(marker);
  if (!name.starts_with("arn:") || at == std::string::npos) return {name};
  const std::string rest = name.substr(at + marker.size());
  return {"/" + rest, rest};
}

// The value an SSM client sees without WithDecryption: real SSM returns the KMS ciphertext in
// base64; Kiln returns an opaque base64 token that names the parameter and version instead.
std::string sealed_placeholder(const Parameter& p) {
  const std::string text = "kiln-encrypted:" + p.name + ":" + std::to_string(p.version);
  return base64_encode(text);
}

const char* tier_of(const Parameter& p) {
  return p.value.size() > kMaxStandardValue ? "Advanced" : "Standard";
}

double seconds(std::int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

std::string param_arn(const std::string& region, const std::string& account,
                      const std::string& name) {
  return "arn:aws:ssm:" + region + ":" + account + ":parameter/" +
         (name.starts_with('/') ? name.substr(1) : name);
}

// A ParameterStringFilter, or one of the older ParametersFilter converted to it.
struct Filter {
  std::string key, option;
  std::vector<std::string> values;
};

bool under(const std::string& name, std::string path, bool recursive) {
  if (!path.ends_with('/')) path += '/';
  if (!name.starts_with(path)) return false;
  return recursive || name.find('/', path.size()) == std::string::npos;
}

bool matches(const Parameter& p, const Filter& f) {
  const auto any = [&](auto pred) { return std::any_of(f.values.begin(), f.values.end(), pred); };
  if (f.key == "Name") {
    if (f.option == "BeginsWith") return any([&](const auto& v) { return p.name.starts_with(v); });
    if (f.option == "Contains")
      return any([&](const auto& v) { return p.name.find(v) != std::string::npos; });
    return any([&](const auto& v) { return p.name == v; });
  }
  if (f.key == "Path") {
    return any([&](const auto& v) { return under(p.name, v, f.option == "Recursive"); });
  }
  if (f.key == "Type") return any([&](const auto& v) { return v == secrets::to_string(p.type); });
  if (f.key == "KeyId") return any([&](const auto& v) { return !v.empty() && v == p.key_id; });
  if (f.key == "Tier") return any([&](const auto& v) { return v == tier_of(p); });
  if (f.key == "DataType") return any([](const auto& v) { return v == "text"; });
  return false;  // tag:* and Label: Kiln's parameters have neither
}

// ParameterFilters, read from `list`. `by_path`: GetParametersByPath's, where Name, Path and
// Tier are not allowed and Label is.
ApiResult<std::vector<Filter>> read_filters(const json& list, bool by_path) {
  std::vector<Filter> out;
  for (const auto& item : list) {
    if (!item.is_object()) return validation("ParameterFilters must hold objects");
    Fields g(item, "ParameterFilters.member");
    auto key = g.string("Key", true, 1, 132);
    if (!key) return tl::unexpected(key.error());
    auto option = g.string("Option", false, 1, 10);
    if (!option) return tl::unexpected(option.error());
    auto values = g.list("Values", false, 50);
    if (!values) return tl::unexpected(values.error());
    const std::string& k = **key;
    const bool tag = k.starts_with("tag:") && k.size() > 4;
    const bool known = tag || k == "Name" || k == "Type" || k == "KeyId" || k == "Path" ||
                       k == "Label" || k == "Tier" || k == "DataType";
    if (!known || (by_path ? (k == "Name" || k == "Path" || k == "Tier") : k == "Label")) {
      return api_fail("InvalidFilterKey", "The following filter key is not valid: " + k);
    }
    const std::string o = option->value_or(k == "Path" ? "OneLevel" : "Equals");
    const bool option_ok = k == "Name"   ? (o == "Equals" || o == "BeginsWith" || o == "Contains")
                           : k == "Path" ? (o == "OneLevel" || o == "Recursive")
                           : tag         ? (o == "Equals" || o == "BeginsWith")
                                         : o == "Equals";
    if (!option_ok) {
      return api_fail("InvalidFilterOption",
                      "The filter option " + o + " is not valid for the key " + k + ".");
    }
    Filter filter{k, o, {}};
    for (const auto& v : *values != nullptr ? **values : json::array()) {
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        return api_fail("InvalidFilterValue",
                        "The values of filter key " + k + " must be non-empty strings.");
      }
      filter.values.push_back(v);
    }
    if (filter.values.empty() && !tag) {
      return api_fail("InvalidFilterValue", "The filter key " + k + " needs at least one value.");
    }
    out.push_back(std::move(filter));
  }
  return out;
}

// DescribeParameters' older `Filters` as ParameterFilters: Name matches a prefix, the others
// (Type, KeyId) are equal.
ApiResult<json> convert_old_filters(const json& list) {
  json out = json::array();
  for (const auto& item : list) {
    if (!item.is_object()) return validation("Filters must hold objects");
    Fields g(item, "Filters.member");
    auto key = g.one_of("Key", true, {"Name", "Type", "KeyId"});
    if (!key) return tl::unexpected(key.error());
    auto values = g.list("Values", true, 50);
    if (!values) return tl::unexpected(values.error());
    out.push_back({{"Key", **key},
                   {"Option", **key == "Name" ? "BeginsWith" : "Equals"},
                   {"Values", **values}});
  }
  return out;
}

// One page of the parameters that pass every filter, as {"Parameters", "NextToken"}. Keyset
// pagination on the name: a token holds the last name its page looked at.
template <typename Shape>
ApiResult<json> filtered_page(std::vector<Parameter> all, const std::vector<Filter>& filters,
                              const std::optional<std::string>& token, const std::string& listing,
                              std::size_t limit, Shape shape) {
  std::sort(all.begin(), all.end(),
            [](const Parameter& a, const Parameter& b) { return a.name < b.name; });
  auto it = all.begin();
  if (token) {
    auto key = store::read_page_token(*token, listing, "s");
    if (!key) return api_fail("InvalidNextToken", "The nextToken is not valid.");
    const auto& last = std::get<std::string>(key->front());
    it = std::upper_bound(all.begin(), all.end(), last,
                          [](const std::string& n, const Parameter& p) { return n < p.name; });
  }
  json out = {{"Parameters", json::array()}};
  for (; it != all.end(); ++it) {
    if (!std::all_of(filters.begin(), filters.end(),
                     [&](const Filter& f) { return matches(*it, f); })) {
      continue;
    }
    if (out["Parameters"].size() == limit) {
      out["NextToken"] = store::make_page_token(listing, {std::prev(it)->name});
      break;
    }
    out["Parameters"].push_back(shape(*it));
  }
  return out;
}

json parameter_json(const Parameter& p, bool decrypt, const std::string& region,
                    const std::string& account) {
  const bool sealed = p.type == ParamType::kSecureString && !decrypt;
  return {{"Name", p.name},
          {"Type", secrets::to_string(p.type)},
          {"Value", sealed ? sealed_placeholder(p) : p.value},
          {"Version", p.version},
          {"LastModifiedDate", seconds(p.modified_ms)},
          {"ARN", param_arn(region, account, p.name)},
          {"DataType", "text"}};
}

// DescribeParameters' ParameterMetadata: everything but the value.
json metadata_json(const Parameter& p, const std::string& region, const std::string& account) {
  json meta = {{"Name", p.name},
               {"ARN", param_arn(region, account, p.name)},
               {"Type", secrets::to_string(p.type)},
               {"LastModifiedDate", seconds(p.modified_ms)},
               {"Version", p.version},
               {"Tier", tier_of(p)},
               {"Policies", json::array()},
               {"DataType", "text"}};
  if (p.type == ParamType::kSecureString) meta["KeyId"] = p.key_id;
  if (!p.description.empty()) meta["Description"] = p.description;
  return meta;
}

ApiResult<Parameter> find_parameter(secrets::SecretStore& store, const std::string& name) {
  for (const auto& candidate : candidate_names(name)) {
    auto p = store.get_parameter(candidate);
    if (p) return std::move(*p);
    if (p.error().code() != ErrorCode::kNotFound) return tl::unexpected(ssm_error(p.error(), name));
  }
  return not_found_param(name);
}

}  // namespace

ApiResult<json> Service::put_parameter(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("Name", true, 1, kMaxName);
  if (!name) return tl::unexpected(name.error());
  auto type = f.one_of("Type", false, {"String", "StringList", "SecureString"});
  if (!type) return tl::unexpected(type.error());
  auto tier = f.one_of("Tier", false, {"Standard", "Advanced", "Intelligent-Tiering"});
  if (!tier) return tl::unexpected(tier.error());
  const std::size_t max_value =
      tier->value_or("Standard") == "Standard" ? kMaxStandardValue : kMaxAdvancedValue;
  auto value = sensitive_string(c.in, "Value", true, 1, max_value);
  if (!value) return tl::unexpected(value.error());
  auto description = f.string("Description", false, 0, 1024);
  if (!description) return tl::unexpected(description.error());
  auto key_id = f.string("KeyId", false, 1, 256);
  if (!key_id) return tl::unexpected(key_id.error());
  auto overwrite = f.boolean("Overwrite");
  if (!overwrite) return tl::unexpected(overwrite.error());
  auto data_type = f.string("DataType", false, 0, 128);
  if (!data_type) return tl::unexpected(data_type.error());
  // Refused rather than dropped: silently losing a pattern, a policy or tags would mislead.
  for (const char* unsupported : {"AllowedPattern", "Policies", "Tags"}) {
    const auto it = c.in.find(unsupported);
    const bool given =
        it != c.in.end() && !it->is_null() &&
        (it->is_string() ? !it->get_ref<const std::string&>().empty() : !it->empty());
    if (given) {
      return validation(std::string(unsupported) + " is not supported by Kiln");
    }
  }
  if (*data_type && !(*data_type)->empty() && **data_type != "text") {
    return validation("The data type " + **data_type + " is not supported by Kiln: use text");
  }
  if (auto ok = check_new_name(**name); !ok) return tl::unexpected(ok.error());

  secrets::PutParameterInput put;
  put.name = **name;
  put.value = **value;
  put.overwrite = overwrite->value_or(false);
  put.description = description->value_or("");
  if (*type) {
    put.type = *secrets::param_type_from(**type);
  } else {
    // SSM keeps the type of the parameter an overwrite replaces; a new one must name it.
    auto existing = secrets_.get_parameter(put.name);
    if (!existing) {
      if (existing.error().code() == ErrorCode::kNotFound) {
        return validation("A parameter type is required when you create a parameter.");
      }
      return tl::unexpected(ssm_error(existing.error(), put.name));
    }
    put.type = existing->type;
  }
  if (*key_id) {
    if (put.type != ParamType::kSecureString) {
      return validation("KeyId is required for SecureString type parameter only.");
    }
    const bool key_ok = std::all_of((*key_id)->begin(), (*key_id)->end(), [](unsigned char ch) {
      return std::isalnum(ch) != 0 || ch == ':' || ch == '/' || ch == '_' || ch == '-';
    });
    if (!key_ok) {
      return constraint_error(**key_id, "keyId",
                              "Member must satisfy regular expression pattern: "
                              "^([a-zA-Z0-9:/_-]+)$");
    }
    put.key_id = **key_id;
  }
  auto version = secrets_.put_parameter(put);
  if (!version) return tl::unexpected(ssm_error(version.error(), put.name));
  return json{{"Version", *version},
              {"Tier", put.value.size() > kMaxStandardValue ? "Advanced" : "Standard"}};
}

ApiResult<json> Service::get_parameter(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("Name", true, 1, kMaxName);
  if (!name) return tl::unexpected(name.error());
  auto decrypt = f.boolean("WithDecryption");
  if (!decrypt) return tl::unexpected(decrypt.error());
  auto p = find_parameter(secrets_, **name);
  if (!p) return tl::unexpected(p.error());
  return json{
      {"Parameter", parameter_json(*p, decrypt->value_or(false), c.region, options_.account.id)}};
}

ApiResult<json> Service::get_parameters(const Call& c) {
  Fields f(c.in, "");
  auto names = f.list("Names", true, 10);
  if (!names) return tl::unexpected(names.error());
  if ((*names)->empty()) {
    return constraint_error("[]", "names", "Member must have length greater than or equal to 1");
  }
  auto decrypt = f.boolean("WithDecryption");
  if (!decrypt) return tl::unexpected(decrypt.error());
  json found = json::array();
  json invalid = json::array();
  std::vector<std::string> seen;
  for (const auto& n : **names) {
    if (!n.is_string()) return validation("Names must hold strings");
    const auto& name = n.get_ref<const std::string&>();
    if (name.empty() || name.size() > kMaxName) {
      return constraint_error(name, "names",
                              "Member must have length between 1 and " + std::to_string(kMaxName));
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    auto p = find_parameter(secrets_, name);
    if (p) {
      found.push_back(parameter_json(*p, decrypt->value_or(false), c.region, options_.account.id));
    } else if (p.error().type == "ParameterNotFound") {
      invalid.push_back(name);
    } else {
      return tl::unexpected(p.error());
    }
  }
  return json{{"Parameters", found}, {"InvalidParameters", invalid}};
}

ApiResult<json> Service::get_parameters_by_path(const Call& c) {
  Fields f(c.in, "");
  auto path = f.string("Path", true, 1, kMaxName);
  if (!path) return tl::unexpected(path.error());
  auto recursive = f.boolean("Recursive");
  if (!recursive) return tl::unexpected(recursive.error());
  auto decrypt = f.boolean("WithDecryption");
  if (!decrypt) return tl::unexpected(decrypt.error());
  auto max = f.integer("MaxResults", false, 1, 10);
  if (!max) return tl::unexpected(max.error());
  auto token = f.string("NextToken", false, 0);
  if (!token) return tl::unexpected(token.error());
  auto filter_list = f.list("ParameterFilters", false, 50);
  if (!filter_list) return tl::unexpected(filter_list.error());
  auto filters = read_filters(*filter_list ? **filter_list : json::array(), true);
  if (!filters) return tl::unexpected(filters.error());
  if (!(*path)->starts_with('/')) {
    return validation(
        "The parameter doesn't meet the parameter name requirements. The parameter name must "
        "begin with a forward slash \"/\".");
  }

  const bool deep = recursive->value_or(false);
  auto all = secrets_.parameters_by_path(**path, deep);
  if (!all) return tl::unexpected(ssm_error(all.error(), **path));
  return filtered_page(
      std::move(*all), *filters, *token, "ssm-path" + std::string(deep ? "+" : "=") + **path,
      static_cast<std::size_t>(max->value_or(10)), [&](const Parameter& p) {
        return parameter_json(p, decrypt->value_or(false), c.region, options_.account.id);
      });
}

ApiResult<json> Service::delete_parameter(const Call& c) {
  Fields f(c.in, "");
  auto name = f.string("Name", true, 1, kMaxName);
  if (!name) return tl::unexpected(name.error());
  auto p = find_parameter(secrets_, **name);
  if (!p) return tl::unexpected(p.error());
  if (auto r = secrets_.delete_parameter(p->name); !r) {
    return tl::unexpected(ssm_error(r.error(), **name));
  }
  return json::object();
}

ApiResult<json> Service::describe_parameters(const Call& c) {
  Fields f(c.in, "");
  auto max = f.integer("MaxResults", false, 1, 50);
  if (!max) return tl::unexpected(max.error());
  auto token = f.string("NextToken", false, 0);
  if (!token) return tl::unexpected(token.error());
  auto shared = f.boolean("Shared");
  if (!shared) return tl::unexpected(shared.error());
  auto old = f.list("Filters", false, 50);
  if (!old) return tl::unexpected(old.error());
  auto filter_list = f.list("ParameterFilters", false, 50);
  if (!filter_list) return tl::unexpected(filter_list.error());
  if (*old != nullptr && *filter_list != nullptr) {
    return validation("You can use either Filters or ParameterFilters in a single request.");
  }
  auto converted = convert_old_filters(*old != nullptr ? **old : json::array());
  if (!converted) return tl::unexpected(converted.error());
  auto filters = read_filters(*filter_list ? **filter_list : *converted, false);
  if (!filters) return tl::unexpected(filters.error());
  if (shared->value_or(false)) return json{{"Parameters", json::array()}};  // none are shared

  auto all = secrets_.list_parameters();
  if (!all) return tl::unexpected(ssm_error(all.error(), ""));
  return filtered_page(std::move(*all), *filters, *token, "ssm-describe",
                       static_cast<std::size_t>(max->value_or(50)), [&](const Parameter& p) {
                         return metadata_json(p, c.region, options_.account.id);
                       });
}

}  // namespace kiln::api
