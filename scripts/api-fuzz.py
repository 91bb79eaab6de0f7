#!/usr/bin/env python3
"""Fuzz Qalqan's HTTP API with Schemathesis against its own OpenAPI document.

Does the whole run from scratch, so that it can be put in CI:

1. makes a fresh temporary store (SQLite) through the CLI: the territory Astana with a boundary
   and two districts, published, an administrator, and 300 thefts from a generated CSV;
2. starts `qalqan serve --listen 127.0.0.1:0`, logs in as the administrator and changes the
   one-time password;
3. seeds a little data through the API (agencies, a second user, a body with a meeting, an
   assignment, facilities, a threat level, an intervention) so that path parameters resolve;
4. runs `st run` (Schemathesis 4.x) over /api/v1/openapi.json with the session cookie and the
   CSRF header on every request and the checks not_a_server_error, status_code_conformance,
   content_type_conformance and response_schema_conformance, leaving out the operations that
   would end the fuzzer's own session (logout, password change, disable/reset/revoke of users
   and sessions) and the first-run setup;
5. stops the server, prints a summary and exits non-zero when Schemathesis found failures.

Needs only the standard library and Schemathesis (tested with schemathesis==4.32.5):

    pip install schemathesis==4.32.5
    python3 scripts/api-fuzz.py [--max-examples 10] [--bin target/debug/qalqan]

Schemathesis' own output (with a curl reproduction of every failure) is printed as it runs;
its JSON and JUnit reports are written to --report-dir (default: a `reports` folder in the
temporary directory, which --keep keeps). Arguments after `--` go to `st run` as they are, e.g.
`-- --baseline known-failures.json` to fail only on new problems, or `-- --report json,junit,har`.
Exit status: Schemathesis' own (1 when it found failures), 2 when the setup failed, 3 when the
fuzzer lost its session during the run (its verdicts would then be about 401s), 4 when the
server died during the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

PINNED_SCHEMATHESIS = "4.32.5"

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"

# Operations that would end the fuzzer's own session, or that only work once on a fresh install.
EXCLUDED_PATHS = [
    r"^/api/v1/auth/logout$",
    r"^/api/v1/auth/password$",
    r"^/api/v1/setup$",
    r"^/api/v1/admin/users/\{login\}/disable$",
    r"^/api/v1/admin/users/\{login\}/reset$",
    r"^/api/v1/admin/users/\{login\}/sessions/revoke$",
    r"^/api/v1/admin/sessions/\{id\}$",
]

PASSWORD = "a long new passphrase 123"

MAPPING = """\
[columns]
category = "type"
latitude = "lat"
longitude = "lon"
[time]
column = "date"
format = "%Y-%m-%d %H:%M"
[categories]
"Theft" = "theft"
"""

def polygon(name: str, west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


# Central Astana, and two districts splitting it west and east (where the incidents fall).
BOUNDARY = {"type": "FeatureCollection", "features": [polygon("Astana", 71.36, 51.08, 71.50, 51.20)]}
DISTRICTS = {
    "type": "FeatureCollection",
    "features": [polygon("West", 71.36, 51.08, 71.43, 51.20), polygon("East", 71.43, 51.08, 71.50, 51.20)],
}

FACILITIES = """\
id,name,category,owner,lat,lon,passport,passport_valid_until,equipment
F1,Railway station,railway_station,Akimat,51.1109,71.5317,P-2023-017,2027-03-31,video;alarm;guard_post
F2,Mall,retail,Akimat,51.1280,71.4300,P-2024-002,2028-01-31,video;lighting
"""


def log(message: str) -> None:
    print(f"[api-fuzz] {message}", flush=True)


def default_binary() -> str:
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        candidate = Path(target) / "debug" / "qalqan"
        if candidate.exists():
            return str(candidate)
    local = Path("target") / "debug" / "qalqan"
    in_repo = Path(__file__).resolve().parent.parent / "target" / "debug" / "qalqan"
    return str(in_repo if not local.exists() and in_repo.exists() else local)


def incidents_csv() -> str:
    """300 thefts in central Astana over 2024, deterministic (a small LCG, no `random` state)."""
    rows = ["type,date,lat,lon"]
    state = 12345

    def nxt() -> int:
        nonlocal state
        state = (state * 1103515245 + 12345) % (2**31)
        return state >> 16  # the low bits of this generator cycle quickly

    for _ in range(300):
        month = nxt() % 12 + 1
        day = nxt() % 28 + 1
        hour = nxt() % 24
        minute = nxt() % 60
        lat = 51.10 + (nxt() % 8000) / 100000
        lon = 71.38 + (nxt() % 10000) / 100000
        if nxt() % 4 == 0:  # a quarter at a few repeat places, for the places and near-repeat analyses
            lat, lon = [(51.1280, 71.4300), (51.1450, 71.4150), (51.1600, 71.4500)][nxt() % 3]
        rows.append(f"Theft,2024-{month:02d}-{day:02d} {hour:02d}:{minute:02d},{lat:.5f},{lon:.5f}")
    return "\n".join(rows) + "\n"


class Api:
    """A minimal JSON client for the running server (stdlib only)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookie: str | None = None
        self.csrf: str | None = None

    def request(self, method: str, path: str, body=None, content_type: str = "application/json"):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {}
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self.cookie:
            headers["Cookie"] = f"qalqan_session={self.cookie}"
        if self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("qalqan_session="):
                self.cookie = value.split(";", 1)[0].split("=", 1)[1]
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return response.status, parsed

    def must(self, method: str, path: str, body=None, content_type: str = "application/json"):
        status, parsed = self.request(method, path, body, content_type)
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status}: {parsed}")
        return parsed

    def seed(self, method: str, path: str, body=None, content_type: str = "application/json"):
        """Seeding is best effort: a failure is reported, and the fuzzing goes on without it."""
        status, parsed = self.request(method, path, body, content_type)
        if status >= 300:
            log(f"warning: seeding {method} {path} -> {status}: {parsed}")
            return None
        return parsed


