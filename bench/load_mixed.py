#!/usr/bin/env python3
"""Mixed load: 200 users reading and writing at once for several minutes, with wrk.

Starts the release binary's demo (241k Toronto incidents; SQLite, or PostgreSQL with
--postgres), creates --users analysts and logs each in (from its own loopback address,
127.0.0.N, as the per-address login limit expects distinct clients), then runs wrk with one
connection per user for --seconds. Every request carries one user's session cookie (and CSRF
token for writes), chosen in turn; the mix is:

    30 %  territory stats, one year              (cached aggregate)
    20 %  one-year Gi* hotspot layer             (cached, gzip)
    10 %  CompStat table                         (cached aggregate)
    10 %  incident page of 50                    (audited read: an audit-chain append)
    10 %  assignments list                       (coordination, per-agency filter)
     5 %  notifications                          (per user)
     5 %  /auth/me                               (session check)
    10 %  POST /bodies                           (audited write, a new record each)

Reported: requests per second, latency percentiles (p50, p90, p99, max), every non-2xx answer
and socket error, the records written (read back after the run), and the server's resident
memory sampled every 2 s: after warm-up, at the end, and the largest.

The server and wrk share this machine's 2 cores: the figures are a floor.

    python3 bench/load_mixed.py [--users 200] [--seconds 180] [--postgres URL] [--quick]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from load import ensure_wrk, parse_ms  # bench/load.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "qalqan")
YEAR = "from=2019-01-01&to=2019-12-31"

LUA = r"""
local users = {}
local mix = {}
local counter = 0
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local cookie, csrf = line:match("([^\t]+)\t([^\t]+)")
    users[#users + 1] = { cookie = cookie, csrf = csrf }
  end
  local year = "from=2019-01-01&to=2019-12-31"
  local function add(n, method, path)
    for _ = 1, n do mix[#mix + 1] = { method = method, path = path } end
  end
  add(30, "GET", "/api/v1/territories/Toronto/stats?" .. year)
  add(20, "GET", "/api/v1/territories/Toronto/hotspots?method=gi&cell=250&cells=nonempty&" .. year)
  add(10, "GET", "/api/v1/territories/Toronto/compstat")
  add(10, "GET", "/api/v1/territories/Toronto/incidents?limit=50&" .. year)
  add(10, "GET", "/api/v1/assignments")
  add(5, "GET", "/api/v1/notifications")
  add(5, "GET", "/api/v1/auth/me")
  add(10, "POST", "/api/v1/bodies")
  thread_id = thread_id or 0
  math.randomseed(1000 + thread_id)
end

function request()
  counter = counter + 1
  local u = users[(counter * 7 + thread_id * 13) % #users + 1]
  local r = mix[math.random(#mix)]
  local headers = { ["Cookie"] = u.cookie, ["Accept-Encoding"] = "gzip" }
  if r.method == "POST" then
    headers["X-CSRF-Token"] = u.csrf
    headers["Content-Type"] = "application/json"
    local body = string.format('{"name":"Load group %d-%d","kind":"other"}', thread_id, counter)
    return wrk.format("POST", r.path, headers, body)
  end
  return wrk.format("GET", r.path, headers)
end
"""


def start_demo(data_dir, database):
    env = dict(os.environ, QALQAN_LOG="warn")
    if database:
        env["QALQAN_DATABASE"] = database
    proc = subprocess.Popen([BIN, "--data-dir", data_dir, "demo", "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    addr = None
    deadline = time.time() + 600
    while time.time() < deadline and not addr:
        line = proc.stdout.readline()
        if not line:
            sys.exit("the demo server stopped before serving")
        m = re.match(r"Qalqan is serving on http://(\S+)/", line)
        if m:
            addr = m.group(1)
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, addr


def call(addr, source, method, path, body=None, headers=None):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(source, 0))
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    text = r.read().decode()
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    conn.close()
    return r.status, text, cookie


def add_users(n, data_dir, database):
    """Creates n analysts of Toronto; returns their one-time passwords."""
    env = dict(os.environ, QALQAN_LOG="warn")
    if database:
        env["QALQAN_DATABASE"] = database
    out = []
    for k in range(n):
        p = subprocess.run([BIN, "--data-dir", data_dir, "user", "add", f"load{k}", "--role", "analyst", "--territory", "Toronto",
                            "--agency", f"Agency {k % 10}"], check=True, capture_output=True, text=True, env=env)
        out.append(p.stdout.strip().splitlines()[-1])
    return out


def log_in(addr, n, passwords):
    """Logs each user in from its own loopback address and replaces the one-time password."""
    sessions = []
    for k in range(n):
        source = f"127.0.{1 + k // 250}.{1 + k % 250}"
        status, text, cookie = call(addr, source, "POST", "/api/v1/auth/login", {"login": f"load{k}", "password": passwords[k]})
        if status != 200:
            sys.exit(f"login of load{k}: {status} {text}")
        csrf = json.loads(text)["csrf_token"]
        status, text, _ = call(addr, source, "POST", "/api/v1/auth/password",
                               {"current": passwords[k], "new": passwords[k] + "-renewed"}, {"Cookie": cookie, "X-CSRF-Token": csrf})
        if status != 204:
            sys.exit(f"password of load{k}: {status} {text}")
        sessions.append((cookie, csrf))
    return sessions


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--postgres", help="run against this PostgreSQL database instead of SQLite (its schema is reset)")
    ap.add_argument("--quick", action="store_true", help="20 users, 20 s: a check that it runs")
    args = ap.parse_args()
    if args.quick:
        args.users, args.seconds = 20, 20
    ensure_wrk()
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "qalqan"], cwd=ROOT, check=True)
    data_dir = tempfile.mkdtemp(prefix="qalqan-mixed-")
    proc, addr = start_demo(data_dir, args.postgres)
    try:
        t0 = time.time()
        passwords = add_users(args.users, data_dir, args.postgres)
        sessions = log_in(addr, args.users, passwords)
        print(f"{args.users} users created and logged in in {time.time() - t0:.0f} s", file=sys.stderr)
        users_file = os.path.join(data_dir, "users.tsv")
        with open(users_file, "w") as f:
            for cookie, csrf in sessions:
                f.write(f"{cookie}\t{csrf}\n")
        lua_file = os.path.join(data_dir, "mix.lua")
        with open(lua_file, "w") as f:
            f.write(LUA)
        # Warm the cached aggregates once, as a first user would.
        for path in (f"/api/v1/territories/Toronto/stats?{YEAR}", f"/api/v1/territories/Toronto/hotspots?method=gi&cell=250&cells=nonempty&{YEAR}",
                     "/api/v1/territories/Toronto/compstat"):
            call(addr, "127.0.0.1", "GET", path, headers={"Cookie": sessions[0][0]})
        samples = []
        stop = threading.Event()

        def sample():
            start = time.time()
            while not stop.is_set():
                samples.append((time.time() - start, rss_mib(proc.pid)))
                stop.wait(2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        wrk = subprocess.run(["wrk", "-t2", f"-c{args.users}", f"-d{args.seconds}s", "--latency", "--timeout", "30s",
                              "-s", lua_file, f"http://{addr}", "--", users_file], capture_output=True, text=True, check=True).stdout
        stop.set()
        sampler.join()
        pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", wrk, re.M))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
        total = int(re.search(r"(\d+) requests in", wrk).group(1))
        lat_max = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", wrk).group(1)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
        sock = re.search(r"Socket errors: (.*)", wrk)
        env = dict(os.environ, QALQAN_LOG="warn")
        if args.postgres:
            env["QALQAN_DATABASE"] = args.postgres
        bodies = subprocess.run([BIN, "--data-dir", data_dir, "body", "list"], capture_output=True, text=True, env=env).stdout
        written = bodies.count("Load group")
        warm = [m for t, m in samples if t >= min(30, args.seconds / 3) and m]
        start_rss, end_rss, max_rss = (warm[0] if warm else None), (samples[-1][1] if samples else None), max((m for _, m in samples if m), default=None)
        print(f"wrk -t2 -c{args.users} -d{args.seconds}s, {args.users} users, loopback, release build, "
              f"{'PostgreSQL' if args.postgres else 'SQLite'}\n")
        print("| requests | req/s | p50 | p90 | p99 | max | non-2xx | socket errors | records written | RSS after warm-up | RSS at the end | RSS max |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
        print(f"| {total:,} | {rps:,.0f} | {parse_ms(pct['50']):.1f} ms | {parse_ms(pct['90']):.1f} ms | {parse_ms(pct['99']):.1f} ms | "
              f"{parse_ms(lat_max):.0f} ms | {int(non2xx.group(1)) if non2xx else 0} | {sock.group(1) if sock else 'none'} | {written:,} | "
              f"{start_rss:.0f} MiB | {end_rss:.0f} MiB | {max_rss:.0f} MiB |")
        failed = (non2xx is not None) or (sock is not None)
        grew = start_rss and end_rss and end_rss > start_rss * 1.25 + 32
        if grew:
            print(f"\nmemory grew from {start_rss:.0f} to {end_rss:.0f} MiB", file=sys.stderr)
        sys.exit(1 if failed or grew else 0)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
