#!/usr/bin/env python3
"""Evaluation and risk-terrain regressions: Qalqan and statsmodels side by side, in one run.

- Difference in differences: weekly counts of a target and a control area (104 weeks, a measure
  at week 52 halving the target's rate, overdispersed by a gamma-distributed weekly shock), fitted
  by statsmodels 0.15 as a Poisson GLM with a dummy per week, the target term and the
  target × after interaction (quasi-Poisson: scale = Pearson χ² / df), and by Qalqan's
  `did_poisson` (week effects profiled out). The rate ratio must agree to 1e-6 and the interval to
  1e-4 (Qalqan floors the dispersion at 1; the series here is overdispersed, so both scale).
- Negative binomial: 20,000 cells × 5 binary conditions with known relative risks and θ = 2,
  fitted by statsmodels `NegativeBinomial` (NB2, maximum likelihood, α = 1/θ; Newton to a
  tolerance of 1e-12 — its default BFGS stops about 1e-4 short of the maximum) and by Qalqan's
  `fit_binary_glm` (the last step of the risk terrain). Coefficients must agree to 1e-4 and θ to
  1e-3 (relative); the standard errors are reported (Qalqan's treat θ as known, statsmodels' do not).

Both sides time only the fit (data in memory), median of several runs. Ratio = statsmodels / Qalqan.

Without --quick, also `qalqan evaluate` on real Toronto data (the demo's 240,992 records) around
chosen points: the five busiest intersections of 2018 and five quiet ones, each with a placebo
measure starting 2019-01-01 (nothing was done there: any "effect" is the city's own variation),
365 days before and after, buffer 400 m, control to 2 km. Reports each verdict and the share of
placebos called a change, and the time of one evaluation (release build, whole process).

    python3 bench/evaluation.py [--quick]   # needs: pip install statsmodels numpy

Exits non-zero if the numbers disagree. Qalqan's side is crates/analysis/examples/bench_evaluation.rs.
"""

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
    runs = 3 if quick else 7
    import numpy as np
    import statsmodels.api as sm

    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan-analysis", "--example", "bench_evaluation"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "examples", "bench_evaluation")
    ok = True
    rng = np.random.default_rng(20261205)
    tmp = tempfile.mkdtemp(prefix="qalqan-bench-eval-")

    # --- Difference in differences ---
    weeks, first_after = 104, 52
    season = 1 + 0.3 * np.sin(np.arange(weeks) * 2 * np.pi / 52)
    shock = rng.gamma(8.0, 1 / 8.0, weeks)  # a city-wide weekly shock, shared by both areas
    t_rate = 12 * season * shock * np.where(np.arange(weeks) >= first_after, 0.5, 1.0)
    c_rate = 30 * season * shock
    # Each area also gets its own overdispersion.
    yt = rng.poisson(t_rate * rng.gamma(4.0, 0.25, weeks))
    yc = rng.poisson(c_rate * rng.gamma(4.0, 0.25, weeks))
    series = os.path.join(tmp, "series.csv")
    with open(series, "w") as f:
        for a, b in zip(yt, yc):
            f.write(f"{a},{b}\n")
    q = json.loads(subprocess.run([exe, "did", series, str(first_after), str(runs)], check=True, capture_output=True, text=True).stdout)

    y = np.concatenate([yt, yc]).astype(float)
    week = np.concatenate([np.arange(weeks), np.arange(weeks)])
    is_target = np.concatenate([np.ones(weeks), np.zeros(weeks)])
    after = (week >= first_after).astype(float)
    X = np.zeros((2 * weeks, weeks + 2))
    X[np.arange(2 * weeks), week] = 1.0
    X[:, weeks] = is_target
    X[:, weeks + 1] = is_target * after
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2")
        times.append(time.perf_counter() - t0)
    sm_did = statistics.median(times)
    b, se = res.params[-1], res.bse[-1]
    sm_low, sm_high = np.exp(b - 1.959963984540054 * se), np.exp(b + 1.959963984540054 * se)
    agree_ratio = abs(np.exp(b) - q["rate_ratio"]) < 1e-6 * np.exp(b)
    agree_ci = abs(sm_low - q["low"]) < 1e-4 and abs(sm_high - q["high"]) < 1e-4
    print(
        f"difference in differences, {weeks} weeks × 2 areas: statsmodels rate ratio {np.exp(b):.6f} [{sm_low:.4f}, {sm_high:.4f}] "
        f"(scale {res.scale:.3f}) in {sm_did:.4f} s, Qalqan {q['rate_ratio']:.6f} [{q['low']:.4f}, {q['high']:.4f}] "
        f"(dispersion {q['dispersion']:.3f}) in {q['seconds']:.6f} s: {sm_did / q['seconds']:.0f}× "
        f"({'estimates agree' if agree_ratio and agree_ci else 'ESTIMATES DIFFER'})"
    )
    ok &= bool(agree_ratio and agree_ci)

    # --- Negative binomial ---
    n, k = (5_000 if quick else 20_000), 5
    Xb = (rng.random((n, k)) < np.array([0.1, 0.2, 0.3, 0.15, 0.05])).astype(float)
    rr = np.array([2.0, 1.5, 1.0, 0.7, 3.0])
    mu = 0.5 * np.exp(Xb @ np.log(rr))
    theta = 2.0
    yb = rng.poisson(mu * rng.gamma(theta, 1 / theta, n))
    design = os.path.join(tmp, "design.csv")
    with open(design, "w") as f:
        for row_y, row_x in zip(yb, Xb):
            f.write(",".join([str(int(row_y))] + [str(int(v)) for v in row_x]) + "\n")
    q = json.loads(subprocess.run([exe, "nb", design, str(runs)], check=True, capture_output=True, text=True).stdout)
    Xc = sm.add_constant(Xb)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = sm.NegativeBinomial(yb, Xc, loglike_method="nb2").fit(method="newton", disp=0, maxiter=200, tol=1e-12)
        times.append(time.perf_counter() - t0)
    sm_nb = statistics.median(times)
    beta = res.params[:-1]
    alpha = res.params[-1]
    diff = max(abs(a - b) for a, b in zip(beta, q["coefficients"]))
    theta_rel = abs(1 / alpha - q["theta"]) / (1 / alpha)
    se_rel = max(abs(a - b) / a for a, b in zip(res.bse[:-1], q["standard_errors"]))
    agree = diff < 1e-4 and theta_rel < 1e-3
    print(
        f"negative binomial, {n} cells × {k} conditions: statsmodels θ {1 / alpha:.4f} in {sm_nb:.4f} s, Qalqan θ {q['theta']:.4f} "
        f"in {q['seconds']:.4f} s: {sm_nb / q['seconds']:.1f}× (largest coefficient difference {diff:.2e}, "
        f"standard errors within {se_rel * 100:.1f} %; {'estimates agree' if agree else 'ESTIMATES DIFFER'})"
    )
    print("  relative risks (true 2.0, 1.5, 1.0, 0.7, 3.0): statsmodels " + ", ".join(f"{np.exp(v):.3f}" for v in beta[1:]) +
          "; Qalqan " + ", ".join(f"{np.exp(v):.3f}" for v in q["coefficients"][1:]))
    ok &= bool(agree)
    if not quick:
        toronto(target)
    return 0 if ok else 1


