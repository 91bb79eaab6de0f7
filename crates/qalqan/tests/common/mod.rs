//! What the black-box test binaries share: a fresh store and working
//! directory per test, the real `qalqan` binary, and a tiny HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use qalqan_store::{Store, TableCounts};

pub const BIN: &str = env!("CARGO_BIN_EXE_qalqan");

/// A mapping for the tests' small exports: `type,date,lat,lon` with minute times, thefts mapped.
pub const MAPPING: &str = r#"
[columns]
category = "type"
latitude = "lat"
longitude = "lon"
[time]
column = "date"
format = "%Y-%m-%d %H:%M"
[categories]
"Theft" = "theft"
"#;

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

pub fn toronto_data() -> PathBuf {
    repo("data/demo/toronto-mci.csv.gz")
}

pub fn toronto_mapping() -> PathBuf {
    repo("data/mappings/toronto-mci.toml")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database and working directory for one test.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub pg: Option<(String, String)>,
    pub runtime: tokio::runtime::Runtime,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Env {
    /// `None` when PostgreSQL tests are switched off with QALQAN_TEST_POSTGRES=skip.
    pub fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("qalqan.db").display());
                Some(Self { dir, url, pg: None, runtime })
            }
            Backend::Postgres => {
                if std::env::var("QALQAN_TEST_POSTGRES").as_deref() == Ok("skip") {
                    return None;
                }
                let base = std::env::var("QALQAN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned());
                let schema = format!("qalqan_cli_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
                runtime.block_on(async {
                    qalqan_store::drop_postgres_schema(&base, &schema).await.unwrap_or_else(|e| {
                        panic!("PostgreSQL at {base} is needed ({e}); set QALQAN_TEST_POSTGRES=skip to skip these tests")
                    });
                    Store::connect_postgres_schema(&base, &schema).await.unwrap().close().await;
                });
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Some(Self { dir, url, pg: Some((base, schema)), runtime })
            }
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env("QALQAN_DATABASE", &self.url)
            .env("QALQAN_DATA_DIR", self.dir.path().join("data"))
            .env("QALQAN_LOG", "warn")
            .env_remove("QALQAN_CONFIG")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "qalqan {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn counts(&self) -> TableCounts {
        self.runtime.block_on(async {
            let store = Store::connect(&self.url).await.unwrap();
            let c = store.table_counts().await.unwrap();
            store.close().await;
            c
        })
    }

    /// Incidents pointing at a missing territory, batch or district.
    pub fn orphans(&self) -> u64 {
        self.runtime.block_on(async {
            let store = Store::connect(&self.url).await.unwrap();
            let n = store.check_integrity().await.unwrap();
            store.close().await;
            n
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg {
            let _ = self.runtime.block_on(qalqan_store::drop_postgres_schema(base, schema));
        }
    }
}

pub fn import_toronto(env: &Env) -> Output {
    env.run(&[
        "import",
        "incidents",
        toronto_data().to_str().unwrap(),
        "--territory",
        "Toronto",
        "--mapping",
        toronto_mapping().to_str().unwrap(),
    ])
}

pub fn stats_json(env: &Env, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["incidents", "stats", "--territory", "Toronto", "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&env.ok(&args)).unwrap()
}

/// A count from the import report, e.g. `summary(out, "imported")`.
pub fn summary(out: &str, label: &str) -> u64 {
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(label).and_then(|rest| rest.split_whitespace().next()?.parse().ok()))
        .unwrap_or_else(|| panic!("no '{label}' line in:\n{out}"))
}

pub fn count_of(v: &serde_json::Value, list: &str, key: &str, name: &str) -> u64 {
    v[list].as_array().unwrap().iter().find(|e| e[key] == name).map(|e| e["count"].as_u64().unwrap()).unwrap_or(0)
}

/// Registers two districts of Astana: Yesil (lon 71.0–71.5) and Saryarka (71.5–72.0), lat 51.0–51.5.
pub fn add_yesil_and_saryarka(env: &Env) {
    let districts = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"name":"Yesil"},"geometry":{"type":"Polygon","coordinates":[[[71.0,51.0],[71.5,51.0],[71.5,51.5],[71.0,51.5],[71.0,51.0]]]}},
      {"type":"Feature","properties":{"name":"Saryarka"},"geometry":{"type":"Polygon","coordinates":[[[71.5,51.0],[72.0,51.0],[72.0,51.5],[71.5,51.5],[71.5,51.0]]]}}
    ]}"#;
    let file = env.write("districts.geojson", districts.as_bytes());
    env.ok(&["territory", "districts", "Astana", "--file", &file]);
}

/// Compresses with the system's `gzip`, keeping test dependencies lean.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip").arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("gzip");
    let mut stdin = child.stdin.take().unwrap();
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = child.wait_with_output().unwrap().stdout;
    writer.join().unwrap();
    out
}

/// Minimal HTTP GET over a socket (no client library needed).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// One HTTP/1.1 request; returns (status, raw headers, body).
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let ty = if body.is_empty() { None } else { Some("application/json") };
    let (status, head, body) = http_bytes(addr, method, path, headers, body.as_bytes(), ty);
    // Bodies may be gzip (binary): decode lossily, the tests read headers and text bodies.
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// One HTTP/1.1 request over a fresh connection; the response body as bytes.
pub fn http_bytes(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], ty: Option<&str>) -> (u16, String, Vec<u8>) {
    try_http_bytes(addr, method, path, headers, body, ty).unwrap_or_else(|| panic!("{method} {path}: the connection to {addr} failed"))
}

/// [`http_bytes`] for a server that may go away under it (killed, restarting): `None` when the
/// connection fails or breaks.
pub fn try_http_bytes(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    ty: Option<&str>,
) -> Option<(u16, String, Vec<u8>)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if let Some(ty) = ty {
        req.push_str(&format!("Content-Type: {ty}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head, raw.get(split + 4..).unwrap_or_default().to_vec()))
}

/// A multipart/form-data body of text fields and one file.
pub fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (Vec<u8>, String) {
    let boundary = "qalqan-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n", file.0)
            .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// Starts `qalqan serve` on a free port; returns the child and its address.
pub fn serve(env: &Env) -> (std::process::Child, String) {
    serve_with(env, &[], Stdio::null())
}

/// Starts `qalqan serve` on a free port with extra environment (another database URL, job
/// settings, a log level) and its stderr where given; returns the child and its address.
pub fn serve_with(env: &Env, vars: &[(&str, &str)], stderr: Stdio) -> (std::process::Child, String) {
    let mut cmd = env.cmd();
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.args(["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(rest) = line.strip_prefix("Qalqan is serving on http://") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    (child, addr)
}

/// Logs in and returns the session cookie. A one-time password is replaced
/// first (the server refuses everything else until it is), by the same
/// password with `-renewed` appended.
pub fn login_cookie(addr: &str, login: &str, password: &str) -> String {
    let (status, head, body) = http(addr, "POST", "/api/v1/auth/login", &[], &format!(r#"{{"login":"{login}","password":"{password}"}}"#));
    assert_eq!(status, 200, "{body}");
    let cookie = head
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie:"))
        .unwrap()
        .split_once(": ")
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    if me["must_change_password"] == true {
        let csrf = me["csrf_token"].as_str().unwrap();
        let change = format!(r#"{{"current":"{password}","new":"{password}-renewed"}}"#);
        let (status, _, body) = http(addr, "POST", "/api/v1/auth/password", &[("Cookie", &cookie), ("X-CSRF-Token", csrf)], &change);
        assert_eq!(status, 204, "{body}");
    }
    cookie
}
