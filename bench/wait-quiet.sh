#!/usr/bin/env bash
# Waits until the machine is quiet enough to measure: CPU busy below MAX_BUSY % over a
# SAMPLE-second window (from /proc/stat). Polls every POLL seconds, gives up after
# TIMEOUT seconds (exit 1) so a benchmark is never started on a loaded machine unknowingly.
#
#   bash bench/wait-quiet.sh && bash bench/load.sh
set -euo pipefail

MAX_BUSY="${MAX_BUSY:-10}"
SAMPLE="${SAMPLE:-3}"
POLL="${POLL:-30}"
TIMEOUT="${TIMEOUT:-600}"

busy_percent() {
    local a b
    read -r -a a < <(head -n 1 /proc/stat)
    sleep "$SAMPLE"
    read -r -a b < <(head -n 1 /proc/stat)
    # fields: cpu user nice system idle iowait irq softirq steal ...
    local total=0 idle i
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    idle=$(( b[4] - a[4] + b[5] - a[5] ))
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

start=$SECONDS
while :; do
    busy="$(busy_percent)"
    echo "$(date +%T) CPU busy ${busy}% ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
    if (( busy < MAX_BUSY )); then
        exit 0
    fi
    if (( SECONDS - start >= TIMEOUT )); then
        echo "machine still busy after ${TIMEOUT}s" >&2
        top -bn1 | head -n 15 >&2
        exit 1
    fi
    sleep "$POLL"
done
