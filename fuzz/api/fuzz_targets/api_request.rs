//! The API's request parsing: arbitrary requests (method, path and query, headers, body) through
//! the real router over a real SQLite store, half of them with a logged-in administrator's
//! cookie and CSRF token. Refusals (4xx) are fine; a 500 — an unexpected internal error — or a
//! panic is a finding.
//!
//! Input: `METHOD PATH\n` then `Name: value\n` lines, a blank line, and the body; the first byte
//! decides whether the session is attached.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    state: qalqan_server::AppState,
    cookie: String,
    csrf: String,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (state, cookie, csrf) = runtime.block_on(async {
            let store = qalqan_store::Store::open_sqlite(&dir.path().join("fuzz.db")).await.unwrap();
            store.migrate().await.unwrap();
            let actor = qalqan_domain::audit::Actor::cli("fuzz");
            let t = qalqan_store::NewTerritory {
                name: qalqan_domain::TerritoryName::parse("Astana").unwrap(),
                time_zone: "Asia/Almaty".parse().unwrap(),
                boundary: None,
            };
            store.add_territory(&t, &actor).await.unwrap();
            let login = qalqan_domain::account::Login::parse("root").unwrap();
            let password = qalqan_domain::account::NewPassword::parse("a long fuzzing passphrase", &login).unwrap();
            let user = qalqan_store::NewUser {
                login,
                display_name: "Root".into(),
                role: qalqan_domain::account::Role::Administrator,
                agency: None,
                password_hash: qalqan_server::auth::hash_password(&password).unwrap(),
                password_state: qalqan_store::PasswordState::Set,
            };
            store.add_user(&user, &actor).await.unwrap();
            let mut state = qalqan_server::AppState::new(store);
            state.sessions.attempts_per_minute = u32::MAX;
            let login = Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"login":"root","password":"a long fuzzing passphrase"}"#))
                .unwrap();
            let response = send(&state, login).await;
            let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            let me: serde_json::Value = serde_json::from_slice(&body).unwrap();
            (state, cookie, me["csrf_token"].as_str().unwrap().to_owned())
        });
        World { runtime, state, cookie, csrf, _dir: dir }
    })
}

async fn send(state: &qalqan_server::AppState, mut request: Request<Body>) -> axum::response::Response {
    request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 9))));
    match qalqan_server::router(state.clone()).oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let split = rest.windows(2).position(|w| w == b"\n\n").unwrap_or(rest.len());
    let (head, body) = (&rest[..split], rest.get(split + 2..).unwrap_or_default());
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let Some(first) = lines.next() else { return };
    let (method, path) = first.split_once(' ').unwrap_or(("GET", first));
    let path = if path.starts_with('/') { path.to_owned() } else { format!("/api/v1/{path}") };
    let mut builder = Request::builder().method(method).uri(path.as_str());
    for line in lines.take(16) {
        if let Some((k, v)) = line.split_once(':') {
            builder = builder.header(k.trim(), v.trim());
        }
    }
    let w = world();
    if flags & 1 == 1 {
        builder = builder.header("cookie", w.cookie.as_str()).header("x-csrf-token", w.csrf.as_str());
    }
    let Ok(request) = builder.body(Body::from(body.to_vec())) else { return };
    let response = w.runtime.block_on(send(&w.state, request));
    let status = response.status();
    assert!(status != 500, "{method} {path}: 500 internal error");
});
