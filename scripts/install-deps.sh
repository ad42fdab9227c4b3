#!/usr/bin/env bash
# Installs what Kiln needs to build and test: Debian packages, and the npm packages of
# tests/node (s3rver, the tests' S3 server, and the AWS SDK for JavaScript v3 that
# tests/compat/test_js_sdk.py drives), pinned by its package-lock.json. Idempotent: what is
# already present is skipped, so a second run does no network work. The tests use Debian's
# /usr/bin/python3 with python3-boto3 and python3-botocore, and Debian's AWS CLI v2 (awscli):
# nothing from pip.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libexpected-dev
  libarchive-dev libzstd-dev libssl-dev nettle-dev zlib1g-dev liblzma-dev libbz2-dev
  libsqlite3-dev libboost-dev libsodium-dev libcurl4-openssl-dev libre2-dev libxml2-dev libxml2
  libgtest-dev libgmock-dev libbenchmark-dev
  zip unzip zstd python3 python3-pytest python3-coverage python3-boto3 python3-botocore hyperfine libxml2-utils procps awscli wrk
  nodejs npm
  docker.io bubblewrap mmdebstrap curl
  libseccomp-dev slirp4netns
)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
  # A nodejs build that bundles npm (NodeSource's) provides and conflicts with Debian's npm:
  # installing that would replace the node in place, so its own npm is taken instead.
  [ "$1" = npm ] && [ -x /usr/bin/npm ]
}

missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# tests/node: `npm ci` installs exactly its package-lock.json. The lock file is copied into
# node_modules afterwards, so an unchanged lock means nothing to do.
stamp=tests/node/node_modules/.kiln-installed-lock.json
if cmp -s tests/node/package-lock.json "$stamp"; then
  echo "install-deps: tests/node is up to date"
else
  echo "install-deps: npm ci in tests/node"
  (cd tests/node && /usr/bin/npm ci --no-audit --no-fund --loglevel=error)
  cp tests/node/package-lock.json "$stamp"
fi
