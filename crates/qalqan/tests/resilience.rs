//! Reliability: backups restored table for table, retention, and what survives a killed server
//! or a database that goes away. Each test runs the real `qalqan` binary.

mod common;

use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;

/// The table lines and rows of a backup file (gzip JSON lines), without the header's timestamp.
fn backup_tables(path: &std::path::Path) -> Vec<String> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
    text.lines().skip(1).map(str::to_owned).collect()
}

fn header(path: &std::path::Path) -> serde_json::Value {
    let file = flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap());
    serde_json::from_str(&std::io::BufReader::new(file).lines().next().unwrap().unwrap()).unwrap()
}

/// Fills a store with a little of everything: incidents with districts, accounts, coordination
/// records with an attachment, facilities and a threat level, an intervention, a layer.
fn populate(env: &Env) {
    env.ok(&["territory", "add", "Astana"]);
    add_yesil_and_saryarka(env);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let mut rows = String::from("type,date,lat,lon\n");
    for k in 0..2000 {
        rows.push_str(&format!(
            "Theft,2024-{:02}-{:02} {:02}:00,{:.5},{:.5}\n",
            1 + k % 12,
            1 + k % 28,
            k % 24,
            51.1 + (k % 97) as f64 * 0.003,
            71.2 + (k % 89) as f64 * 0.005
        ));
    }
    let file = env.write("incidents.csv", rows.as_bytes());
    env.ok(&["import", "incidents", &file, "--territory", "Astana", "--mapping", &mapping]);
    env.ok(&["user", "add", "secretary", "--role", "analyst", "--email", "sec@example.kz"]);
    env.ok(&["user", "add", "police", "--role", "agency_executor", "--agency", "Police department"]);
    env.ok(&["body", "add", "Council", "--kind", "coordination_council", "--territory", "Astana", "--member", "Police department"]);
    let out = env.ok(&[
        "--user",
        "secretary",
        "assignment",
        "add",
        "--body",
        "Council",
        "--text",
        "Cameras at the station square «Нұрлы жол»",
        "--executor",
        "Police department",
        "--controller",
        "secretary",
        "--deadline",
        "2099-03-01",
    ]);
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let act = env.write("act.pdf", b"%PDF-1.4 \x00\x01\xff binary act");
    env.ok(&["--user", "police", "assignment", "report", &id, "--text", "Installed", "--attach", &act]);
    let facilities =
        env.write("f.csv", b"id,name,category,lat,lon,owner,passport,equipment\nF1,Nurly Zhol,railway_station,51.19,71.41,KTZ,17,video\n");
    env.ok(&["facility", "import", &facilities, "--territory", "Astana"]);
    env.ok(&["measures", "import", repo("data/coordination/measures.csv").to_str().unwrap()]);
    env.ok(&[
        "threat",
        "declare",
        "--territory",
        "Astana",
        "--level",
        "yellow",
        "--from",
        "2026-05-01",
        "--until",
        "2026-05-15",
        "--reason",
        "drill",
    ]);
    env.ok(&[
        "intervention",
        "add",
        "--territory",
        "Astana",
        "--name",
        "Square cameras",
        "--kind",
        "camera_cluster",
        "--start",
        "2024-06-01",
        "--at",
        "51.13,71.43",
    ]);
    let layer = env.write("kiosks.csv", b"id,lat,lon\nK1,51.13,71.43\n");
    env.ok(&["analyze", "layer", &layer, "--territory", "Astana", "--name", "kiosks"]);
}

