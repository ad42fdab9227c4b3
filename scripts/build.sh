#!/usr/bin/env bash
# Builds what `kiln run` needs, `kiln` and the `kiln-agent` it starts in sandboxes and containers
# (release), into build/release. Extra arguments go to cmake. The unit tests and benchmarks are
# built by ./scripts/test.sh (or `ninja -C build/release kiln_tests`), not here: on 2 cores they
# were most of this script's 11 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build/release kiln kiln-agent
