#!/usr/bin/env bash
# Installs the Debian packages Kiln needs to build and test. Idempotent: packages that are
# already present are skipped, so a second run does no network work.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libexpected-dev
  libarchive-dev libzstd-dev libssl-dev nettle-dev zlib1g-dev liblzma-dev libbz2-dev
  libsqlite3-dev libboost-dev libsodium-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  zip unzip zstd python3 python3-pytest hyperfine procps awscli wrk
  docker.io bubblewrap mmdebstrap curl
  libseccomp-dev slirp4netns
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
