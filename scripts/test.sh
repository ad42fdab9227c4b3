#!/usr/bin/env bash
# Runs every test: format check, unit tests under ASan+UBSan, clang-tidy, short fuzz runs, the
# end-to-end suite against the real binary, and the compatibility suite (kiln server with boto3
# and the AWS CLI). Set KILN_SKIP="tidy fuzz asan" to skip slow stages locally; CI runs them all.
# The unit tests are built once, sanitized: on CI's 2 cores an -O3 build of them as well cost
# minutes and found nothing the sanitized run does not (KILN_SKIP=asan runs them in release).
set -euo pipefail
cd "$(dirname "$0")/.."
skip=" ${KILN_SKIP:-} "
stage() { printf '\n==> %s  (%d s so far)\n' "$*" "$SECONDS"; }

stage "dependencies"
./scripts/install-deps.sh

stage "format check"
./scripts/check-format.sh

stage "release build (kiln)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release kiln

# The container executors' tests need a Docker daemon and the curated minimal image; with these
# set, a missing one fails the tests instead of skipping them.
stage "dockerd and the kiln/minimal image"
./scripts/start-docker.sh
export KILN_IMAGE_DIR=$PWD/build/images
[ -d "$KILN_IMAGE_DIR/kiln_minimal" ] || ./build/release/kiln image build kiln/minimal | tail -n 1
export KILN_REQUIRE_DOCKER=1 KILN_REQUIRE_SANDBOX=1 KILN_REQUIRE_EXECUTORS=1

if [[ $skip != *" asan "* ]]; then
  stage "ASan + UBSan build and unit tests"
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=address,undefined >/dev/null
  ninja -C build/asan kiln_tests kiln
  KILN_REQUIRE_S3=1 KILN_REQUIRE_BOTOCORE=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ./build/asan/kiln_tests --gtest_brief=1
else
  stage "unit tests (release)"
  ninja -C build/release kiln_tests
  KILN_REQUIRE_S3=1 KILN_REQUIRE_BOTOCORE=1 ./build/release/kiln_tests --gtest_brief=1
fi

if [[ $skip != *" tidy "* ]]; then
  stage "clang-tidy"
  ./scripts/tidy.sh
fi

if [[ $skip != *" fuzz "* ]]; then
  stage "fuzz every target in fuzz/targets.txt (15 s each; scripts/fuzz-long.sh runs ten minutes)"
  FUZZ_SECONDS=15 ./scripts/fuzz-long.sh
fi

stage "end-to-end tests"
if [[ $skip != *" asan "* ]]; then
  # The e2e suite also runs against the sanitized binary, so crashes in real runs surface.
  KILN_BIN=build/asan/kiln ASAN_OPTIONS=detect_leaks=1 /usr/bin/python3 -m pytest -q -x tests/e2e \
    -p no:cacheprovider -rf | tail -n 12
fi
KILN_BIN=build/release/kiln /usr/bin/python3 -m pytest -q tests/e2e -p no:cacheprovider

# The same suite on the two container executors (tests/e2e/conftest.py: KILN_E2E_EXECUTOR).
for executor in sandbox docker; do
  stage "end-to-end tests on the $executor executor"
  KILN_E2E_EXECUTOR=$executor KILN_BIN=build/release/kiln /usr/bin/python3 -m pytest -q tests/e2e \
    -p no:cacheprovider --ignore tests/e2e/test_executors.py --ignore tests/e2e/test_images.py
done

stage "compatibility tests (kiln server with boto3, the AWS CLI, the JS SDK v3, and s3rver for S3)"
KILN_REQUIRE_NODE_SDK=1 KILN_BIN=build/release/kiln ./scripts/compat.sh

stage "done"
