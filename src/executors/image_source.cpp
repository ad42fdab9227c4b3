#include "executors/image_source.h"

#include "image/builder.h"

namespace kiln::executors {

Result<image::ImageEntry> curated_entry(const std::filesystem::path& store_dir,
                                        const std::string& name, const NoteFn& note,
                                        const exec::CancelToken* cancel) {
  image::ImageStore store(store_dir);
  auto found = store.find(name);
  if (!found) return fail(std::move(found.error()).with("image store " + store_dir.string()));
  if (*found) return std::move(**found);
  note("Image " + name + " is not in the image store " + store_dir.string() +
       ": building it (kiln image build " + name + ")");
  image::BuildOptions options;
  options.name = name;
  auto built = image::build_image(
      store, options, [](std::string_view) {}, cancel);
  if (!built) {
    if (built.error().code() == ErrorCode::kCancelled) return fail(built.error());
    return fail(ErrorCode::kNotFound,
                "cannot build curated image " + name + ": " + built.error().describe());
  }
  note("Built image " + name + " in " + std::to_string(static_cast<int>(built->build_seconds)) +
       " s");
  return std::move(*built);
}

exec::EnvMap default_image_env() {
  return {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
          {"HOME", "/root"}};
}

}  // namespace kiln::executors
