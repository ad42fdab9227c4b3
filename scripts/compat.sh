#!/usr/bin/env bash
# Runs tests/compat: a real `kiln server` driven by boto3 and the AWS CLI v2 (Debian's awscli;
# v1 too where `aws` on PATH is one), with the standard library's unittest. Its S3 tests use
# s3rver from tests/node (and moto in addition where this Python has it); test_js_sdk runs the AWS
# SDK for JavaScript v3 from tests/node with Debian's node (it skips where that is missing, unless
# KILN_REQUIRE_NODE_SDK is set, as scripts/test.sh does). The Python is Debian's
# /usr/bin/python3 with python3-boto3, as scripts/install-deps.sh installs it; KILN_TEST_PYTHON
# names another for local use.
set -euo pipefail
cd "$(dirname "$0")/.."
export KILN_BIN=$(realpath "${KILN_BIN:-build/release/kiln}")
PY=${KILN_TEST_PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import boto3, botocore' 2>/dev/null; then
  echo "compat: $PY cannot import boto3 and botocore; run scripts/install-deps.sh" \
    "(python3-boto3, python3-botocore)" >&2
  exit 1
fi
cd tests/compat
[ $# -gt 0 ] || set -- test_boto3 test_cli test_crash test_secrets test_secret_builds test_s3_builds test_git_builds test_executor_builds test_amplification test_policies test_data_folder test_limits test_hostile_sources test_fidelity test_logs test_js_sdk test_reports test_batches test_webhooks test_webhook_deliveries test_build_status test_events
exec "$PY" -m unittest -v "$@"
