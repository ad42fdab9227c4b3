// Placeholder until the module has sources; delete when adding the first real file.
