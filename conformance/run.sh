#!/usr/bin/env bash
# Conformance suite: drives a real `stackgate serve` through the official
# pulumi-cloud-sdk Python client. Exits non-zero if any test fails.
#   STACKGATE_BIN     path to the binary (default target/release/stackgate, relative to the repo root)
#   CONFORMANCE_VENV  where the Python venv lives (default <repo>/target/conformance-venv)
# Extra arguments are passed to pytest (e.g. -k transfer, -x).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cd "$repo"

venv="${CONFORMANCE_VENV:-$repo/target/conformance-venv}"
bash tools/python-venv.sh "$venv" conformance/requirements.txt

export STACKGATE_BIN="${STACKGATE_BIN:-target/release/stackgate}"
exec "$venv/bin/python" -m pytest conformance/tests -q -p no:cacheprovider "$@"