/// A backup taken while another process keeps writing restores into a fresh store of the same
/// backend table for table (a second backup of the restored store is identical, row for row), the
/// audit chain verifies, and the figures read the same. A truncated file or a store that already
/// holds data is refused with nothing written.
fn backups_restore_table_for_table_while_writes_go_on(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    populate(&env);
    // A writer keeps appending audited records during the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut c = env_cmd_clone(&env);
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let out = c(&["body", "add", &format!("Working group {n}"), "--kind", "other"]);
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let file = env.path("store.qalqan.gz");
    let out = env.ok(&["backup", file.to_str().unwrap()]);
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0, "the writer ran during the backup");
    assert!(out.contains("backup written") && out.contains("rows"), "{out}");
    let head = header(&file);
    let tables = head["tables"].as_array().unwrap();
    assert!(tables.len() >= 30, "every table: {head}");
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let pos = |t: &str| names.iter().position(|n| *n == t).unwrap_or_else(|| panic!("{t} not in {names:?}"));
    assert!(
        pos("territories") < pos("districts") && pos("users") < pos("sessions") && pos("assignments") < pos("report_attachments"),
        "foreign-key order: {names:?}"
    );

    let fresh = Env::new(backend).unwrap();
    let out = fresh.ok(&["restore", file.to_str().unwrap()]);
    assert!(out.contains("restored"), "{out}");
    assert!(fresh.ok(&["audit", "verify"]).contains("intact"), "the restored chain verifies");
    // Table for table: the restored store backs up to the same rows (its restore entry aside).
    let again = fresh.path("again.qalqan.gz");
    fresh.ok(&["backup", again.to_str().unwrap()]);
    let (a, b) = (backup_tables(&file), backup_tables(&again));
    let audit_start = |lines: &[String]| lines.iter().position(|l| l.starts_with("{\"table\":\"audit_log\"")).unwrap();
    let strip = |lines: &[String]| -> Vec<String> {
        let s = audit_start(lines);
        let n = lines[s + 1..].iter().take_while(|l| !l.starts_with("{\"table\":")).count();
        lines.iter().enumerate().filter(|(k, _)| *k <= s || *k > s + n).map(|(_, l)| l.clone()).collect()
    };
    assert_eq!(strip(&a), strip(&b), "every table but the audit log is restored row for row");
    let audit_rows = |lines: &[String]| -> Vec<String> {
        let s = audit_start(lines);
        lines[s + 1..].iter().take_while(|l| !l.starts_with("{\"table\":")).cloned().collect()
    };
    let (ra, rb) = (audit_rows(&a), audit_rows(&b));
    assert_eq!(rb.len(), ra.len() + 1, "the restore added its own audit entry");
    assert_eq!(&rb[..ra.len()], &ra[..], "and kept every earlier one");
    // The figures read the same.
    let stats = |e: &Env| e.ok(&["incidents", "stats", "--territory", "Astana", "--format", "json"]);
    assert_eq!(stats(&fresh), stats(&env));
    assert!(fresh.ok(&["assignment", "list", "--format", "json"]).contains("Нұрлы жол"));
    // New records get new ids (PostgreSQL's sequences were moved past the restored ones).
    fresh.ok(&["body", "add", "After the restore", "--kind", "other"]);
    fresh.ok(&["territory", "add", "Almaty"]);

    // Refusals write nothing.
    let err = fresh.run(&["restore", file.to_str().unwrap()]);
    assert!(!err.status.success() && String::from_utf8_lossy(&err.stderr).contains("already holds data"), "{err:?}");
    let empty = Env::new(backend).unwrap();
    let mut bytes = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&file).unwrap()).read_to_end(&mut bytes).unwrap();
    let cut = empty.write("cut.qalqan.gz", &gzip(&bytes[..bytes.len() * 2 / 3]));
    let err = empty.run(&["restore", &cut]);
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(!err.status.success() && stderr.contains("nothing was restored"), "{stderr}");
    assert_eq!(empty.counts(), qalqan_store::TableCounts::default(), "a truncated backup restores nothing");
}

/// A command runner that owns its own copies of the test environment's settings (for threads).
fn env_cmd_clone(env: &Env) -> impl FnMut(&[&str]) -> std::process::Output + Send + 'static {
    let (url, dir) = (env.url.clone(), env.dir.path().to_owned());
    move |args: &[&str]| {
        std::process::Command::new(BIN)
            .current_dir(&dir)
            .env("QALQAN_DATABASE", &url)
            .env("QALQAN_DATA_DIR", dir.join("data"))
            .env("QALQAN_LOG", "warn")
            .env_remove("QALQAN_CONFIG")
            .args(args)
            .output()
            .unwrap()
    }
}

#[test]
fn backups_restore_table_for_table_while_writes_go_on_on_sqlite() {
    backups_restore_table_for_table_while_writes_go_on(Backend::Sqlite);
}

#[test]
fn backups_restore_table_for_table_while_writes_go_on_on_postgres() {
    backups_restore_table_for_table_while_writes_go_on(Backend::Postgres);
}

/// Runs one SQL statement on the test's store, whichever the backend.
fn exec(env: &Env, sqlite: &str, postgres: &str) {
    env.runtime.block_on(async {
        if env.pg.is_some() {
            let pool = sqlx::PgPool::connect(&env.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(postgres.to_owned())).execute(&pool).await.unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::SqlitePool::connect(&env.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_owned())).execute(&pool).await.unwrap();
            pool.close().await;
        }
    });
}

fn audit_count(env: &Env, action: &str) -> usize {
    env.ok(&["audit", "list", "--limit", "1000"]).lines().filter(|l| l.contains(action)).count()
}