def toronto(target):
    import collections
    import gzip

    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan"], cwd=ROOT, check=True)
    qalqan = os.path.join(target, "release", "qalqan")
    data = os.path.join(ROOT, "data/demo/toronto-mci.csv.gz")
    mapping = os.path.join(ROOT, "data/mappings/toronto-mci.toml")
    work = tempfile.mkdtemp(prefix="qalqan-bench-toronto-")
    env = dict(os.environ, QALQAN_DATA_DIR=work, QALQAN_LOG="warn")
    env.pop("QALQAN_DATABASE", None)

    def q(*args):
        return subprocess.run([qalqan, *args], env=env, check=True, capture_output=True, text=True).stdout

    q("territory", "add", "Toronto", "--time-zone", "America/Toronto")
    q("import", "incidents", data, "--territory", "Toronto", "--mapping", mapping)
    # Places (intersections: the police offset every record to one) by their 2018 incidents.
    places = collections.Counter()
    with gzip.open(data, "rt") as f:
        header = f.readline().strip().split(",")
        i_date, i_lat, i_lon = header.index("occurrencedate"), header.index("Lat"), header.index("Long")
        for line in f:
            row = line.rstrip("\n").split(",")
            if len(row) > max(i_date, i_lat, i_lon) and row[i_date].startswith("2018"):
                places[(row[i_lat], row[i_lon])] += 1
    ranked = [p for p in places.most_common() if p[0][0] not in ("", "0") and float(p[0][0]) > 43]
    busy = [p for p, _ in ranked[:5]]
    quiet = [p for p, n in ranked if 8 <= n <= 12][:5]
    verdicts = collections.Counter()
    print("placebo measures on real Toronto data (start 2019-01-01, 365 days each side):")
    times = []
    for k, (lat, lon) in enumerate(busy + quiet):
        name = f"placebo-{k + 1}"
        q("intervention", "add", "--territory", "Toronto", "--name", name, "--kind", "other", "--start", "2019-01-01", "--at", f"{lat},{lon}", "--radius", "150")
        t0 = time.perf_counter()
        out = json.loads(q("evaluate", "--territory", "Toronto", "--intervention", name, "--before-days", "365", "--after-days", "365", "--format", "json"))
        times.append(time.perf_counter() - t0)
        e = out["evaluation"]
        t = e["target"]
        verdicts[t["verdict"]] += 1
        c = e["counts"]
        ratio = f"{t['rate_ratio']:.2f} [{t['low']:.2f}, {t['high']:.2f}]" if t.get("rate_ratio") is not None else "—"
        print(f"  {'busy ' if k < 5 else 'quiet'} {lat},{lon}: target {c['before']['target']} → {c['after']['target']}, "
              f"rate ratio {ratio}, {t['verdict']}; WDQ {e['wdq'].get('displacement')}")
    print(f"  verdicts: {dict(verdicts)}; one evaluation (whole process, 2 years of the city's incidents) {statistics.median(times):.2f} s median")


if __name__ == "__main__":
    sys.exit(main())
