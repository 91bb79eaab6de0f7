//! The web UI: the files of `web/dist`, embedded at build time (see
//! `build.rs`), served at `/` and `/assets/…`. The UI routes with the URL
//! fragment (`/#/map`), so the server only ever serves `index.html` and
//! hashed assets. For UI development, `QALQAN_WEB_DIR` serves a directory
//! from disk instead.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Where the UI's files come from.
#[derive(Debug, Clone, Default)]
pub enum WebAssets {
    /// Compiled into the binary (the default).
    #[default]
    Embedded,
    /// A directory on disk (`QALQAN_WEB_DIR`, for UI development).
    Directory(PathBuf),
}

impl WebAssets {
    /// `QALQAN_WEB_DIR` when set, else the embedded files.
    pub fn from_env() -> Self {
        match std::env::var_os("QALQAN_WEB_DIR") {
            Some(dir) if !dir.is_empty() => WebAssets::Directory(PathBuf::from(dir)),
            _ => WebAssets::Embedded,
        }
    }

    fn load(&self, rel: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
        // Only plain relative names: no `..`, no absolute paths, no hidden files.
        if rel.is_empty() || rel.split('/').any(|part| part.is_empty() || part.starts_with('.')) {
            return None;
        }
        match self {
            WebAssets::Embedded => embedded::ASSETS.iter().find(|(p, _)| *p == rel).map(|(_, b)| std::borrow::Cow::Borrowed(*b)),
            WebAssets::Directory(dir) => std::fs::read(dir.join(rel)).ok().map(std::borrow::Cow::Owned),
        }
    }
}

/// True when the binary carries a built UI.
pub fn has_embedded_ui() -> bool {
    embedded::ASSETS.iter().any(|(p, _)| *p == "index.html")
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Gzip forms of the embedded files (by index), made once on first demand.
static GZIPPED: OnceLock<Vec<OnceLock<Vec<u8>>>> = OnceLock::new();

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), flate2::Compression::best());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

fn respond(assets: &WebAssets, rel: &str, headers: &HeaderMap, cache: &'static str) -> Response {
    let Some(bytes) = assets.load(rel) else {
        return (StatusCode::NOT_FOUND, [(CONTENT_TYPE, "application/json")], r#"{"error":"no such page"}"#).into_response();
    };
    let ty = content_type(rel);
    let compressible = !matches!(ty, "image/png" | "font/woff2" | "application/octet-stream");
    let gzip_ok = headers.get_all(ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("gzip"));
    if compressible && gzip_ok && bytes.len() > 1024 {
        let headers = [(CONTENT_TYPE, ty), (CONTENT_ENCODING, "gzip"), (VARY, "accept-encoding"), (CACHE_CONTROL, cache)];
        let embedded_index = matches!(assets, WebAssets::Embedded).then(|| embedded::ASSETS.iter().position(|(p, _)| *p == rel)).flatten();
        return match embedded_index {
            Some(i) => {
                let slots = GZIPPED.get_or_init(|| embedded::ASSETS.iter().map(|_| OnceLock::new()).collect());
                let gz: &'static [u8] = slots[i].get_or_init(|| gzip(&bytes));
                (headers, gz).into_response()
            }
            None => (headers, gzip(&bytes)).into_response(),
        };
    }
    ([(CONTENT_TYPE, ty), (VARY, "accept-encoding"), (CACHE_CONTROL, cache)], bytes.into_owned()).into_response()
}

/// `GET /`: the UI's page (never cached: it names the current asset files).
pub(crate) async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if matches!(state.web, WebAssets::Embedded) && !has_embedded_ui() {
        return crate::page::fallback().into_response();
    }
    respond(&state.web, "index.html", &headers, "no-cache")
}

/// `GET /assets/{*path}`: content-hashed files, cached for a year.
pub(crate) async fn asset(State(state): State<AppState>, headers: HeaderMap, Path(path): Path<String>) -> Response {
    respond(&state.web, &format!("assets/{path}"), &headers, "public, max-age=31536000, immutable")
}

/// `GET /favicon.svg` (short cache: its name carries no hash).
pub(crate) async fn favicon(State(state): State<AppState>, headers: HeaderMap) -> Response {
    respond(&state.web, "favicon.svg", &headers, "public, max-age=3600")
}
