#!/usr/bin/env bash
# Prints the median (and its 95 % CI) of every criterion benchmark under target/criterion,
# from the estimates.json files of the last run: bash bench/criterion-medians.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${CARGO_TARGET_DIR:-$ROOT/target}/criterion"
python3 - "$DIR" <<'PY'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
def fmt(ns):
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"
for est in sorted(root.glob("**/new/estimates.json")):
    name = json.loads((est.parent / "benchmark.json").read_text())["full_id"]
    m = json.loads(est.read_text())["median"]
    ci = m["confidence_interval"]
    print(f"{name:45} median {fmt(m['point_estimate']):>10}   "
          f"[{fmt(ci['lower_bound'])} .. {fmt(ci['upper_bound'])}]")
PY
