#!/usr/bin/env bash
# tools/python-venv.sh VENV REQUIREMENTS: creates the Python venv VENV when it is missing
# and installs the pinned REQUIREMENTS into it (quietly; a no-op when they are there).
# The conformance suite and the schemathesis run keep their venvs under target/.
set -euo pipefail
venv="$1"
requirements="$2"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
