#include "server/secret_access.h"

#include "auth/keys.h"

namespace kiln::server {

Result<void> AuthorizingSecretResolver::check(const api::Access& access) const {
  // IAM's AccessDeniedException, as a secret read's failure words it (secrets/resolver.h).
  const std::string head = "AccessDeniedException: ";
  const std::string what = access.action + " on resource: " + access.resource;
  // Named by its id and, when known, its user: the build record masks what looks like a key id.
  const std::string whose =
      " (the project's key, whose rights its builds read parameters and "
      "secrets with)";
  auto keys = auth::KeyFile::load(options_.keys_file);
  if (!keys) {
    return fail(ErrorCode::kPermission, head + "cannot perform " + what +
                                            ": the rights of access key " + options_.key_id +
                                            whose + " cannot be read: " + keys.error().message());
  }
  const auto found = (*keys)->find(options_.key_id);
  if (!found || !found->active) {
    const std::string key = found ? "the access key " + options_.key_id + " of user " + found->user
                                  : "access key " + options_.key_id;
    return fail(ErrorCode::kPermission,
                head + "cannot perform " + what + ": " + key + whose +
                    (found ? " is revoked" : " does not exist") +
                    "; update the project with an active key (docs/server.md)");
  }
  const auto policy = (*keys)->policy_of(options_.key_id);
  if (auto denied = api::authorize(policy.get(), api::user_arn(options_.arns.account, found->user),
                                   {access})) {
    return fail(ErrorCode::kPermission, head + denied->message);
  }
  return {};
}

Result<std::string> AuthorizingSecretResolver::parameter(const std::string& name) {
  if (auto ok = check(api::parameter_read_access(name, options_.arns)); !ok)
    return fail(std::move(ok.error()));
  return inner_.parameter(name);
}

Result<std::string> AuthorizingSecretResolver::secret_text(const secrets::SecretReference& ref) {
  if (auto ok = check(api::secret_read_access(ref.secret_id, options_.arns)); !ok)
    return fail(std::move(ok.error()));
  return inner_.secret_text(ref);
}

}  // namespace kiln::server
