//! Cross-cutting HTTP concerns: a request id on every request and response,
//! one structured log line per request, and the security headers (HSTS when Qalqan is reached over
//! TLS, which `secure_cookie` declares).

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::random_bytes;

/// Header carrying the request id (accepted from a trusted proxy, else generated).
pub const REQUEST_ID: &str = "x-request-id";

const SECURITY_HEADERS: &[(&str, &str)] = &[
    // Scripts only from Qalqan itself (no inline scripts, nothing from elsewhere: the UI works offline);
    // the map library starts its workers from blob: URLs and draws canvases it may export as data:/blob: images.
    // Nothing may frame Qalqan.
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Largest total size of a request's headers (names and values) accepted, bytes: far above any
/// browser's (cookies included), far below what would let a client tie up memory.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Adds the request id, logs the request once, and sets the security headers; refuses requests
/// whose headers exceed [`MAX_HEADER_BYTES`] with 431.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let header_bytes: usize = req.headers().iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    if header_bytes > MAX_HEADER_BYTES {
        let body = axum::Json(
            serde_json::json!({"error": format!("request headers too large ({header_bytes} bytes; at most {MAX_HEADER_BYTES})")}),
        );
        let mut response = axum::response::IntoResponse::into_response((axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, body));
        for (name, value) in SECURITY_HEADERS {
            response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        tracing::info!(status = 431, bytes = header_bytes, "request refused: headers too large");
        return response;
    }
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_owned)
        .unwrap_or_else(|| random_bytes::<8>().map(|b| b.iter().map(|x| format!("{x:02x}")).collect()).unwrap_or_else(|_| "0".into()));
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let started = Instant::now();
    let mut response = next.run(req).await;
    let status = response.status().as_u16();
    // Paths only: query strings may carry filters or purposes that belong in the audit trail, not in logs.
    tracing::info!(request_id = %id, %method, %path, status, ms = started.elapsed().as_millis() as u64, "request");
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, v);
    }
    for (name, value) in SECURITY_HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

/// The framework refuses malformed paths, queries and bodies before a handler runs, in plain text;
/// every error of the API is `{"error": …}`, so those are rewritten into it (same status, same
/// words). Layered inside the compression, so it reads the body as the framework wrote it.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let plain =
        response.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/plain"));
    if !response.status().is_client_error() || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => parts.status.canonical_reason().unwrap_or("bad request").to_owned(),
    };
    let json = serde_json::json!({ "error": text }).to_string();
    parts.headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(json))
}

/// `Strict-Transport-Security` (one year, subdomains) when `tls` — Qalqan is reached over HTTPS,
/// as `secure_cookie = true` in the config declares; nothing over plain HTTP, where the header
/// would be meaningless (browsers ignore it there) and misleading.
pub async fn strict_transport(axum::extract::State(tls): axum::extract::State<bool>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if tls {
        response
            .headers_mut()
            .insert(HeaderName::from_static("strict-transport-security"), HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}
