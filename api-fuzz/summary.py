"""Summarises a schemathesis NDJSON report (api-fuzz/run.sh writes one): how many
requests were sent, their statuses, and which operations never got a 2xx answer (those
were only refused, so their handlers' success paths went untested in this run)."""

import collections
import json
import sys


def main(path: str) -> None:
    statuses = collections.Counter()
    ok_by_op = collections.defaultdict(int)
    ops = set()
    for line in open(path, encoding="utf-8"):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        for interaction in (recorder.get("interactions") or {}).values():
            response = interaction.get("response")
            if not response:
                continue
            request = interaction["request"]
            case = recorder["cases"].get(interaction.get("id", ""), {})
            label = f'{request["method"]} {case.get("value", {}).get("path", "?")}'
            status = response["status_code"]
            statuses[status] += 1
            ops.add(recorder.get("label", label))
            if 200 <= status < 300:
                ok_by_op[recorder.get("label", label)] += 1
    total = sum(statuses.values())
    by_class = collections.Counter(f"{s // 100}xx" for s in statuses.elements())
    print(f"requests: {total}; " + ", ".join(f"{k}: {v}" for k, v in sorted(by_class.items())))
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    never = sorted(op for op in ops if ok_by_op[op] == 0)
    print(f"operations answered 2xx at least once: {len(ops) - len(never)} of {len(ops)}")
    for op in never:
        print(f"  never 2xx: {op}")


if __name__ == "__main__":
    main(sys.argv[1])
