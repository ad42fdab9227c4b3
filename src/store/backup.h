// A consistent copy of a live SQLite database (kiln backup; docs/server.md "Backup and restore").
//
// SQLite's online backup API (https://www.sqlite.org/backup.html) copies the pages of one
// committed snapshot while other connections, the server's among them, go on reading and
// writing: in WAL mode the copy holds a read snapshot and never blocks a writer. The copy is a
// complete database on its own (its WAL is checkpointed into it before it is closed).
//
// Thread safety: none needed; each call opens its own connections. Failure: kIo or
// kInvalidArgument naming the file; a failed copy removes what it wrote.
#pragma once

#include <filesystem>

#include "util/error.h"

namespace kiln::store {

// Copies the database `from` (which must exist and be a SQLite database) to the new file `to`
// (which must not exist), mode 0600. Waits up to a few seconds for a writer's lock.
[[nodiscard]] Result<void> backup_database(const std::filesystem::path& from,
                                           const std::filesystem::path& to);

}  // namespace kiln::store
