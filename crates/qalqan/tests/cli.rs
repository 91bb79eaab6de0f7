//! Black-box tests of the `qalqan` binary: each spawns the real program
//! against a fresh SQLite file or a private PostgreSQL schema.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use qalqan_store::Store;

fn toronto_file_imports_every_row_once(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    env.ok(&["territory", "add", "Toronto", "--time-zone", "America/Toronto"]);
    let out = import_toronto(&env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(summary(&stdout, "imported"), 240_992, "{stdout}");
    assert_eq!(summary(&stdout, "identical in file"), 1_603, "{stdout}");
    assert_eq!(summary(&stdout, "districts created"), 140, "{stdout}");

    let s = stats_json(&env, &[]);
    assert_eq!(s["total"], 240_992);
    // The file's own counts (python: collections.Counter of the MCI column).
    assert_eq!(count_of(&s, "by_category", "category", "assault"), 125_433);
    assert_eq!(count_of(&s, "by_category", "category", "burglary"), 54_650);
    assert_eq!(count_of(&s, "by_category", "category", "vehicle_theft"), 32_268);
    assert_eq!(count_of(&s, "by_category", "category", "robbery"), 19_980);
    assert_eq!(count_of(&s, "by_category", "category", "theft"), 8_661);
    assert_eq!(s["by_district"].as_array().unwrap().len(), 140);

    let y2019 = stats_json(&env, &["--from", "2019-01-01", "--to", "2019-12-31"]);
    let months: u64 = y2019["by_month"].as_array().unwrap().iter().map(|m| m["count"].as_u64().unwrap()).sum();
    assert_eq!(y2019["by_month"].as_array().unwrap().len(), 12);
    assert_eq!(months, y2019["total"].as_u64().unwrap());
    assert!(y2019["total"].as_u64().unwrap() > 30_000, "{}", y2019["total"]);

    let before = env.counts();
    let again = env.ok(&[
        "import",
        "incidents",
        toronto_data().to_str().unwrap(),
        "--territory",
        "Toronto",
        "--mapping",
        toronto_mapping().to_str().unwrap(),
    ]);
    assert!(again.contains("already imported"), "{again}");
    assert_eq!(env.counts(), before, "re-import is idempotent");
    assert_eq!(before.incidents, 240_992);
    assert_eq!(before.import_batches, 1);
    assert_eq!(env.orphans(), 0);
}

#[test]
fn toronto_file_imports_every_row_once_on_sqlite() {
    toronto_file_imports_every_row_once(Backend::Sqlite);
}

#[test]
fn toronto_file_imports_every_row_once_on_postgres() {
    toronto_file_imports_every_row_once(Backend::Postgres);
}

const HEADER: &str = "type,date,lat,lon\n";

fn malformed_files_are_rejected_and_change_nothing(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    env.ok(&["territory", "add", "Astana", "--time-zone", "Asia/Almaty"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let good = env.write("good.csv", format!("{HEADER}Theft,2024-03-01 10:00,51.1,71.4\n").as_bytes());
    env.ok(&["import", "incidents", &good, "--territory", "Astana", "--mapping", &mapping]);
    let before = env.counts();
    assert_eq!(before.incidents, 1);

    let valid = "Theft,2024-03-01 11:00,51.1,71.4\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "coords.csv",
            format!("{HEADER}{valid}Theft,2024-03-01 10:00,91.5,71.4\n").into_bytes(),
            "coords.csv: line 3: field 'lat': latitude 91.5 is outside [-90, 90]",
        ),
        (
            "date.csv",
            format!("{HEADER}{valid}Theft,2024-02-30 10:00,51.1,71.4\n").into_bytes(),
            "date.csv: line 3: field 'date': '2024-02-30 10:00' does not match",
        ),
        (
            "future.csv",
            format!("{HEADER}{valid}Theft,2099-01-01 10:00,51.1,71.4\n").into_bytes(),
            "future.csv: line 3: field 'date': '2099-01-01 10:00' is in the future",
        ),
        ("truncated.csv", format!("{HEADER}{valid}Theft,2024-03-01 1").into_bytes(), "truncated.csv: line 3: field 'lat': missing"),
        ("semicolon.csv", b"type;date;lat;lon\nTheft;2024-03-01 10:00;51.1;71.4\n".to_vec(), "semicolon.csv: line 1: column 'type'"),
        ("empty.csv", Vec::new(), "empty.csv: line 1: the file is empty"),
        ("zero.csv.gz", Vec::new(), "zero.csv.gz: not a valid gzip file: the file is 0 bytes long"),
        (
            "latin.csv",
            [format!("{HEADER}{valid}").as_bytes(), b"Theft,2024-03-01 10:00,51.1,71.4\xE9\n"].concat(),
            "latin.csv: line 3: field 'lon': not valid UTF-8",
        ),
        (
            "category.csv",
            format!("{HEADER}{valid}Arson,2024-03-01 10:00,51.1,71.4\n").into_bytes(),
            "category.csv: line 3: field 'type': unknown offence category 'Arson'",
        ),
        (
            "truncated.csv.gz",
            {
                let gz = gzip(format!("{HEADER}{}", valid.repeat(20_000)).as_bytes());
                gz[..gz.len() / 2].to_vec()
            },
            "truncated.csv.gz: line",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = env.write(name, &bytes);
        let out = env.run(&["import", "incidents", &path, "--territory", "Astana", "--mapping", &mapping]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(stderr.contains(expected), "{name}: expected «{expected}» in:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(env.counts(), before, "{name} changed the database");
    }
}

#[test]
fn malformed_files_are_rejected_and_change_nothing_on_sqlite() {
    malformed_files_are_rejected_and_change_nothing(Backend::Sqlite);
}

#[test]
fn malformed_files_are_rejected_and_change_nothing_on_postgres() {
    malformed_files_are_rejected_and_change_nothing(Backend::Postgres);
}

#[test]
fn skip_invalid_imports_the_valid_rows_and_writes_the_rejects_beside_the_input() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let body = format!("{HEADER}Theft,2024-03-01 10:00,51.1,71.4\nTheft,2024-03-01 10:00,151.1,71.4\nTheft,2024-03-01 10:00,51.1,71.4\n");
    let file = env.write("week.csv", body.as_bytes());
    let out = env.ok(&["import", "incidents", &file, "--territory", "Astana", "--mapping", &mapping, "--skip-invalid"]);
    assert_eq!(summary(&out, "imported"), 2, "{out}");
    assert_eq!(summary(&out, "rejected"), 1, "{out}");
    assert_eq!(summary(&out, "identical in file"), 1, "{out}");
    let rejects = std::fs::read_to_string(env.path("week.csv.rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "file,line,field,reason,record");
    assert!(
        lines[1].ends_with("week.csv,3,lat,\"latitude 151.1 is outside [-90, 90]\",\"Theft,2024-03-01 10:00,151.1,71.4\""),
        "{rejects}"
    );
    assert_eq!(lines.len(), 2);
    assert_eq!(env.counts().incidents, 2);
}

#[test]
fn territory_boundary_is_picked_by_feature_property_and_enforced() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let kz = repo("../shared/data/kz-adm1.geojson");
    let kz = if kz.exists() { kz } else { repo("data/demo/astana.geojson") };
    let wrong = env.run(&["territory", "add", "Astana", "--boundary", kz.to_str().unwrap(), "--feature-property", "ADM1_EN=Astana City"]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(stderr.contains("no feature has ADM1_EN = 'Astana City'") && stderr.contains("'Astana'"), "{stderr}");

    env.ok(&["territory", "add", "Astana", "--boundary", kz.to_str().unwrap(), "--feature-property", "ADM1_EN=Astana"]);
    let list = env.ok(&["territory", "list"]);
    assert!(list.lines().any(|l| l.starts_with("Astana") && l.contains("Asia/Almaty") && l.contains("yes")), "{list}");
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    // The Baiterek tower is in Astana; Almaty is not.
    let file =
        env.write("in.csv", format!("{HEADER}Theft,2024-03-01 10:00,51.1283,71.4305\nTheft,2024-03-01 10:00,43.2389,76.8897\n").as_bytes());
    let out = env.run(&["import", "incidents", &file, "--territory", "Astana", "--mapping", &mapping]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in.csv: line 3: field 'lat/lon': point (43.238900, 76.889700) lies outside the boundary of territory Astana"),
        "{stderr}"
    );
}

#[test]
fn districts_from_geojson_assign_incidents_by_point_in_polygon() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let districts = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"name":"Yesil"},"geometry":{"type":"Polygon","coordinates":[[[71.0,51.0],[71.5,51.0],[71.5,51.5],[71.0,51.5],[71.0,51.0]]]}},
      {"type":"Feature","properties":{"name":"Yesil-1","parent":"Yesil"},"geometry":{"type":"Polygon","coordinates":[[[71.0,51.0],[71.1,51.0],[71.1,51.1],[71.0,51.1],[71.0,51.0]]]}},
      {"type":"Feature","properties":{"name":"Saryarka"},"geometry":{"type":"Polygon","coordinates":[[[71.5,51.0],[72.0,51.0],[72.0,51.5],[71.5,51.5],[71.5,51.0]]]}}
    ]}"#;
    let file = env.write("districts.geojson", districts.as_bytes());
    let out = env.ok(&["territory", "districts", "Astana", "--file", &file, "--parent-property", "parent"]);
    assert!(out.contains("3 districts registered"), "{out}");
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let rows = "Theft,2024-03-01 10:00,51.05,71.05\nTheft,2024-03-01 10:00,51.3,71.3\nTheft,2024-03-01 11:00,51.3,71.7\nTheft,2024-03-01 12:00,51.3,71.7\nTheft,2024-03-01 10:00,51.9,71.9\n";
    let data = env.write("in.csv", format!("{HEADER}{rows}").as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let s: serde_json::Value = serde_json::from_str(&env.ok(&["incidents", "stats", "--territory", "Astana", "--format", "json"])).unwrap();
    assert_eq!(count_of(&s, "by_district", "district", "Saryarka"), 2);
    assert_eq!(count_of(&s, "by_district", "district", "Yesil"), 1);
    assert_eq!(count_of(&s, "by_district", "district", "Yesil-1"), 1, "the innermost district wins");
    let none = s["by_district"].as_array().unwrap().iter().find(|d| d["district"].is_null()).unwrap();
    assert_eq!(none["count"], 1);
}

/// Starts the Toronto import and kills it (SIGKILL) once rows are in its open transaction.
fn kill_import_midway(env: &Env) {
    let mut child = env
        .cmd()
        .args([
            "import",
            "incidents",
            toronto_data().to_str().unwrap(),
            "--territory",
            "Toronto",
            "--mapping",
            toronto_mapping().to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let line = lines.next().expect("import ended before storing any rows").unwrap();
        if line.contains("rows stored so far") {
            break; // rows are in the open transaction now
        }
        assert!(Instant::now() < deadline);
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
}

fn killing_the_import_midway_leaves_no_partial_batch(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    env.ok(&["territory", "add", "Toronto", "--time-zone", "America/Toronto"]);
    let before = env.counts();
    kill_import_midway(&env);
    assert_eq!(env.counts(), before, "a killed import left rows behind");
    let out = import_toronto(&env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.counts().incidents, 240_992, "the import succeeds after the crash");
    assert_eq!(env.orphans(), 0);
}

#[test]
fn killing_the_import_midway_leaves_no_partial_batch_on_sqlite() {
    killing_the_import_midway_leaves_no_partial_batch(Backend::Sqlite);
}

#[test]
fn killing_the_import_midway_leaves_no_partial_batch_on_postgres() {
    killing_the_import_midway_leaves_no_partial_batch(Backend::Postgres);
}

#[test]
fn sqlite_file_passes_integrity_check_after_a_killed_import() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Toronto", "--time-zone", "America/Toronto"]);
    kill_import_midway(&env);
    let ok: String = env.runtime.block_on(async {
        let store = Store::connect(&env.url).await.unwrap();
        let Store::Sqlite(pool) = &store else { unreachable!() };
        let r: (String,) = sqlx_query_integrity(pool).await;
        r.0
    });
    assert_eq!(ok, "ok");
}

async fn sqlx_query_integrity(pool: &sqlx::SqlitePool) -> (String,) {
    sqlx::query_as("PRAGMA integrity_check").fetch_one(pool).await.unwrap()
}

#[test]
fn demo_loads_toronto_astana_and_helsinki_and_serves_the_page() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let mut child = env
        .cmd()
        .env_remove("QALQAN_DATABASE")
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut password = String::new();
    let addr = loop {
        let line = lines.next().expect("demo exited before serving").unwrap();
        if let Some(rest) = line.strip_prefix("Log in as: demo / ") {
            password = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(rest) = line.strip_prefix("Qalqan is serving on http://") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    assert_eq!(password.chars().count(), 20, "the demo prints its account");
    // The web UI is compiled into the binary; the page itself holds no data.
    let (status, page) = http_get(&addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("<title>Qalqan</title>") && page.contains("<div id=\"app\">"), "{page}");
    assert!(!page.contains("Toronto"), "nothing from the database before login");
    let script = page.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("a script tag").to_owned();
    assert!(script.starts_with("/assets/"), "{script}");
    let (status, head, js) = http(&addr, "GET", &script, &[], "");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: text/javascript"), "{head}");
    assert!(head.to_lowercase().contains("immutable"), "hashed assets are cached: {head}");
    assert!(js.len() > 1000);
    assert_eq!(http_get(&addr, "/assets/..%2Fbuild.rs").0, 404);
    let (status, _) = http_get(&addr, "/api/v1/territories");
    assert_eq!(status, 401, "the API needs a login");
    let (status, head, body) = http(&addr, "POST", "/api/v1/auth/login", &[], &format!(r#"{{"login":"demo","password":"{password}"}}"#));
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
    let get = |path: &str| http(&addr, "GET", path, &[("Cookie", &cookie)], "");
    let (status, _, body) = get("/api/v1/territories");
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[0]["name"], "Astana");
    assert_eq!(list[0]["has_boundary"], true);
    assert_eq!(list[1]["name"], "Helsinki");
    // Helsinki: its streets, generated incidents, posts and cameras for the planning tools.
    let (status, _, body) = get("/api/v1/territories/Helsinki/stats");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["total"], 4000);
    let (_, _, body) = get("/api/v1/territories/Helsinki/streets");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["segments"], 4786);
    let (_, _, body) = get("/api/v1/territories/Helsinki/posts");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["features"].as_array().unwrap().len(), 5);
    let (status, _, body) = get("/api/v1/territories/Toronto/stats?from=2020-01-01&to=2020-12-31&category=robbery");
    assert_eq!(status, 200, "{body}");
    let s: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(s["total"].as_u64().unwrap() > 1000);
    let (status, _, body) = get("/api/v1/territories/Toronto/stats?category=arson");
    assert_eq!(status, 400);
    assert!(body.contains("unknown offence category"), "{body}");
    let (status, _, _) = get("/api/v1/territories/Atlantis/stats");
    assert_eq!(status, 404);
    // The map layer: a one-year Gi* grid for Toronto, as GeoJSON and as CSV.
    let (status, _, body) = get("/api/v1/territories/Toronto/hotspots?method=gi&cell=500&from=2019-01-01&to=2019-12-31");
    assert_eq!(status, 200, "{body}");
    let map: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(map["qalqan"]["incidents"], 34_064);
    let features = map["features"].as_array().unwrap();
    assert_eq!(features.iter().map(|f| f["properties"]["count"].as_u64().unwrap()).sum::<u64>(), 34_064);
    assert!(features.iter().any(|f| f["properties"]["gi_class"] == 3));
    let (status, head, _) = http(
        &addr,
        "GET",
        "/api/v1/territories/Toronto/hotspots?method=gi&cell=500&from=2019-01-01&to=2019-12-31",
        &[("Cookie", &cookie), ("Accept-Encoding", "gzip")],
        "",
    );
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-encoding: gzip"), "large responses are compressed for clients that accept it: {head}");
    let (status, head, csv) = get("/api/v1/territories/Toronto/hotspots?method=kde&cell=500&format=csv");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: text/csv"), "{head}");
    assert!(csv.starts_with("cell,count,density_km2,kde_km2,lon,lat"), "{}", &csv[..80.min(csv.len())]);
    assert_eq!(get("/api/v1/territories/Toronto/hotspots?method=magic").0, 400);
    assert_eq!(get("/api/v1/territories/Toronto/hotspots?cell=1").0, 400, "a grid over a million cells is refused");

    // Astana's coordination scenario: the bodies of the seed news, assignments in every state
    // (something overdue, something awaiting the controller), the facilities, a yellow level lifted.
    let value = |path: &str| {
        let (status, _, body) = get(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let bodies = value("/api/v1/bodies");
    let names: Vec<&str> = bodies["bodies"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert!(names.iter().any(|n| n.starts_with("Координационный совет по обеспечению законности")), "{names:?}");
    assert!(names.contains(&"Антитеррористическая комиссия г. Астаны"), "{names:?}");
    let list = value("/api/v1/assignments");
    let list = list["assignments"].as_array().unwrap();
    let mut states: Vec<&str> = list.iter().map(|a| a["status"].as_str().unwrap()).collect();
    states.sort();
    states.dedup();
    assert_eq!(states, ["accepted", "draft", "on_execution", "report_submitted", "returned"]);
    assert!(list.iter().filter(|a| a["overdue"] == true).count() >= 2, "{list:?}");
    assert!(list.iter().any(|a| a["days_left"].as_i64().is_some_and(|d| (0..=7).contains(&d))), "something is due within a week");
    let facilities = value("/api/v1/territories/Astana/facilities");
    let facilities = facilities["features"].as_array().unwrap();
    assert_eq!(facilities.len(), 15);
    let categories: Vec<&str> = facilities.iter().map(|f| f["properties"]["category"].as_str().unwrap()).collect();
    assert!(categories.contains(&"railway_station") && categories.contains(&"airport"), "{categories:?}");
    let levels = value("/api/v1/territories/Astana/threat-levels");
    let declared = &levels["declarations"][0];
    assert_eq!((declared["level"].as_str(), declared["lifted_by"].is_string()), (Some("yellow"), true), "{levels}");
    assert!(levels["in_force"].is_null(), "{levels}");
    child.kill().unwrap();
    child.wait().unwrap();

    // A second start reuses the data: nothing imported twice.
    assert!(env.path("data/qalqan.db").exists());
    let mut again = env
        .cmd()
        .env_remove("QALQAN_DATABASE")
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = Vec::new();
    for line in BufReader::new(again.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Qalqan is serving");
        out.push(line);
        if done {
            break;
        }
    }
    again.kill().unwrap();
    again.wait().unwrap();
    assert!(out.iter().any(|l| l.contains("already imported")), "{out:?}");
    let bodies: serde_json::Value = serde_json::from_str(&env.ok(&[
        "--database",
        &format!("sqlite://{}", env.path("data/qalqan.db").display()),
        "body",
        "list",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(bodies.as_array().unwrap().len(), 3, "the scenario is loaded once");
}

#[test]
fn hotspot_analysis_writes_geojson_and_csv_with_the_spike_as_a_hot_spot() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    // A 3 km square of background incidents with one block of 80 at the same corner.
    let mut body = String::from(HEADER);
    for i in 0..900 {
        let (lat, lon) = (51.10 + (i % 30) as f64 * 0.0009, 71.40 + (i / 30) as f64 * 0.0014);
        body.push_str(&format!("Theft,2024-03-01 10:00,{lat:.6},{lon:.6}\n"));
    }
    for _ in 0..80 {
        body.push_str("Theft,2024-03-02 10:00,51.1135,71.4205\n");
    }
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);

    let out = env.path("gi.geojson");
    let report =
        env.ok(&["analyze", "hotspots", "--territory", "Astana", "--method", "gi", "--cell", "200", "--out", out.to_str().unwrap()]);
    assert!(report.contains("980 incidents"), "{report}");
    let map: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(map["qalqan"]["method"], "gi");
    assert_eq!(map["qalqan"]["projection"], "EPSG:32642");
    let features = map["features"].as_array().unwrap();
    let total: u64 = features.iter().map(|f| f["properties"]["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 980);
    let spike = features.iter().max_by_key(|f| f["properties"]["count"].as_u64().unwrap()).unwrap();
    assert_eq!(spike["properties"]["gi_class"], 3, "{spike}");
    assert_eq!(spike["geometry"]["type"], "Polygon");
    let ring = spike["geometry"]["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.len(), 5);
    assert!((ring[0][0].as_f64().unwrap() - 71.42).abs() < 0.01 && (ring[0][1].as_f64().unwrap() - 51.11).abs() < 0.01);

    let csv_out = env.path("lisa.csv");
    env.ok(&["analyze", "hotspots", "--territory", "Astana", "--method", "lisa", "--shape", "hex", "--out", csv_out.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&csv_out).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(header, "cell,count,density_km2,lisa_i,lisa_quadrant,lisa_p_sim,lisa_q,lisa_cluster,lisa_cluster_fdr,lon,lat");
    assert!(csv.lines().skip(1).any(|l| l.contains(",HH,")), "the spike's block is a high-high cluster");
}

#[test]
fn near_repeat_reproduces_the_calculator_file_and_runs_on_stored_incidents() {
    let env = Env::new(Backend::Sqlite).unwrap();
    // A Near Repeat Calculator input: the observed table equals the Calculator's own (its verbose output).
    let input = repo("../shared/data/near-repeat/chicago_be_month1.csv");
    let args = ["analyze", "near-repeat", "--input", input.to_str().unwrap(), "--precision", "single", "--permutations", "19"];
    let v: serde_json::Value = serde_json::from_str(&env.ok(&[&args[..], &["--format", "json"]].concat())).unwrap();
    let observed: Vec<Vec<u64>> = v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|c| c["observed"].as_u64().unwrap()).collect())
        .collect();
    assert_eq!(
        observed,
        vec![vec![28, 5, 5, 2], vec![44, 13, 8, 4], vec![97, 56, 19, 16], vec![77, 67, 45, 20], vec![182194, 146149, 95237, 45879]]
    );
    assert_eq!(v["events"], 970);
    let table = env.ok(&args);
    assert!(table.contains("near-repeat pattern was found"), "{table}");
    // A broken line is named with its field; nothing else is printed.
    let bad = env.write("bad.csv", b"350353.39,578924.25,2015-12-31\n350353.39,north,2016-01-01\n");
    let out = env.run(&["analyze", "near-repeat", "--input", &bad]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("field y") && err.contains("north"), "{err}");

    // Stored incidents: three burglaries within 60 m over three days among spread-out thefts.
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let mut body = HEADER.to_owned();
    for i in 0..60 {
        let (lat, lon) = (51.05 + (i % 10) as f64 * 0.01, 71.30 + (i / 10) as f64 * 0.02);
        body.push_str(&format!("Theft,2024-0{}-{:02} 10:00,{lat:.5},{lon:.5}\n", 3 + i % 5, 1 + (i * 7) % 28));
    }
    for (day, lat) in [(10, 51.2000), (11, 51.2002), (12, 51.2004)] {
        body.push_str(&format!("Theft,2024-09-{day} 23:30,{lat},71.5\n"));
    }
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let cli: serde_json::Value = serde_json::from_str(&env.ok(&[
        "analyze",
        "near-repeat",
        "--territory",
        "Astana",
        "--permutations",
        "99",
        "--seed",
        "5",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(cli["events"], 63);
    assert_eq!(cli["cells"][1][0]["observed"], 3, "the three burglaries: pairs within [0, 100) m and [0, 7) days");
    assert_eq!(cli["cells"][1][0]["notable"], true);

    // The API gives the same table for the same seed, and names a bad parameter.
    let admin_pw = env.ok(&["user", "add", "chief", "--role", "administrator"]).lines().last().unwrap().to_owned();
    let (mut server, addr) = serve(&env);
    let cookie = login_cookie(&addr, "chief", &admin_pw);
    let (status, _, text) = http(&addr, "GET", "/api/v1/territories/Astana/near-repeat?permutations=99&seed=5", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "{text}");
    let api: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(api["cells"], cli["cells"]);
    assert_eq!(api["summary"], cli["summary"]);
    let (status, _, text) = http(&addr, "GET", "/api/v1/territories/Astana/near-repeat?spatial_bands=99", &[("Cookie", &cookie)], "");
    assert_eq!(status, 400);
    assert!(text.contains("spatial_bands"), "{text}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn forecast_backtest_scores_every_model_without_looking_ahead() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    // 40 days in March–April 2024: three incidents a day at one corner, two anywhere else.
    let mut body = HEADER.to_owned();
    for d in 0..40 {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap() + chrono::TimeDelta::days(d);
        for h in [9, 13, 18] {
            body.push_str(&format!("Theft,{date} {h}:00,51.1500,71.4500\n"));
        }
        for k in 0..2 {
            let i = d * 2 + k;
            let (lat, lon) = (51.05 + (i * 37 % 100) as f64 * 0.002, 71.30 + (i * 53 % 100) as f64 * 0.003);
            body.push_str(&format!("Theft,{date} 11:00,{lat:.5},{lon:.5}\n"));
        }
    }
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let csv = env.path("backtest.csv");
    let out = env.ok(&[
        "forecast",
        "backtest",
        "--territory",
        "Astana",
        "--from",
        "2024-03-31",
        "--to",
        "2024-04-06",
        "--step",
        "day",
        "--cell",
        "200",
        "--out",
        csv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.iter().map(|m| m["model"].as_str().unwrap()).collect::<Vec<_>>(), ["naive", "rolling-kde", "prospective", "sepp"]);
    for m in models {
        assert_eq!(m["origins"], 7);
        // Astana has no boundary here: the area is the cells with an incident before the first
        // origin, so the corner's 21 incidents are scored and the 14 at new places are not.
        assert_eq!(m["test_events"], 21);
        let hit = m["coverages"][2]["pooled_hit_rate"].as_f64().unwrap();
        assert!(hit > 0.99, "{}: hit rate at 10 % {hit}", m["model"]);
    }
    assert_eq!(v["test_events_outside_area"], 14);
    let lines = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(lines.lines().count(), 1 + 7 * 4 * 3, "one line per origin, model and coverage");
    assert!(lines.starts_with("origin,model,test_events,coverage,"));
    let table =
        env.ok(&["forecast", "backtest", "--territory", "Astana", "--from", "2024-03-31", "--to", "2024-04-06", "--models", "naive"]);
    assert!(table.contains("hit rate 1/5/10 %") && table.contains("naive"), "{table}");
    assert!(table.contains("14 incidents of the test windows fell outside the scored area"), "{table}");
    let bad =
        env.run(&["forecast", "backtest", "--territory", "Astana", "--from", "2024-03-31", "--to", "2024-04-06", "--models", "oracle"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown model 'oracle'"));
}

#[test]
fn cameras_are_imported_all_or_nothing_and_their_coverage_is_reported() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    // A bad register: named line and field, nothing written.
    let bad =
        env.write("bad.csv", b"id,lat,lon,bearing,fov,range,owner\nK1,51.1500,71.4500,90,90,60,street\nK2,51.16,71.46,0,400,60,shop\n");
    let out = env.run(&["import", "cameras", &bad, "--territory", "Astana"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("fov") && err.contains("nothing was imported"), "{err}");
    // A good one: a camera looking east over a corner with three incidents, another far away.
    let good = env.write("cams.csv", b"id,lat,lon,bearing,fov,range,owner,link\nK1,51.1500,71.4500,90,90,60,street,connected\nK2,51.2000,71.3000,0,60,30,shop,standalone\n");
    let report = env.ok(&["import", "cameras", &good, "--territory", "Astana"]);
    assert!(report.contains("2 cameras (2 added, 0 updated)"), "{report}");
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let incidents = format!(
        "{HEADER}Theft,2024-03-01 10:00,51.1500,71.4504\nTheft,2024-03-02 10:00,51.1501,71.4505\nTheft,2024-03-03 10:00,51.1499,71.4506\nTheft,2024-03-03 11:00,51.1500,71.4490\nTheft,2024-03-04 10:00,51.1000,71.4000\n"
    );
    let data = env.write("in.csv", incidents.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["plan", "camera-coverage", "--territory", "Astana", "--format", "json"])).unwrap();
    assert_eq!(v["cameras"]["working"], 2);
    assert_eq!(v["incidents"]["covered"], 3, "three east of K1 within 60 m; one behind it, one far away");
    assert_eq!(v["per_camera"][0]["id"], "K1");
    assert_eq!(v["per_camera"][0]["incidents_seen"], 3);
    let table = env.ok(&["plan", "camera-coverage", "--territory", "Astana"]);
    assert!(table.contains("3 of 5 (60.0 %)"), "{table}");
    // Placement keeps K1: one new camera can add one of the two unseen incidents, two both.
    let plan: serde_json::Value =
        serde_json::from_str(&env.ok(&["plan", "cameras", "--territory", "Astana", "--k", "1,2", "--range", "40", "--format", "json"]))
            .unwrap();
    assert_eq!(plan["existing"]["incidents_covered"], 3.0);
    assert_eq!(plan["candidates"]["source"], "incident_places");
    assert_eq!(plan["plans"][0]["new_incidents_covered"], 1.0);
    assert_eq!(plan["plans"][0]["status"], "optimal");
    assert_eq!(plan["plans"][1]["new_incidents_covered"], 2.0);
    assert_eq!(plan["plans"][1]["total_share"], 1.0);
    assert_eq!(plan["plans"][1]["sites"].as_array().unwrap().len(), 2);

    // The API: the register as view sectors, an upload that updates one, and refusals.
    let admin_pw = env.ok(&["user", "add", "chief", "--role", "administrator"]).lines().last().unwrap().to_owned();
    let (mut server, addr) = serve(&env);
    let cookie = login_cookie(&addr, "chief", &admin_pw);
    let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let (status, _, text) = http(&addr, "GET", "/api/v1/territories/Astana/cameras", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200);
    let fc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 2);
    assert_eq!(fc["features"][0]["geometry"]["type"], "Polygon");
    let post = |body: &str| {
        http_bytes(
            &addr,
            "POST",
            "/api/v1/territories/Astana/cameras",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            body.as_bytes(),
            Some("text/csv"),
        )
    };
    let (status, _, answer) = post("id,lat,lon,range\nK2,51.2000,71.3000,45\nK3,51.21,71.31,20\n");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!((answer["added"].as_u64(), answer["updated"].as_u64()), (Some(1), Some(1)));
    let (status, _, answer) = post("id,lat,lon,range\nK4,91,71.3,45\n");
    assert_eq!(status, 422);
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["rejects"][0]["line"], 2);
    assert_eq!(answer["rejects"][0]["field"], "lat/lon");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn an_osm_extract_becomes_the_street_network_and_incidents_fall_on_its_streets() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Helsinki", "--time-zone", "Europe/Helsinki"]);
    let no_streets = env.run(&["plan", "streets", "--territory", "Helsinki"]);
    assert!(String::from_utf8_lossy(&no_streets.stderr).contains("qalqan import osm"), "the error says what to do");
    let pbf = repo("../shared/data/helsinki.osm.pbf");
    let out = env.ok(&["import", "osm", pbf.to_str().unwrap(), "--territory", "Helsinki"]);
    assert!(out.contains("2355 routable ways") && out.contains("1066 places of interest"), "{out}");
    let broken = env.write("broken.osm.pbf", b"not a pbf at all");
    let bad = env.run(&["import", "osm", &broken, "--territory", "Helsinki"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("broken.osm.pbf"));
    // Three incidents by the Kamppi centre, one in the sea.
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let body = format!(
        "{HEADER}Theft,2024-03-01 10:00,60.16930,24.93800\nTheft,2024-03-02 10:00,60.16935,24.93805\nTheft,2024-03-03 10:00,60.16940,24.93810\nTheft,2024-03-03 11:00,60.15000,24.90000\n"
    );
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Helsinki", "--mapping", &mapping]);
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["plan", "streets", "--territory", "Helsinki", "--format", "json"])).unwrap();
    assert_eq!(v["segments"], 4786, "the failed import left the first network in place");
    assert!((v["km"].as_f64().unwrap() - 101.3).abs() < 0.1);
    assert_eq!(v["incidents"]["total"], 4);
    assert_eq!(v["incidents"]["on_streets"], 3, "the one in the sea is farther than 50 m from any street");
    let on_listed: u64 = v["streets"].as_array().unwrap().iter().map(|s| s["incidents"].as_u64().unwrap()).sum();
    assert_eq!(on_listed, 3, "every snapped incident is counted on one street");
}

#[test]
fn posts_are_planned_over_the_street_network_per_shift_and_saved_as_scenarios() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Helsinki", "--time-zone", "Europe/Helsinki"]);
    let pbf = repo("../shared/data/helsinki.osm.pbf");
    env.ok(&["import", "osm", pbf.to_str().unwrap(), "--territory", "Helsinki"]);
    // Five daytime incidents at Kamppi, four late-evening ones by the railway station (≈ 400 m apart).
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let mut body = String::from(HEADER);
    for d in 1..=5 {
        body += &format!("Theft,2024-03-0{d} 10:00,60.16930,24.93800\n");
    }
    for d in 1..=4 {
        body += &format!("Theft,2024-03-0{d} 22:00,60.17120,24.94450\n");
    }
    env.ok(&["import", "incidents", &env.write("in.csv", body.as_bytes()), "--territory", "Helsinki", "--mapping", &mapping]);
    // A bad register is refused whole, naming the line and field.
    let bad =
        env.write("bad.csv", b"id,kind,lat,lon,hours,vehicle\nP1,stationary,60.1693,24.938,08:00-20:00,\nM1,mobile,60.1712,24.9445,24h,\n");
    let out = env.run(&["import", "posts", &bad, "--territory", "Helsinki"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("line 3: vehicle"), "{err}");
    let good = env.write("posts.csv", b"id,kind,name,lat,lon,hours\nP1,stationary,Kamppi,60.16930,24.93800,08:00-20:00\n");
    assert!(env.ok(&["import", "posts", &good, "--territory", "Helsinki"]).contains("1 posts (1 added, 0 updated)"));

    let plan = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["plan", "posts", "--territory", "Helsinki", "--minutes", "2", "--k", "1", "--format", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&env.ok(&args)).unwrap()
    };
    // Stationary, round the clock: the Kamppi post reaches the five; one more post reaches the rest.
    let v = plan(&[]);
    assert_eq!((v["network"].as_str(), v["candidates"]["source"].as_str()), (Some("streets"), Some("intersections")));
    let shift = &v["shifts"][0];
    assert_eq!((shift["incidents"].as_f64(), shift["existing"]["incidents_within"].as_f64()), (Some(9.0), Some(5.0)));
    let p = &shift["plans"][0];
    assert_eq!((p["incidents_within"].as_f64(), p["status"].as_str()), (Some(9.0), Some("optimal")), "{p}");
    assert!((p["gain_share"].as_f64().unwrap() - 4.0 / 9.0).abs() < 1e-3);
    // The p-median puts the one new post by the station: the mean walk falls under the standard.
    let m = plan(&["--objective", "median"]);
    let mp = &m["shifts"][0]["plans"][0];
    assert_eq!(mp["status"], "optimal", "{mp}");
    assert!(mp["mean_minutes"].as_f64().unwrap() < 2.0, "{mp}");
    // Mobile points, per shift: the day's demand is at Kamppi, the evening's by the station, none at night.
    let mobile = plan(&["--kind", "mobile"]);
    let shifts = mobile["shifts"].as_array().unwrap();
    let names: Vec<&str> = shifts.iter().map(|s| s["shift"].as_str().unwrap()).collect();
    assert_eq!(names, ["day", "evening", "night"]);
    let incidents: Vec<f64> = shifts.iter().map(|s| s["incidents"].as_f64().unwrap()).collect();
    assert_eq!(incidents, [5.0, 4.0, 0.0]);
    for s in &shifts[..2] {
        let site = &s["plans"][0]["sites"][0];
        assert_eq!(site["incidents_within"], s["incidents"], "{s}");
        let dosage = &site["dosage"];
        assert_eq!(dosage["visit_minutes"], "10-15");
        assert!(dosage["rounds_per_shift"].as_f64().unwrap() >= 1.0);
        assert_eq!(dosage["spots"][0]["incidents"], s["incidents"]);
    }
    let table = env.ok(&["plan", "posts", "--territory", "Helsinki", "--kind", "mobile", "--minutes", "2", "--k", "1"]);
    assert!(table.contains("shift evening (16:00-24:00)") && table.contains("rounds a shift"), "{table}");

    // Over HTTP: the register, the plan, the street layer, a saved scenario and the camera gaps.
    let pw = env.ok(&["user", "add", "ana", "--role", "analyst", "--territory", "Helsinki"]).lines().last().unwrap().to_owned();
    let (mut server, addr) = serve(&env);
    let cookie = login_cookie(&addr, "ana", &pw);
    let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let get = |path: &str| -> serde_json::Value {
        let (status, _, body) = http(&addr, "GET", path, &[("Cookie", &cookie)], "");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    assert_eq!(get("/api/v1/territories/Helsinki/posts")["features"][0]["properties"]["hours"], "08:00-20:00");
    let api = get("/api/v1/territories/Helsinki/plans/posts?k=1&minutes=2");
    assert_eq!(api["shifts"][0]["plans"][0]["sites"], v["shifts"][0]["plans"][0]["sites"], "the API answers as the CLI");
    assert_eq!(get("/api/v1/territories/Helsinki/streets")["features"].as_array().unwrap().len(), 4786);
    let trip = get("/api/v1/territories/Helsinki/travel-time?from=60.16930,24.93800&to=60.17120,24.94450&mode=walk");
    let minutes = trip["minutes"].as_f64().unwrap();
    assert!(trip["reachable"] == true && (4.0..10.0).contains(&minutes), "≈ 400 m apart in a straight line: {trip}");
    let (status, _, _) = http(&addr, "GET", "/api/v1/territories/Helsinki/travel-time?from=north&to=1,2", &[("Cookie", &cookie)], "");
    assert_eq!(status, 400);
    let (status, _, body) = http(
        &addr,
        "POST",
        "/api/v1/territories/Helsinki/scenarios",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        r#"{"kind":"posts","name":"One more post","params":{"k":"1","minutes":2}}"#,
    );
    assert_eq!(status, 201, "{body}");
    let saved = get("/api/v1/territories/Helsinki/scenarios");
    let first = &saved["scenarios"][0];
    assert_eq!((first["name"].as_str(), first["created_by"].as_str()), (Some("One more post"), Some("ana")));
    assert_eq!(first["result"]["shifts"][0]["plans"][0]["incidents_within"], 9.0);
    let coverage = get("/api/v1/territories/Helsinki/cameras/coverage");
    assert!((coverage["streets"]["km"].as_f64().unwrap() - 101.3).abs() < 0.1, "{}", coverage["streets"]);
    assert_eq!(coverage["streets"]["gap_segments"], 2, "no cameras: both streets with incidents are gaps");
    assert_eq!(coverage["gaps"]["features"].as_array().unwrap().len(), 2);
    // One all-round camera at Kamppi: the street length it sees is its own and the territory's.
    let cams = env.write("cams.csv", b"id,lat,lon,fov,range\nK1,60.16930,24.93800,360,60\n");
    env.ok(&["import", "cameras", &cams, "--territory", "Helsinki"]);
    let coverage = get("/api/v1/territories/Helsinki/cameras/coverage");
    let seen_m = coverage["per_camera"][0]["street_m"].as_f64().unwrap();
    let km_covered = coverage["streets"]["km_covered"].as_f64().unwrap();
    assert!(seen_m > 100.0 && (seen_m / 1000.0 - km_covered).abs() < 0.006, "{seen_m} m by the camera, {km_covered} km in all");
    assert_eq!(coverage["streets"]["gap_segments"], 1, "the Kamppi street is seen now");
    // Beats: a proposal for three inspectors, kept as the beat map, then its workloads over HTTP.
    let proposal = env.write("beats.geojson", b"");
    let table = env.ok(&["plan", "beats", "--territory", "Helsinki", "--n", "3", "--cell", "100", "--output", &proposal]);
    assert!(table.contains("proposal for 3 inspectors") && table.contains("from scratch"), "{table}");
    env.ok(&["import", "beats", &proposal, "--territory", "Helsinki"]);
    let beats = get("/api/v1/territories/Helsinki/beats");
    let features = beats["features"].as_array().unwrap();
    assert_eq!(features.len(), 3);
    let total: f64 = features.iter().map(|f| f["properties"]["incidents"].as_f64().unwrap()).sum();
    assert_eq!(total + beats["incidents_outside_beats"].as_f64().unwrap(), 9.0, "every incident is in one beat or outside");
    let again = get("/api/v1/territories/Helsinki/plans/beats?n=4&cell=100&w_street_km=1");
    assert_eq!(again["started_from"], "current beats");
    assert!(again["before"].is_object() && again["after"]["all_contiguous"] == true, "{}", again["after"]);
    assert!(again["after"]["max_to_mean"].as_f64().unwrap() <= 1.1 + 1e-9, "{}", again["after"]);
    assert_eq!(again["beats"]["features"].as_array().unwrap().len(), 4);
    let bad = env.write("bad.geojson", br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Polygon","coordinates":[[[24.9,60.1],[25.0,60.1],[25.0,60.2],[24.9,60.1]]]}},{"type":"Feature","properties":{"name":"A"},"geometry":{"type":"Polygon","coordinates":[[[24.9,60.1],[25.0,60.1],[25.0,60.2],[24.9,60.1]]]}}]}"#);
    let out = env.run(&["import", "beats", &bad, "--territory", "Helsinki"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("line 2: name: 'A' names two beats"));
    assert_eq!(get("/api/v1/territories/Helsinki/beats")["features"].as_array().unwrap().len(), 3, "a refused map changes nothing");
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(env.ok(&["audit", "list"]).contains("scenario.save"));
}

#[test]
fn time_and_compstat_commands_report_the_imported_incidents() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    // Wednesday 2025-03-05 22:15 local, four times; one a year earlier (Tuesday 2024-03-05 at 09:00).
    let body = format!("{HEADER}{}Theft,2024-03-05 09:00,51.1,71.4\n", "Theft,2025-03-05 22:15,51.1,71.4\n".repeat(4));
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);

    let t: serde_json::Value = serde_json::from_str(&env.ok(&["analyze", "time", "--territory", "Astana", "--format", "json"])).unwrap();
    assert_eq!(t["hour_weekday"][2][22], 4.0, "Wednesday 22:00 local");
    assert_eq!(t["hour_weekday"][1][9], 1.0);
    assert_eq!(t["monthly"].as_array().unwrap().len(), 13);

    let c: serde_json::Value =
        serde_json::from_str(&env.ok(&["analyze", "compstat", "--territory", "Astana", "--date", "2025-03-05", "--format", "json"]))
            .unwrap();
    let total = &c["rows"][0];
    assert!(total["district"].is_null() && total["category"].is_null());
    assert_eq!(total["week_to_date"]["current"], 4);
    assert_eq!(total["week_to_date"]["previous"], 1);
    assert_eq!(total["week_to_date"]["change_percent"], 300.0);
    assert_eq!(total["week_to_date"]["significant"], false, "1 → 4 is not significant (p ≈ 0.375)");
    let table = env.ok(&["analyze", "compstat", "--territory", "Astana", "--date", "2025-03-05"]);
    assert!(table.contains("1 → 4 +300%"), "{table}");

    // All five incidents are at one place: it holds 100 % and the Gini of a single place is 0.
    let p: serde_json::Value = serde_json::from_str(&env.ok(&["analyze", "places", "--territory", "Astana", "--format", "json"])).unwrap();
    assert_eq!((p["incidents"].as_u64(), p["places"].as_u64()), (Some(5), Some(1)));
    assert_eq!(p["top_shares"][0]["share_of_incidents"], 1.0);
    assert_eq!(p["ranked"][0]["incidents"], 5);
}

#[test]
fn audit_verify_passes_after_writes_and_names_the_tampered_entry() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["--user", "kassymova", "territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let data = env.write("in.csv", format!("{HEADER}Theft,2024-03-01 10:00,51.1,71.4\n").as_bytes());
    env.ok(&["--user", "kassymova", "import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let verified = env.ok(&["audit", "verify"]);
    assert!(verified.contains("audit trail intact: 2 entries"), "{verified}");
    let list = env.ok(&["audit", "list"]);
    assert!(list.contains("kassymova@cli  territory.add") && list.contains("import.incidents  batch:1"), "{list}");

    env.runtime.block_on(async {
        let store = Store::connect(&env.url).await.unwrap();
        let Store::Sqlite(pool) = &store else { unreachable!() };
        sqlx::raw_sql("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = '{}' WHERE id = 2").execute(pool).await.unwrap();
    });
    let out = env.run(&["audit", "verify"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("entry 2 was altered"), "{stderr}");
}

#[test]
fn user_commands_create_list_reset_and_disable_accounts() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let out = env.ok(&[
        "--user",
        "admin",
        "user",
        "add",
        "B.Nurlanov",
        "--role",
        "commander",
        "--agency",
        "Astana Police",
        "--territory",
        "Astana",
    ]);
    let first = out.lines().last().unwrap().to_owned();
    assert_eq!(first.chars().count(), 20, "{out}");
    assert!(out.contains("user b.nurlanov created (commander)"), "{out}");
    let list = env.ok(&["user", "list"]);
    assert!(
        list.lines().any(|l| l.starts_with("b.nurlanov")
            && l.contains("commander")
            && l.contains("Astana Police")
            && l.contains("active")
            && l.ends_with("Astana")),
        "{list}"
    );

    let out = env.ok(&["user", "reset", "b.nurlanov"]);
    let second = out.lines().last().unwrap();
    assert_ne!(second, first);
    env.ok(&["user", "disable", "b.nurlanov"]);
    assert!(env.ok(&["user", "list"]).contains("disabled"));

    let bad = env.run(&["user", "add", "x y", "--role", "analyst"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("login 'x y' must be"), "{}", String::from_utf8_lossy(&bad.stderr));
    let bad = env.run(&["user", "add", "xy", "--role", "chief"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role 'chief'"));

    let audit = env.ok(&["audit", "list"]);
    assert!(audit.contains("admin@cli  user.add  user:b.nurlanov"), "{audit}");
    assert!(!audit.contains(&first) && !audit.contains("argon2"), "no password or hash in the audit trail");
    assert!(env.ok(&["audit", "verify"]).contains("intact: 5 entries"), "territory.add, user.add, user.scope, user.password, user.disable");
}

#[test]
fn first_start_offers_a_one_time_setup_and_scope_limits_what_users_see() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    env.ok(&["territory", "add", "Toronto", "--time-zone", "America/Toronto"]);
    let mut child = env.cmd().args(["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut token = String::new();
    let addr = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some((_, rest)) = line.split_once("\"token\":\"") {
            token = rest.split('"').next().unwrap().to_owned();
        }
        if let Some(rest) = line.strip_prefix("Qalqan is serving on http://") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    assert_eq!(token.len(), 32, "a setup token is printed when no account exists");
    let body = |t: &str| format!(r#"{{"token":"{t}","login":"root","display_name":"Chief","password":"long enough passphrase"}}"#);
    assert_eq!(http(&addr, "POST", "/api/v1/setup", &[], &body("0123456789abcdef0123456789abcdef")).0, 403);
    assert_eq!(http(&addr, "POST", "/api/v1/setup", &[], &body(&token)).0, 201);
    assert_eq!(http(&addr, "POST", "/api/v1/setup", &[], &body(&token)).0, 403, "one time only");

    let admin = login_cookie(&addr, "root", "long enough passphrase");
    let (_, _, list) = http(&addr, "GET", "/api/v1/territories", &[("Cookie", &admin)], "");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&list).unwrap().as_array().unwrap().len(), 2, "administrators see everything");

    let password = env.ok(&["user", "add", "viewer1", "--role", "viewer"]).lines().last().unwrap().to_owned();
    let viewer = login_cookie(&addr, "viewer1", &password);
    let get = |cookie: &str, path: &str| http(&addr, "GET", path, &[("Cookie", cookie)], "");
    assert_eq!(get(&viewer, "/api/v1/territories").2, "[]");
    assert_eq!(get(&viewer, "/api/v1/territories/Toronto/stats").0, 404, "out of scope looks absent");
    env.ok(&["user", "grant", "viewer1", "--territory", "Toronto"]);
    assert_eq!(get(&viewer, "/api/v1/territories/Toronto/stats").0, 200);
    assert_eq!(get(&viewer, "/api/v1/territories/Astana/stats").0, 404);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn incident_lists_are_scoped_paged_and_every_read_is_audited() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    add_yesil_and_saryarka(&env);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let mut body = String::from(HEADER);
    for i in 0..7 {
        body.push_str(&format!("Theft,2024-03-0{} 10:00,51.3,71.{}\n", i % 5 + 1, if i < 5 { 3 } else { 7 }));
    }
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let analyst_pw = env.ok(&["user", "add", "analyst2", "--role", "analyst", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let inspector_pw = env.ok(&["user", "add", "insp", "--role", "district_inspector"]).lines().last().unwrap().to_owned();
    env.ok(&["user", "grant", "insp", "--territory", "Astana", "--district", "Saryarka"]);
    let viewer_pw = env.ok(&["user", "add", "viewer2", "--role", "viewer", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let (mut server, addr) = serve(&env);

    let analyst = login_cookie(&addr, "analyst2", &analyst_pw);
    let get = |cookie: &str, path: &str| {
        let (status, _, body) = http(&addr, "GET", path, &[("Cookie", cookie)], "");
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::Null))
    };
    let (status, page) = get(&analyst, "/api/v1/territories/Astana/incidents?limit=4&purpose=weekly%20review");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["incidents"].as_array().unwrap().len(), 4);
    let next = page["next_after"].as_i64().unwrap();
    let (_, rest) = get(&analyst, &format!("/api/v1/territories/Astana/incidents?limit=4&after={next}"));
    assert_eq!(rest["incidents"].as_array().unwrap().len(), 3);
    assert!(rest["next_after"].is_null());
    let (_, east) = get(&analyst, "/api/v1/territories/Astana/incidents?bbox=71.6,51.0,72.0,51.5");
    assert_eq!(east["incidents"].as_array().unwrap().len(), 2);
    assert_eq!(east["incidents"][0]["district"], "Saryarka");
    let (_, mar2) = get(&analyst, "/api/v1/territories/Astana/incidents?from=2024-03-02&to=2024-03-02");
    assert_eq!(mar2["incidents"].as_array().unwrap().len(), 2);
    assert_eq!(get(&analyst, "/api/v1/territories/Astana/incidents?bbox=1,2,3").0, 400);

    let inspector = login_cookie(&addr, "insp", &inspector_pw);
    let (status, own) = get(&inspector, "/api/v1/territories/Astana/incidents");
    assert_eq!(status, 200);
    assert_eq!(own["incidents"].as_array().unwrap().len(), 2, "only the inspector's district");
    assert_eq!(get(&inspector, "/api/v1/territories/Astana/incidents?district=Yesil").0, 404, "other districts look absent");
    assert_eq!(get(&inspector, "/api/v1/territories/Astana/stats").0, 403);

    let viewer = login_cookie(&addr, "viewer2", &viewer_pw);
    assert_eq!(get(&viewer, "/api/v1/territories/Astana/incidents").0, 403);
    assert_eq!(get(&viewer, "/api/v1/territories/Astana/stats").0, 200);
    server.kill().unwrap();
    server.wait().unwrap();

    let audit = env.ok(&["audit", "list", "--limit", "100"]);
    let reads: Vec<&str> = audit.lines().filter(|l| l.contains("incident.list")).collect();
    assert_eq!(reads.len(), 5, "every successful list is recorded (4 by the analyst, 1 by the inspector):\n{audit}");
    assert!(
        reads[0].contains("analyst2@127.0.0.1") && reads[0].contains("purpose: weekly review") && reads[0].contains("\"returned\":4"),
        "{}",
        reads[0]
    );
    assert!(env.ok(&["audit", "verify"]).contains("intact"));
}

/// Every role × endpoint × scope combination, from one table.
#[test]
fn access_follows_role_and_scope_for_every_endpoint() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    env.ok(&["territory", "add", "Toronto", "--time-zone", "America/Toronto"]);
    add_yesil_and_saryarka(&env);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let data = env.write("in.csv", format!("{HEADER}Theft,2024-03-01 10:00,51.3,71.3\nTheft,2024-03-01 10:00,51.3,71.7\n").as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);

    // (login, role, scope)
    let users: [(&str, &str, Option<&str>); 6] = [
        ("admin1", "administrator", None),
        ("analyst1", "analyst", Some("Astana")),
        ("commander1", "commander", None),
        ("inspector1", "district_inspector", Some("Astana/Saryarka")),
        ("executor1", "agency_executor", Some("Astana")),
        ("viewer1", "viewer", Some("Astana")),
    ];
    let mut passwords = Vec::new();
    for (login, role, scope) in users {
        let pw = env.ok(&["user", "add", login, "--role", role]).lines().last().unwrap().to_owned();
        match scope.map(|s| s.split_once('/').map_or((s, None), |(t, d)| (t, Some(d)))) {
            Some((t, None)) => env.ok(&["user", "grant", login, "--territory", t]),
            Some((t, Some(d))) => env.ok(&["user", "grant", login, "--territory", t, "--district", d]),
            None => String::new(),
        };
        passwords.push(pw);
    }
    let endpoints = [
        "/api/v1/territories",
        "/api/v1/territories/Astana/stats",
        "/api/v1/territories/Astana/hotspots?cell=500",
        "/api/v1/territories/Astana/incidents",
        "/api/v1/territories/Astana/incidents?district=Yesil",
        "/api/v1/territories/Toronto/stats",
        "/api/v1/territories/Astana/time",
        "/api/v1/territories/Astana/compstat",
        "/api/v1/territories/Astana/points",
        "/api/v1/territories/Astana/boundaries",
        "/api/v1/admin/users",
        "/api/v1/admin/audit",
        "/api/v1/territories/Astana/places",
    ];
    // Expected status per user (rows) and endpoint (columns); the first column also gives the number of territories listed.
    let expected: [[(u16, usize); 13]; 6] = [
        // territories, stats, hotspots, incidents, incidents of Yesil, Toronto, time, compstat, points, boundaries, users, audit, places
        [(200, 2), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0), (200, 0)], // administrator: everything
        [(200, 1), (200, 0), (200, 0), (200, 0), (200, 0), (404, 0), (200, 0), (200, 0), (200, 0), (200, 0), (403, 0), (403, 0), (200, 0)], // analyst with Astana
        [(200, 0), (404, 0), (404, 0), (404, 0), (404, 0), (404, 0), (404, 0), (404, 0), (404, 0), (404, 0), (403, 0), (403, 0), (404, 0)], // commander without scope: nothing exists
        [(200, 1), (403, 0), (403, 0), (200, 0), (404, 0), (404, 0), (403, 0), (403, 0), (200, 0), (200, 0), (403, 0), (403, 0), (403, 0)], // inspector of Saryarka: own district only
        [(200, 1), (200, 0), (200, 0), (403, 0), (403, 0), (404, 0), (200, 0), (200, 0), (403, 0), (200, 0), (403, 0), (403, 0), (403, 0)], // agency executor: aggregates only
        [(200, 1), (200, 0), (200, 0), (403, 0), (403, 0), (404, 0), (200, 0), (200, 0), (403, 0), (200, 0), (403, 0), (403, 0), (403, 0)], // viewer: aggregates only
    ];
    let (mut server, addr) = serve(&env);
    for path in endpoints {
        assert_eq!(http(&addr, "GET", path, &[], "").0, 401, "{path} without a session");
    }
    for (u, (login, role, _)) in users.iter().enumerate() {
        let cookie = login_cookie(&addr, login, &passwords[u]);
        for (e, path) in endpoints.iter().enumerate() {
            let (status, _, body) = http(&addr, "GET", path, &[("Cookie", &cookie)], "");
            let (want, listed) = expected[u][e];
            assert_eq!(status, want, "{role} GET {path}: {body}");
            if e == 0 {
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&body).unwrap().as_array().unwrap().len(),
                    listed,
                    "{role} territories"
                );
            }
        }
    }

    // The rest of the API, writes included (sent with the CSRF token); each request is
    // harmless (invalid or aimed at something absent), so the status shows who got past
    // the role and scope checks: 400/404 = let in, 403 = refused.
    let empty_form = "--b\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nall_or_nothing\r\n--b--\r\n";
    let requests: [(&str, &str, &str, Option<&str>); 66] = [
        ("GET", "/api/v1/categories", "", None),
        ("GET", "/api/v1/mappings", "", None),
        ("GET", "/api/v1/territories/Astana/hotspots?district=Saryarka&cell=500&permutations=0", "", None),
        ("GET", "/api/v1/territories/Astana/time?district=Yesil", "", None),
        ("GET", "/api/v1/admin/agencies", "", None),
        ("GET", "/api/v1/admin/sessions", "", None),
        ("GET", "/api/v1/admin/audit/verify", "", None),
        ("POST", "/api/v1/territories/Astana/imports", empty_form, Some("multipart/form-data; boundary=b")),
        ("POST", "/api/v1/admin/agencies", r#"{"name":""}"#, Some("application/json")),
        ("POST", "/api/v1/admin/users", r#"{"login":"x1","role":"general"}"#, Some("application/json")),
        ("POST", "/api/v1/admin/users/nobody/reset", "", None),
        ("POST", "/api/v1/admin/users/nobody/disable", "", None),
        ("PUT", "/api/v1/admin/users/nobody/scopes", r#"{"scopes":[]}"#, Some("application/json")),
        ("DELETE", "/api/v1/admin/sessions/999999", "", None),
        ("GET", "/api/v1/territories/Astana/near-repeat?permutations=9", "", None),
        ("GET", "/api/v1/territories/Astana/near-repeat?district=Saryarka&permutations=9", "", None),
        ("GET", "/api/v1/territories/Astana/forecast?model=naive&horizon=day", "", None),
        ("GET", "/api/v1/territories/Astana/forecast/backtest?models=naive&step=day", "", None),
        ("GET", "/api/v1/territories/Astana/cameras", "", None),
        ("GET", "/api/v1/territories/Astana/cameras/coverage", "", None),
        ("POST", "/api/v1/territories/Astana/cameras", "id,lat,lon\n", Some("text/csv")),
        ("GET", "/api/v1/territories/Astana/posts", "", None),
        ("POST", "/api/v1/territories/Astana/posts", "id,lat,lon\n", Some("text/csv")),
        ("GET", "/api/v1/territories/Astana/plans/posts?k=1&minutes=5", "", None),
        ("GET", "/api/v1/territories/Astana/plans/cameras?k=1", "", None),
        ("GET", "/api/v1/territories/Astana/streets", "", None),
        ("GET", "/api/v1/territories/Astana/scenarios", "", None),
        ("POST", "/api/v1/territories/Astana/scenarios", r#"{"kind":"nothing","name":"x"}"#, Some("application/json")),
        ("GET", "/api/v1/territories/Astana/beats", "", None),
        ("POST", "/api/v1/territories/Astana/beats", "not geojson", Some("application/geo+json")),
        ("GET", "/api/v1/territories/Astana/plans/beats?n=2&cell=2000", "", None),
        ("GET", "/api/v1/territories/Astana/travel-time?from=51.1,71.4&to=51.2,71.5", "", None),
        ("GET", "/api/v1/bodies", "", None),
        ("POST", "/api/v1/bodies", r#"{"name":"","kind":"other"}"#, Some("application/json")),
        ("GET", "/api/v1/bodies/999999/meetings", "", None),
        ("POST", "/api/v1/bodies/999999/meetings", r#"{"held_on":"2026-01-01","number":"1"}"#, Some("application/json")),
        ("GET", "/api/v1/assignments", "", None),
        (
            "POST",
            "/api/v1/assignments",
            r#"{"body_id":999999,"text":"x","executor":"A","controller":"c","deadline":"2026-01-01"}"#,
            Some("application/json"),
        ),
        ("GET", "/api/v1/assignments/dashboard", "", None),
        ("GET", "/api/v1/assignments/999999", "", None),
        ("POST", "/api/v1/assignments/999999/actions", r#"{"action":"issue"}"#, Some("application/json")),
        ("POST", "/api/v1/assignments/999999/reports", "--b--\r\n", Some("multipart/form-data; boundary=b")),
        ("POST", "/api/v1/assignments/999999/extensions", r#"{"new_due_on":"2030-01-01","reason":"x"}"#, Some("application/json")),
        ("POST", "/api/v1/assignments/999999/extensions/decision", r#"{"grant":true}"#, Some("application/json")),
        ("GET", "/api/v1/assignments/999999/attachments/1", "", None),
        ("GET", "/api/v1/notifications", "", None),
        ("POST", "/api/v1/notifications/999999/read", "", None),
        ("GET", "/api/v1/territories/Astana/facilities", "", None),
        ("GET", "/api/v1/territories/Astana/facilities/F404/inspections", "", None),
        (
            "POST",
            "/api/v1/territories/Astana/facilities/F404/inspections",
            r#"{"held_on":"2026-01-01","inspector":"x","body_id":1,"controller":"c","findings":[]}"#,
            Some("application/json"),
        ),
        ("POST", "/api/v1/territories/Astana/facilities", "id,name\n", Some("text/csv")),
        ("GET", "/api/v1/measures", "", None),
        ("PUT", "/api/v1/measures", "x\n", Some("text/csv")),
        ("GET", "/api/v1/territories/Astana/threat-levels", "", None),
        ("POST", "/api/v1/territories/Astana/threat-levels", r#"{"level":"purple","reason":"x"}"#, Some("application/json")),
        ("POST", "/api/v1/territories/Astana/threat-levels/999999/extend", "{}", Some("application/json")),
        ("POST", "/api/v1/territories/Astana/threat-levels/999999/lift", "", None),
        ("GET", "/api/v1/territories/Astana/threat-levels/999999/checklist", "", None),
        ("POST", "/api/v1/territories/Astana/threat-levels/999999/checklist/1/done", "{}", Some("application/json")),
        ("PUT", "/api/v1/admin/users/nobody/email", r#"{"email":"x@y.kz"}"#, Some("application/json")),
        ("GET", "/api/v1/territories/Astana/interventions", "", None),
        (
            "POST",
            "/api/v1/territories/Astana/interventions",
            r#"{"name":"","kind":"post","starts_on":"2024-01-01","lat":51.1,"lon":71.4,"radius_m":100}"#,
            Some("application/json"),
        ),
        ("GET", "/api/v1/territories/Astana/interventions/999999/evaluation", "", None),
        ("GET", "/api/v1/territories/Astana/risk-terrain?cell=5", "", None),
        ("GET", "/api/v1/territories/Astana/layers", "", None),
        ("POST", "/api/v1/territories/Astana/layers/shops", "lat,lon\n", Some("text/csv")),
    ];
    let more: [[u16; 66]; 6] = [
        // categories, mappings, hotspots of Saryarka, time of Yesil, agencies, sessions, verify, import, add agency, add user, reset, disable, scopes, end session,
        // near repeats of Astana, near repeats of Saryarka, forecast, backtest, cameras, camera coverage, camera upload (an empty register: 400),
        // posts, post upload (empty: 400), post plan, camera plan, streets, scenarios, save a scenario (unknown kind: 400),
        // beats, beat upload (not GeoJSON: 422), beat proposal, travel time (no street network: 400),
        // bodies, add body (no name: 400), meetings, add meeting (no body: 404), assignments, add assignment (no body: 404),
        // dashboard, then an absent assignment's detail, actions, report, extension, decision and attachment (404 for all),
        // notifications, mark an absent one read (404), facilities, an absent facility's inspections and a new one (404), facility upload (no required columns: 400), measures, replace measures (not a table: 400), threat levels,
        // declare (unknown level: 400), extend, lift, checklist, mark done (an absent declaration: 404), an absent account's e-mail (404),
        // interventions, record one (no name: 400), an absent one's evaluation (404), a risk terrain on 5 m cells (400), layers, a layer with no points (400)
        [
            200, 200, 200, 200, 200, 200, 200, 400, 400, 400, 404, 404, 404, 404, 200, 200, 200, 200, 200, 200, 400, 200, 400, 200, 200,
            200, 200, 400, 200, 422, 200, 400, 200, 400, 200, 404, 200, 404, 200, 404, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404,
            400, 200, 400, 200, 400, 404, 404, 404, 404, 404, 200, 400, 404, 400, 200, 400,
        ], // administrator
        [
            200, 200, 200, 200, 403, 403, 403, 400, 403, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200, 200, 400, 200, 400, 200, 200,
            200, 200, 400, 200, 422, 200, 400, 200, 400, 200, 404, 200, 404, 200, 404, 404, 404, 404, 404, 404, 200, 404, 200, 404, 404,
            400, 200, 400, 200, 403, 403, 403, 404, 404, 403, 200, 400, 404, 400, 200, 400,
        ], // analyst with Astana
        [
            200, 200, 404, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 404, 404, 404, 404, 404, 404, 403, 404, 404, 404, 404,
            404, 404, 404, 404, 404, 404, 404, 200, 400, 200, 404, 200, 404, 200, 404, 404, 404, 404, 404, 404, 200, 404, 404, 404, 404,
            404, 200, 400, 404, 404, 404, 404, 404, 404, 403, 404, 404, 404, 404, 404, 403,
        ], // commander without scope
        [
            200, 200, 200, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403,
            403, 403, 403, 403, 403, 403, 403, 200, 403, 200, 403, 200, 403, 200, 404, 404, 404, 404, 404, 404, 200, 404, 403, 403, 403,
            403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403,
        ], // inspector of Saryarka
        [
            200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200, 200, 403, 200, 403, 200, 200,
            200, 200, 403, 200, 403, 200, 400, 200, 403, 200, 403, 200, 403, 200, 404, 404, 404, 404, 404, 404, 200, 404, 200, 404, 403,
            403, 200, 403, 200, 403, 403, 403, 404, 404, 403, 200, 403, 404, 400, 200, 403,
        ], // agency executor
        [
            200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200, 200, 403, 200, 403, 200, 200,
            200, 200, 403, 200, 403, 200, 400, 200, 403, 200, 403, 200, 403, 200, 404, 404, 404, 404, 404, 404, 200, 404, 200, 404, 403,
            403, 200, 403, 200, 403, 403, 403, 404, 403, 403, 200, 403, 404, 400, 200, 403,
        ], // viewer
    ];
    for (method, path, body, ty) in requests {
        assert_eq!(http_bytes(&addr, method, path, &[], body.as_bytes(), ty).0, 401, "{method} {path} without a session");
    }
    for (u, (login, role, _)) in users.iter().enumerate() {
        let cookie = login_cookie(&addr, login, &format!("{}-renewed", passwords[u]));
        let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
        let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
        for (e, (method, path, body, ty)) in requests.iter().enumerate() {
            let (status, _, answer) =
                http_bytes(&addr, method, path, &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)], body.as_bytes(), *ty);
            assert_eq!(status, more[u][e], "{role} {method} {path}: {}", String::from_utf8_lossy(&answer));
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn hotspot_maps_are_reused_until_new_data_arrives() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let first = env.write("a.csv", format!("{HEADER}Theft,2024-03-01 10:00,51.1,71.4\n").as_bytes());
    env.ok(&["import", "incidents", &first, "--territory", "Astana", "--mapping", &mapping]);
    let pw = env.ok(&["user", "add", "a1", "--role", "analyst", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let (mut server, addr) = serve(&env);
    let cookie = login_cookie(&addr, "a1", &pw);
    let total = |body: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["features"].as_array().unwrap().iter().map(|f| f["properties"]["count"].as_u64().unwrap()).sum()
    };
    let path = "/api/v1/territories/Astana/hotspots?method=gi&cell=200";
    let (_, _, a) = http(&addr, "GET", path, &[("Cookie", &cookie)], "");
    let (_, _, b) = http(&addr, "GET", path, &[("Cookie", &cookie)], "");
    assert_eq!(a, b);
    assert_eq!(total(&a), 1);
    let second = env.write("b.csv", format!("{HEADER}Theft,2024-03-02 10:00,51.1,71.4\n").as_bytes());
    env.ok(&["import", "incidents", &second, "--territory", "Astana", "--mapping", &mapping]);
    let (_, _, c) = http(&addr, "GET", path, &[("Cookie", &cookie)], "");
    assert_eq!(total(&c), 2, "a new import makes the cached map stale");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The endpoints the web UI stands on: boundaries, time and CompStat,
/// the binary point layer, the import upload with its row-level report,
/// and administration (accounts, sessions, agencies, the audit view).
#[test]
fn web_api_serves_layers_imports_and_administration() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    add_yesil_and_saryarka(&env);
    let admin_pw = env.ok(&["user", "add", "chief", "--role", "administrator"]).lines().last().unwrap().to_owned();
    let analyst_pw = env.ok(&["user", "add", "ana", "--role", "analyst", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let viewer_pw = env.ok(&["user", "add", "vie", "--role", "viewer", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let insp_pw = env.ok(&["user", "add", "insp", "--role", "district_inspector"]).lines().last().unwrap().to_owned();
    env.ok(&["user", "grant", "insp", "--territory", "Astana", "--district", "Saryarka"]);
    let (mut server, addr) = serve(&env);

    // A one-time password opens nothing but the password change.
    let (_, head, body) = http(&addr, "POST", "/api/v1/auth/login", &[], &format!(r#"{{"login":"vie","password":"{viewer_pw}"}}"#));
    assert!(body.contains(r#""must_change_password":true"#), "{body}");
    let raw_cookie =
        head.lines().find(|l| l.to_lowercase().starts_with("set-cookie:")).unwrap()[12..].split(';').next().unwrap().trim().to_owned();
    let (status, _, body) = http(&addr, "GET", "/api/v1/territories", &[("Cookie", &raw_cookie)], "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("one-time password"), "{body}");

    let admin = login_cookie(&addr, "chief", &admin_pw);
    let analyst = login_cookie(&addr, "ana", &analyst_pw);
    let viewer = login_cookie(&addr, "vie", &viewer_pw);
    let csrf = |cookie: &str| {
        let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", cookie)], "");
        serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned()
    };
    let json = |cookie: &str, method: &str, path: &str, body: &str| {
        let token = csrf(cookie);
        let (status, _, text) = http(&addr, method, path, &[("Cookie", cookie), ("X-CSRF-Token", &token)], body);
        (status, serde_json::from_str::<serde_json::Value>(&text).unwrap_or(serde_json::Value::String(text)))
    };

    // Import over HTTP: all or nothing with the row-level report, then with the invalid rows set aside.
    let csv = format!(
        "{HEADER}Theft,2024-03-04 10:00,51.3,71.3\nTheft,2024-03-05 25:00,51.3,71.3\nTheft,2024-03-06 11:00,51.3,71.7\nTheft,2024-03-06 12:00,north,71.7\n"
    );
    let upload = |cookie: &str, mode: &str, dry: &str| {
        let token = csrf(cookie);
        let (body, ty) = multipart(&[("mapping", MAPPING), ("mode", mode), ("dry_run", dry)], ("week 10.csv", csv.as_bytes()));
        let (status, _, text) = http_bytes(
            &addr,
            "POST",
            "/api/v1/territories/Astana/imports",
            &[("Cookie", cookie), ("X-CSRF-Token", &token)],
            &body,
            Some(&ty),
        );
        (status, serde_json::from_slice::<serde_json::Value>(&text).unwrap())
    };
    let (status, report) = upload(&analyst, "all_or_nothing", "false");
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["status"], "rejected");
    assert_eq!(report["rejected"], 2);
    assert_eq!(report["rejects"][0]["line"], 3);
    assert_eq!(report["rejects"][0]["field"], "date");
    assert_eq!(report["rejects"][1]["line"], 5);
    assert_eq!(report["rejects"][1]["field"], "lat");
    assert!(!report.to_string().contains("/tmp"), "no server paths in the report: {report}");
    assert_eq!(env.counts().incidents, 0, "nothing written");
    let (status, report) = upload(&analyst, "skip_invalid", "true");
    assert_eq!((status, report["status"].as_str()), (200, Some("checked")), "{report}");
    assert_eq!(env.counts().incidents, 0, "a check writes nothing");
    let (status, report) = upload(&analyst, "skip_invalid", "false");
    assert_eq!((status, report["imported"].as_u64()), (200, Some(2)), "{report}");
    let (status, report) = upload(&analyst, "skip_invalid", "false");
    assert_eq!((status, report["status"].as_str()), (200, Some("already_imported")), "{report}");
    assert_eq!(upload(&viewer, "skip_invalid", "false").0, 403, "viewers do not import");

    // Layers: boundaries, the binary point layer (with its audit entry), time and CompStat.
    let (status, b) = json(&analyst, "GET", "/api/v1/territories/Astana/boundaries", "");
    assert_eq!(status, 200);
    let names: Vec<&str> = b["features"].as_array().unwrap().iter().map(|f| f["properties"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Yesil", "Saryarka"]);
    assert_eq!(b["features"][0]["geometry"]["type"], "MultiPolygon");
    // The server keeps territories in memory; a district added meanwhile by the CLI is seen at once.
    let more = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Baikonur"},"geometry":{"type":"Polygon","coordinates":[[[71.4,51.4],[71.45,51.4],[71.45,51.45],[71.4,51.45],[71.4,51.4]]]}}]}"#;
    let file = env.write("more.geojson", more.as_bytes());
    env.ok(&["territory", "districts", "Astana", "--file", &file]);
    let (_, b) = json(&analyst, "GET", "/api/v1/territories/Astana/boundaries", "");
    assert_eq!(b["features"].as_array().unwrap().len(), 3, "{b}");
    let (status, _, bytes) = http_bytes(&addr, "GET", "/api/v1/territories/Astana/points?purpose=map", &[("Cookie", &analyst)], b"", None);
    assert_eq!(status, 200);
    let (meta, points) = qalqan_server::layers::decode_points(&bytes).expect("a QPT1 layer");
    assert_eq!(meta["incidents"], 2);
    let theft = meta["categories"].as_array().unwrap().iter().position(|c| c == "theft").unwrap();
    assert!(points.iter().all(|p| p.category as usize == theft && (p.lat - 51.3).abs() < 1e-4));
    let mut lons: Vec<f32> = points.iter().map(|p| p.lon).collect();
    lons.sort_by(f32::total_cmp);
    assert!((lons[0] - 71.3).abs() < 1e-4 && (lons[1] - 71.7).abs() < 1e-4, "{lons:?}");
    // 2024-03-04 10:00 in Astana (UTC+5) is 05:00 UTC.
    let hour = chrono::DateTime::parse_from_rfc3339("2024-03-04T05:00:00Z").unwrap().timestamp() / 3600;
    assert!(points.iter().any(|p| i64::from(p.start_hour) == hour), "{points:?}");
    assert_eq!(http(&addr, "GET", "/api/v1/territories/Astana/points", &[("Cookie", &viewer)], "").0, 403);
    let (status, t) = json(&viewer, "GET", "/api/v1/territories/Astana/time", "");
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["incidents"], 2);
    assert_eq!(t["hour_weekday"][0][10], 1.0, "Monday 10:00");
    assert_eq!(t["monthly"][0]["month"], "2024-03");
    let (status, c) = json(&viewer, "GET", "/api/v1/territories/Astana/compstat", "");
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["date"], "2024-03-06", "as of the last day with data");
    let all = c["rows"].as_array().unwrap().iter().find(|r| r["district"].is_null() && r["category"].is_null()).unwrap();
    assert_eq!(all["week_to_date"]["current"], 2);
    // District aggregates: a district inspector gets those of their district, nothing else.
    let inspector = login_cookie(&addr, "insp", &insp_pw);
    let (status, t) = json(&inspector, "GET", "/api/v1/territories/Astana/time?district=Saryarka", "");
    assert_eq!((status, t["incidents"].as_u64()), (200, Some(1)), "{t}");
    assert_eq!(json(&inspector, "GET", "/api/v1/territories/Astana/time?district=Yesil", "").0, 404);
    assert_eq!(json(&inspector, "GET", "/api/v1/territories/Astana/time", "").0, 403);
    let (status, st) = json(&inspector, "GET", "/api/v1/territories/Astana/stats?district=Saryarka", "");
    assert_eq!((status, st["total"].as_u64()), (200, Some(1)), "{st}");
    assert_eq!(st["by_district"][0]["district"], "Saryarka");
    assert_eq!(st["by_month"][0]["month"], "2024-03");
    let (_, whole) = json(&analyst, "GET", "/api/v1/territories/Astana/stats", "");
    let yesil = whole["by_district"].as_array().unwrap().iter().find(|d| d["district"] == "Yesil").unwrap()["count"].clone();
    let (_, part) = json(&analyst, "GET", "/api/v1/territories/Astana/stats?district=Yesil", "");
    assert_eq!(part["total"], yesil, "a district's statistics agree with the territory's breakdown");
    let (status, h) =
        json(&inspector, "GET", "/api/v1/territories/Astana/hotspots?district=Saryarka&cell=500&permutations=0&method=gi", "");
    assert_eq!((status, h["qalqan"]["incidents"].as_u64()), (200, Some(1)), "{h}");
    let (_, c) = json(&analyst, "GET", "/api/v1/territories/Astana/compstat?district=Yesil", "");
    assert_eq!(c["date"], "2024-03-04", "the last day with data in Yesil: {c}");
    assert_eq!(json(&analyst, "GET", "/api/v1/territories/Astana/compstat?district=Nowhere", "").0, 404);

    // The map's grid: only cells worth drawing.
    let (_, all) = json(&viewer, "GET", "/api/v1/territories/Astana/hotspots?method=gi&cell=500&permutations=0", "");
    let (_, drawn) = json(&viewer, "GET", "/api/v1/territories/Astana/hotspots?method=gi&cell=500&permutations=0&cells=nonempty", "");
    let (all, drawn) = (all["features"].as_array().unwrap(), drawn["features"].as_array().unwrap());
    assert!(drawn.len() < all.len() && !drawn.is_empty(), "{} of {}", drawn.len(), all.len());
    assert!(drawn.iter().all(|f| f["properties"]["count"].as_u64() > Some(0) || f["properties"]["gi_class"] != 0));
    let kept = all.iter().filter(|f| f["properties"]["count"].as_u64() > Some(0) || f["properties"]["gi_class"] != 0).count();
    assert_eq!(drawn.len(), kept, "every cell worth drawing is kept");
    assert_eq!(json(&viewer, "GET", "/api/v1/territories/Astana/hotspots?cells=some", "").0, 400);
    let (_, cats) = json(&viewer, "GET", "/api/v1/categories", "");
    assert!(cats.as_array().unwrap().iter().any(|c| c["code"] == "burglary"));
    let (_, maps) = json(&viewer, "GET", "/api/v1/mappings", "");
    assert_eq!(maps[0]["name"], "toronto-mci");

    // Administration: users, agencies, sessions, audit.
    assert_eq!(json(&analyst, "GET", "/api/v1/admin/users", "").0, 403);
    let (status, created) = json(
        &admin,
        "POST",
        "/api/v1/admin/users",
        r#"{"login":"cmd1","display_name":"Commander","role":"commander","agency":"DP Astana","territories":["Astana"]}"#,
    );
    assert_eq!(status, 201, "{created}");
    let one_time = created["password"].as_str().unwrap().to_owned();
    assert_eq!(json(&admin, "POST", "/api/v1/admin/users", r#"{"login":"cmd1","role":"commander"}"#).0, 409);
    assert_eq!(json(&admin, "POST", "/api/v1/admin/users", r#"{"login":"x2","role":"general"}"#).0, 400);
    let (_, users) = json(&admin, "GET", "/api/v1/admin/users", "");
    let cmd1 = users.as_array().unwrap().iter().find(|u| u["login"] == "cmd1").unwrap().clone();
    assert_eq!(cmd1["scopes"][0]["territory"], "Astana");
    assert_eq!(cmd1["must_change_password"], true);
    assert_eq!(json(&admin, "PUT", "/api/v1/admin/users/cmd1/scopes", r#"{"scopes":[{"territory":"Astana","district":"Yesil"}]}"#).0, 204);
    assert_eq!(json(&admin, "PUT", "/api/v1/admin/users/cmd1/scopes", r#"{"scopes":[{"territory":"Mars"}]}"#).0, 400);
    assert_eq!(json(&admin, "PUT", "/api/v1/admin/users/cmd1/email", r#"{"email":"cmd1@police.kz"}"#).0, 204);
    assert_eq!(json(&admin, "PUT", "/api/v1/admin/users/cmd1/email", r#"{"email":"cmd1 at police"}"#).0, 400);
    assert_eq!(json(&admin, "PUT", "/api/v1/admin/users/nobody/email", r#"{"email":null}"#).0, 404);
    let (_, users) = json(&admin, "GET", "/api/v1/admin/users", "");
    assert_eq!(users.as_array().unwrap().iter().find(|u| u["login"] == "cmd1").unwrap()["email"], "cmd1@police.kz");
    let (_, agencies) = json(&admin, "GET", "/api/v1/admin/agencies", "");
    assert!(agencies.as_array().unwrap().iter().any(|a| a["name"] == "DP Astana" && a["users"] == 1), "{agencies}");
    assert_eq!(json(&admin, "POST", "/api/v1/admin/agencies", r#"{"name":"Akimat"}"#).0, 201);
    assert_eq!(json(&admin, "POST", "/api/v1/admin/agencies", r#"{"name":"Akimat"}"#).0, 409);

    let commander = login_cookie(&addr, "cmd1", &one_time);
    assert_eq!(http(&addr, "GET", "/api/v1/territories", &[("Cookie", &commander)], "").0, 200);
    let (_, sessions) = json(&admin, "GET", "/api/v1/admin/sessions", "");
    let id = sessions.as_array().unwrap().iter().find(|s| s["login"] == "cmd1").unwrap()["id"].as_i64().unwrap();
    assert_eq!(json(&admin, "DELETE", &format!("/api/v1/admin/sessions/{id}"), "").0, 204);
    assert_eq!(http(&addr, "GET", "/api/v1/territories", &[("Cookie", &commander)], "").0, 401, "an ended session is gone at once");
    let analyst2 = login_cookie(&addr, "ana", &format!("{analyst_pw}-renewed"));
    let (_, revoked) = json(&admin, "POST", "/api/v1/admin/users/ana/sessions/revoke", "");
    assert_eq!(revoked["revoked"], 2, "both of the analyst's sessions");
    assert_eq!(http(&addr, "GET", "/api/v1/territories", &[("Cookie", &analyst2)], "").0, 401);
    let (status, reset) = json(&admin, "POST", "/api/v1/admin/users/vie/reset", "");
    assert_eq!(status, 200);
    assert_eq!(http(&addr, "GET", "/api/v1/territories", &[("Cookie", &viewer)], "").0, 401, "a reset ends the sessions");
    assert_eq!(json(&admin, "POST", "/api/v1/admin/users/chief/disable", "").0, 400, "not oneself");
    assert_eq!(json(&admin, "POST", "/api/v1/admin/users/vie/disable", "").0, 204);
    let (status, _, _) = http(
        &addr,
        "POST",
        "/api/v1/auth/login",
        &[],
        &format!(r#"{{"login":"vie","password":"{}"}}"#, reset["password"].as_str().unwrap()),
    );
    assert_eq!(status, 401, "a disabled account cannot log in");

    let (status, page) = json(&admin, "GET", "/api/v1/admin/audit?limit=5&action=session", "");
    assert_eq!(status, 200);
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert!(entries.windows(2).all(|w| w[0]["seq"].as_i64() > w[1]["seq"].as_i64()), "newest first");
    assert!(entries.iter().all(|e| e["action"].as_str().unwrap().contains("session")));
    let before = page["next_before"].as_i64().unwrap();
    let (_, older) = json(&admin, "GET", &format!("/api/v1/admin/audit?limit=5&before={before}"), "");
    assert!(older["entries"].as_array().unwrap().iter().all(|e| e["seq"].as_i64().unwrap() < before));
    let (_, points_read) = json(&admin, "GET", "/api/v1/admin/audit?action=incident.points", "");
    assert_eq!(points_read["entries"][0]["purpose"], "map");
    assert_eq!(points_read["entries"][0]["actor"], "ana");
    let (_, verified) = json(&admin, "GET", "/api/v1/admin/audit/verify", "");
    assert_eq!(verified["ok"], true, "{verified}");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The id in `assignment N …`, the first line `assignment add` prints.
fn assignment_id(out: &str) -> String {
    let id = out.strip_prefix("assignment ").and_then(|rest| rest.split_whitespace().next()).unwrap_or_else(|| panic!("no id in:\n{out}"));
    assert!(id.parse::<i64>().is_ok(), "{out}");
    id.to_owned()
}

fn assignment_json(env: &Env, id: &str) -> serde_json::Value {
    serde_json::from_str(&env.ok(&["assignment", "show", id, "--format", "json"])).unwrap()
}

/// The number of audit entries, from `audit verify` (which must pass).
fn audit_entries(env: &Env) -> u64 {
    let out = env.ok(&["audit", "verify"]);
    out.strip_prefix("audit trail intact: ").and_then(|r| r.split_whitespace().next()?.parse().ok()).unwrap_or_else(|| panic!("{out}"))
}

/// Runs a command that must fail; returns its stderr.
fn fails(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert!(!out.status.success(), "qalqan {args:?} succeeded:\n{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const COUNCIL: &str = "Coordination council on law and order of Astana";

fn add_assignment(env: &Env, executor: &str, deadline: &str) -> String {
    let args = [
        "--user",
        "secretary",
        "assignment",
        "add",
        "--body",
        COUNCIL,
        "--text",
        "Install video surveillance at the railway station square",
        "--executor",
        executor,
        "--controller",
        "secretary",
        "--deadline",
        deadline,
    ];
    assignment_id(&env.ok(&args))
}

fn assignments_go_through_their_lifecycle_from_the_command_line(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    env.ok(&[
        "--user",
        "secretary",
        "body",
        "add",
        COUNCIL,
        "--kind",
        "coordination_council",
        "--member",
        "Akimat:Deputy akim",
        "--member",
        "Police department",
    ]);
    let bodies: serde_json::Value = serde_json::from_str(&env.ok(&["body", "list", "--format", "json"])).unwrap();
    assert_eq!(bodies[0]["name"], COUNCIL);
    assert_eq!(bodies[0]["members"][0], serde_json::json!({"agency": "Akimat", "person": "Deputy akim"}));
    assert!(fails(&env, &["body", "add", "Council", "--kind", "committee"]).contains("unknown body kind 'committee'"));
    env.ok(&[
        "meeting",
        "add",
        "--body",
        COUNCIL,
        "--date",
        "2026-02-10",
        "--number",
        "1",
        "--agenda",
        "Crime in public places",
        "--item",
        "1|Heard the police department",
        "--item",
        "2|On the railway station square: equip it with cameras",
    ]);
    let meetings = env.ok(&["meeting", "list", "--body", COUNCIL]);
    assert!(meetings.contains("2026-02-10  1           Crime in public places"), "{meetings}");
    assert!(meetings.contains("2. On the railway station square: equip it with cameras"), "{meetings}");
    assert!(
        fails(&env, &["meeting", "add", "--body", COUNCIL, "--date", "2026-02-11", "--number", "9", "--item", "no text"])
            .contains("is not NUMBER|TEXT")
    );

    // Refused input names what is wrong and writes nothing.
    let entries = audit_entries(&env);
    let err = fails(
        &env,
        &[
            "assignment",
            "add",
            "--body",
            "Security council",
            "--text",
            "x",
            "--executor",
            "Akimat",
            "--controller",
            "s",
            "--deadline",
            "2099-01-01",
        ],
    );
    assert!(err.contains("no body 'Security council'") && err.contains(COUNCIL), "{err}");
    let err = fails(&env, &["meeting", "add", "--body", COUNCIL, "--date", "2026-02-30", "--number", "2"]);
    assert!(err.contains("'2026-02-30' is not a date YYYY-MM-DD"), "{err}");
    let err = fails(
        &env,
        &[
            "assignment",
            "add",
            "--body",
            COUNCIL,
            "--meeting",
            "7",
            "--text",
            "x",
            "--executor",
            "Akimat",
            "--controller",
            "s",
            "--deadline",
            "2099-01-01",
        ],
    );
    assert!(err.contains("has no meeting with protocol number '7'"), "{err}");
    let err = fails(
        &env,
        &[
            "assignment",
            "add",
            "--body",
            COUNCIL,
            "--meeting",
            "1",
            "--item",
            "3.1",
            "--text",
            "x",
            "--executor",
            "Akimat",
            "--controller",
            "secretary",
            "--deadline",
            "2099-01-01",
        ],
    );
    assert!(err.contains("protocol 1 of 2026-02-10 has no item '3.1' (its items: 1, 2)"), "{err}");
    assert_eq!(audit_entries(&env), entries);

    // One assignment: draft → issue → extension refused → report with a file → return → report → accept.
    let out = env.ok(&[
        "--user",
        "secretary",
        "assignment",
        "add",
        "--body",
        COUNCIL,
        "--meeting",
        "1",
        "--item",
        "2.1",
        "--text",
        "Install video surveillance at the railway station square",
        "--executor",
        "Akimat",
        "--co-executor",
        "Police department",
        "--controller",
        "secretary",
        "--deadline",
        "2099-03-01",
        "--priority",
        "high",
        "--place",
        "facility:Railway station",
        "--draft",
    ]);
    let a = assignment_id(&out);
    assert!(out.contains("draft") && out.contains("due 2099-03-01"), "{out}");
    let entries = audit_entries(&env);
    let err = fails(&env, &["assignment", "accept", &a]);
    assert!(err.contains(&format!("cannot accept assignment {a}")) && err.contains("draft"), "{err}");
    assert_eq!(assignment_json(&env, &a)["status"], "draft", "unchanged");
    assert_eq!(audit_entries(&env), entries, "nothing written");
    env.ok(&["--user", "secretary", "assignment", "issue", &a]);
    env.ok(&["--user", "akimat", "assignment", "extend", &a, "--to", "2099-04-01", "--reason", "equipment delivery"]);
    assert!(fails(&env, &["assignment", "extend", &a, "--to", "2099-05-01", "--reason", "again"]).contains("pending extension request"));
    let out = env.ok(&["--user", "secretary", "assignment", "decide", &a, "--refuse", "--note", "the station opens in March"]);
    assert!(out.contains("extension refused; due 2099-03-01"), "{out}");
    let pdf = env.write("act.pdf", b"%PDF-1.4 test");
    let exe = env.write("run.exe", b"MZ");
    let err = fails(&env, &["assignment", "report", &a, "--text", "Done", "--attach", &exe]);
    assert!(err.contains("run.exe") && err.contains("not .exe"), "{err}");
    assert_eq!(assignment_json(&env, &a)["status"], "on_execution", "unchanged");
    env.ok(&["--user", "akimat", "assignment", "report", &a, "--text", "Six cameras installed", "--attach", &pdf]);
    env.ok(&["--user", "secretary", "assignment", "return", &a, "--note", "not connected to the monitoring centre"]);
    env.ok(&["--user", "akimat", "assignment", "report", &a, "--text", "Connected"]);
    let out = env.ok(&["--user", "secretary", "assignment", "accept", &a]);
    assert!(out.contains("report_submitted → accepted"), "{out}");
    let err = fails(&env, &["assignment", "cancel", &a]);
    assert!(err.contains("an assignment that is accepted cannot cancel"), "{err}");

    let shown = assignment_json(&env, &a);
    assert_eq!((shown["status"].as_str(), shown["due_on"].as_str()), (Some("accepted"), Some("2099-03-01")));
    assert_eq!((shown["meeting"]["number"].as_str(), shown["item"].as_str()), (Some("1"), Some("2.1")));
    let actions: Vec<&str> = shown["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["create", "issue", "extension_request", "extension_refused", "submit_report", "return", "submit_report", "accept"]
    );
    assert_eq!(shown["extension_requests"][0]["decision"], "refused");
    assert_eq!(shown["reports"].as_array().unwrap().len(), 2);
    let file = &shown["reports"][0]["attachments"][0];
    assert_eq!(
        (file["file_name"].as_str(), file["content_type"].as_str(), file["size"].as_i64()),
        (Some("act.pdf"), Some("application/pdf"), Some(13))
    );
    let file_id = file["id"].to_string();
    let copy = env.path("copy.pdf");
    env.ok(&["assignment", "attachment", &file_id, "--output", copy.to_str().unwrap()]);
    assert_eq!(std::fs::read(&copy).unwrap(), b"%PDF-1.4 test");
    let text = env.ok(&["assignment", "show", &a]);
    for want in [
        "assignment 1: accepted",
        "body:          Coordination council on law and order of Astana, meeting 1 of 2026-02-10, item 2.1",
        "co-executors:  Police department",
        "priority:      high",
        "extension_refused",
        "\"not connected to the monitoring centre\"",
        "asked by akimat (equipment delivery) — refused by secretary: the station opens in March",
        "by akimat at",
        "act.pdf (application/pdf, 13 bytes, sha256",
    ] {
        assert!(text.contains(want), "no '{want}' in:\n{text}");
    }

    // A second, with its extension granted: the due date moves.
    let b = add_assignment(&env, "Akimat", "2099-05-01");
    env.ok(&["assignment", "extend", &b, "--to", "2099-06-01", "--reason", "contractor"]);
    let out = env.ok(&["assignment", "decide", &b, "--grant"]);
    assert!(out.contains("extension granted; due 2099-06-01"), "{out}");
    assert_eq!(assignment_json(&env, &b)["due_on"], "2099-06-01");
    assert!(fails(&env, &["assignment", "extend", &b, "--to", "2099-02-30", "--reason", "x"]).contains("is not a date"));

    // A third, due long ago: the only one overdue.
    let c = add_assignment(&env, "Police department", "2020-01-15");
    let overdue: serde_json::Value = serde_json::from_str(&env.ok(&["assignment", "list", "--overdue", "--format", "json"])).unwrap();
    let ids: Vec<String> = overdue.as_array().unwrap().iter().map(|r| r["id"].to_string()).collect();
    assert_eq!(ids, [c.as_str()]);
    assert!(overdue[0]["days_left"].as_i64().unwrap() < 0 && overdue[0]["overdue"] == true);
    let table = env.ok(&["assignment", "list"]);
    let row =
        |id: &str| table.lines().find(|l| l.trim_start().starts_with(&format!("{id} "))).unwrap_or_else(|| panic!("{table}")).to_owned();
    assert!(row(&c).ends_with("OVERDUE") && row(&c).contains("2020-01-15  on_execution"), "{table}");
    assert!(row(&a).contains("accepted") && !row(&a).contains("OVERDUE"), "{table}");
    assert!(table.contains("3 assignments"), "{table}");
    let police = env.ok(&["assignment", "list", "--agency", "Police department", "--format", "csv"]);
    assert!(police.starts_with("id,body,item,executor,due_on,status,days_left,overdue"), "{police}");
    assert_eq!(police.lines().count(), 3, "co-executor of the first, executor of the third:\n{police}");
    let accepted = env.ok(&["assignment", "list", "--status", "accepted", "--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&accepted).unwrap().as_array().unwrap().len(), 1);
    assert!(env.ok(&["assignment", "list", "--due-within", "30"]).contains("0 assignments"));
    assert!(env.ok(&["assignment", "show", &c]).contains("on_execution — OVERDUE by"));

    // The overdue one is escalated to the executing agency and the controller, once; then the
    // author cancels it, and a cancelled assignment is escalated no more.
    env.ok(&["user", "add", "secretary", "--role", "analyst"]);
    env.ok(&["user", "add", "duty", "--role", "agency_executor", "--agency", "Police department"]);
    let out = env.ok(&["notify", "run"]);
    assert!(out.starts_with("2 new notification(s)"), "the controller and the one police account: {out}");
    let escalated = |login: &str| env.ok(&["notify", "list", "--login", login]);
    for login in ["secretary", "duty"] {
        let list = escalated(login);
        assert!(list.contains(&format!("Assignment {c} (Police department) is overdue since 2020-01-15")), "{login}: {list}");
    }
    assert!(env.ok(&["notify", "run"]).starts_with("0 new notification(s)"), "each escalation is written once");
    env.ok(&["--user", "secretary", "assignment", "cancel", &c, "--note", "superseded by the March protocol"]);
    assert_eq!(assignment_json(&env, &c)["status"], "cancelled");
    assert!(env.ok(&["assignment", "list", "--overdue"]).contains("0 assignments"), "a cancelled assignment is not overdue");
    let d = add_assignment(&env, "Police department", "2020-02-01");
    env.ok(&["--user", "secretary", "assignment", "cancel", &d]);
    assert!(env.ok(&["notify", "run"]).starts_with("0 new notification(s)"), "nothing for cancelled assignments");

    let audit = env.ok(&["audit", "list", "--limit", "1000"]);
    assert!(
        audit.contains("secretary@cli  assignment.act  assignment:1") && audit.contains("akimat@cli  assignment.extension_request"),
        "{audit}"
    );
    audit_entries(&env);
}

#[test]
fn assignments_go_through_their_lifecycle_from_the_command_line_on_sqlite() {
    assignments_go_through_their_lifecycle_from_the_command_line(Backend::Sqlite);
}

#[test]
fn assignments_go_through_their_lifecycle_from_the_command_line_on_postgres() {
    assignments_go_through_their_lifecycle_from_the_command_line(Backend::Postgres);
}

/// Reminders and escalations reach people by e-mail through the configured SMTP relay (a
/// recording sink here): once each, kept pending while the relay is down, a refused recipient
/// given up without holding back the others.
fn reminders_and_escalations_are_emailed_through_the_relay_once(backend: Backend) {
    let Some(env) = Env::new(backend) else { return };
    env.ok(&["user", "add", "secretary", "--role", "analyst", "--email", "Secretary@Akimat.KZ"]);
    env.ok(&["user", "add", "duty", "--role", "agency_executor", "--agency", "Police department", "--email", "duty@police.kz"]);
    env.ok(&["user", "add", "gone", "--role", "agency_executor", "--agency", "Police department"]);
    env.ok(&["user", "add", "nomail", "--role", "agency_executor", "--agency", "Police department"]);
    assert!(env.ok(&["user", "email", "gone", "gone@police.kz"]).contains("e-mailed to gone@police.kz"));
    let err = fails(&env, &["user", "email", "nomail", "duty@police.kz\r\nBcc: all@police.kz"]);
    assert!(err.contains("is not an e-mail address"), "{err}");
    env.ok(&["body", "add", COUNCIL, "--kind", "coordination_council"]);
    let late = add_assignment(&env, "Police department", "2020-01-15");
    let soon = (chrono::Local::now().date_naive() + chrono::Duration::days(2)).to_string();
    let near = add_assignment(&env, "Police department", &soon);
    add_assignment(&env, "Police department", "2099-01-01");

    let free_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let notify = |port: u16| {
        env.cmd()
            .args(["notify", "run"])
            .env("QALQAN_SMTP_HOST", "127.0.0.1")
            .env("QALQAN_SMTP_PORT", port.to_string())
            .env("QALQAN_SMTP_FROM", "qalqan@akimat.kz")
            .env("QALQAN_PUBLIC_URL", "https://qalqan.akimat.kz")
            .output()
            .unwrap()
    };
    // The relay is down: the notifications are written, the e-mails wait.
    let out = notify(free_port);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot connect to the SMTP relay 127.0.0.1:{free_port}")) && err.contains("retried"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("7 new notification(s)"), "{out:?}");

    // The relay is back: each goes out once; the refused one is given up.
    let sink = qalqan_mail::sink::Sink::start_on(free_port).unwrap();
    sink.refuse_recipient("gone@police.kz");
    let out = notify(free_port);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("0 new notification(s)") && stdout.contains("e-mail: 3 sent, 2 refused"), "{out:?}");
    let mut got: Vec<(String, String)> = sink.messages().iter().map(|m| (m.to.join(","), m.subject.clone())).collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "Secretary@akimat.kz".to_owned(),
                format!("Qalqan: поручение №{late} просрочено (срок 15.01.2020) / assignment {late} overdue")
            ),
            ("duty@police.kz".to_owned(), format!("Qalqan: поручение №{late} просрочено (срок 15.01.2020) / assignment {late} overdue")),
            (
                "duty@police.kz".to_owned(),
                format!(
                    "Qalqan: поручение №{near}, срок {} / assignment {near} due {soon}",
                    chrono::NaiveDate::parse_from_str(&soon, "%Y-%m-%d").unwrap().format("%d.%m.%Y")
                )
            ),
        ]
    );
    let overdue = sink.messages().into_iter().find(|m| m.to == ["duty@police.kz"] && m.subject.contains("просрочено")).unwrap();
    assert_eq!(overdue.from, "qalqan@akimat.kz");
    for want in [
        format!("Поручение №{late} не исполнено в срок"),
        format!("№{late} тапсырма мерзімінде орындалмады"),
        format!("Assignment {late} is overdue: it was due on 2020-01-15."),
        "«Install video surveillance at the railway station square»".to_owned(),
        format!("https://qalqan.akimat.kz/#/coordination?assignment={late}"),
    ] {
        assert!(overdue.body.contains(&want), "no '{want}' in:\n{}", overdue.body);
    }
    assert!(notify(free_port).status.success());
    assert_eq!(sink.messages().len(), 3, "nothing is sent twice, the refused recipient is not retried");

    // Without a relay: in-app only. The test message checks a configuration.
    assert!(env.ok(&["notify", "run"]).contains("no SMTP relay configured"));
    let out = env
        .cmd()
        .args(["notify", "test-mail", "--to", "ops@akimat.kz"])
        .env("QALQAN_SMTP_HOST", "127.0.0.1")
        .env("QALQAN_SMTP_PORT", free_port.to_string())
        .env("QALQAN_SMTP_FROM", "qalqan@akimat.kz")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(sink.wait_for(4, Duration::from_secs(5))[3].to, ["ops@akimat.kz"]);
    assert!(fails(&env, &["notify", "test-mail", "--to", "ops@akimat.kz"]).contains("no SMTP relay configured"));

    // The server does the same on its own at start (and hourly after).
    let later = add_assignment(&env, "Police department", "2021-06-30");
    let mut server = env
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("QALQAN_SMTP_HOST", "127.0.0.1")
        .env("QALQAN_SMTP_PORT", free_port.to_string())
        .env("QALQAN_SMTP_FROM", "qalqan@akimat.kz")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let got = sink.wait_for(6, Duration::from_secs(20));
    server.kill().unwrap();
    server.wait().unwrap();
    let mut to: Vec<String> = got[4..].iter().map(|m| m.to.join(",")).collect();
    to.sort();
    assert_eq!(to, ["Secretary@akimat.kz", "duty@police.kz"], "the overdue assignment {later} went out from the server");
    assert!(got[4..].iter().all(|m| m.subject.contains(&format!("поручение №{later} просрочено"))));
    let audit = env.ok(&["audit", "list", "--limit", "1000"]);
    assert!(audit.contains("notifications.email") && audit.contains("user.email"), "{audit}");
    audit_entries(&env);
}

#[test]
fn reminders_and_escalations_are_emailed_through_the_relay_once_on_sqlite() {
    reminders_and_escalations_are_emailed_through_the_relay_once(Backend::Sqlite);
}

#[test]
fn reminders_and_escalations_are_emailed_through_the_relay_once_on_postgres() {
    reminders_and_escalations_are_emailed_through_the_relay_once(Backend::Postgres);
}

/// The coordination API: a body, a meeting and an assignment walked through every state by the
/// people whose turn it is, with the others refused; agencies see only their own.
#[test]
fn assignments_are_tracked_to_execution_over_http_by_whoever_holds_them() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let add = |login: &str, role: &str, agency: Option<&str>| {
        let mut args = vec!["user", "add", login, "--role", role];
        if let Some(a) = agency {
            args.extend(["--agency", a]);
        }
        env.ok(&args).lines().last().unwrap().to_owned()
    };
    let pw = [
        ("sec", add("sec", "analyst", None)),
        ("police", add("police", "agency_executor", Some("Police department"))),
        ("akimat", add("akimat", "agency_executor", Some("Akimat"))),
        ("viewer", add("viewer", "viewer", Some("Akimat"))),
    ];
    let (mut server, addr) = serve(&env);
    let session = |login: &str| {
        let p = &pw.iter().find(|(l, _)| *l == login).unwrap().1;
        let cookie = login_cookie(&addr, login, p);
        let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
        let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
        (cookie, csrf)
    };
    let (sec, police, akimat, viewer) = (session("sec"), session("police"), session("akimat"), session("viewer"));
    let call = |who: &(String, String), method: &str, path: &str, body: &str| -> (u16, serde_json::Value) {
        let (status, _, text) = http(&addr, method, path, &[("Cookie", &who.0), ("X-CSRF-Token", &who.1)], body);
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    };
    let (s, b) = call(
        &sec,
        "POST",
        "/api/v1/bodies",
        r#"{"name":"Anti-terrorist commission of Astana","kind":"antiterrorist_commission","members":[["Police department",""],["Akimat","Deputy akim"]]}"#,
    );
    assert_eq!(s, 201, "{b}");
    let body = b["id"].as_i64().unwrap();
    assert_eq!(call(&police, "POST", "/api/v1/bodies", r#"{"name":"x","kind":"other"}"#).0, 403);
    let (s, m) = call(
        &sec,
        "POST",
        &format!("/api/v1/bodies/{body}/meetings"),
        r#"{"held_on":"2026-02-10","number":"1","agenda":"Protected facilities","items":[{"number":"1","text":"Heard the police"},{"number":"2","text":"On the railway station"}]}"#,
    );
    assert_eq!(s, 201, "{m}");
    let (_, listed) = call(&police, "GET", &format!("/api/v1/bodies/{body}/meetings"), "");
    assert_eq!(listed["meetings"][0]["items"][1], serde_json::json!({"number": "2", "text": "On the railway station"}));
    let create = format!(
        r#"{{"body_id":{body},"meeting_id":{},"item":"2","text":"Equip the railway station with connected cameras","executor":"Akimat","co_executors":["Police department"],"controller":"sec","deadline":"2020-03-01","priority":"high","place":"facility:Railway station","draft":true}}"#,
        m["id"]
    );
    let (s, a) = call(&sec, "POST", "/api/v1/assignments", &create);
    assert_eq!((s, a["status"].as_str()), (201, Some("draft")), "{a}");
    let id = a["id"].as_i64().unwrap();
    let path = format!("/api/v1/assignments/{id}");
    assert_eq!(call(&sec, "POST", "/api/v1/assignments", &create.replace("2020-03-01", "2020-02-30")).0, 400, "a bad deadline is named");
    let (s, e) = call(&sec, "POST", "/api/v1/assignments", &create.replace(r#""item":"2""#, r#""item":"4""#));
    assert_eq!(s, 400, "an item the protocol does not have: {e}");
    assert!(e["error"].as_str().unwrap().contains("has no item '4'"), "{e}");
    // Issue: only the author or controller; the executor cannot.
    assert_eq!(call(&akimat, "POST", &format!("{path}/actions"), r#"{"action":"issue"}"#).0, 403);
    let (s, a) = call(&sec, "POST", &format!("{path}/actions"), r#"{"action":"issue"}"#);
    assert_eq!((s, a["status"].as_str(), a["overdue"].as_bool()), (200, Some("on_execution"), Some(true)), "{a}");
    // Visibility: the executor and the co-executor see it; the viewer's agency sees it too.
    assert_eq!(call(&police, "GET", &path, "").0, 200);
    let (_, listed) = call(&akimat, "GET", "/api/v1/assignments?overdue=true", "");
    assert_eq!(listed["assignments"].as_array().unwrap().len(), 1);
    // An extension: asked by the executor, refused by the controller.
    assert_eq!(
        call(&police, "POST", &format!("{path}/extensions"), r#"{"new_due_on":"2030-01-01","reason":"x"}"#).0,
        403,
        "a co-executor does not ask"
    );
    assert_eq!(call(&akimat, "POST", &format!("{path}/extensions"), r#"{"new_due_on":"2030-01-01","reason":"delivery"}"#).0, 201);
    assert_eq!(call(&akimat, "POST", &format!("{path}/extensions"), r#"{"new_due_on":"2030-01-02","reason":"again"}"#).0, 409);
    assert_eq!(call(&akimat, "POST", &format!("{path}/extensions/decision"), r#"{"grant":true}"#).0, 403, "not the controller");
    let (s, a) = call(&sec, "POST", &format!("{path}/extensions/decision"), r#"{"grant":false,"note":"no"}"#);
    assert_eq!((s, a["due_on"].as_str()), (200, Some("2020-03-01")));
    // The report with an attachment; the viewer of the same agency may not report.
    let (form, ty) = multipart(&[("text", "Cameras installed and connected")], ("act.csv", b"camera,connected\nC1,yes\n"));
    let send = |who: &(String, String)| {
        http_bytes(&addr, "POST", &format!("{path}/reports"), &[("Cookie", &who.0), ("X-CSRF-Token", &who.1)], &form, Some(&ty)).0
    };
    assert_eq!(send(&viewer), 403);
    assert_eq!(send(&akimat), 200);
    // Returned, reported again, accepted by the controller.
    assert_eq!(call(&akimat, "POST", &format!("{path}/actions"), r#"{"action":"accept"}"#).0, 403);
    assert_eq!(call(&sec, "POST", &format!("{path}/actions"), r#"{"action":"return","note":"photos missing"}"#).0, 200);
    assert_eq!(send(&akimat), 200);
    let (s, a) = call(&sec, "POST", &format!("{path}/actions"), r#"{"action":"accept"}"#);
    assert_eq!((s, a["status"].as_str()), (200, Some("accepted")));
    let (s, e) = call(&sec, "POST", &format!("{path}/actions"), r#"{"action":"cancel"}"#);
    assert_eq!(s, 400, "accepted is final: {e}");
    let (_, detail) = call(&akimat, "GET", &path, "");
    let actions: Vec<&str> = detail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["create", "issue", "extension_request", "extension_refused", "submit_report", "return", "submit_report", "accept"]
    );
    let file = &detail["reports"][0]["attachments"][0];
    let (s, _, bytes) = http(&addr, "GET", &format!("{path}/attachments/{}", file["id"]), &[("Cookie", &police.0)], "");
    assert_eq!((s, bytes.as_str()), (200, "camera,connected\nC1,yes\n"));
    // Notifications: a second assignment, overdue, escalated to the executing agency and the controller.
    let overdue = create.replace(r#""draft":true"#, r#""draft":false"#).replace("2020-03-01", "2020-04-01");
    assert_eq!(call(&sec, "POST", "/api/v1/assignments", &overdue).0, 201);
    let out = env.ok(&["notify", "run"]);
    assert!(out.starts_with("2 new"), "to akimat and to the controller: {out}");
    assert!(env.ok(&["notify", "run"]).starts_with("0 new"), "once");
    let (_, n) = call(&akimat, "GET", "/api/v1/notifications?unread=true", "");
    let first = &n["notifications"][0];
    assert_eq!((first["kind"].as_str(), first["read"].as_bool()), (Some("overdue"), Some(false)), "{n}");
    let read = format!("/api/v1/notifications/{}/read", first["id"]);
    assert_eq!(call(&police, "POST", &read, "").0, 404, "not theirs");
    assert_eq!(call(&akimat, "POST", &read, "").0, 204);
    assert_eq!(call(&akimat, "GET", "/api/v1/notifications?unread=true", "").1["notifications"].as_array().unwrap().len(), 0);
    // The dashboard.
    let (_, d) = call(&sec, "GET", "/api/v1/assignments/dashboard", "");
    assert_eq!(
        (d["accepted"].as_u64(), d["extensions"]["decided"].as_u64(), d["extensions"]["granted"].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(d["reports"]["on_time"], 0, "reported after the 2020 deadline");
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(env.ok(&["audit", "verify"]).contains("intact"));
}

#[test]
fn a_threat_level_generates_checklists_that_are_worked_off_and_lifted() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let bad = env.write(
        "bad.csv",
        b"id,name,category,lat,lon,equipment\nF1,Nurly Zhol,railway_station,51.19,71.41,video\nF2,Mega,mall,51.09,71.42,\n",
    );
    let out = env.run(&["facility", "import", &bad, "--territory", "Astana"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("line 3: category"));
    let good = env.write(
        "f.csv",
        b"id,name,category,lat,lon,owner,passport,equipment\nF1,Nurly Zhol,railway_station,51.19,71.41,KTZ,17,video;video_connected\nF2,Astana airport,airport,51.02,71.46,,,\n",
    );
    assert!(env.ok(&["facility", "import", &good, "--territory", "Astana"]).contains("2 facilities (2 added, 0 updated)"));
    let measures = repo("data/coordination/measures.csv");
    env.ok(&["measures", "import", measures.to_str().unwrap()]);
    let declared = env.ok(&[
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
        "operational information",
    ]);
    // Yellow: the station's 2 measures, the airport's 1, the police's 2.
    assert!(declared.contains("5 checklist items"), "{declared}");
    let again = env.run(&["threat", "declare", "--territory", "Astana", "--level", "red", "--from", "2026-05-10", "--reason", "x"]);
    assert!(!again.status.success(), "one declaration over the same days");
    let id = declared.split_whitespace().nth(2).unwrap().trim_end_matches(':').to_owned();
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["threat", "checklist", &id, "--format", "json"])).unwrap();
    assert_eq!((v["items"].as_u64(), v["done"].as_u64()), (Some(5), Some(0)));
    let item = v["checklist"][0]["id"].to_string();
    env.ok(&["threat", "done", &item, "--note", "checked at 09:00"]);
    assert!(!env.run(&["threat", "done", &item]).status.success(), "done once");
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["threat", "checklist", &id, "--format", "json"])).unwrap();
    assert!((v["readiness"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    env.ok(&["threat", "extend", &id, "--until", "2026-05-31"]);
    env.ok(&["threat", "lift", &id]);
    let orange =
        env.ok(&["threat", "declare", "--territory", "Astana", "--level", "orange", "--from", "2026-06-01", "--reason", "escalation"]);
    assert!(orange.contains("10 checklist items"), "station 3, airport 3, police 4: {orange}");
    let history = env.ok(&["threat", "list", "--territory", "Astana"]);
    assert!(history.contains("lifted") && history.contains("orange") && history.contains("2026-05-31"), "{history}");

    // An inspection of the station: its two findings become assignments to the owner.
    env.ok(&["body", "add", "ATC", "--kind", "antiterrorist_commission"]);
    let out = env.ok(&[
        "inspection",
        "add",
        "--territory",
        "Astana",
        "--facility",
        "F1",
        "--date",
        "2026-04-02",
        "--inspector",
        "Major Abenov",
        "--body",
        "ATC",
        "--controller",
        "sec",
        "--finding",
        "Connect the platform cameras|2026-05-01",
        "--finding",
        "Repair the fence|2026-04-20",
    ]);
    assert!(out.contains("2 finding(s)"), "{out}");
    let bad = env.run(&[
        "inspection",
        "add",
        "--territory",
        "Astana",
        "--facility",
        "F9",
        "--date",
        "2026-04-02",
        "--inspector",
        "x",
        "--body",
        "ATC",
        "--controller",
        "sec",
        "--finding",
        "x|2026-05-01",
    ]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("no facility 'F9'"));
    let listed = env.ok(&["inspection", "list", "--territory", "Astana", "--facility", "F1"]);
    assert!(listed.contains("Major Abenov") && listed.contains("Repair the fence"), "{listed}");
    let owned = env.ok(&["assignment", "list", "--agency", "KTZ", "--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&owned).unwrap().as_array().map_or(0, Vec::len), 2, "{owned}");

    // Over HTTP: the commander lifts and declares, the analyst works the checklist, the viewer reads.
    let cmd_pw = env.ok(&["user", "add", "cmd", "--role", "commander", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let ana_pw = env.ok(&["user", "add", "ana", "--role", "analyst", "--territory", "Astana"]).lines().last().unwrap().to_owned();
    let (mut server, addr) = serve(&env);
    let session = |login: &str, pw: &str| {
        let cookie = login_cookie(&addr, login, pw);
        let (_, _, me) = http(&addr, "GET", "/api/v1/auth/me", &[("Cookie", &cookie)], "");
        let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"].as_str().unwrap().to_owned();
        (cookie, csrf)
    };
    let (cmd, ana) = (session("cmd", &cmd_pw), session("ana", &ana_pw));
    let call = |who: &(String, String), method: &str, path: &str, body: &str| -> (u16, serde_json::Value) {
        let (status, _, text) = http(&addr, method, path, &[("Cookie", &who.0), ("X-CSRF-Token", &who.1)], body);
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    };
    let (_, levels) = call(&ana, "GET", "/api/v1/territories/Astana/threat-levels", "");
    assert_eq!(levels["declarations"].as_array().unwrap().len(), 2);
    let orange_id = levels["declarations"][1]["id"].as_i64().unwrap();
    let base = format!("/api/v1/territories/Astana/threat-levels/{orange_id}");
    assert_eq!(call(&ana, "POST", &format!("{base}/lift"), "").0, 403, "an analyst does not lift");
    assert_eq!(call(&cmd, "POST", &format!("{base}/lift"), "").0, 200);
    let (s, red) = call(
        &cmd,
        "POST",
        "/api/v1/territories/Astana/threat-levels",
        r#"{"level":"red","starts_on":"2026-07-01","ends_on":"2026-07-03","reason":"exercise"}"#,
    );
    assert_eq!((s, red["checklist_items"].as_u64()), (201, Some(13)), "station 4, airport 4, police 5: {red}");
    let red_base = format!("/api/v1/territories/Astana/threat-levels/{}", red["id"]);
    let (_, list) = call(&ana, "GET", &format!("{red_base}/checklist"), "");
    let item = list["checklist"][0]["id"].as_i64().unwrap();
    assert_eq!(call(&ana, "POST", &format!("{red_base}/checklist/{item}/done"), r#"{"note":"done"}"#).0, 204);
    assert_eq!(call(&ana, "POST", &format!("{red_base}/checklist/{item}/done"), "{}").0, 409);
    let (_, list) = call(&ana, "GET", &format!("{red_base}/checklist"), "");
    assert_eq!((list["items"].as_u64(), list["done"].as_u64()), (Some(13), Some(1)));
    let categories: Vec<&str> = list["by_category"].as_array().unwrap().iter().map(|c| c["category"].as_str().unwrap()).collect();
    assert_eq!(categories, ["airport", "police", "railway_station"]);
    let (s, i) = call(
        &ana,
        "POST",
        "/api/v1/territories/Astana/facilities/F2/inspections",
        r#"{"held_on":"2026-06-10","inspector":"Captain Serik","body_id":1,"controller":"cmd","executor":"Airport JSC","findings":[{"text":"Light the car park","deadline":"2026-07-01"}]}"#,
    );
    assert_eq!((s, i["assignments"].as_array().map(Vec::len)), (201, Some(1)), "{i}");
    let (_, i) = call(&ana, "GET", "/api/v1/territories/Astana/facilities/F2/inspections", "");
    assert_eq!(i["inspections"][0]["findings"][0]["text"], "Light the car park");
    let (_, facilities) = call(&ana, "GET", "/api/v1/territories/Astana/facilities", "");
    assert_eq!(facilities["features"][0]["properties"]["equipment"], serde_json::json!(["video", "video_connected"]));
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(env.ok(&["audit", "verify"]).contains("intact"));
}

/// `qalqan evaluate` on simulated incidents with a known effect: the target area's rate halves
/// when the measure starts while the buffer and the control area carry on; the verdict says so.
#[test]
fn an_intervention_with_a_known_effect_is_evaluated_as_a_reduction_without_displacement() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let (lat0, lon0) = (51.13_f64, 71.43_f64);
    let mut seed = 7_u64;
    let mut unit = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut body = String::from(HEADER);
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for week in 0..104_i64 {
        let after = week >= 52;
        // (inner, outer radius in metres, incidents this week)
        let rings =
            [(0.0, 140.0, if after { 4 + week % 3 } else { 9 + week % 3 }), (160.0, 540.0, 10 + week % 4), (560.0, 1990.0, 30 + week % 5)];
        for (inner, outer, n) in rings {
            for k in 0..n {
                let r = inner + (outer - inner) * unit();
                let a = unit() * std::f64::consts::TAU;
                let (dx, dy) = (r * a.cos(), r * a.sin());
                let lat = lat0 + dy / 111_320.0;
                let lon = lon0 + dx / (111_320.0 * lat0.to_radians().cos());
                let day = start + chrono::Duration::days((week - 52) * 7 + k % 7);
                body.push_str(&format!("Theft,{} {:02}:00,{lat:.6},{lon:.6}\n", day, 8 + k % 12));
            }
        }
    }
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let out = env.ok(&[
        "intervention",
        "add",
        "--territory",
        "Astana",
        "--name",
        "Cameras at the square",
        "--kind",
        "camera_cluster",
        "--start",
        "2024-01-01",
        "--at",
        "51.13,71.43",
        "--radius",
        "150",
    ]);
    assert!(out.contains("intervention 1 recorded"), "{out}");
    assert!(env.ok(&["intervention", "list", "--territory", "Astana"]).contains("camera_cluster"));
    let err = fails(
        &env,
        &["intervention", "add", "--territory", "Astana", "--name", "x", "--kind", "drone", "--start", "2024-01-01", "--at", "51.13,71.43"],
    );
    assert!(err.contains("unknown intervention kind 'drone'"), "{err}");

    let json = env.ok(&[
        "evaluate",
        "--territory",
        "Astana",
        "--intervention",
        "Cameras at the square",
        "--before-days",
        "364",
        "--after-days",
        "364",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let e = &v["evaluation"];
    let target = &e["target"];
    let rr = target["rate_ratio"].as_f64().unwrap();
    assert!((0.42..0.55).contains(&rr), "the target halved: {target}");
    assert_eq!(target["verdict"], "reduction", "{target}");
    assert!(target["high"].as_f64().unwrap() < 1.0);
    assert_eq!(e["buffer"]["verdict"], "no_evidence", "{}", e["buffer"]);
    assert_eq!((e["target"]["periods_before"].as_u64(), e["target"]["periods_after"].as_u64()), (Some(52), Some(52)));
    let w = &e["wdq"];
    assert!(w["success"].as_f64().unwrap() < 0.0, "{w}");
    assert!(w["wdq"].as_f64().unwrap().abs() < 0.5, "little displacement: {w}");
    assert!(e["counts"]["after"]["target"].as_u64().unwrap() * 2 < e["counts"]["before"]["target"].as_u64().unwrap() + 60);

    let text = env.ok(&["evaluate", "--territory", "Astana", "--intervention", "1", "--before-days", "364", "--after-days", "364"]);
    assert!(text.contains("Incidents in the target area fell by"), "{text}");
    let csv = env.ok(&["evaluate", "--territory", "Astana", "--intervention", "1", "--format", "csv", "--period", "month"]);
    assert!(csv.starts_with("period,after,target,buffer,control\n2023-01,false,"), "{csv}");
    let err = fails(&env, &["evaluate", "--territory", "Astana", "--intervention", "Lighting"]);
    assert!(err.contains("has no intervention 'Lighting' (it has: Cameras at the square)"), "{err}");
    env.ok(&[
        "intervention",
        "add",
        "--territory",
        "Astana",
        "--name",
        "Next year",
        "--kind",
        "post",
        "--start",
        "2026-01-01",
        "--at",
        "51.13,71.43",
    ]);
    let err = fails(&env, &["evaluate", "--territory", "Astana", "--intervention", "Next year"]);
    assert!(err.contains("the data do not cover the measure's period (it started on 2026-01-01)"), "{err}");
}

/// Risk terrain on Helsinki's real places of interest with simulated incidents of known effect:
/// twice the rate within 100 m of a bar, one and a half times within 200 m of a transit stop, and
/// nothing for schools. The fitted relative risks come back close to those.
#[test]
fn risk_terrain_recovers_known_effects_around_real_helsinki_places() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Helsinki", "--time-zone", "Europe/Helsinki"]);
    let pbf = repo("data/demo/helsinki.osm.pbf");
    env.ok(&["import", "osm", pbf.to_str().unwrap(), "--territory", "Helsinki"]);
    let extract = qalqan_ingest::osm::read_osm_extract(&pbf).unwrap();
    let of = |c: &str| -> Vec<(f64, f64)> { extract.pois.iter().filter(|p| p.category.as_str() == c).map(|p| (p.lat, p.lon)).collect() };
    let (bars, stops) = (of("bar"), of("transit_stop"));
    assert!(bars.len() >= 5 && stops.len() >= 5, "{} bars, {} stops", bars.len(), stops.len());
    let lat0 = extract.nodes.iter().map(|n| n.lat).sum::<f64>() / extract.nodes.len() as f64;
    let metres = |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0) * 111_320.0).hypot((a.1 - b.1) * 111_320.0 * lat0.to_radians().cos());
    let near = |p: (f64, f64), set: &[(f64, f64)], r: f64| set.iter().any(|&q| metres(p, q) <= r);
    let (mut lat_lo, mut lat_hi, mut lon_lo, mut lon_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for n in &extract.nodes {
        (lat_lo, lat_hi, lon_lo, lon_hi) = (lat_lo.min(n.lat), lat_hi.max(n.lat), lon_lo.min(n.lon), lon_hi.max(n.lon));
    }
    // A thinned Poisson process: candidates uniform over the network's extent and 100 m around
    // it (so that the study area's edge cells are covered whole), kept with probability rate / max rate.
    let (dlat, dlon) = (100.0 / 111_320.0, 100.0 / (111_320.0 * lat0.to_radians().cos()));
    (lat_lo, lat_hi, lon_lo, lon_hi) = (lat_lo - dlat, lat_hi + dlat, lon_lo - dlon, lon_hi + dlon);
    let mut seed = 11_u64;
    let mut unit = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut body = String::from(HEADER);
    let mut kept = 0;
    for k in 0..8000 {
        let p = (lat_lo + (lat_hi - lat_lo) * unit(), lon_lo + (lon_hi - lon_lo) * unit());
        let mut rate = 1.0;
        if near(p, &bars, 100.0) {
            rate *= 2.0;
        }
        if near(p, &stops, 200.0) {
            rate *= 1.5;
        }
        if unit() < rate / 3.0 {
            kept += 1;
            body.push_str(&format!("Theft,2024-{:02}-{:02} 12:00,{:.6},{:.6}\n", 1 + k % 12, 1 + k % 28, p.0, p.1));
        }
    }
    let mapping = env.write("m.toml", MAPPING.as_bytes());
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Helsinki", "--mapping", &mapping]);

    let json = env.ok(&[
        "analyze",
        "risk-terrain",
        "--territory",
        "Helsinki",
        "--cell",
        "50",
        "--factors",
        "bar,transit_stop,school",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["incidents"].as_u64().unwrap() + v["incidents_outside"].as_u64().unwrap() == kept as u64);
    eprintln!("RTM factors: {}", v["factors"]);
    let factor = |name: &str| v["factors"].as_array().unwrap().iter().find(|f| f["factor"] == name).cloned();
    let bar = factor("bar").unwrap_or_else(|| panic!("bars are found: {}", v["factors"]));
    let rrv = bar["relative_risk"].as_f64().unwrap();
    assert!((1.55..=2.5).contains(&rrv), "bars ×2: {bar}");
    let stop = factor("transit_stop").unwrap_or_else(|| panic!("stops are found: {}", v["factors"]));
    let rrv = stop["relative_risk"].as_f64().unwrap();
    assert!((1.2..=1.9).contains(&rrv), "stops ×1.5: {stop}");
    if let Some(school) = factor("school") {
        assert!(school["low"].as_f64().unwrap() < 1.0 && school["high"].as_f64().unwrap() > 1.0, "schools have no effect: {school}");
    }
    let map = env.path("risk.geojson");
    let table = env.ok(&[
        "analyze",
        "risk-terrain",
        "--territory",
        "Helsinki",
        "--cell",
        "50",
        "--factors",
        "bar,transit_stop",
        "--out",
        map.to_str().unwrap(),
    ]);
    assert!(table.contains("bar") && table.contains("RRV"), "{table}");
    let geo: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert!(geo["features"].as_array().unwrap().iter().any(|f| f["properties"]["risk"].as_f64().unwrap() > 2.0));
    // A layer of the user's own: the bars again under another name, found like the bars.
    let mut layer = String::from("id,lat,lon\n");
    for (k, (lat, lon)) in bars.iter().enumerate() {
        layer.push_str(&format!("B{k},{lat},{lon}\n"));
    }
    let bad = env.write("bad-layer.csv", b"lat,lon\n60.17,24.94\n95,24.9\n");
    let err = fails(&env, &["analyze", "layer", &bad, "--territory", "Helsinki", "--name", "licensed"]);
    assert!(err.contains("line 3: field 'lat/lon'") && err.contains("nothing imported"), "{err}");
    let file = env.write("licensed.csv", layer.as_bytes());
    assert!(env.ok(&["analyze", "layer", &file, "--territory", "Helsinki", "--name", "licensed"]).contains("layer_licensed"));
    let json = env.ok(&[
        "analyze",
        "risk-terrain",
        "--territory",
        "Helsinki",
        "--cell",
        "50",
        "--factors",
        "layer_licensed,transit_stop",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let own = v["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == "layer_licensed")
        .cloned()
        .unwrap_or_else(|| panic!("{}", v["factors"]));
    assert!((1.55..=2.5).contains(&own["relative_risk"].as_f64().unwrap()), "{own}");
    let err = fails(&env, &["analyze", "risk-terrain", "--territory", "Helsinki", "--factors", "casino"]);
    assert!(err.contains("no factor 'casino' in Helsinki (it has: "), "{err}");
}

/// The council pack from real Toronto data with an assignment, a threat level and a measure:
/// a PDF with DejaVu Sans embedded in each language, the same bytes when made again, and an
/// HTML twin whose text is in the language asked for.
#[test]
fn the_council_pack_is_typeset_in_three_languages_from_the_data() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Toronto", "--time-zone", "America/Toronto"]);
    assert!(import_toronto(&env).status.success());
    env.ok(&["body", "add", COUNCIL, "--kind", "coordination_council"]);
    add_assignment(&env, "Police department", "2021-11-15");
    env.ok(&[
        "intervention",
        "add",
        "--territory",
        "Toronto",
        "--name",
        "Cameras Yonge-Dundas",
        "--kind",
        "camera_cluster",
        "--start",
        "2021-06-01",
        "--at",
        "43.6561,-79.3802",
        "--radius",
        "200",
    ]);
    let mut sizes = Vec::new();
    let pack = |lang: &str, file: &std::path::Path| {
        env.ok(&[
            "report",
            "council",
            "--territory",
            "Toronto",
            "--period",
            "2021-01-01..2021-12-31",
            "--lang",
            lang,
            "--date",
            "2021-12-31",
            "--out",
            file.to_str().unwrap(),
        ])
    };
    for lang in ["ru", "kk", "en"] {
        let pdf = env.path(&format!("pack-{lang}.pdf"));
        assert!(pack(lang, &pdf).contains("bytes"));
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{lang}");
        assert!(String::from_utf8_lossy(&bytes).contains("DejaVuSans"), "{lang}: the font is embedded");
        sizes.push(bytes.len());
    }
    let again = env.path("again-kk.pdf");
    pack("kk", &again);
    assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(env.path("pack-kk.pdf")).unwrap(), "reproducible");
    let html = env.path("pack-kk.html");
    pack("kk", &html);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("lang=\"kk\"") && page.contains("Тапсырмалардың орындалуы") && page.contains("Қылмыс ошақтары"), "Kazakh text");
    assert!(page.contains("<svg") && page.contains("Cameras Yonge-Dundas"), "maps and the measure");
    assert!(page.contains("15.11.2021"), "the overdue assignment");
    assert!(sizes.iter().all(|&s| s > 50_000), "{sizes:?}");
    let err = fails(&env, &["report", "council", "--territory", "Toronto", "--period", "2021-12-31..2021-01-01", "--out", "x.pdf"]);
    assert!(err.contains("runs backwards"), "{err}");
    let err = fails(&env, &["report", "council", "--territory", "Toronto", "--period", "2021-01-01..2021-12-31", "--out", "x.docx"]);
    assert!(err.contains("must end in .pdf or .html"), "{err}");
    assert!(env.ok(&["audit", "list", "--limit", "100"]).contains("report.council"));
}

/// The public figures: only for published territories, without a login, and no count under 5 is
/// ever published or recoverable from the published total.
#[test]
fn public_figures_are_aggregated_and_withhold_small_counts() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.ok(&["territory", "add", "Astana"]);
    let mapping = env.write("m.toml", format!("{MAPPING}\"Robbery\" = \"robbery\"\n\"Assault\" = \"assault\"\n").as_bytes());
    // 60 thefts at one corner in March, 3 robberies in April at another, 2 assaults in May at a
    // third, 2 thefts in June at a fourth.
    let mut body = String::from(HEADER);
    for i in 0..60 {
        body.push_str(&format!("Theft,2024-03-{:02} 10:00,51.1290,71.4300\n", 1 + i % 28));
    }
    for i in 0..3 {
        body.push_str(&format!("Robbery,2024-04-{:02} 22:00,51.1500,71.4700\n", 2 + i));
    }
    body.push_str("Assault,2024-05-05 23:00,51.0900,71.4000\nAssault,2024-05-06 23:00,51.0900,71.4000\n");
    body.push_str("Theft,2024-06-05 13:00,51.1100,71.5000\nTheft,2024-06-07 13:00,51.1100,71.5000\n");
    let data = env.write("in.csv", body.as_bytes());
    env.ok(&["import", "incidents", &data, "--territory", "Astana", "--mapping", &mapping]);
    let (mut server, addr) = serve(&env);
    let summary = "/api/v1/public/territories/Astana/summary?from=2024-01-01&to=2024-12-31";
    assert_eq!(http(&addr, "GET", summary, &[], "").0, 404, "not published yet");
    assert_eq!(http(&addr, "GET", "/api/v1/public/territories", &[], "").2, r#"{"territories":[]}"#);
    env.ok(&["territory", "publish", "Astana"]);
    let (status, _, text) = http(&addr, "GET", summary, &[], "");
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["total"], 67);
    let count =
        |group: &str, key: &str, value: &str| v[group].as_array().unwrap().iter().find(|r| r[key] == value).unwrap()["count"].clone();
    assert_eq!(count("by_month", "month", "2024-03"), 60);
    for month in ["2024-04", "2024-05", "2024-06"] {
        assert!(count("by_month", "month", month).is_null(), "3, 2 and 2 are withheld: {text}");
    }
    assert_eq!(count("by_month", "month", "2024-07"), 0, "zeros are published");
    assert_eq!(count("by_category", "category", "theft"), 62);
    assert!(count("by_category", "category", "robbery").is_null() && count("by_category", "category", "assault").is_null());
    // Nothing published below 5 but zeros, anywhere in the document.
    fn small(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(m) => m.iter().any(|(k, x)| (k == "count" && x.as_u64().is_some_and(|n| n > 0 && n < 5)) || small(x)),
            serde_json::Value::Array(a) => a.iter().any(small),
            _ => false,
        }
    }
    assert!(!small(&v), "{text}");
    let (status, head, geo) = http(&addr, "GET", "/api/v1/public/territories/Astana/cells?from=2024-01-01&to=2024-12-31", &[], "");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("application/geo+json"), "{head}");
    let g: serde_json::Value = serde_json::from_str(&geo).unwrap();
    let counts: Vec<u64> = g["features"].as_array().unwrap().iter().map(|f| f["properties"]["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [60], "only the busy cell; the three small ones withheld together");
    assert_eq!((g["qalqan"]["withheld_cells"].as_u64(), g["qalqan"]["withheld_incidents"].as_u64()), (Some(3), Some(7)));
    assert!(!geo.contains("51.1290") && !geo.contains("71.4300"), "no incident coordinates, only the cell's corners");
    let (_, _, csv) = http(&addr, "GET", "/api/v1/public/territories/Astana/summary?from=2024-01-01&to=2024-12-31&format=csv", &[], "");
    assert!(csv.starts_with("group,key,count\nmonth,2024-01,0\n") && csv.contains("category,robbery,withheld"), "{csv}");
    assert_eq!(http(&addr, "GET", "/api/v1/public/territories/Nowhere/summary", &[], "").0, 404);
    let (status, _, outline) = http(&addr, "GET", "/api/v1/public/territories/Astana/boundary", &[], "");
    assert_eq!((status, outline.as_str()), (200, r#"{"features":[],"type":"FeatureCollection"}"#), "no boundary registered here");
    assert_eq!(http(&addr, "GET", "/api/v1/territories/Astana/incidents", &[], "").0, 401, "incident detail still needs a login");
    env.ok(&["territory", "unpublish", "Astana"]);
    assert_eq!(http(&addr, "GET", summary, &[], "").0, 404);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(env.ok(&["audit", "list", "--limit", "50"]).contains("territory.publish"));
}
