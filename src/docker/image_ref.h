// Docker image references ("ubuntu", "registry:5000/team/app:1.2", "repo@sha256:..."), split the
// way the Engine API wants them. POST /images/create takes the name and the tag (or digest) as
// separate parameters, and a wrongly split reference pulls another image: in "host:5000/app" the
// ":5000" is a port, not a tag. The grammar is the one of github.com/distribution/reference.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace kiln::docker {

struct ImageRef {
  std::string domain;  // "registry.example.com:5000", "" for Docker Hub
  std::string path;    // "team/app", "ubuntu"
  std::string tag;     // "1.2"; "latest" when the reference has neither tag nor digest
  std::string digest;  // "sha256:<hex>", or ""

  // domain/path: what `fromImage` takes.
  std::string name() const { return domain.empty() ? path : domain + "/" + path; }
  // What pull's `tag` parameter takes: the digest when there is one (it pins the content, so a
  // tag beside it only names it), else the tag.
  const std::string& pull_tag() const { return digest.empty() ? tag : digest; }
  // The reference written back out, with the default tag made explicit.
  std::string str() const;
};

// Fails with kInvalidArgument, naming the reference and the part that is wrong.
[[nodiscard]] Result<ImageRef> parse_image_ref(std::string_view text);

}  // namespace kiln::docker
