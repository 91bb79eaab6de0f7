#!/usr/bin/env python3
"""Near repeat (Knox): Qalqan and pointpats side by side on the same data, in one run.

- pointpats 2.5.5 `Knox` (one distance and one time threshold, 999
  permutations) on the Near Repeat Calculator's example inputs (Chicago
  burglaries, 970 events; Chicago arsons, 521 events), against Qalqan's
  `knox_table` with one spatial and one temporal band set to the same pairs
  (pointpats counts d ≤ δ and t ≤ τ; with whole days, τ = 7 is Qalqan's
  [0, 8) days). Both sides time only the computation, median of several runs;
  the space-time pair counts must agree. Ratio = pointpats / Qalqan.
- Qalqan alone at the issue's scale: 100,000 Toronto incidents (from
  2016-01-01, the demo data), 999 permutations, the Calculator's default
  table (100 m × 3, 7 days × 3, Manhattan) and a wider one (100 m × 4,
  7 days × 4). Target: under 10 s for the default table (the wider one is
  reported, not enforced).

    python3 bench/near_repeat.py [--quick]   # needs: pip install pointpats==2.5.5

Reads ../shared/data/near-repeat (the Calculator inputs); exits non-zero if
the counts disagree or the 100,000-event target is missed.
Qalqan's side is crates/analysis/examples/bench_knox.rs.
"""

import datetime as dt
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data", "near-repeat")


def read_calculator(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                x, y, d = line.strip().split(",")[:3]
                rows.append((float(x), float(y), dt.date.fromisoformat(d).toordinal()))
    return rows


def main():
    quick = "--quick" in sys.argv
    runs = 1 if quick else 3
    import numpy as np
    from pointpats.spacetime import Knox

    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan-analysis", "--example", "bench_knox"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "examples", "bench_knox")

    def qalqan(path, kind, sbw, sb, tbw, tb, metric, perms, n_runs):
        out = subprocess.run([exe, path, kind, str(sbw), str(sb), str(tbw), str(tb), metric, str(perms), str(n_runs)],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)

    failed = False
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, delta, tau in [("chicago_be_month1.csv", 100.0, 7), ("chicago_arson.csv", 200.0, 1)]:
            rows = read_calculator(os.path.join(SHARED, name))
            s = np.array([[r[0], r[1]] for r in rows])
            t = np.array([[float(r[2])] for r in rows])
            times = []
            for _ in range(runs):
                np.random.seed(12345)
                t0 = time.perf_counter()
                k = Knox(s, t, delta=delta, tau=tau, permutations=999)
                times.append(time.perf_counter() - t0)
            pp = statistics.median(times)
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                for r in rows:
                    f.write(f"{r[0]!r},{r[1]!r},{r[2]}\n")
            q = qalqan(path, "xy", delta, 1, tau + 1, 1, "euclidean", 999, max(runs, 5))
            cols = q["columns"]
            ours = q["observed"][0 * cols + 0] + q["observed"][1 * cols + 0]  # same location + [0, δ), [0, τ + 1) days
            agree = ours == k.nst
            failed |= not agree
            results.append((name, len(rows), pp, q["seconds"], k.nst, ours, agree))
            print(f"{name}: {len(rows)} events, 999 permutations: pointpats {pp:.3f} s, Qalqan {q['seconds']:.4f} s, "
                  f"ratio {pp / q['seconds']:.0f}x; space-time pairs pointpats {k.nst}, Qalqan {ours} ({'agree' if agree else 'DISAGREE'})")

        # Toronto, 100,000 events from 2016-01-01 (the demo data: Lat, Long, the UTC date of the local day).
        events = []
        with gzip.open(os.path.join(ROOT, "data/demo/toronto-mci.csv.gz"), "rt") as src:
            header = src.readline().strip().split(",")
            di, la, lo = header.index("occurrencedate"), header.index("Lat"), header.index("Long")
            for line in src:
                p = line.rstrip("\n").split(",")
                day = dt.date(int(p[di][0:4]), int(p[di][5:7]), int(p[di][8:10])).toordinal()
                if day >= dt.date(2016, 1, 1).toordinal():
                    events.append((day, p[la], p[lo]))
        events.sort()
        events = events[:100_000]
        path = os.path.join(tmp, "toronto.csv")
        with open(path, "w") as f:
            for day, lat, lon in events:
                f.write(f"{lat},{lon},{day}\n")
        for sb, tb in [(3, 3), (4, 4)]:
            q = qalqan(path, "wgs84", 100, sb, 7, tb, "manhattan", 999, 1 if quick else 3)
            ok = q["seconds"] < 10.0
            # The target is the Calculator's default table; the wider one is for information.
            if (sb, tb) == (3, 3):
                failed |= not ok
            print(f"Toronto {q['events']} events, 100 m x {sb}, 7 days x {tb}, 999 permutations: Qalqan {q['seconds']:.2f} s "
                  f"(target < 10 s: {'met' if ok else 'MISSED'})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
