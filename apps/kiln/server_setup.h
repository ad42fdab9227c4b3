// What `kiln server` checks and prepares before it serves (docs/server.md "Data folder" and
// "Executors"): the executor when none is named, the build user of process builds on a root
// server, and a data folder whose parts contradict each other.
//
// Each function returns an Error whose message is one complete sentence for the server's stderr;
// the caller refuses to start on any of them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/error.h"

namespace kiln::app {

// The executor of a server started without --executor: sandbox if bubblewrap is present and can
// mount the overlay here; otherwise an error that names what is missing and the explicit choices.
[[nodiscard]] Result<std::string> default_executor();

// A line for stderr when the curated image kiln/minimal is not in `image_dir`, saying what the
// first build will do and what to run instead; "" when it is there.
std::string missing_image_note(const std::filesystem::path& image_dir);

// Creates the build user (engine::kBuildUser) with `useradd --system` unless it exists, and
// returns its home folder (writable by it; builds get it as HOME).
[[nodiscard]] Result<std::filesystem::path> ensure_build_user();

// For process builds run as the build user: the data folder becomes 0711 (traversable, not
// listable) and so does builds/, while every other entry becomes private to root (folders 0700,
// files 0600), so the user reaches only its own DATA/builds/<uuid>. Fails if a folder above the
// data folder is not traversable by others, since then no build could reach its folder.
[[nodiscard]] Result<void> open_builds_to_build_user(const std::filesystem::path& data);

// Refuses a data folder whose database is new or empty (missing or 0 bytes) while it holds the
// history of earlier builds (logs/ or artifacts/ with entries): the database was lost, and a
// fresh one would hide everything silently.
[[nodiscard]] Result<void> check_history(const std::filesystem::path& data);

}  // namespace kiln::app
