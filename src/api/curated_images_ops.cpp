// ListCuratedEnvironmentImages (docs/reference/codebuild-api.md §3.4): the curated images of
// image/catalog.h in CodeBuild's shape, platforms -> languages -> images.
//
// The platform is DEBIAN, one of PlatformType's values and exactly what the images are
// (Debian 12). An image is listed under the LanguageType of each runtime it provides; one
// without runtimes (kiln/minimal) under BASE. `versions` holds the one tag each image has,
// where CodeBuild lists dated tags ("aws/codebuild/standard:7.0-24.10.29"). The list is static:
// it says what the server can build and map to, not which images are built yet.
#include <string>
#include <vector>

#include "api/service.h"
#include "image/catalog.h"

namespace kiln::api {

using nlohmann::json;

ApiResult<json> Service::list_curated_images(const Call&) {
  std::vector<std::string> order;  // languages in the catalog's order
  json by_language = json::object();
  for (const auto& image : image::curated_images()) {
    const json entry = {{"name", image.name},
                        {"description", image.description},
                        {"versions", json::array({image.name + ":latest"})}};
    std::vector<std::string> languages;
    for (const auto& r : image.runtimes) languages.push_back(r.language);
    if (languages.empty()) languages.emplace_back("BASE");
    for (const auto& language : languages) {
      if (!by_language.contains(language)) {
        order.push_back(language);
        by_language[language] = json::array();
      }
      by_language[language].push_back(entry);
    }
  }
  json languages = json::array();
  for (const auto& language : order)
    languages.push_back({{"language", language}, {"images", by_language[language]}});
  return json{{"platforms", json::array({{{"platform", "DEBIAN"}, {"languages", languages}}})}};
}

}  // namespace kiln::api
