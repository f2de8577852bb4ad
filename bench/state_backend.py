#!/usr/bin/env python3
"""State-backend benchmark: the real Pulumi CLI on stackgate against the same CLI on its
own `file://` backend, same program, same run.

    python3 bench/state_backend.py                     # 2,000 resources, 3 rounds
    RESOURCES=500 ROUNDS=1 python3 bench/state_backend.py

Needs the CLI built by `tools/pulumi-cli/build.sh` (PULUMI_BIN, default the cache path it
prints) and builds `target/release/stackgate` (or uses STACKGATE_BIN). For each backend and round:

1. a fresh stack gets, by `pulumi stack import`, a state of RESOURCES component resources
   (components need no provider plugin) under the stack resource;
2. timed: `pulumi up` of a program that declares none of them, so the engine deletes
   every one, saving a checkpoint after each step.

Reported: wall time of the timed `up` per backend and the ratio stackgate / file:// per
round (the median is the figure); the bytes the CLI sent to stackgate during the timed
`up` (counted by a pass-through TCP proxy in this script) and the requests; the
server's peak resident memory (VmHWM) over the whole run. Rounds alternate the backends
so that drift of this machine's speed hits both alike.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import sgbench
from sgbench import PULUMI_BIN

RESOURCES = int(os.environ.get("RESOURCES", "2000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PROGRAM = "name: bench\nruntime: yaml\noutputs:\n  done: yes\n"



class CountingProxy:
    """Forwards 127.0.0.1:port to the server and counts the bytes the client sends."""

    def __init__(self, target_port):
        self.target = target_port
        self.sent = 0
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.sock.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client, False), daemon=True).start()

    def pipe(self, src, dst, count):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    with self.lock:
                        self.sent += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def reset(self):
        with self.lock:
            self.sent = 0


def deployment(stack, resources):
    stack_urn = f"urn:pulumi:{stack}::bench::pulumi:pulumi:Stack::bench-{stack}"
    res = [{"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack"}]
    for i in range(resources):
        res.append({
            "urn": f"urn:pulumi:{stack}::bench::bench:index:Component::c{i}",
            "custom": False,
            "type": "bench:index:Component",
            "parent": stack_urn,
            "outputs": {"index": i, "label": f"component number {i} of the benchmark"},
        })
    return {"version": 3, "deployment": {
        "manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": ""},
        "resources": res,
    }}


def pulumi(args, env, cwd):
    started = time.monotonic()
    out = subprocess.run([os.path.join(PULUMI_BIN, "pulumi"), *args], env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        sys.exit(f"pulumi {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return time.monotonic() - started


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    work = tempfile.mkdtemp(prefix="sg-state-bench-")
    server, port, token = sgbench.start(work, "bench")
    try:
        proxy = CountingProxy(port)
        base_env = sgbench.pulumi_env()
        rows = []
        for round_no in range(1, ROUNDS + 1):
            row = {}
            for backend in (("stackgate", "file") if round_no % 2 else ("file", "stackgate")):
                home = os.path.join(work, f"home-{backend}-{round_no}")
                proj = os.path.join(work, f"proj-{backend}-{round_no}")
                os.makedirs(proj)
                with open(os.path.join(proj, "Pulumi.yaml"), "w") as f:
                    f.write(PROGRAM)
                env = dict(base_env, PULUMI_HOME=home)
                if backend == "file":
                    state = os.path.join(work, f"state-{round_no}")
                    os.makedirs(state)
                    env["PULUMI_BACKEND_URL"] = f"file://{state}"
                    name = f"r{round_no}"
                else:
                    env["PULUMI_BACKEND_URL"] = f"http://127.0.0.1:{proxy.port}"
                    env["PULUMI_ACCESS_TOKEN"] = token
                    name = f"bench/bench/r{round_no}"
                stack = f"r{round_no}"
                pulumi(["login", env["PULUMI_BACKEND_URL"]], env, proj)
                pulumi(["stack", "init", name, "--non-interactive"], env, proj)
                dep_file = os.path.join(work, f"dep-{backend}-{round_no}.json")
                with open(dep_file, "w") as f:
                    json.dump(deployment(stack, RESOURCES), f)
                pulumi(["stack", "import", "--file", dep_file, "--force"], env, proj)
                proxy.reset()
                seconds = pulumi(["up", "--yes", "--non-interactive", "--skip-preview"], env, proj)
                row[backend] = seconds
                if backend == "stackgate":
                    row["bytes"] = proxy.sent
            row["ratio"] = row["stackgate"] / row["file"]
            rows.append(row)
            print(f"round {round_no}: stackgate {row['stackgate']:.2f} s, file:// {row['file']:.2f} s, "
                  f"ratio {row['ratio']:.2f}, uploaded {row['bytes'] / 1e6:.1f} MB", flush=True)
        print(f"\nresources: {RESOURCES}, rounds: {ROUNDS}")
        print(f"median ratio stackgate / file://: {statistics.median(r['ratio'] for r in rows):.2f}")
        print(f"median bytes uploaded per up: {statistics.median(r['bytes'] for r in rows) / 1e6:.1f} MB")
        print(f"server peak RSS (VmHWM): {peak_rss_kib(server.pid) / 1024:.0f} MiB")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