def run_cli(binary: str, env: dict, *args: str) -> str:
    result = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"qalqan {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def start_server(binary: str, env: dict, workdir: Path):
    server_log = open(workdir / "server.log", "w")
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=server_log,
        text=True,
        start_new_session=True,
    )
    found: dict = {}

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "serving on" in line and "url" not in found:
                found["url"] = line.strip().split("serving on", 1)[1].strip()
            server_log.write(line)
            server_log.flush()

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + 120
    while "url" not in found:
        if proc.poll() is not None:
            raise RuntimeError(f"qalqan serve exited with {proc.returncode}; see {workdir / 'server.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("qalqan serve did not report its address within 120 s")
        time.sleep(0.1)
    return proc, found["url"].rstrip("/")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def seed_data(api: Api) -> dict:
    """Things for path parameters to point at; returns the ids to offer the fuzzer."""
    ids: set = {1}
    api.seed("POST", "/api/v1/admin/agencies", {"name": "Police department"})
    api.seed("POST", "/api/v1/admin/agencies", {"name": "Akimat"})
    api.seed("POST", "/api/v1/admin/users", {"login": "fuzzer", "role": "analyst", "territories": ["Astana"]})
    body = api.seed(
        "POST",
        "/api/v1/bodies",
        {
            "name": "Fuzz council",
            "kind": "coordination_council",
            "members": [["Police department", ""], ["Akimat", "Deputy akim"]],
            "territory": "Astana",
        },
    )
    body_id = body.get("id") if isinstance(body, dict) else None
    if body_id is not None:
        ids.add(body_id)
        meeting = api.seed(
            "POST",
            f"/api/v1/bodies/{body_id}/meetings",
            {
                "held_on": "2024-02-10",
                "number": "1",
                "agenda": "Law and order",
                "items": [{"number": "1", "text": "Heard the police"}, {"number": "2", "text": "Cameras"}],
            },
        )
        meeting_id = meeting.get("id") if isinstance(meeting, dict) else None
        assignment = api.seed(
            "POST",
            "/api/v1/assignments",
            {
                "body_id": body_id,
                "meeting_id": meeting_id,
                "item": "2",
                "text": "Connect the station's cameras",
                "executor": "Akimat",
                "co_executors": ["Police department"],
                "controller": "root",
                "deadline": "2030-03-01",
            },
        )
        if isinstance(assignment, dict) and isinstance(assignment.get("id"), int):
            ids.add(assignment["id"])
    api.seed("POST", "/api/v1/territories/Astana/facilities?format=csv", FACILITIES, "text/csv")
    level = api.seed(
        "POST",
        "/api/v1/territories/Astana/threat-levels",
        {"level": "yellow", "reason": "Fuzz drill", "starts_on": "2024-06-01", "ends_on": "2024-06-10"},
    )
    if isinstance(level, dict) and isinstance(level.get("id"), int):
        ids.add(level["id"])
    intervention = api.seed(
        "POST",
        "/api/v1/territories/Astana/interventions",
        {"name": "Fuzz post", "kind": "post", "starts_on": "2024-06-01", "lat": 51.14, "lon": 71.43, "radius_m": 300},
    )
    if isinstance(intervention, dict) and isinstance(intervention.get("id"), int):
        ids.add(intervention["id"])
    return {"ids": sorted(ids), "facilities": ["F1", "F2"], "logins": ["fuzzer"], "territories": ["Astana"]}


def toml_value(value) -> str:
    # JSON strings, numbers and flat arrays of them are valid TOML too.
    return json.dumps(value)


# Values the fuzzer mixes into its generated ones (Schemathesis "dictionaries"), so that more of
# its requests get past parameter validation into the code behind it. Key: a Schemathesis
# binding ("query.NAME", "body.FIELD", "body.LIST[*].FIELD"); value: (values, probability).
QUERY_VALUES = {
    "query.from": (["2024-01-01", "2024-03-01"], 0.5),
    "query.to": (["2024-12-31", "2024-06-30"], 0.5),
    "query.category": (["theft"], 0.5),
    "query.district": (["West", "East"], 0.4),
    "query.format": (["csv", "json", "geojson", "pdf", "html"], 0.6),
    "query.method": (["grid", "kde", "gi", "lisa"], 0.6),
    "query.shape": (["square", "hex"], 0.5),
    "query.kernel": (["gaussian", "quartic"], 0.5),
    "query.bandwidth": (["scott", "silverman", "300"], 0.5),
    "query.cells": (["all", "nonempty"], 0.5),
    "query.model": (["naive", "kde", "prospective", "sepp"], 0.6),
    "query.models": (["naive,kde", "sepp,prospective", "naive"], 0.6),
    "query.horizon": (["shift", "day", "week"], 0.6),
    "query.lang": (["ru", "kk", "en"], 0.6),
    "query.family": (["negative_binomial", "poisson"], 0.5),
    "query.metric": (["manhattan", "euclidean"], 0.5),
    "query.period": (["week", "month"], 0.5),
    "query.mode": (["walk", "drive"], 0.5),
    "query.objective": (["coverage", "median"], 0.5),
    "query.kind": (["post", "mobile_point"], 0.5),
    "query.date": (["2024-12-01", "2024-06-15"], 0.5),
    "query.origin": (["2024-10-01"], 0.5),
    "query.status": (["draft", "on_execution", "overdue"], 0.3),
    "query.agency": (["Akimat", "Police department"], 0.4),
}

BODY_VALUES = {
    "body.kind": (["coordination_council", "antiterrorist_commission", "post", "camera_cluster", "cameras", "posts", "beats"], 0.5),
    "body.level": (["yellow", "orange", "red"], 0.6),
    "body.action": (["issue", "accept", "return", "cancel"], 0.6),
    "body.role": (["analyst", "viewer", "commander", "agency_executor"], 0.5),
    "body.agency": (["Akimat", "Police department"], 0.4),
    "body.executor": (["Akimat", "Police department"], 0.6),
    "body.controller": (["root", "fuzzer"], 0.6),
    "body.territory": (["Astana"], 0.5),
    "body.deadline": (["2030-01-31", "monthly:5", "quarterly:10"], 0.6),
    "body.findings[*].deadline": (["2030-02-28"], 0.6),
    "body.held_on": (["2024-03-01", "2025-01-15"], 0.6),
    "body.starts_on": (["2024-07-01", "2025-02-01"], 0.6),
    "body.ends_on": (["2024-07-20", "2025-02-10"], 0.5),
    "body.new_due_on": (["2031-01-31"], 0.6),
    "body.lat": ([51.14, 51.12], 0.5),
    "body.lon": ([71.43, 71.41], 0.5),
    "body.radius_m": ([300, 150], 0.5),
}


def write_config(path: Path, api: Api, seeds: dict, args) -> None:
    bindings = {
        "path.name": (seeds["territories"], 0.9),
        "path.login": (seeds["logins"], 0.9),
        "path.id": (seeds["ids"], 0.6),
        "body.body_id": (seeds["ids"], 0.6),
        "body.meeting_id": (seeds["ids"], 0.4),
        **QUERY_VALUES,
        **BODY_VALUES,
    }
    # Per operation: the facility register's ids are strings, and travel-time's from/to are points.
    per_operation = [
        (r"/facilities/\{id\}/", {"path.id": (seeds["facilities"], 0.9)}),
        (r"/travel-time$", {"query.from": (["51.12,71.40"], 0.7), "query.to": (["51.16,71.46"], 0.7)}),
    ]
    lines = [
        "# Written by scripts/api-fuzz.py for one run.",
        f"request-timeout = {args.request_timeout}",
        f"workers = {args.workers if str(args.workers).isdigit() else toml_value(args.workers)}",
        "",
        "[headers]",
        f"Cookie = {toml_value('qalqan_session=' + (api.cookie or ''))}",
        f"X-CSRF-Token = {toml_value(api.csrf or '')}",
        "",
        "[generation]",
        f"max-examples = {args.max_examples}",
        "with-security-parameters = false",
        "",
    ]
    dictionaries: list[str] = []
    references: dict = {}

    def reference(key: str, values: list, probability: float) -> str:
        name = f"d{len(dictionaries)}"
        dictionaries.append(f"[dictionaries.{name}]\nvalues = {toml_value(values)}\n")
        return f"{toml_value(key)} = {{ dictionary = {toml_value(name)}, probability = {probability} }}"

    for key, (values, probability) in bindings.items():
        references[key] = reference(key, values, probability)
    operation_blocks = []
    for regex, overrides in per_operation:
        inline = ", ".join(reference(k, v, p) for k, (v, p) in overrides.items())
        operation_blocks.append(f"[[operations]]\ninclude-path-regex = {toml_value(regex)}\nparameters = {{ {inline} }}\n")
    text = "\n".join(lines) + "\n".join(dictionaries) + "\n[parameters]\n" + "\n".join(references.values()) + "\n\n"
    text += "\n".join(operation_blocks)
    path.write_text(text)


def schemathesis_command() -> list[str]:
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        st = shutil.which("st") or shutil.which("schemathesis")
        if st is None:
            sys.exit(f"schemathesis is not installed: pip install schemathesis=={PINNED_SCHEMATHESIS}")
        return [st]
    from importlib.metadata import version

    installed = version("schemathesis")
    if installed != PINNED_SCHEMATHESIS:
        log(f"warning: schemathesis {installed} is installed; this script was written for {PINNED_SCHEMATHESIS}")
    return [sys.executable, "-m", "schemathesis.cli"]


def summarize(report_path: Path) -> None:
    if not report_path.exists():
        log("no JSON report was written")
        return
    report = json.loads(report_path.read_text())
    ops = report.get("operations") or {}
    cases = report.get("test_cases") or {}
    log(
        f"schemathesis {report.get('schemathesis_version')}: {ops.get('tested')}/{ops.get('selected')} operations "
        f"tested, {cases.get('generated')} test cases, {cases.get('unique_failures')} unique failures, "
        f"{report.get('running_time')} s, stop reason {report.get('stop_reason')}"
    )
    for failure in report.get("failures", []):
        log(f"  FAIL {failure.get('title')} ({failure.get('type')}, {failure.get('count')}x):")
        for operation in failure.get("operations", []):
            log(f"       {operation}")
    for error in report.get("errors", []):
        log(f"  ERROR {error.get('title')} ({error.get('count')}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=default_binary(), help="the qalqan binary (default: $CARGO_TARGET_DIR/debug/qalqan, else ./target/debug/qalqan)")
    parser.add_argument("--max-examples", type=int, default=10, help="test cases per operation and phase (default 10)")
    parser.add_argument("--workers", default="2", help="Schemathesis workers (default 2)")
    parser.add_argument("--seed", type=int, default=None, help="Schemathesis random seed, for a reproducible run")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--phases", default=None, help="comma-separated Schemathesis phases (default: all)")
    parser.add_argument("--report-dir", default=None, help="where the JSON and JUnit reports go")
    parser.add_argument("--stop-on-failure", action="store_true", help="stop testing an operation at its first failure (quicker, finds less)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (store, logs, reports)")
    parser.add_argument("extra", nargs="*", help="further arguments for `st run`, after --")
    args = parser.parse_args()

    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no qalqan binary at {binary} (build it, or pass --bin)")
    st = schemathesis_command()

    workdir = Path(tempfile.mkdtemp(prefix="qalqan-api-fuzz-"))
    report_dir = Path(args.report_dir).resolve() if args.report_dir else workdir / "reports"
    env = dict(os.environ)
    env.update(
        QALQAN_DATABASE=f"sqlite://{workdir}/qalqan.db",
        QALQAN_DATA_DIR=str(workdir / "data"),
        QALQAN_LOG=env.get("QALQAN_LOG", "warn"),
        QALQAN_USER="api-fuzz",
    )
    env.pop("QALQAN_CONFIG", None)
    log(f"store in {workdir}, binary {binary}")
    started = time.monotonic()
    proc = None
    rc = 2
    try:
        (workdir / "boundary.geojson").write_text(json.dumps(BOUNDARY))
        (workdir / "districts.geojson").write_text(json.dumps(DISTRICTS))
        run_cli(binary, env, "territory", "add", "Astana", "--boundary", str(workdir / "boundary.geojson"))
        run_cli(binary, env, "territory", "districts", "Astana", "--file", str(workdir / "districts.geojson"))
        one_time = run_cli(binary, env, "user", "add", "root", "--role", "administrator").strip().splitlines()[-1].strip()
        (workdir / "incidents.csv").write_text(incidents_csv())
        (workdir / "mapping.toml").write_text(MAPPING)
        run_cli(binary, env, "import", "incidents", str(workdir / "incidents.csv"), "--territory", "Astana",
                "--mapping", str(workdir / "mapping.toml"))
        run_cli(binary, env, "territory", "publish", "Astana")  # for /api/v1/public/…

        proc, base = start_server(binary, env, workdir)
        log(f"server on {base}")
        parsed = urllib.parse.urlsplit(base)
        api = Api(parsed.hostname, parsed.port)
        login = api.must("POST", "/api/v1/auth/login", {"login": "root", "password": one_time})
        api.csrf = login["csrf_token"]
        api.must("POST", "/api/v1/auth/password", {"current": one_time, "new": PASSWORD})
        me = api.must("GET", "/api/v1/auth/me")
        api.csrf = me.get("csrf_token", api.csrf)
        if me.get("must_change_password"):
            raise RuntimeError("the session still must change its password")
        seeds = seed_data(api)

        config = workdir / "schemathesis.toml"
        write_config(config, api, seeds, args)
        report_json = report_dir / "schemathesis.json"
        command = [
            *st, "--config-file", str(config), "run", f"{base}/api/v1/openapi.json",
            "--checks", CHECKS,
            "--max-examples", str(args.max_examples),
            "--request-timeout", str(args.request_timeout),
            "--workers", str(args.workers),
            "--report", "json,junit",
            "--report-dir", str(report_dir),
            "--report-json-path", str(report_json),
            "--no-color",
        ]
        if not args.stop_on_failure:
            # Go on after an operation's first failure, so that one kind of failure (say, a
            # plain-text 400 for a malformed query) does not hide the others.
            command.append("--continue-on-failure")
        # One regex: with the option repeated, only the last one counts.
        command += ["--exclude-path-regex", "|".join(f"(?:{pattern})" for pattern in EXCLUDED_PATHS)]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        if args.phases:
            command += ["--phases", args.phases]
        command += args.extra
        log("running: st " + " ".join(shlex.quote(part) for part in command[len(st):]))
        rc = subprocess.run(command, cwd=workdir).returncode

        if proc.poll() is not None:
            log(f"error: the server died during the run (exit status {proc.returncode})")
            rc = rc or 4
        else:
            # The fuzzer must not have lost its session along the way, or its verdicts are about 401s.
            status, _ = api.request("GET", "/api/v1/auth/me")
            if status != 200:
                log(f"warning: the fuzzer's session ended during the run (GET /auth/me -> {status})")
                rc = rc or 3
        summarize(report_json)
    except Exception as error:  # noqa: BLE001 - any setup failure fails the run
        log(f"error: {error}")
        rc = rc if rc not in (0, None) else 2
    finally:
        if proc is not None:
            stop_server(proc)
            if proc.returncode not in (0, -signal.SIGTERM):
                log(f"server exited with {proc.returncode}")
        server_log = workdir / "server.log"
        if rc and server_log.exists():
            # Panics and the details of 5xx answers are only in the server's log.
            lines = server_log.read_text(errors="replace").splitlines()
            log(f"server log ({len(lines)} lines, last 60):")
            for line in lines[-60:]:
                print("    " + line)
        log(f"took {time.monotonic() - started:.0f} s")
        if args.keep:
            log(f"kept {workdir} (store, server.log, schemathesis.toml, reports)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log("FAILED" if rc else "passed")
    return rc


if __name__ == "__main__":
    sys.exit(main())
