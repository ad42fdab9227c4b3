#!/usr/bin/env bash
# Runs tests/compat: a real `kiln server` driven by boto3, the AWS CLI v1 (pip) and v2 (Debian's
# awscli). Uses the first python3 that has boto3 (the machine's Python 3.11 does; Debian's does
# not), with the standard library's unittest.
set -euo pipefail
cd "$(dirname "$0")/.."
export KILN_BIN=$(realpath "${KILN_BIN:-build/release/kiln}")
PY=""
for candidate in python3 /root/.pyenv/shims/python3 /usr/local/bin/python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import boto3' 2>/dev/null; then
    PY=$candidate
    break
  fi
done
if [ -z "$PY" ]; then
  echo "compat: no python3 with boto3 found; these tests need the real AWS clients" >&2
  exit 1
fi
cd tests/compat
[ $# -gt 0 ] || set -- test_boto3 test_cli test_crash test_secrets test_secret_builds test_s3_builds test_git_builds test_executor_builds test_amplification test_policies test_data_folder test_limits test_hostile_sources
exec "$PY" -m unittest -v "$@"
