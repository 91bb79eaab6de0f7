#!/usr/bin/env python3
"""A synthetic national data set in PostgreSQL: 20 Kazakh cities × 5 years, ≥ 10 million incidents.

The model is fitted to the real Toronto data (data/demo/toronto-mci.csv.gz, 241k incidents):
each synthetic incident copies a randomly drawn Toronto incident's offence, premises, day of the
year, hour and neighbourhood, and its place relative to Toronto's centre — scaled to the city's
size (square root of the population ratio) and jittered by 30 m — around the city's centre. So
each city has Toronto's hot spots, seasonality, hour-of-week profile and offence mix, at its own
size; years 2020–2024 are drawn uniformly. Cities' totals are proportional to their population.

Steps, each timed:
  1. generate one gzip CSV per city (seeded: --seed);
  2. import them into PostgreSQL with `qalqan import incidents` (the release binary), one
     process per city, into a fresh schema (`qalqan_national` in --postgres's database);
  3. report the size on disk (table, indexes, database);
  4. start `qalqan serve` on that schema and time, per city, the main queries and analyses as an
     analyst asks them: territory statistics for one year, the one-year Gi* hotspot map (250 m),
     CompStat, the hour × weekday matrix, a page of 100 incidents, and (with --backtest) a
     12-week forecast backtest — each the first request (computed, not cached).

    python3 bench/national.py [--postgres URL] [--scale 1.0] [--seed 7] [--keep] [--backtest]

--scale 0.01 makes a 100k-incident rehearsal. Needs numpy. Results as Markdown tables.
"""

import argparse
import csv
import gzip
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "qalqan")
SCHEMA = "qalqan_national"

# Kazakhstan's twenty largest cities: name, latitude, longitude, population (2024, thousands).
CITIES = [
    ("Almaty", 43.2389, 76.8897, 2229), ("Astana", 51.1694, 71.4491, 1423), ("Shymkent", 42.3417, 69.5901, 1222),
    ("Aktobe", 50.2839, 57.1670, 576), ("Karaganda", 49.8047, 73.1094, 501), ("Taraz", 42.9000, 71.3667, 430),
    ("Ust-Kamenogorsk", 49.9483, 82.6279, 372), ("Pavlodar", 52.2873, 76.9674, 369), ("Atyrau", 47.1167, 51.8833, 355),
    ("Semey", 50.4111, 80.2275, 352), ("Kyzylorda", 44.8488, 65.4823, 330), ("Aktau", 43.6500, 51.1500, 265),
    ("Kostanay", 53.2144, 63.6246, 256), ("Uralsk", 51.2333, 51.3667, 255), ("Turkestan", 43.2973, 68.2518, 225),
    ("Petropavl", 54.8750, 69.1628, 218), ("Kokshetau", 53.2833, 69.3833, 188), ("Temirtau", 50.0549, 72.9646, 180),
    ("Taldykorgan", 45.0156, 78.3739, 175), ("Ekibastuz", 51.7298, 75.3266, 158),
]
TOTAL = 10_200_000
YEARS = (2020, 2024)
MAPPING = """# Generated national data (bench/national.py)
[columns]
category = "MCI"
latitude = "lat"
longitude = "lon"
district = "district"
premises = "premises"
[time]
column = "date"
format = "%Y-%m-%d %H:%M"
precision = "hour"
[districts]
unknown = "create"
[categories]
"Assault" = "assault"
"Break and Enter" = "burglary"
"Auto Theft" = "vehicle_theft"
"Robbery" = "robbery"
"Theft Over" = { category = "theft", subcategory = "Theft Over" }
"""


