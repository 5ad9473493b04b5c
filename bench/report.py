#!/usr/bin/env python3
"""Turns storage_bench's JSON output into the Markdown tables of BENCHMARKS.md.

  ./build-bench/bench/storage_bench --benchmark_out=run.json \
      --benchmark_out_format=json ...
  python3 bench/report.py run.json [more.json or console.log ...]

For each backend, operation and caller count: throughput (items/s) and
p50/p99 latency of the direct, facade and actor paths, and the runtime/direct
ratios (throughput: runtime / direct, below 1 = slower; p50: runtime / direct,
above 1 = slower). With --benchmark_repetitions, the median aggregate is used.
"""
import json
import re
import sys
from collections import defaultdict

NAME = re.compile(r"^(cache|vector)/([^/]+)/([^/]+)/(direct|facade|actor)/.*threads:(\d+)")


COUNTER = re.compile(r"(\w+)=([0-9.]+)([kMG]?)")
SCALE = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}


def from_console(text):
    """The benchmarks of a console log (for a run stopped before its JSON)."""
    out = []
    for line in text.splitlines():
        name = line.split(" ", 1)[0]
        if not NAME.match(name) or "ERROR" in line:
            continue
        b = {"name": name}
        for k, v, unit in COUNTER.findall(line):
            b[k] = float(v) * SCALE[unit]
        out.append(b)
    return out


def load(paths):
    rows = {}
    for p in paths:
        with open(p) as f:
            text = f.read()
        try:
            benchmarks = json.loads(text)["benchmarks"]
        except ValueError:
            benchmarks = from_console(text)
        for b in benchmarks:
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            m = NAME.match(b["name"])
            if not m or "error_occurred" in b:
                continue
            section, backend, op, path, threads = m.groups()
            rows[(section, backend, op, int(threads), path)] = b
    return rows


def fmt_rate(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.1f}k"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.1f}"


def fmt_us(x):
    if x >= 1e4:
        return f"{x / 1e3:.1f} ms"
    if x >= 100:
        return f"{x:.0f} µs"
    return f"{x:.1f} µs"


def table(rows):
    groups = defaultdict(dict)
    for (section, backend, op, threads, path), b in rows.items():
        groups[(section, backend, op, threads)][path] = b
    out = [
        "| backend | op | callers | direct/s | facade/s | actor/s "
        "| facade÷direct | actor÷direct | p50 direct | p50 facade | p50 actor "
        "| p99 direct | p99 facade | p99 actor |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in sorted(groups):
        section, backend, op, threads = key
        g = groups[key]
        rate = {p: g[p].get("items_per_second", 0) for p in g}
        cells = [backend, op, str(threads)]
        for p in ("direct", "facade", "actor"):
            cells.append(fmt_rate(rate[p]) if p in g else "–")
        for p in ("facade", "actor"):
            ok = p in g and "direct" in g and rate["direct"] > 0
            cells.append(f"{rate[p] / rate['direct']:.2f}" if ok else "–")
        for c in ("p50_us", "p99_us"):
            for p in ("direct", "facade", "actor"):
                cells.append(fmt_us(g[p][c]) if p in g and c in g[p] else "–")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 1
    print(table(load(sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
