#!/usr/bin/env bash
# Browser tests of the stackgate console: Playwright (playwright-core) driving Debian's
# Chromium, headless. Starts a real `stackgate serve` on a free port with a temporary
# SQLite database, creates users with the CLI, runs console.test.mjs, and saves a
# full-page screenshot of every page (desktop and phone width) in target/screenshots/.
#
#   bash console-tests/run.sh            # builds target/debug/stackgate first
#   STACKGATE_BIN=path/to/stackgate bash console-tests/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

echo "== npm ci (playwright-core)"
(cd console-tests && npm ci --no-audit --no-fund)

if [ -z "${STACKGATE_BIN:-}" ]; then
  cargo build -p stackgate-cli
  STACKGATE_BIN=target/debug/stackgate
fi
BIN="$ROOT/${STACKGATE_BIN#"$ROOT/"}"
[ -x "$BIN" ] || BIN="$STACKGATE_BIN"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export STACKGATE_DATABASE="sqlite://$WORK/console.db"
ALICE_PW="alice-console-password-$RANDOM"
BOB_PW="bob-console-password-$RANDOM"

echo "== preparing users and orgs"
ALICE_TOKEN="$("$BIN" init --org acme --admin alice --email alice@example.com | tail -n 1)"
"$BIN" init --org globex --admin alice >/dev/null
printf '%s\n' "$ALICE_PW" | "$BIN" user set-password alice
printf '%s\n' "$BOB_PW" | "$BIN" user create bob --password-stdin >/dev/null

PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
BASE="http://127.0.0.1:$PORT"
STACKGATE_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/serve.log"; echo "stackgate serve exited"; exit 1; fi
  sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null

# A stack with tags and a team with a grant, so the pages have something to show.
api() { curl -fsS -H "Authorization: token $ALICE_TOKEN" -H 'Content-Type: application/json' "$@" >/dev/null; }
api -X POST "$BASE/api/stacks/acme/website" -d '{"stackName":"production","tags":{"env":"prod"}}'
api -X POST "$BASE/api/stacks/acme/website" -d '{"stackName":"staging","tags":{"env":"staging"}}'
api -X POST "$BASE/api/orgs/acme/teams/pulumi" -d '{"organization":"acme","teamType":"pulumi","name":"platform","displayName":"Platform","description":"Runs the platform"}'
api -X PATCH "$BASE/api/orgs/acme/teams/platform" -d '{"addStackPermission":{"projectName":"website","stackName":"production","permission":102}}'

# One update of website/production, run the way the Pulumi CLI runs one (create, start,
# engine events and a checkpoint under the lease, complete), so the history and the update
# page have something to show. Its output carries colour codes and a <script> to escape.
json_field() { node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
S="$BASE/api/stacks/acme/website/production"
UPDATE_ID="$(curl -fsS -H "Authorization: token $ALICE_TOKEN" -H 'Content-Type: application/json' \
  -X POST "$S/update" -d '{"metadata":{"message":"Deploy the <b>new</b> landing page"},"config":{}}' | json_field updateID)"
LEASE="$(curl -fsS -H "Authorization: token $ALICE_TOKEN" -H 'Content-Type: application/json' \
  -X POST "$S/update/$UPDATE_ID" -d '{"tags":{}}' | json_field token)"
lease() { curl -fsS -H "Authorization: update-token $LEASE" -H 'Content-Type: application/json' "$@" >/dev/null; }
URN='urn:pulumi:production::website::aws:s3/bucket:Bucket'
lease -X POST "$S/update/$UPDATE_ID/events/batch" -d @- <<JSON
{"events":[
 {"sequence":0,"timestamp":1,"preludeEvent":{"config":{}}},
 {"sequence":1,"timestamp":1,"stdoutEvent":{"message":"\u001b[1mUpdating (production)\u001b[0m\n","color":"always"}},
 {"sequence":2,"timestamp":1,"resourcePreEvent":{"metadata":{"op":"create","urn":"$URN::site","type":"aws:s3/bucket:Bucket"}}},
 {"sequence":3,"timestamp":2,"resOutputsEvent":{"metadata":{"op":"create","urn":"$URN::site","type":"aws:s3/bucket:Bucket"}}},
 {"sequence":4,"timestamp":2,"diagnosticEvent":{"message":"<{%fg 3%}>public bucket <script>alert(1)</script><{%reset%}>\n","severity":"warning","urn":"$URN::site","color":"raw"}},
 {"sequence":5,"timestamp":3,"summaryEvent":{"resourceChanges":{"create":2},"durationSeconds":2,"maybeCorrupt":false}}
]}
JSON
lease -X PATCH "$S/update/$UPDATE_ID/checkpoint" \
  -d "{\"version\":3,\"deployment\":{\"manifest\":{},\"resources\":[{\"urn\":\"$URN::site\",\"type\":\"aws:s3/bucket:Bucket\"},{\"urn\":\"$URN::logs\",\"type\":\"aws:s3/bucket:Bucket\"}]}}"
lease -X POST "$S/update/$UPDATE_ID/complete" -d '{"status":"succeeded"}'

mkdir -p target/screenshots
echo "== browser tests against $BASE"
status=0
(cd console-tests && BASE_URL="$BASE" ALICE_PW="$ALICE_PW" BOB_PW="$BOB_PW" \
  SCREENSHOTS="$ROOT/target/screenshots" node --test --test-reporter=spec console.test.mjs) || status=$?
if [ "$status" -ne 0 ]; then
  echo "== server log"; tail -n 50 "$WORK/serve.log"
fi
for secret in "$ALICE_PW" "$BOB_PW"; do
  if grep -qF "$secret" "$WORK/serve.log"; then echo "a password reached the server log"; status=1; fi
done
echo "== screenshots: $(ls target/screenshots | wc -l) files in target/screenshots/"
exit "$status"