def psql(url, sql):
    return subprocess.run(["psql", url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def fit_toronto():
    """The Toronto rows the model draws from: offence, premises, day of year, hour, neighbourhood, offset (m)."""
    with gzip.open(os.path.join(ROOT, "data/demo/toronto-mci.csv.gz"), "rt", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Lat"] not in ("", "0") and float(r["Lat"]) > 40]
    lat = np.array([float(r["Lat"]) for r in rows])
    lon = np.array([float(r["Long"]) for r in rows])
    lat0, lon0 = np.median(lat), np.median(lon)
    dx = (lon - lon0) * 111_320 * math.cos(math.radians(lat0))
    dy = (lat - lat0) * 110_540
    hoods = sorted({r["Neighbourhood"] for r in rows})
    index = {h: k for k, h in enumerate(hoods)}
    return {
        "mci": np.array([r["MCI"] for r in rows]),
        "premises": np.array([r["premises_type"] for r in rows]),
        "doy": np.array([int(r["occurrencedayofyear"] or 1) for r in rows]),
        "hour": np.array([int(r["occurrencehour"] or 0) for r in rows]),
        "hood": np.array([index[r["Neighbourhood"]] for r in rows]),
        "dx": dx,
        "dy": dy,
    }


def generate(model, city, n, rng, path):
    name, clat, clon, pop = city
    scale = min(1.0, max(0.3, math.sqrt(pop / 2800)))
    pick = rng.integers(0, len(model["dx"]), n)
    dy = model["dy"][pick] * scale + rng.normal(0, 30, n)
    dx = model["dx"][pick] * scale + rng.normal(0, 30, n)
    lat = clat + dy / 110_540
    lon = clon + dx / (111_320 * math.cos(math.radians(clat)))
    years = rng.integers(YEARS[0], YEARS[1] + 1, n)
    base = np.array([np.datetime64(f"{y}-01-01") for y in range(YEARS[0], YEARS[1] + 1)])
    days = base[years - YEARS[0]] + np.minimum(model["doy"][pick] - 1, 364).astype("timedelta64[D]")
    dates = np.datetime_as_string(days, unit="D")
    hours = model["hour"][pick]
    mci, prem, hood = model["mci"][pick], model["premises"][pick], model["hood"][pick]
    with gzip.open(path, "wt", compresslevel=1, newline="") as f:
        f.write("MCI,date,lat,lon,district,premises\n")
        buf = io.StringIO()
        for k in range(n):
            buf.write(f"{mci[k]},{dates[k]} {hours[k]:02d}:00,{lat[k]:.6f},{lon[k]:.6f},{name} {hood[k] + 1:03d},{prem[k]}\n")
            if k % 200_000 == 199_999:
                f.write(buf.getvalue())
                buf = io.StringIO()
        f.write(buf.getvalue())


def start_server(url, data_dir):
    env = dict(os.environ, QALQAN_LOG="warn", QALQAN_DATABASE=url, QALQAN_JOB_WORKERS="0")
    proc = subprocess.Popen([BIN, "--data-dir", data_dir, "serve", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    while True:
        line = proc.stdout.readline()
        if not line:
            sys.exit("the server stopped")
        m = re.match(r"Qalqan is serving on http://(\S+)/", line)
        if m:
            return proc, m.group(1)


def request(addr, path, cookie=None, body=None, csrf=None):
    headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    req = urllib.request.Request(f"http://{addr}{path}", data=json.dumps(body).encode() if body is not None else None, headers=headers)
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        data = r.read()
        elapsed = time.perf_counter() - start
        if r.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return elapsed, r, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", default=os.environ.get("QALQAN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the schema (and its 10M rows) afterwards")
    ap.add_argument("--backtest", action="store_true", help="also time a 12-week forecast backtest per city")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="qalqan-national-")
    sep = "&" if "?" in args.postgres else "?"
    url = f"{args.postgres}{sep}options=-c%20search_path%3D{SCHEMA}"
    psql(args.postgres, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
    env = dict(os.environ, QALQAN_LOG="warn", QALQAN_DATABASE=url)
    try:
        rng = np.random.default_rng(args.seed)
        t = time.time()
        model = fit_toronto()
        total_pop = sum(c[3] for c in CITIES)
        counts = [max(1000, round(TOTAL * args.scale * c[3] / total_pop)) for c in CITIES]
        files = []
        for city, n in zip(CITIES, counts):
            path = os.path.join(work, f"{city[0]}.csv.gz")
            generate(model, city, n, rng, path)
            files.append(path)
        gen_s = time.time() - t
        gen_mb = sum(os.path.getsize(p) for p in files) / 1e6
        print(f"generated {sum(counts):,} incidents in {gen_s:.0f} s ({gen_mb:.0f} MB gzip)", file=sys.stderr)
        mapping = os.path.join(work, "national.toml")
        with open(mapping, "w") as f:
            f.write(MAPPING)
        subprocess.run([BIN, "migrate"], check=True, env=env, capture_output=True)
        imports = []
        t_all = time.time()
        for city, path, n in zip(CITIES, files, counts):
            subprocess.run([BIN, "territory", "add", city[0], "--time-zone", "Asia/Almaty"], check=True, env=env, capture_output=True)
            t = time.time()
            out = subprocess.run([BIN, "import", "incidents", path, "--territory", city[0], "--mapping", mapping], env=env,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"import of {city[0]} failed:\n{out.stderr[-2000:]}")
            imports.append((city[0], n, time.time() - t))
            print(f"  {city[0]}: {n:,} rows in {imports[-1][2]:.1f} s", file=sys.stderr)
        import_s = time.time() - t_all
        rows = int(psql(url, "SELECT count(*) FROM incidents"))
        psql(url, "ANALYZE")
        table = int(psql(url, "SELECT pg_relation_size('incidents')"))
        indexes = int(psql(url, "SELECT pg_indexes_size('incidents')"))
        schema_bytes = int(psql(url, f"SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{SCHEMA}' AND c.relkind = 'r'"))
        print(f"\n## Import ({rows:,} incidents, {len(CITIES)} cities, {YEARS[0]}–{YEARS[1]})\n")
        print(f"Generated in {gen_s:.0f} s ({gen_mb:.0f} MB of gzip CSV). Imported with `qalqan import incidents`, one process per city, "
              f"in {import_s:.0f} s: **{rows / import_s:,.0f} rows/s** overall.\n")
        print("| on disk | size |\n| --- | ---: |")
        print(f"| incidents table | {table / 2**30:.2f} GiB |\n| its indexes | {indexes / 2**30:.2f} GiB |\n| every table of the schema, with indexes and TOAST | {schema_bytes / 2**30:.2f} GiB |")
        print(f"| per incident | {schema_bytes / rows:.0f} bytes |\n")
        print("| city | incidents | import | rows/s |\n| --- | ---: | ---: | ---: |")
        for name, n, s in imports:
            print(f"| {name} | {n:,} | {s:.1f} s | {n / s:,.0f} |")

        # Queries, as an analyst asks them (first request: computed, not cached).
        pw = subprocess.run([BIN, "user", "add", "national", "--role", "analyst"] + sum((["--territory", c[0]] for c in CITIES), []),
                            check=True, env=env, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        proc, addr = start_server(url, work)
        try:
            _, r, body = request(addr, "/api/v1/auth/login", body={"login": "national", "password": pw})
            cookie = r.headers["Set-Cookie"].split(";")[0]
            csrf = json.loads(body)["csrf_token"]
            request(addr, "/api/v1/auth/password", cookie, {"current": pw, "new": pw + "-renewed"}, csrf)
            year = "from=2024-01-01&to=2024-12-31"
            queries = [
                ("stats, one year", f"stats?{year}"),
                ("Gi* hotspots, 250 m, one year", f"hotspots?method=gi&cell=250&cells=nonempty&{year}"),
                ("CompStat", "compstat"),
                ("hour × weekday", f"time?{year}"),
                ("100 incidents (audited)", f"incidents?limit=100&{year}"),
            ]
            if args.backtest:
                queries.append(("forecast backtest, 12 weeks", "forecast/backtest?from=2024-09-01&to=2024-11-17&step=week&cell=250"))
            results = []
            for city, n in zip(CITIES, counts):
                row = [city[0], n]
                for _, q in queries:
                    s, _, _ = request(addr, f"/api/v1/territories/{city[0]}/{q}", cookie)
                    row.append(s)
                results.append(row)
            print(f"\n## Queries per city (release server on PostgreSQL, first request of each: computed)\n")
            print("| city | incidents | " + " | ".join(q for q, _ in queries) + " |")
            print("| --- | ---: | " + " | ".join("---:" for _ in queries) + " |")
            for row in results:
                print(f"| {row[0]} | {row[1]:,} | " + " | ".join(f"{v * 1000:,.0f} ms" for v in row[2:]) + " |")
            med = [float(np.median([r[2 + k] for r in results])) for k in range(len(queries))]
            mx = [max(r[2 + k] for r in results) for k in range(len(queries))]
            print("| **median** | | " + " | ".join(f"**{v * 1000:,.0f} ms**" for v in med) + " |")
            print("| **slowest** | | " + " | ".join(f"{v * 1000:,.0f} ms" for v in mx) + " |")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    finally:
        if not args.keep:
            psql(args.postgres, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