/// Each category's rule from `[retention]` deletes exactly what is past it — incidents by when
/// they occurred, ended sessions, settled notifications — leaves the rest, is audited per
/// category with its count, deletes nothing on a dry run or a second run, and keeps the audit
/// chain intact.
fn retention_rules_delete_what_is_past_them_and_nothing_else(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    env.write("qalqan.toml", b"[retention]\nincidents_years = 5\nsessions_days = 30\nnotifications_days = 30\n");
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let rows = "type,date,lat,lon\nTheft,2010-03-01 10:00,51.13,71.43\nTheft,2015-06-01 11:00,51.14,71.44\nTheft,2024-01-07 12:00,51.12,71.42\nTheft,2025-11-07 12:00,51.12,71.42\n";
    let file = env.write("i.csv", rows.as_bytes());
    env.ok(&["import", "incidents", &file, "--territory", "Astana", "--mapping", &mapping]);
    env.ok(&["user", "add", "secretary", "--role", "analyst"]);
    env.ok(&["user", "add", "police", "--role", "agency_executor", "--agency", "Police department"]);
    env.ok(&["body", "add", "Council", "--kind", "coordination_council"]);
    let add = |text: &str| {
        let out = env.ok(&[
            "--user",
            "secretary",
            "assignment",
            "add",
            "--body",
            "Council",
            "--text",
            text,
            "--executor",
            "Police department",
            "--controller",
            "secretary",
            "--deadline",
            "2020-01-15",
        ]);
        out.split_whitespace().nth(1).unwrap().to_owned()
    };
    let (settled, open) = (add("Settled long ago"), add("Still open"));
    env.ok(&["notify", "run"]);
    env.ok(&["--user", "secretary", "assignment", "cancel", &settled]);
    // Notifications and a session from 2020: ended and settled, except the open assignment's.
    exec(&env, "UPDATE notifications SET created_at = 1580000000", "UPDATE notifications SET created_at = 1580000000");
    exec(
        &env,
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, origin) SELECT 'old', id, 'c', 1580000000, 1580040000, 'test' FROM users WHERE login = 'police';
         INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, origin) SELECT 'live', id, 'c', 1580000000, 4102444800, 'test' FROM users WHERE login = 'police'",
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, origin) SELECT 'old', id, 'c', to_timestamp(1580000000), to_timestamp(1580040000), 'test' FROM users WHERE login = 'police';
         INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, origin) SELECT 'live', id, 'c', to_timestamp(1580000000), to_timestamp(4102444800), 'test' FROM users WHERE login = 'police'",
    );
    let notes = |e: &Env| e.ok(&["notify", "list", "--login", "police"]).lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(notes(&env), 2, "{}", env.ok(&["notify", "list", "--login", "police"]));

    let shown = env.ok(&["retention", "show"]);
    assert!(shown.contains("5 years") && shown.contains("audit log:      kept for ever"), "{shown}");
    assert!(shown.contains("incidents: would delete 2 from before"), "{shown}");
    let dry = env.ok(&["retention", "run", "--dry-run"]);
    assert!(dry.contains("incidents: would delete 2") && dry.contains("sessions: would delete 1"), "{dry}");
    assert_eq!(env.counts().incidents, 4, "a dry run deletes nothing");

    let purges = audit_count(&env, "retention.purge");
    let out = env.ok(&["retention", "run"]);
    assert!(out.contains("incidents: deleted 2") && out.contains("sessions: deleted 1"), "{out}");
    assert!(out.contains("notifications: deleted") && !out.contains("notifications: deleted 0"), "{out}");
    assert_eq!(env.counts().incidents, 2, "the two older than five years went");
    let stats = env.ok(&["incidents", "stats", "--territory", "Astana", "--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stats).unwrap()["total"], 2, "{stats}");
    assert_eq!(notes(&env), 1, "the open assignment's escalation stays");
    assert_eq!(audit_count(&env, "retention.purge"), purges + 3, "one audit entry per category that lost rows");
    let again = env.ok(&["retention", "run"]);
    assert!(again.lines().all(|l| l.contains("deleted 0")), "{again}");
    assert_eq!(audit_count(&env, "retention.purge"), purges + 3, "nothing deleted, nothing audited");
    assert!(env.ok(&["audit", "verify"]).contains("intact"));
    let _ = open;

    env.write("qalqan.toml", b"[retention]\nincidents_years = 0\n");
    let bad = env.run(&["retention", "show"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("[retention] incidents_years 0"), "{bad:?}");
}

#[test]
fn retention_rules_delete_what_is_past_them_and_nothing_else_on_sqlite() {
    retention_rules_delete_what_is_past_them_and_nothing_else(Backend::Sqlite);
}

#[test]
fn retention_rules_delete_what_is_past_them_and_nothing_else_on_postgres() {
    retention_rules_delete_what_is_past_them_and_nothing_else(Backend::Postgres);
}

/// One request that may fail (the server may be killed under it): `None` when the connection
/// breaks, else the status and body.
fn try_request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], ty: &str) -> Option<(u16, String)> {
    try_http_bytes(addr, method, path, headers, body, Some(ty))
        .map(|(status, _, body)| (status, String::from_utf8_lossy(&body).into_owned()))
}

