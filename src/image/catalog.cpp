// The curated images, the CodeBuild name mapping and runtime selection (catalog.h). The
// package choices and their measured cost are in docs/images.md; the comments here say why each
// package is in or out.
#include "image/catalog.h"

#include <algorithm>

namespace kiln::image {
namespace {

constexpr std::string_view kEcrPrefix = "public.ecr.aws/codebuild/";
constexpr std::string_view kCodeBuildPrefix = "aws/codebuild/";

std::vector<CuratedImage> make_catalog() {
  // The runtimes Debian 12 ships, named as CodeBuild's runtime-versions names them
  // (docs/reference/codebuild-semantics.md §3.7), one version each.
  const Runtime golang{"golang", "1.19", {}, "GOLANG", {}};
  // Debian's OpenJDK 17, not Amazon Corretto: both are builds of the same OpenJDK 17 sources,
  // so buildspecs written for CodeBuild's corretto17 run unchanged. JAVA_HOME is the
  // default-java link of default-jdk-headless, which has no architecture in its name.
  const Runtime java{
      "java", "openjdk17", {"corretto17"}, "JAVA", {{"JAVA_HOME", "/usr/lib/jvm/default-java"}}};
  const Runtime nodejs{"nodejs", "18", {}, "NODE_JS", {}};
  // Debian's python3 refuses `pip install` outside a venv (PEP 668); CodeBuild's images allow
  // it, and buildspecs rely on that. The variable lifts the refusal for the build only.
  const Runtime python{"python", "3.11", {}, "PYTHON", {{"PIP_BREAK_SYSTEM_PACKAGES", "1"}}};
  // docker.io 20.10 in Debian 12. CodeBuild's standard:2.0-era images had a `docker` runtime
  // ("18", "19"); today's have none, so only kiln/docker offers it.
  const Runtime docker{"docker", "20", {}, "DOCKER", {}};

  std::vector<CuratedImage> images;
  // mmdebstrap's minbase: the Essential packages (bash, dash, coreutils, tar, gzip, grep, sed,
  // findutils, …) and apt, so a build can `apt-get update && apt-get install` what it lacks.
  images.push_back({"kiln/minimal",
                    "Debian 12 minbase: a shell, coreutils and apt (no runtime selection)",
                    "",
                    {},
                    {}});
  images.push_back(
      {"kiln/standard",
       "Debian 12 with git, curl, zip, jq, Python 3.11, Node.js 18, OpenJDK 17, Go 1.19 and gcc",
       "kiln/minimal",
       {
           // Fetching and packing: what buildspecs call most after the language tools.
           "ca-certificates", "curl", "git", "zip", "unzip", "xz-utils", "jq",
           // python3-pip for `pip install`; python3-venv for `python3 -m venv`;
           // python-is-python3 because buildspecs call `python` and `pip`.
           "python3", "python3-pip", "python3-venv", "python-is-python3",
           // npm is the costliest single choice (some 350 small node-* packages, ~90 MB), but
           // Node.js without it cannot install anything.
           "nodejs", "npm",
           // The JDK (javac, jar) without X11; default-jdk-headless adds only the default-java
           // link JAVA_HOME points at.
           "default-jdk-headless",
           // Go 1.19: 450 MB with the standard library's sources, which `go build` needs.
           "golang-go",
           // C and C++ for native extensions (node-gyp, pip wheels, cgo).
           "make", "gcc", "g++", "libc6-dev",
           // Not included: maven/gradle (fetched per project), openssh-client (Kiln fetches the
           // sources), awscli (Debian's is old; pip install awscli), ruby, php, dotnet.
       },
       {golang, java, nodejs, python}});
  // docker.io is the only Debian 12 package with the docker CLI; it brings dockerd, containerd
  // and runc too, so privileged builds can start their own daemon as on CodeBuild.
  images.push_back({"kiln/docker",
                    "kiln/standard with Docker 20.10 (the docker CLI, dockerd and containerd)",
                    "kiln/standard",
                    {"docker.io"},
                    {docker, golang, java, nodejs, python}});
  return images;
}

std::string strip_latest(const std::string& name) {
  constexpr std::string_view kLatest = ":latest";
  if (name.size() > kLatest.size() && name.ends_with(kLatest))
    return name.substr(0, name.size() - kLatest.size());
  return name;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool version_matches(const Runtime& r, const std::string& v) {
  if (v == "latest" || v == r.version) return true;
  if (std::find(r.aliases.begin(), r.aliases.end(), v) != r.aliases.end()) return true;
  if (v.size() > 2 && v.ends_with(".x")) {
    const std::string prefix = v.substr(0, v.size() - 2);
    return r.version == prefix || r.version.starts_with(prefix + ".");
  }
  return false;
}

}  // namespace

const std::vector<CuratedImage>& curated_images() {
  static const std::vector<CuratedImage> kImages = make_catalog();
  return kImages;
}

const CuratedImage* find_curated(const std::string& name) {
  const std::string bare = strip_latest(name);
  for (const auto& image : curated_images()) {
    if (image.name == bare) return &image;
  }
  return nullptr;
}

std::vector<std::string> all_packages(const CuratedImage& image) {
  std::vector<const CuratedImage*> chain;
  for (const CuratedImage* i = &image; i != nullptr;
       i = i->base.empty() ? nullptr : find_curated(i->base)) {
    chain.push_back(i);
  }
  std::vector<std::string> out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (const auto& p : (*it)->packages) {
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
  }
  return out;
}

MappedImage map_image(const std::string& requested, bool wants_docker) {
  if (const CuratedImage* c = find_curated(requested)) return {c->name, c, ""};
  std::string name = requested;
  if (name.starts_with(kEcrPrefix))
    name = std::string(kCodeBuildPrefix) + name.substr(kEcrPrefix.size());
  if (!name.starts_with(kCodeBuildPrefix)) return {requested, nullptr, ""};

  const std::string rest = name.substr(kCodeBuildPrefix.size());
  const std::string repo = rest.substr(0, rest.find_first_of(":@"));
  if (repo.starts_with("windows") || repo.starts_with("macos")) {
    return {requested, nullptr,
            "Image " + requested + " has no counterpart here: Kiln runs Linux images only"};
  }
  // Every other aws/codebuild/ name is a Linux image that only CodeBuild's own registry serves,
  // so there is nothing to pull: the nearest curated image stands in for it.
  const CuratedImage* target =
      find_curated(repo == "docker" || wants_docker ? "kiln/docker" : "kiln/standard");
  return {target->name, target,
          "Image " + requested + " is not available here: using " + target->name +
              ", the nearest curated image"};
}

tl::expected<SelectedRuntimes, RuntimeError> select_runtimes(
    const ImageRuntimes& image, const std::vector<std::pair<std::string, std::string>>& requested) {
  SelectedRuntimes out;
  if (requested.empty()) {
    for (const auto& r : image) out.runtimes.push_back({r.name, r.version, "", r.env});
    return out;
  }
  if (image.empty()) {
    out.log.emplace_back(kNoRuntimeSelection);
    return out;
  }
  for (const auto& [name, version] : requested) {
    const std::string& wanted = name;  // clang 14 cannot capture a structured binding
    const auto it = std::find_if(image.begin(), image.end(),
                                 [&](const Runtime& r) { return r.name == wanted; });
    if (it == image.end()) {
      std::vector<std::string> names;
      for (const auto& r : image) names.push_back(r.name);
      std::sort(names.begin(), names.end());
      return tl::unexpected(
          RuntimeError{"Unknown runtime named '" + name +
                       "'. This build image has the following runtimes: " + join(names)});
    }
    if (!version_matches(*it, version)) {
      return tl::unexpected(
          RuntimeError{"Unknown runtime version named '" + version + "' of " + name +
                       ". This build image has the following versions: " + it->version});
    }
    out.log.push_back("Selecting '" + name + "' runtime version '" + it->version +
                      "' based on manual selections...");
    if (version != it->version && version != "latest" && !version.ends_with(".x")) {
      out.log.push_back("Runtime version '" + version + "' of " + name + " is served by " +
                        it->version + " on this build image");
    }
    out.runtimes.push_back({it->name, it->version, version, it->env});
  }
  return out;
}

}  // namespace kiln::image
