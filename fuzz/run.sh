#!/usr/bin/env bash
# Bounded fuzzing of stackgate's parsers and writers with cargo fuzz (libFuzzer).
#
#   bash fuzz/run.sh                 # every target for FUZZ_SECONDS (default 10) each
#   FUZZ_SECONDS=600 bash fuzz/run.sh audit_writers   # a longer run of one target
#
# Needs the nightly toolchain (installed here if missing, minimal profile) and cargo-fuzz
# (installed into ~/.cargo/bin if missing: once per machine). Findings are written to
# fuzz/artifacts/<target>/; every crash found becomes a regression test in the crate the
# target exercises (the CI run fails on any crash). The corpus grows in fuzz/corpus/
# (not committed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_EACH="${FUZZ_SECONDS:-10}"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build
for t in "${targets[@]}"; do
    echo "-- fuzz $t (${SECONDS_EACH}s)"
    mkdir -p "corpus/$t"
    cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -print_final_stats=1 2>&1 \
        | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY|.*panicked)' || true
    # cargo fuzz exits non-zero on a crash; re-check so a crash fails this script.
    if ls "artifacts/$t"/crash-* >/dev/null 2>&1; then
        echo "fuzz target $t found a crash: see fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
