#include "spec/buildspec.h"

namespace kiln::spec {

const char* yaml_name(PhaseName p) {
  switch (p) {
    case PhaseName::kInstall: return "install";
    case PhaseName::kPreBuild: return "pre_build";
    case PhaseName::kBuild: return "build";
    case PhaseName::kPostBuild: return "post_build";
  }
  return "";
}

const char* upper_name(PhaseName p) {
  switch (p) {
    case PhaseName::kInstall: return "INSTALL";
    case PhaseName::kPreBuild: return "PRE_BUILD";
    case PhaseName::kBuild: return "BUILD";
    case PhaseName::kPostBuild: return "POST_BUILD";
  }
  return "";
}

}  // namespace kiln::spec
