#!/usr/bin/env python3
"""Import benchmark: all 240,992 Toronto rows into SQLite and into PostgreSQL.

Builds the release binary, then for each backend runs `qalqan import incidents`
N times, each into a fresh store (a new SQLite file, a new PostgreSQL schema),
timing the whole process: wall clock and peak resident memory (from wait4).
The territory is registered before the clock starts; everything else the
import does (checksum, parsing, validation, time zones, dedup, indexes,
commit) is inside the figure.

For context, the same rows are loaded in the same run by each engine's own
bulk loader with no parsing, validation or indexes (sqlite3 `.import`, psql
`\\copy` into a table of text columns): a floor, not a competitor.

    python3 bench/import.py [--runs 5] [--pg postgres://postgres@127.0.0.1:5432/test]
"""

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data/demo/toronto-mci.csv.gz")
MAPPING = os.path.join(ROOT, "data/mappings/toronto-mci.toml")
ROWS = 240_992


def timed_rss(cmd, env=None):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execvpe(cmd[0], cmd, env or os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed")
    return wall, usage.ru_maxrss / 1024.0


def summary(name, walls, rss):
    med = statistics.median(walls)
    return f"| {name} | {len(walls)} | {med:.2f} s | {min(walls):.2f}–{max(walls):.2f} s | {ROWS / med:,.0f} | {max(rss):.0f} MiB |"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pg", default=os.environ.get("QALQAN_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    qalqan = os.path.join(target, "release", "qalqan")
    rows = []

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QALQAN_LOG="warn")

        # SQLite
        walls, rss = [], []
        for i in range(args.runs):
            db = f"sqlite://{tmp}/s{i}.db"
            subprocess.run([qalqan, "--database", db, "territory", "add", "Toronto", "--time-zone", "America/Toronto"], env=env, check=True, stdout=subprocess.DEVNULL)
            w, r = timed_rss([qalqan, "--database", db, "import", "incidents", DATA, "--territory", "Toronto", "--mapping", MAPPING], env)
            walls.append(w)
            rss.append(r)
        rows.append(summary("qalqan import → SQLite", walls, rss))

        # PostgreSQL: a fresh schema per run.
        walls, rss = [], []
        for i in range(args.runs):
            schema = f"qalqan_bench_{os.getpid()}_{i}"
            subprocess.run(["psql", args.pg, "-qc", f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"], check=True, stderr=subprocess.DEVNULL)
            sep = "&" if "?" in args.pg else "?"
            db = f"{args.pg}{sep}options=-c%20search_path%3D{schema}"
            try:
                subprocess.run([qalqan, "--database", db, "territory", "add", "Toronto", "--time-zone", "America/Toronto"], env=env, check=True, stdout=subprocess.DEVNULL)
                w, r = timed_rss([qalqan, "--database", db, "import", "incidents", DATA, "--territory", "Toronto", "--mapping", MAPPING], env)
            finally:
                subprocess.run(["psql", args.pg, "-qc", f"DROP SCHEMA IF EXISTS {schema} CASCADE"], check=True, stderr=subprocess.DEVNULL)
            walls.append(w)
            rss.append(r)
        rows.append(summary("qalqan import → PostgreSQL", walls, rss))

        # Reference floors: the engines' own loaders, raw text, no indexes.
        csv_path = os.path.join(tmp, "toronto.csv")
        with gzip.open(DATA, "rb") as src, open(csv_path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        if shutil.which("sqlite3"):
            walls, rss = [], []
            for i in range(args.runs):
                w, r = timed_rss(["sqlite3", f"{tmp}/raw{i}.db", "-cmd", ".mode csv", f".import {csv_path} raw"])
                walls.append(w)
                rss.append(r)
            rows.append(summary("floor: sqlite3 .import (raw text, no checks)", walls, rss))
        walls, rss = [], []
        header = open(csv_path).readline().strip().split(",")
        cols = ", ".join(f'"{c}" text' for c in header)
        for i in range(args.runs):
            table = f"qalqan_bench_raw_{os.getpid()}_{i}"
            subprocess.run(["psql", args.pg, "-qc", f"CREATE TABLE {table} ({cols})"], check=True)
            try:
                w, r = timed_rss(["psql", args.pg, "-qc", f"\\copy {table} FROM '{csv_path}' WITH (FORMAT csv, HEADER true)"])
            finally:
                subprocess.run(["psql", args.pg, "-qc", f"DROP TABLE {table}"], check=True)
            walls.append(w)
            rss.append(r)
        rows.append(summary("floor: psql \\copy (raw text, no checks)", walls, rss))

    print(f"\n{ROWS:,} Toronto rows, {args.runs} runs each, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n")
    print("| loader | runs | median wall | min–max | rows/s (median) | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
