"""What the state-backend benchmarks share: the release binary, a fresh installation
with a ready server on it, and the Pulumi CLI's offline environment."""

import os
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PULUMI_BIN = os.environ.get(
    "PULUMI_BIN",
    os.path.expanduser("~/.cache/stackgate/pulumi-cli/v3.276.0-yaml-v1.25.0/bin"),
)


def binary():
    """STACKGATE_BIN, or target/release/stackgate, built first."""
    if os.environ.get("STACKGATE_BIN"):
        return os.environ["STACKGATE_BIN"]
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "stackgate-cli"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "stackgate")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(work, org):
    """`stackgate init` of `org` on a fresh SQLite file in `work`, then `serve` until
    /readyz answers: (server process, port, the admin's token)."""
    exe = binary()
    db = f"sqlite://{work}/{org}.db"
    init = subprocess.run([exe, "init", "--org", org, "--admin", org, "--database", db],
                          capture_output=True, text=True, check=True)
    token = init.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([exe, "serve", "--listen", f"127.0.0.1:{port}", "--database", db],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, port, token


def pulumi_env():
    """The environment of an offline CLI run (add PULUMI_HOME and the backend)."""
    return dict(os.environ, PATH=f"{PULUMI_BIN}:{os.environ.get('PATH', '')}",
                PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_CREDENTIAL_STORE="plaintext",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true", NO_COLOR="true",
                PULUMI_CONFIG_PASSPHRASE="bench")
