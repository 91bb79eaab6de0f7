#!/usr/bin/env python3
"""HTTP load benchmark: the API under 64 concurrent connections, with wrk.

Starts the release binary on a fresh data directory with the demo data
(241k Toronto incidents, SQLite), logs in as the demo analyst, warms each
endpoint once, then runs wrk (2 threads, 64 connections, 15 s each) against
loopback with the session cookie and `Accept-Encoding: gzip`, as a browser
sends. Reports req/s and latency percentiles as a Markdown table.

The server and wrk share this machine's 2 cores, so the figures are a floor
for a real deployment where the load comes from elsewhere.

    python3 bench/load.py [--seconds 15] [--connections 64] [--postgres URL]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "qalqan")

YEAR = "from=2019-01-01&to=2019-12-31"
ENDPOINTS = [
    ("one-year Gi* hotspot map layer, 250 m (cached; `cells=nonempty`, as the UI asks)", f"/api/v1/territories/Toronto/hotspots?method=gi&cell=250&cells=nonempty&{YEAR}"),
    ("one-year Gi* full grid, 250 m, all 19,680 cells (cached)", f"/api/v1/territories/Toronto/hotspots?method=gi&cell=250&{YEAR}"),
    ("incident page, 100 rows (audited read)", f"/api/v1/territories/Toronto/incidents?limit=100&{YEAR}"),
    ("territory stats, one year", f"/api/v1/territories/Toronto/stats?{YEAR}"),
    ("session check (/auth/me)", "/api/v1/auth/me"),
    ("one-year point layer, 36k incidents (QPT1, audited)", f"/api/v1/territories/Toronto/points?{YEAR}"),
]


def ensure_wrk():
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")


def start_demo(data_dir, database):
    env = dict(os.environ, QALQAN_LOG="warn")
    if database:
        env["QALQAN_DATABASE"] = database
    proc = subprocess.Popen(
        [BIN, "--data-dir", data_dir, "demo", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    password = addr = None
    deadline = time.time() + 300
    while time.time() < deadline and not addr:
        line = proc.stdout.readline()
        if not line:
            sys.exit("the demo server stopped before serving")
        m = re.match(r"Log in as: demo / (\S+)", line)
        if m:
            password = m.group(1)
        m = re.match(r"Qalqan is serving on http://(\S+)/", line)
        if m:
            addr = m.group(1)
    return proc, addr, password


def login(addr, password):
    req = urllib.request.Request(
        f"http://{addr}/api/v1/auth/login",
        data=json.dumps({"login": "demo", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return r.headers["Set-Cookie"].split(";")[0]


def warm(addr, cookie, path):
    req = urllib.request.Request(f"http://{addr}{path}", headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
    start = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        size = len(r.read())
    return size, time.perf_counter() - start


def parse_ms(v):
    v = v.strip()
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float(v)


def run_wrk(addr, cookie, path, seconds, connections):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
         "-H", f"Cookie: {cookie}", "-H", "Accept-Encoding: gzip", f"http://{addr}{path}"],
        check=True, capture_output=True, text=True,
    ).stdout
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return rps, parse_ms(pct["50"]), parse_ms(pct["99"]), int(errors.group(1)) if errors else 0, sock.group(1) if sock else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--postgres", help="run against this PostgreSQL database instead of SQLite (its schema is reset)")
    args = ap.parse_args()
    ensure_wrk()
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan"], cwd=ROOT, check=True)
    data_dir = tempfile.mkdtemp(prefix="qalqan-load-")
    proc, addr, password = start_demo(data_dir, args.postgres)
    try:
        cookie = login(addr, password)
        print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, loopback, release build, {'PostgreSQL' if args.postgres else 'SQLite'}\n")
        print("| endpoint | response (gzip) | first request | req/s | p50 | p99 | errors |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, path in ENDPOINTS:
            size, first = warm(addr, cookie, path)
            rps, p50, p99, errors, sock = run_wrk(addr, cookie, path, args.seconds, args.connections)
            err = f"{errors} non-2xx" + (f"; {sock}" if sock else "") if errors or sock else "0"
            print(f"| {name} | {size / 1e6:.2f} MB | {first * 1000:.0f} ms | {rps:,.0f} | {p50:.1f} ms | {p99:.1f} ms | {err} |", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
