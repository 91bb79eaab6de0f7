#!/usr/bin/env python3
"""Hotspot statistics: Qalqan and PySAL side by side on the same data, in one run.

- Getis-Ord Gi* (G_Local, star, binary weights) and Local Moran's I, 999
  conditional permutations each, on a 100 × 100 queen lattice of seeded counts.
  Each side times only the computation (weights built beforehand), median of
  several runs; the ratio is PySAL / Qalqan.
- The same Gi* on continuous rates, where every cell has its own null
  distribution: the worst case for Qalqan's sharing of simulations.
- Qalqan alone (PySAL would take minutes): Gi* with 999 permutations on a
  1000 × 1000 lattice, and a Gaussian KDE (Scott bandwidth) of all Toronto
  incidents on a 1024 × 1024 grid.

    python3 bench/hotspots.py [--quick]   # needs: pip install esda==2.9.0 libpysal==4.14.1

--quick (used by scripts/test in CI) times each computation once (the
1,000,000-cell continuous case: the better of two runs, since a neighbour on
a shared machine can double one run) and checks
the targets of issue #3: at least 100× PySAL on the count lattice, 1,000,000
cells in under 10 s, the Toronto KDE in under 0.5 s; it exits non-zero if one
is missed.

Qalqan's side is crates/analysis/examples/bench_local.rs.
"""

import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    quick = "--quick" in sys.argv
    import numpy as np
    import esda
    import libpysal

    rows = cols = 100
    rng = np.random.default_rng(20261125)
    y = rng.poisson(3, rows * cols).astype(float)
    for r in range(40, 44):
        for c in range(60, 64):
            y[r * cols + c] += 15
    w = libpysal.weights.lat2W(rows, cols, rook=False)
    # The same counts divided by seeded populations: rates, all values distinct.
    yc = y / rng.uniform(500, 5000, rows * cols)

    def timed(f, runs=1 if quick else 3):
        out = []
        for _ in range(runs):
            t = time.perf_counter()
            f()
            out.append(time.perf_counter() - t)
        return statistics.median(out)

    pysal_gi = timed(lambda: esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=12345))
    pysal_lisa = timed(lambda: esda.Moran_Local(y, w, transformation="r", permutations=999, seed=12345))
    pysal_gi_c = timed(lambda: esda.G_Local(yc, w, transform="B", star=True, permutations=999, seed=12345))

    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan-analysis", "--example", "bench_local"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "examples", "bench_local")
    with tempfile.TemporaryDirectory() as tmp:
        lattice = os.path.join(tmp, "lattice.json")
        with open(lattice, "w") as f:
            json.dump({"rows": rows, "cols": cols, "y": y.tolist(), "y_continuous": yc.tolist()}, f)
        points = os.path.join(tmp, "points.csv")
        with gzip.open(os.path.join(ROOT, "data/demo/toronto-mci.csv.gz"), "rt") as src, open(points, "w") as dst:
            header = src.readline().strip().split(",")
            la, lo = header.index("Lat"), header.index("Long")
            for line in src:
                p = line.rstrip("\n").split(",")
                dst.write(f"{p[la]},{p[lo]}\n")
        cmd = [exe, lattice, points] + (["--quick"] if quick else [])
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    numba = "yes" if "numba" in sys.modules else "no"
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, esda {esda.__version__}, libpysal {libpysal.__version__}, numba loaded: {numba}, Qalqan threads: {ours['threads']}\n")
    print("| computation | PySAL | Qalqan | PySAL / Qalqan |")
    print("| --- | --- | --- | --- |")
    print(f"| Gi* 999 perms, 100×100 queen lattice | {pysal_gi:.3f} s | {ours['gi_star_lattice'] * 1000:.2f} ms | {pysal_gi / ours['gi_star_lattice']:,.0f}× |")
    print(f"| Local Moran 999 perms, 100×100 queen lattice | {pysal_lisa:.3f} s | {ours['local_moran_lattice'] * 1000:.2f} ms | {pysal_lisa / ours['local_moran_lattice']:,.0f}× |")
    print(f"| Gi* 999 perms, 100×100 lattice, continuous rates (no shared null groups) | {pysal_gi_c:.3f} s | {ours['gi_star_continuous'] * 1000:.1f} ms | {pysal_gi_c / ours['gi_star_continuous']:,.0f}× |")
    print(f"| Gi* 999 perms, 1,000,000 cells | — | {ours['gi_star_million']:.2f} s | — |")
    print(f"| Gi* 999 perms, 1,000,000 cells, continuous rates | — | {ours['gi_star_million_continuous']:.2f} s | — |")
    print(f"| Gaussian KDE, {ours['kde_points']:,} Toronto points, 1024×1024 grid ({ours['kde_cell_metres']:.0f} m cells) | — | {ours['kde_1024']:.3f} s | — |")
    if quick:
        missed = []
        if pysal_gi / ours["gi_star_lattice"] < 100 or pysal_lisa / ours["local_moran_lattice"] < 100:
            missed.append("100x PySAL on the count lattice")
        if max(ours["gi_star_million"], ours["gi_star_million_continuous"]) > 10:
            missed.append("1,000,000 cells in 10 s")
        if ours["kde_1024"] > 0.5:
            missed.append("KDE in 0.5 s")
        if missed:
            sys.exit("targets missed: " + ", ".join(missed))
        print("\ntargets met")


if __name__ == "__main__":
    main()
