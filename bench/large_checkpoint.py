#!/usr/bin/env python3
"""Large-state benchmark: one `PATCH .../checkpoint` of a ~20 MB deployment and `GET
.../export` of that stack, against one release `stackgate serve` on SQLite.

    python3 bench/large_checkpoint.py                 # 20 MB, 5 rounds
    SIZE_MB=50 ROUNDS=3 python3 bench/large_checkpoint.py

Reported per round and as medians:
- checkpoint: wall time of the PATCH as the client sees it (loopback; request sent
  uncompressed, and again gzip-compressed as the CLI sends it), and the server's peak
  resident memory (VmHWM) and resident memory after it;
- export: time to the first byte of the response and to the last.
Anchor, same run: the real Pulumi CLI's `pulumi stack import` of the same deployment into
stackgate and into its own `file://` backend (the ratio is the figure that compares
them). Needs the CLI from `tools/pulumi-cli/build.sh` (PULUMI_BIN) for the anchor; uses
`target/release/stackgate` (built if missing) or STACKGATE_BIN.
"""

import gzip
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import sgbench
from sgbench import PULUMI_BIN

SIZE_MB = float(os.environ.get("SIZE_MB", "20"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))



def deployment(stack, size_bytes):
    stack_urn = f"urn:pulumi:{stack}::big::pulumi:pulumi:Stack::big-{stack}"
    res = [{"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack"}]
    per = 1000
    for i in range(max(1, int(size_bytes // per))):
        res.append({
            "urn": f"urn:pulumi:{stack}::big::big:index:Component::c{i}",
            "custom": False, "type": "big:index:Component", "parent": stack_urn,
            "outputs": {"index": i, "blob": "x" * 800},
        })
    return {"manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": ""},
            "resources": res}


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) / 1024
    return out


class Api:
    def __init__(self, port, token):
        self.port, self.token = port, token

    def call(self, method, path, body=None, auth=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        h = {"Authorization": auth or f"token {self.token}", "Accept": "application/vnd.pulumi+9"}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status >= 300:
            sys.exit(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data) if data else None


def timed_export(port, token, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.monotonic()
    conn.request("GET", path, headers={"Authorization": f"token {token}"})
    resp = conn.getresponse()
    first = resp.read(1)
    ttfb = time.monotonic() - start
    rest = resp.read()
    total = time.monotonic() - start
    conn.close()
    assert resp.status == 200, resp.status
    return ttfb, total, len(first) + len(rest)


def cli_import(env, proj, stack, dep_file):
    subprocess.run([os.path.join(PULUMI_BIN, "pulumi"), "stack", "init", stack, "--non-interactive"],
                   env=env, cwd=proj, check=True, capture_output=True)
    start = time.monotonic()
    out = subprocess.run([os.path.join(PULUMI_BIN, "pulumi"), "stack", "import", "--force", "--file", dep_file],
                         env=env, cwd=proj, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stdout + out.stderr)
    return time.monotonic() - start


def main():
    work = tempfile.mkdtemp(prefix="sg-large-")
    server, port, token = sgbench.start(work, "big")
    try:
        api = Api(port, token)
        dep = deployment("s", SIZE_MB * 1e6)
        body = json.dumps({"isInvalid": False, "version": 3, "deployment": dep}).encode()
        zipped = gzip.compress(body, compresslevel=6)
        print(f"checkpoint body: {len(body) / 1e6:.1f} MB ({len(dep['resources'])} resources), "
              f"gzip {len(zipped) / 1e6:.2f} MB", flush=True)
        request = json.dumps({"name": "big", "runtime": "yaml", "main": "", "description": "",
                              "options": {"dryRun": False}, "config": {},
                              "metadata": {"message": "", "environment": {}}}).encode()
        rows = []
        for r in range(1, ROUNDS + 1):
            stack = f"/api/stacks/big/big/s{r}"
            api.call("POST", "/api/stacks/big/big", json.dumps({"stackName": f"s{r}"}).encode())
            upd = api.call("POST", f"{stack}/update", request)["updateID"]
            lease = api.call("POST", f"{stack}/update/{upd}", b'{"tags":{}}')["token"]
            auth = f"update-token {lease}"
            before = memory(server.pid)
            t0 = time.monotonic()
            api.call("PATCH", f"{stack}/update/{upd}/checkpoint", body, auth=auth)
            plain = time.monotonic() - t0
            after_plain = memory(server.pid)
            t0 = time.monotonic()
            api.call("PATCH", f"{stack}/update/{upd}/checkpoint", zipped, auth=auth,
                     headers={"Content-Encoding": "gzip"})
            gz = time.monotonic() - t0
            api.call("POST", f"{stack}/update/{upd}/complete", b'{"status":"succeeded"}', auth=auth)
            after = memory(server.pid)
            ttfb, total, size = timed_export(port, token, f"{stack}/export")
            row = {"plain": plain, "gzip": gz, "ttfb": ttfb, "total": total,
                   "hwm": after["VmHWM"], "rss_before": before["VmRSS"], "rss_after": after["VmRSS"],
                   "hwm_before": before["VmHWM"], "hwm_plain": after_plain["VmHWM"]}
            rows.append(row)
            print(f"round {r}: PATCH {plain * 1000:.0f} ms (gzip {gz * 1000:.0f} ms); export first byte "
                  f"{ttfb * 1000:.0f} ms, all {size / 1e6:.1f} MB in {total * 1000:.0f} ms; "
                  f"server RSS {before['VmRSS']:.0f} -> {after['VmRSS']:.0f} MiB, peak {after['VmHWM']:.0f} MiB",
                  flush=True)
        med = lambda k: statistics.median(r[k] for r in rows)
        print(f"\nmedian PATCH checkpoint: {med('plain') * 1000:.0f} ms uncompressed, {med('gzip') * 1000:.0f} ms gzip")
        print(f"median export: first byte {med('ttfb') * 1000:.0f} ms, total {med('total') * 1000:.0f} ms")
        print(f"server peak RSS over the run: {max(r['hwm'] for r in rows):.0f} MiB "
              f"(before the first PATCH: {rows[0]['hwm_before']:.0f} MiB)")

        # Anchor: the real CLI importing the same deployment, stackgate vs file://.
        if os.path.isfile(os.path.join(PULUMI_BIN, "pulumi")):
            dep_file = os.path.join(work, "big.json")
            with open(dep_file, "w") as f:
                json.dump({"version": 3, "deployment": deployment("imp", SIZE_MB * 1e6)}, f)
            base = sgbench.pulumi_env()
            ratios = []
            for r in range(1, min(ROUNDS, 3) + 1):
                proj = os.path.join(work, f"proj{r}")
                os.makedirs(proj)
                with open(os.path.join(proj, "Pulumi.yaml"), "w") as f:
                    f.write("name: big\nruntime: yaml\n")
                state = os.path.join(work, f"state{r}")
                os.makedirs(state)
                fenv = dict(base, PULUMI_HOME=os.path.join(work, f"fh{r}"), PULUMI_BACKEND_URL=f"file://{state}")
                senv = dict(base, PULUMI_HOME=os.path.join(work, f"sh{r}"),
                            PULUMI_BACKEND_URL=f"http://127.0.0.1:{port}", PULUMI_ACCESS_TOKEN=token)
                f_t = cli_import(fenv, proj, f"imp{r}", dep_file)
                s_t = cli_import(senv, proj, f"big/big/imp{r}", dep_file)
                ratios.append(s_t / f_t)
                print(f"anchor round {r}: pulumi stack import: stackgate {s_t:.2f} s, file:// {f_t:.2f} s, "
                      f"ratio {s_t / f_t:.2f}", flush=True)
            print(f"median ratio stackgate / file:// (stack import of the same deployment): {statistics.median(ratios):.2f}")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
