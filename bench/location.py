#!/usr/bin/env python3
"""Facility location: Qalqan and spopt 0.7.0 side by side on the same instances, in one run.

1. A seeded clustered instance (crates/planning/examples/bench_location.rs --write):
   287 demand points (weights 1-9 incidents) × 100 candidate sites over
   20 km × 20 km, Euclidean metres, p = 5, service standard 1,500 m. spopt
   (`MCLP`, `PMedian`, `PCenter` via `from_cost_matrix`, PuLP's bundled CBC)
   and Qalqan's exact methods each solve MCLP, p-median and p-center; the
   objective values must agree, and the ratio spopt / Qalqan is printed.
   Each side times only building and solving the model from the cost matrix
   (Qalqan: median of 3 runs; spopt: one run, its p-center takes minutes).
2. Qalqan alone at the issue's scale: MCLP with 50,000 demand points × 5,000
   candidate sites, p = 50, service standard 500 m (sparse coverage), the
   heuristic with its Lagrangian bound: the reported gap must be ≤ 1 % and
   the time under 60 s.

    python3 bench/location.py [--quick]     # needs: pip install spopt==0.7.0

--quick (scripts/test) solves p-center on a smaller instance (100 × 40, p = 4)
on both sides instead of the 287 × 100 one. The script exits non-zero if the
objectives disagree, Qalqan is less than 10× faster, or the large MCLP misses
its targets (reported gap ≤ 1 % in < 60 s).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_instance(path):
    import numpy as np
    lines = open(path).read().splitlines()
    p = int(lines[0].split(",")[1])
    s = float(lines[1].split(",")[1])
    rows = np.loadtxt(path, delimiter=",", skiprows=4, ndmin=2)
    return rows[:, 1:], rows[:, 0], p, s


def main():
    quick = "--quick" in sys.argv
    import numpy as np
    import pulp
    from spopt.locate import MCLP, PCenter, PMedian

    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan-planning", "--example", "bench_location"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "examples", "bench_location")
    failed = False

    def qalqan(*args):
        return json.loads(subprocess.run([exe, *map(str, args)], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])

    def open_sites(model):
        return [j for j, var in enumerate(model.fac_vars) if var.value() is not None and var.value() > 0.5]

    def spopt_objective(kind, costs, weights, s, sites):
        nearest = costs[:, sites].min(axis=1)
        if kind == "mclp":
            return float(weights[nearest <= s].sum())
        if kind == "p_median":
            return float((weights * nearest).sum())
        return float(nearest.max())

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        main_file = os.path.join(tmp, "instance.csv")
        subprocess.run([exe, "--write", "287", "100", "5", "20261125", "1500", main_file], check=True, capture_output=True)
        small_file = os.path.join(tmp, "small.csv")
        subprocess.run([exe, "--write", "100", "40", "4", "20261125", "1500", small_file], check=True, capture_output=True)
        plan = [("mclp", main_file), ("p_median", main_file), ("p_center", small_file if quick else main_file)]
        results = {}
        for path in {f for _, f in plan}:
            results[path] = qalqan(path, "exact", 3)
        for kind, path in plan:
            costs, weights, p, s = read_instance(path)
            solver = pulp.PULP_CBC_CMD(msg=False)
            t = time.perf_counter()
            if kind == "mclp":
                model = MCLP.from_cost_matrix(costs, weights, service_radius=s, p_facilities=p).solve(solver)
            elif kind == "p_median":
                model = PMedian.from_cost_matrix(costs, weights, p_facilities=p).solve(solver)
            else:
                model = PCenter.from_cost_matrix(costs, p_facilities=p).solve(solver)
            spopt_seconds = time.perf_counter() - t
            theirs = spopt_objective(kind, costs, weights, s, open_sites(model))
            q = results[path][kind]
            ours = q["objective"]
            agree = abs(ours - theirs) <= 1e-6 * max(1.0, abs(theirs))
            ratio = spopt_seconds / max(q["seconds"], 1e-9)
            ok = agree and ratio >= 10.0
            failed |= not ok
            n, m = costs.shape
            rows.append((kind, n, m, p, theirs, ours, q["status"], spopt_seconds, q["seconds"], ratio, ok))
            print(f"{kind}: {n} demands × {m} sites, p = {p}: spopt {theirs:.6g} in {spopt_seconds:.3f} s, "
                  f"Qalqan {ours:.6g} ({q['status']}) in {q['seconds']:.4f} s: {ratio:.0f}× "
                  f"({'objectives agree' if agree else 'OBJECTIVES DIFFER'}; target ≥ 10×: {'met' if ratio >= 10 else 'MISSED'})")
        big = qalqan("--synthetic", 50000, 5000, 50, 20261125, 500, "heuristic")
        gap = big["mclp"]["gap"]
        secs = big["mclp"]["seconds"]
        ok = gap is not None and gap <= 0.01 and secs < 60
        failed |= not ok
        print(f"MCLP 50,000 demands × 5,000 sites, p = 50, S = 500 m ({big['pairs']} covering pairs): covers {big['covered_share']:.1%} of the weight, "
              f"gap {gap if gap is None else f'{gap:.3%}'} in {secs:.2f} s (targets ≤ 1 %, < 60 s: {'met' if ok else 'MISSED'})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
