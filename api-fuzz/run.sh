#!/usr/bin/env bash
# Checks the OpenAPI document a real `stackgate serve` serves at
# /api/openapi/pulumi-spec.json (openapi-spec-validator), then runs schemathesis against
# the server, driven by that document. Every generated request must get
# an answer that is not a 5xx and that conforms to the document: a documented status, the
# documented content type and headers, a body that matches the response schema.
#   STACKGATE_BIN       the binary (default target/debug/stackgate, relative to the repo root)
#   API_FUZZ_VENV       where the Python venv lives (default <repo>/target/api-fuzz-venv)
#   API_FUZZ_EXAMPLES   test cases per operation and phase (default 25)
#   API_FUZZ_SEED       the random seed (default: a new one each run, printed; CI fixes one)
# Extra arguments go to `st run` (e.g. --include-path-regex auditlogs).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cd "$repo"

venv="${API_FUZZ_VENV:-$repo/target/api-fuzz-venv}"
bash tools/python-venv.sh "$venv" api-fuzz/requirements.txt

bin="${STACKGATE_BIN:-target/debug/stackgate}"
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
examples="${API_FUZZ_EXAMPLES:-25}"
seed="${API_FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

db="sqlite://$work/stackgate.db"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

# An org with an admin (alice, whose token drives the run), a member (bob), a team, two
# stacks (dev with two versions), an org token, and a running update of prod with its lease.
alice="$("$bin" init --org acme --admin alice --email alice@example.com --database "$db" | tail -n 1)"
"$bin" user create bob --email bob@example.com --database "$db" >/dev/null
"$bin" serve --listen "127.0.0.1:$port" --database "$db" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
# api METHOD PATH [BODY]: alice's call; prints the answer, fails the script on an error.
api() {
    local method="$1" path="$2" body="${3:-}"
    curl -fsS -X "$method" "$base$path" -H "Authorization: token $alice" \
        ${body:+-H "Content-Type: application/json" --data "$body"}
}
field() {
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
deployment='{"version": 3, "deployment": {"manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": "v3.0.0"}, "resources": []}}'
api POST /api/orgs/acme/members/bob '{"role": "member"}' >/dev/null
api POST /api/orgs/acme/teams/pulumi '{"name": "platform", "displayName": "Platform"}' >/dev/null
api POST /api/stacks/acme/website '{"stackName": "dev", "tags": {"env": "dev"}}' >/dev/null
api POST /api/stacks/acme/website '{"stackName": "prod", "tags": {"env": "prod"}}' >/dev/null
api PATCH /api/orgs/acme/teams/platform '{"memberAction": "add", "member": "bob"}' >/dev/null
api PATCH /api/orgs/acme/teams/platform \
    '{"addStackPermission": {"projectName": "website", "stackName": "dev", "permission": 102}}' >/dev/null
api POST /api/stacks/acme/website/dev/import "$deployment" >/dev/null
api POST /api/stacks/acme/website/dev/import "$deployment" >/dev/null
STACKGATE_FUZZ_ORG_TOKEN_ID="$(api POST /api/orgs/acme/tokens '{"name": "ci"}' | field id)"
STACKGATE_FUZZ_UPDATE="$(api POST /api/stacks/acme/website/prod/update '{}' | field updateID)"
STACKGATE_FUZZ_LEASE="$(api POST "/api/stacks/acme/website/prod/update/$STACKGATE_FUZZ_UPDATE" '{}' | field token)"
STACKGATE_FUZZ_TOKEN="$alice"
export STACKGATE_FUZZ_TOKEN STACKGATE_FUZZ_ORG_TOKEN_ID STACKGATE_FUZZ_UPDATE STACKGATE_FUZZ_LEASE

echo "== the served document is valid OpenAPI 3.1 (openapi-spec-validator)"
curl -fsS "$base/api/openapi/pulumi-spec.json" -o "$work/pulumi-spec.json"
"$venv/bin/openapi-spec-validator" "$work/pulumi-spec.json"

echo "== schemathesis: $examples examples per operation and phase, seed $seed"
status=0
(cd api-fuzz && "$venv/bin/st" run "$base/api/openapi/pulumi-spec.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$examples" \
    --seed "$seed" \
    --request-timeout 30 \
    --no-color \
    --report ndjson --report-ndjson-path "$work/report.ndjson" \
    "$@") || status=$?
if [ -f "$work/report.ndjson" ]; then
    python3 api-fuzz/summary.py "$work/report.ndjson"
fi

# A panic would have been answered as a 500 above, but say so plainly too.
if grep -q "panicked" "$work/serve.log"; then
    echo "the server panicked:"
    grep -A5 "panicked" "$work/serve.log"
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "--- server log (tail) ---"
    tail -n 40 "$work/serve.log"
    echo "schemathesis failed (seed $seed: API_FUZZ_SEED=$seed bash api-fuzz/run.sh reproduces it)"
fi
exit "$status"
