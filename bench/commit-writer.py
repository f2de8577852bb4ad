#!/usr/bin/env python3
"""Commits a change at a fixed rate over one keep-alive connection, for bench/load.sh.

Each PATCH /api/orgs/bench flips an org setting: one committed transaction, so the server
calls AuthCache::invalidate_all() and every cached token must be reloaded.

    commit-writer.py PORT TOKEN RATE_PER_SEC SECONDS
"""
import http.client, json, sys, time
port, token, rate, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "token " + token, "Content-Type": "application/json"}
n, t0, flip = 0, time.monotonic(), False
while time.monotonic() - t0 < secs:
    flip = not flip
    c.request("PATCH", "/api/orgs/bench", json.dumps({"setMembersCanCreateTeams": flip}), h)
    r = c.getresponse(); r.read()
    assert r.status < 300, r.status
    n += 1
    time.sleep(max(0, t0 + n / rate - time.monotonic()))
print(f"writer: {n} commits in {time.monotonic()-t0:.1f}s", file=sys.stderr)
