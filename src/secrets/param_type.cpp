// The names of the parameter types, as SSM spells them on the wire and as secrets.db stores them.
#include "secrets/secret_store.h"

namespace kiln::secrets {

const char* to_string(ParamType t) {
  switch (t) {
    case ParamType::kString: return "String";
    case ParamType::kStringList: return "StringList";
    case ParamType::kSecureString: return "SecureString";
  }
  return "String";
}

std::optional<ParamType> param_type_from(std::string_view s) {
  for (const ParamType t : {ParamType::kString, ParamType::kStringList, ParamType::kSecureString}) {
    if (s == to_string(t)) return t;
  }
  return std::nullopt;
}

}  // namespace kiln::secrets
