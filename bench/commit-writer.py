#!/usr/bin/env python3
"""Commits a change at a fixed rate over one keep-alive connection, for bench/load.sh.

It creates team `bench-writer` in org `bench` once, then PATCHes the team's description
back and forth: each PATCH is one committed transaction through `Service::commit`, which
calls `AuthCache::invalidate_all()`, so every cached token must be loaded again.
(Org-settings changes no longer invalidate the cache, so they would not exercise this.)

    commit-writer.py PORT TOKEN RATE_PER_SEC SECONDS
"""
import http.client, json, sys, time

port, token, rate, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "token " + token, "Content-Type": "application/json"}


def call(method, path, body):
    c.request(method, path, json.dumps(body), h)
    r = c.getresponse()
    r.read()
    return r.status


status = call("POST", "/api/orgs/bench/teams/pulumi",
              {"name": "bench-writer", "displayName": "bench writer", "description": ""})
assert status < 300 or status == 409, f"creating the team: HTTP {status}"
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < secs:
    status = call("PATCH", "/api/orgs/bench/teams/bench-writer", {"newDescription": f"d{n % 2}"})
    assert status < 300, f"PATCH team: HTTP {status}"
    n += 1
    time.sleep(max(0, t0 + n / rate - time.monotonic()))
print(f"writer: {n} commits in {time.monotonic() - t0:.1f}s", file=sys.stderr)
