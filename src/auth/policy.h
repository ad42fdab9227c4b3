// IAM identity-based policies for Kiln's access keys (docs/server.md, "Keys and policies"): the
// JSON grammar of https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
// and the evaluation of
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// restricted to one identity policy per key: an explicit Deny wins, then an Allow, else deny.
//
// Supported: Version ("2012-10-17" or "2008-10-17"), Id, Statement (an object or an array of
// them), Sid, Effect, Action / NotAction, Resource / NotResource, with `*` and `?` wildcards.
// Action names compare case-insensitively (as IAM's), resources case-sensitively. Condition is
// refused as unsupported, so a policy never grants more than its author meant; Principal is
// refused as in any identity-based policy.
//
// Thread safety: a parsed Policy is immutable; evaluate() may run on many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace kiln::auth {

// `pattern` against `text`: `*` matches any run of characters (also none), `?` exactly one.
bool wildcard_match(std::string_view pattern, std::string_view text, bool ignore_case);

enum class Decision { kAllow, kImplicitDeny, kExplicitDeny };

class Policy {
 public:
  // Errors: kParse with a message naming the field, e.g. "Statement[1].Action: ...". The
  // document is at most 6,144 characters without whitespace (IAM's limit for managed policies).
  [[nodiscard]] static Result<Policy> parse(std::string_view text);
  [[nodiscard]] static Result<Policy> from_json(const nlohmann::json& doc);
  // {"Effect": "Allow", "Action": "*", "Resource": "*"}: the bootstrap admin's rights.
  static Policy allow_all();

  Decision evaluate(std::string_view action, std::string_view resource) const;
  // The document as given, for keys.json.
  const nlohmann::json& document() const { return document_; }

 private:
  struct Statement {
    bool allow = false;
    bool not_action = false;
    std::vector<std::string> actions;
    bool not_resource = false;
    std::vector<std::string> resources;
  };
  static bool applies(const Statement& s, std::string_view action, std::string_view resource);

  nlohmann::json document_;
  std::vector<Statement> statements_;
};

// What a key may do, for the API layer. nullptr: the key has no policy and may do nothing.
class PolicyLookup {
 public:
  virtual ~PolicyLookup() = default;
  // Called once per request, from any thread; must be thread-safe.
  virtual std::shared_ptr<const Policy> policy_of(std::string_view key_id) const = 0;
};

}  // namespace kiln::auth