/// Rows of one import of the crash test: `n` incidents, distinct per `(round, k)`.
fn import_rows(round: usize, k: usize, n: usize) -> String {
    let mut rows = String::from("type,date,lat,lon\n");
    for j in 0..n {
        rows.push_str(&format!(
            "Theft,2020-{:02}-{:02} {:02}:00,51.{:04},71.{:03}{:03}\n",
            1 + j % 12,
            1 + j % 28,
            j % 24,
            1000 + j,
            round % 1000,
            k % 1000
        ));
    }
    rows
}

/// Rows per import in the crash test.
const CRASH_ROWS: usize = 3000;

/// `kill -9` of the server while it writes — small audited records from several clients and
/// incident imports over HTTP — again and again (`QALQAN_CRASH_ROUNDS`, default 6): after each
/// restart every acknowledged write is there, no import is half there (incidents come in whole
/// batches), nothing points nowhere, SQLite's integrity check passes and the audit chain verifies.
fn a_killed_server_loses_no_acknowledged_write(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    env.ok(&["territory", "add", "Astana"]);
    let password = env.ok(&["user", "add", "root", "--role", "administrator"]).lines().last().unwrap().to_owned();
    let rounds: usize = std::env::var("QALQAN_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let mut acknowledged_bodies: Vec<String> = Vec::new();
    let mut acknowledged_imports = 0u64;
    let mut cookie = None;
    for round in 0..rounds {
        let (mut server, addr) = serve(&env);
        // Sessions live in the database: the cookie of the first round still works.
        let c = cookie.get_or_insert_with(|| login_cookie(&addr, "root", &password)).clone();
        let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", &c)], "");
        let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for t in 0..3 {
            let (addr, c, csrf, stop) = (addr.clone(), c.clone(), csrf.clone(), stop.clone());
            writers.push(std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("Group {round}-{t}-{k}");
                    let body = serde_json::json!({"name": name, "kind": "other"}).to_string();
                    match try_request(
                        &addr,
                        "POST",
                        "/api/v1/bodies",
                        &[("Cookie", &c), ("X-CSRF-Token", &csrf)],
                        body.as_bytes(),
                        "application/json",
                    ) {
                        Some((201, _)) => acked.push(name),
                        Some((status, text)) => panic!("{status}: {text}"),
                        None => break,
                    }
                    k += 1;
                }
                (acked, 0u64)
            }));
        }
        {
            let (addr, c, csrf, stop) = (addr.clone(), c.clone(), csrf.clone(), stop.clone());
            writers.push(std::thread::spawn(move || {
                let mut imports = 0;
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    let rows = import_rows(round, k, CRASH_ROWS);
                    let (body, ty) = multipart(&[("mapping", MAPPING)], (&format!("r{round}-{k}.csv"), rows.as_bytes()));
                    match try_request(
                        &addr,
                        "POST",
                        "/api/v1/territories/Astana/imports",
                        &[("Cookie", &c), ("X-CSRF-Token", &csrf)],
                        &body,
                        &ty,
                    ) {
                        Some((200, text)) if text.contains("\"status\":\"imported\"") => imports += 1,
                        Some((status, text)) => panic!("{status}: {text}"),
                        None => break,
                    }
                    k += 1;
                }
                (Vec::new(), imports)
            }));
        }
        std::thread::sleep(std::time::Duration::from_millis(400 + 150 * (round as u64 % 5)));
        server.kill().unwrap(); // SIGKILL: no graceful shutdown, no flush.
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            let (acked, imports) = w.join().unwrap();
            acknowledged_bodies.extend(acked);
            acknowledged_imports += imports;
        }
    }
    assert!(acknowledged_bodies.len() > rounds * 3, "the writers got through: {}", acknowledged_bodies.len());
    let bodies = env.ok(&["body", "list"]);
    for name in &acknowledged_bodies {
        assert!(bodies.contains(name.as_str()), "acknowledged '{name}' was lost");
    }
    let incidents = env.counts().incidents;
    eprintln!(
        "{backend:?}: {rounds} kills; {} records and {acknowledged_imports} imports acknowledged; {} imports committed",
        acknowledged_bodies.len(),
        incidents / CRASH_ROWS as u64
    );
    assert!(acknowledged_imports > 0, "imports ran while the server was killed");
    assert_eq!(incidents % CRASH_ROWS as u64, 0, "{incidents} incidents: an import is half there");
    assert!(incidents >= acknowledged_imports * CRASH_ROWS as u64, "{incidents} incidents for {acknowledged_imports} acknowledged imports");
    assert_eq!(env.orphans(), 0, "nothing points nowhere");
    if backend == Backend::Sqlite {
        let check: String = env.runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(&env.url).await.unwrap();
            sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap()
        });
        assert_eq!(check, "ok");
    }
    assert!(env.ok(&["audit", "verify"]).contains("intact"));
}

