#!/usr/bin/env bash
# clang-tidy over the library and the app, with the checks in .clang-tidy, in parallel, and
# Clang's thread-safety analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/tidy -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
mapfile -t files < <(git ls-files 'src/*.cpp' 'apps/*.cpp')
# -Wthread-safety: Clang checks the locking contracts (util/thread_annotations.h); .clang-tidy
# turns its warnings into errors.
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p build/tidy --quiet --extra-arg=-Wthread-safety 2>/dev/null
echo "tidy: ${#files[@]} files clean"
