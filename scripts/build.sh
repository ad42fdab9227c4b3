#!/usr/bin/env bash
# Builds Kiln (release) into build/release. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build/release