#[test]
fn a_killed_server_loses_no_acknowledged_write_on_sqlite() {
    a_killed_server_loses_no_acknowledged_write(Backend::Sqlite);
}

#[test]
fn a_killed_server_loses_no_acknowledged_write_on_postgres() {
    a_killed_server_loses_no_acknowledged_write(Backend::Postgres);
}

/// A TCP relay between the server and PostgreSQL that the test can cut, as if the database
/// went away (every open connection broken, new ones refused), and restore.
struct Relay {
    addr: String,
    up: Arc<AtomicBool>,
    open: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn start(target: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>> = Default::default();
        let (up2, open2, target) = (up.clone(), open.clone(), target.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(&target) else { continue };
                open2.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { addr, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// PostgreSQL goes away under load (four clients writing and reading throughout): requests that
/// need it are answered 503 within seconds (none hangs, none is a 500), the server recovers by
/// itself once the database is back, and every write acknowledged before, during or after is there.
#[test]
fn a_database_outage_gives_quick_503s_and_the_server_recovers_by_itself() {
    let Some(env) = Env::new(Backend::Postgres) else { return };
    env.ok(&["territory", "add", "Astana"]);
    let password = env.ok(&["user", "add", "root", "--role", "administrator"]).lines().last().unwrap().to_owned();
    let target = env.url.split('@').nth(1).unwrap().split('/').next().unwrap().to_owned();
    let relay = Relay::start(&target);
    let via_relay = env.url.replacen(&target, &relay.addr, 1);
    let (mut child, addr) = serve_with(&env, &[("QALQAN_DATABASE", &via_relay)], std::process::Stdio::null());
    let cookie = login_cookie(&addr, "root", &password);
    let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let headers = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let mut acknowledged = Vec::new();
    let mut write = |name: String| -> Option<u16> {
        let body = serde_json::json!({"name": name, "kind": "other"}).to_string();
        let (status, _) = try_request(&addr, "POST", "/api/v1/bodies", &headers, body.as_bytes(), "application/json")?;
        if status == 201 {
            acknowledged.push(name);
        }
        Some(status)
    };
    for k in 0..5 {
        assert_eq!(write(format!("Before {k}")), Some(201));
    }

    // Load throughout: four clients writing and reading before, during and after the outage.
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|t| {
            let (addr, cookie, csrf, stop) = (addr.clone(), cookie.clone(), csrf.clone(), stop.clone());
            std::thread::spawn(move || {
                let headers = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
                let (mut acked, mut answers, mut slowest) = (Vec::new(), Vec::new(), std::time::Duration::ZERO);
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    let started = std::time::Instant::now();
                    let name = format!("Load {t}-{k}");
                    let answer = if k % 2 == 0 {
                        let body = serde_json::json!({"name": name, "kind": "other"}).to_string();
                        try_request(&addr, "POST", "/api/v1/bodies", &headers, body.as_bytes(), "application/json")
                    } else {
                        try_request(&addr, "GET", "/api/v1/territories", &headers, b"", "application/json")
                    };
                    slowest = slowest.max(started.elapsed());
                    let status = answer.map(|(s, _)| s).unwrap_or(0);
                    if status == 201 {
                        acked.push(name);
                    }
                    answers.push(status);
                    k += 1;
                }
                (acked, answers, slowest)
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    relay.cut();
    let mut during = Vec::new();
    for k in 0..6 {
        let started = std::time::Instant::now();
        let status = if k % 2 == 0 {
            write(format!("During {k}"))
        } else {
            try_request(&addr, "GET", "/api/v1/territories", &headers, b"", "application/json").map(|(s, _)| s)
        };
        let took = started.elapsed();
        assert_eq!(status, Some(503), "request {k} while the database is away");
        assert!(took < std::time::Duration::from_secs(6), "request {k} took {took:?}");
        during.push(took);
    }
    let (status, body) = try_request(&addr, "GET", "/api/v1/ready", &[], b"", "application/json").unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("error") && !body.to_lowercase().contains("sqlx") && !body.contains(&relay.addr), "no internals: {body}");

    relay.restore();
    let back = std::time::Instant::now();
    loop {
        let (status, _) = try_request(&addr, "GET", "/api/v1/ready", &[], b"", "application/json").unwrap();
        if status == 200 {
            break;
        }
        assert!(back.elapsed() < std::time::Duration::from_secs(30), "the server did not recover");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for k in 0..5 {
        assert_eq!(write(format!("After {k}")), Some(201), "writes work again");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (mut answers, mut slowest) = (Vec::new(), std::time::Duration::ZERO);
    for l in load {
        let (acked, a, s) = l.join().unwrap();
        acknowledged.extend(acked);
        answers.extend(a);
        slowest = slowest.max(s);
    }
    let count = |code: u16| answers.iter().filter(|&&a| a == code).count();
    eprintln!(
        "under load: {} answers: {} ok, {} created, {} unavailable; slowest {slowest:?}",
        answers.len(),
        count(200),
        count(201),
        count(503)
    );
    assert!(answers.iter().all(|a| [200, 201, 503].contains(a)), "only successes and 503s: {:?}", {
        let mut odd: Vec<_> = answers.iter().filter(|a| ![200, 201, 503].contains(*a)).collect();
        odd.dedup();
        odd
    });
    assert!(count(503) > 0 && count(201) > 0, "the load met the outage and the database");
    assert!(slowest < std::time::Duration::from_secs(6), "no request hung: {slowest:?}");
    eprintln!("503s took {during:?}; recovered {:?} after the database returned", back.elapsed());
    child.kill().unwrap();
    child.wait().unwrap();
    let bodies = env.ok(&["body", "list"]);
    for name in &acknowledged {
        assert!(bodies.contains(name.as_str()), "acknowledged '{name}' was lost");
    }
    assert!(!bodies.contains("During"), "nothing refused was written");
    assert!(env.ok(&["audit", "verify"]).contains("intact"));
}

/// Two instances on different ports over one PostgreSQL, as behind a load balancer: a session
/// opened on one works on the other, what one writes the other reads at once (caches follow the
/// data), and clients racing through both to move one assignment, each on the version it read,
/// lose no update: every version is taken by exactly one change, the others are told 409 and
/// reload, and the history holds exactly the accepted changes. The hourly job runs under one lease.
#[test]
fn two_instances_share_sessions_data_and_lose_no_update() {
    let Some(env) = Env::new(Backend::Postgres) else { return };
    env.ok(&["territory", "add", "Astana"]);
    let password = env.ok(&["user", "add", "root", "--role", "administrator"]).lines().last().unwrap().to_owned();
    env.ok(&["body", "add", "Council", "--kind", "coordination_council"]);
    let out = env.ok(&[
        "--user",
        "root",
        "assignment",
        "add",
        "--body",
        "Council",
        "--text",
        "Cameras at the station",
        "--executor",
        "Police department",
        "--controller",
        "root",
        "--deadline",
        "2099-01-01",
    ]);
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let (mut a, addr_a) = serve_with(&env, &[], std::process::Stdio::null());
    let (mut b, addr_b) = serve_with(&env, &[], std::process::Stdio::null());
    let cookie = login_cookie(&addr_a, "root", &password);
    let (status, _, me) = http(&addr_b, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "the session opened on A works on B: {me}");
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();

    // Written through A, read through B at once: a record, and an import's figures (B had them cached).
    let stats = |addr: &str| {
        let (_, _, body) = http(addr, "GET", "/api/v1/territories/Astana/stats", &[("Cookie", &cookie)], "");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["total"].as_u64().unwrap()
    };
    assert_eq!(stats(&addr_b), 0);
    let rows = import_rows(0, 0, 500);
    let (body, ty) = multipart(&[("mapping", MAPPING)], ("a.csv", rows.as_bytes()));
    let (status, _, text) = http_bytes(
        &addr_a,
        "POST",
        "/api/v1/territories/Astana/imports",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        &body,
        Some(&ty),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    assert_eq!(stats(&addr_b), 500, "B sees A's import at once");
    let (status, _, _) = http(
        &addr_a,
        "POST",
        "/api/v1/bodies",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        r#"{"name":"Working group","kind":"other"}"#,
    );
    assert_eq!(status, 201);
    assert!(http(&addr_b, "GET", "/api/v1/bodies", &[("Cookie", &cookie)], "").2.contains("Working group"));

    // Racing clients, half through each instance: read the assignment and its version, then move it
    // (report while awaiting the executor, return when reported) on that version.
    let path = format!("/api/v1/assignments/{id}");
    let start: i64 =
        serde_json::from_str::<serde_json::Value>(&http(&addr_a, "GET", &path, &[("Cookie", &cookie)], "").2).unwrap()["version"]
            .as_i64()
            .unwrap();
    let workers: Vec<_> = (0..6)
        .map(|t| {
            let addr = if t % 2 == 0 { addr_a.clone() } else { addr_b.clone() };
            let (cookie, csrf, path) = (cookie.clone(), csrf.clone(), path.clone());
            std::thread::spawn(move || {
                let (mut won, mut lost) = (Vec::new(), 0);
                for _ in 0..15 {
                    let (status, head, body) = http(&addr, "GET", &path, &[("Cookie", &cookie)], "");
                    assert_eq!(status, 200);
                    let a: serde_json::Value = serde_json::from_str(&body).unwrap();
                    let version = a["version"].as_i64().unwrap();
                    assert!(head.to_lowercase().contains(&format!("etag: \"{version}\"")), "{head}");
                    let tag = format!("\"{version}\"");
                    let headers = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str()), ("If-Match", tag.as_str())];
                    let (status, _, text) = if a["status"] == "report_submitted" {
                        http_bytes(
                            &addr,
                            "POST",
                            &format!("{path}/actions"),
                            &headers,
                            br#"{"action":"return","note":"again"}"#,
                            Some("application/json"),
                        )
                    } else {
                        let (body, ty) = multipart(&[("text", "done")], ("act.txt", b"act"));
                        http_bytes(&addr, "POST", &format!("{path}/reports"), &headers, &body, Some(&ty))
                    };
                    match status {
                        200 => won.push(version),
                        409 => lost += 1,
                        other => panic!("{other}: {}", String::from_utf8_lossy(&text)),
                    }
                }
                (won, lost)
            })
        })
        .collect();
    let (mut won, mut lost) = (Vec::new(), 0);
    for w in workers {
        let (v, l) = w.join().unwrap();
        won.extend(v);
        lost += l;
    }
    let after: serde_json::Value = serde_json::from_str(&http(&addr_b, "GET", &path, &[("Cookie", &cookie)], "").2).unwrap();
    let end = after["version"].as_i64().unwrap();
    won.sort();
    let distinct = won.len();
    won.dedup();
    assert_eq!(won.len(), distinct, "a version was changed twice: a lost update");
    assert_eq!(end - start, distinct as i64, "every accepted change, and only those, moved the version");
    assert_eq!(won, (start..end).collect::<Vec<_>>(), "each version taken by one change");
    let moves = after["events"].as_array().unwrap().iter().filter(|e| e["action"] == "submit_report" || e["action"] == "return").count();
    assert_eq!(moves, distinct, "the history holds exactly the accepted changes");
    eprintln!("{distinct} changes accepted, {lost} refused as stale (409), across two instances");
    assert!(lost > 0 && distinct > 0, "the clients raced");

    let leases: i64 = env.runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&env.url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM job_leases WHERE name = 'hourly'").fetch_one(&pool).await.unwrap()
    });
    assert_eq!(leases, 1, "one instance holds the hourly job");
    for c in [&mut a, &mut b] {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    assert!(env.ok(&["audit", "verify"]).contains("intact"));
}

/// Starts `qalqan serve` with `workers` job workers, taking over silent workers' jobs after 2 s.
fn serve_jobs(env: &Env, workers: usize) -> (std::process::Child, String) {
    let workers = workers.to_string();
    serve_with(env, &[("QALQAN_JOB_WORKERS", &workers), ("QALQAN_JOB_STALE_SECONDS", "2")], std::process::Stdio::null())
}

/// Waits for a job to finish, through `addr`; returns the last state and every progress seen.
fn wait_for_job(addr: &str, cookie: &str, id: i64, seconds: u64) -> (serde_json::Value, Vec<f64>) {
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    loop {
        let (status, _, body) = http(addr, "GET", &format!("/api/v1/jobs/{id}"), &[("Cookie", cookie)], "");
        assert_eq!(status, 200, "{body}");
        let job: serde_json::Value = serde_json::from_str(&body).unwrap();
        seen.push(job["progress"].as_f64().unwrap());
        if job["status"] == "done" || job["status"] == "failed" {
            return (job, seen);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(seconds), "job {id} still {job}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Long analyses as jobs: a backtest asked for on an instance without workers waits in the
/// database, survives that instance's `kill -9`, and is run by another instance; progress is
/// reported while it runs; its result is exactly what the endpoint answers directly. A job whose
/// instance is killed while it runs is taken over by the next one. Only its user sees it.
#[test]
fn long_analyses_run_as_jobs_any_instance_picks_up_and_restarts_survive() {
    let Some(env) = Env::new(Backend::Postgres) else { return };
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let mut rows = String::from("type,date,lat,lon\n");
    for k in 0..4000 {
        let (d, h) = (k % 360, (k * 7) % 24);
        let date = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(d as i64);
        rows.push_str(&format!(
            "Theft,{date} {h:02}:00,{:.5},{:.5}\n",
            51.10 + (k * 37 % 100) as f64 * 0.0008,
            71.38 + (k * 53 % 100) as f64 * 0.0011
        ));
    }
    let file = env.write("i.csv", rows.as_bytes());
    env.ok(&["import", "incidents", &file, "--territory", "Astana", "--mapping", &mapping]);
    let pw = env.ok(&["user", "add", "analyst", "--role", "analyst", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let pw2 = env.ok(&["user", "add", "other", "--role", "analyst", "--territory", "Astana"]).lines().last().unwrap().to_owned();

    // Instance A only queues (no workers).
    let (mut a, addr_a) = serve_jobs(&env, 0);
    let cookie = login_cookie(&addr_a, "analyst", &pw);
    let other = login_cookie(&addr_a, "other", &pw2);
    let (_, _, me) = http(&addr_a, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let enqueue = |addr: &str, body: &str| -> (u16, serde_json::Value) {
        let (status, _, text) =
            http(addr, "POST", "/api/v1/territories/Astana/jobs", &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)], body);
        (status, serde_json::from_str(&text).unwrap_or_default())
    };
    let (status, bad) = enqueue(&addr_a, r#"{"kind":"mine_bitcoin"}"#);
    assert!(status == 400 && bad["error"].as_str().unwrap().contains("backtest"), "{bad}");
    let params = r#"{"from":"2020-09-01","to":"2020-11-30","step":"week","cell":250}"#;
    let (status, job) = enqueue(&addr_a, &format!(r#"{{"kind":"backtest","params":{params}}}"#));
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_i64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (_, _, body) = http(&addr_a, "GET", &format!("/api/v1/jobs/{id}"), &[("Cookie", &cookie)], "");
    assert!(body.contains("\"status\":\"queued\""), "nobody works on A: {body}");
    assert_eq!(http(&addr_a, "GET", &format!("/api/v1/jobs/{id}"), &[("Cookie", &other)], "").0, 404, "only its user sees a job");
    assert_eq!(http(&addr_a, "GET", &format!("/api/v1/jobs/{id}/result"), &[("Cookie", &cookie)], "").0, 409, "no result yet");
    a.kill().unwrap(); // SIGKILL: the queue is in the database.
    a.wait().unwrap();

    // Instance B, with a worker, picks it up.
    let (mut b, addr_b) = serve_jobs(&env, 1);
    let (job, seen) = wait_for_job(&addr_b, &cookie, id, 300);
    assert_eq!(job["status"], "done", "{job}");
    assert!(seen.windows(2).all(|w| w[1] >= w[0] || w[1] == 1.0), "progress only grows: {seen:?}");
    let (status, head, result) = http(&addr_b, "GET", &format!("/api/v1/jobs/{id}/result"), &[("Cookie", &cookie)], "");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: application/json"), "{head}");
    let query = "from=2020-09-01&to=2020-11-30&step=week&cell=250";
    let (_, _, direct) = http(&addr_b, "GET", &format!("/api/v1/territories/Astana/forecast/backtest?{query}"), &[("Cookie", &cookie)], "");
    let (r, d): (serde_json::Value, serde_json::Value) = (serde_json::from_str(&result).unwrap(), serde_json::from_str(&direct).unwrap());
    assert_eq!(r, d, "the job's result is what the endpoint answers");

    // A job whose instance dies while running it is taken over by the next one.
    let (status, job) = enqueue(&addr_b, r#"{"kind":"backtest","params":{"from":"2020-01-20","to":"2020-12-20","step":"day","cell":100}}"#);
    assert_eq!(status, 202, "{job}");
    let id2 = job["id"].as_i64().unwrap();
    let started = std::time::Instant::now();
    let mut was_running = false;
    while started.elapsed() < std::time::Duration::from_secs(60) {
        let (_, _, body) = http(&addr_b, "GET", &format!("/api/v1/jobs/{id2}"), &[("Cookie", &cookie)], "");
        if body.contains("\"status\":\"running\"") {
            was_running = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(was_running, "B started the second job");
    b.kill().unwrap();
    b.wait().unwrap();
    let (mut c, addr_c) = serve_jobs(&env, 1);
    let (job, seen) = wait_for_job(&addr_c, &cookie, id2, 600);
    eprintln!(
        "second job: {} attempt(s); progress seen {:?}",
        job["attempts"],
        seen.iter().step_by((seen.len() / 10).max(1)).collect::<Vec<_>>()
    );
    assert_eq!(job["status"], "done", "{job}");
    assert!(seen.iter().any(|&p| p > 0.0 && p < 1.0), "progress was reported while it ran: {seen:?}");
    let (_, _, list) = http(&addr_c, "GET", "/api/v1/jobs", &[("Cookie", &cookie)], "");
    assert!(list.contains(&format!("\"id\":{id2}")) && list.contains(&format!("\"id\":{id}")), "{list}");
    c.kill().unwrap();
    c.wait().unwrap();
    assert!(env.ok(&["audit", "list"]).contains("job.enqueue"));
}
