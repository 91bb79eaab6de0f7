//! Computed responses kept while the data behind them is unchanged.
//!
//! An aggregate (a hotspot map, territory statistics, a time pattern, a
//! CompStat table) is a pure function of the territory's data and the query,
//! so every user with access to the whole territory gets the same bytes: the
//! key holds the territory's data version, which every import changes. The
//! gzip form is made once, at the best level, and both forms are shared
//! (`Bytes`), never copied per request. Each response carries an `ETag`, so
//! a browser asking again gets `304 Not Modified`.
//!
//! Scope is checked before the cache is consulted. Incident-level detail (the
//! point layer) is kept per scope on the server only, never in the browser,
//! and every read of it is audited whether it came from the cache or not.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A computed response: body, content type, its gzip form made once on first demand, and its entity tag.
#[derive(Debug)]
pub struct CachedBody {
    body: Bytes,
    content_type: &'static str,
    etag: String,
    gzip: OnceLock<Bytes>,
    /// Incident-level detail: the browser must not keep it (`no-store`, no entity tag).
    detail: bool,
}

impl CachedBody {
    /// `key` identifies the response (and so its data version): its hash is the entity tag.
    pub fn new(key: String, body: String, content_type: &'static str) -> Arc<Self> {
        let digest = Sha256::digest(key.as_bytes());
        let etag = format!("\"{}\"", digest[..12].iter().map(|b| format!("{b:02x}")).collect::<String>());
        Arc::new(Self { body: Bytes::from(body), content_type, etag, gzip: OnceLock::new(), detail: false })
    }

    /// Incident-level detail kept on the server only: answered with `Cache-Control: no-store` and no entity tag.
    pub fn detail(body: Vec<u8>, content_type: &'static str) -> Arc<Self> {
        Arc::new(Self { body: Bytes::from(body), content_type, etag: String::new(), gzip: OnceLock::new(), detail: true })
    }

    /// Size kept in memory (the gzip form, when made, is about a tenth more).
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// The body as stored (uncompressed).
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// The response: `304` when the client holds this version, else the body,
    /// gzip-compressed when the client accepts it.
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        if self.detail {
            let common = [(VARY, "accept-encoding, cookie"), (CACHE_CONTROL, "no-store")];
            return match self.gzipped(headers) {
                Some(gz) => (common, [(CONTENT_TYPE, self.content_type), (CONTENT_ENCODING, "gzip")], gz).into_response(),
                None => (common, [(CONTENT_TYPE, self.content_type)], self.body.clone()).into_response(),
            };
        }
        // Shared aggregates, but only for logged-in users: the browser may keep them, proxies may not.
        let common = [(VARY, "accept-encoding, cookie"), (CACHE_CONTROL, "private, no-cache")];
        let held =
            headers.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).any(|v| v.split(',').any(|t| t.trim() == self.etag));
        if held {
            return (StatusCode::NOT_MODIFIED, common, [(ETAG, self.etag.as_str())]).into_response();
        }
        match self.gzipped(headers) {
            Some(gz) => {
                (common, [(CONTENT_TYPE, self.content_type), (CONTENT_ENCODING, "gzip"), (ETAG, self.etag.as_str())], gz).into_response()
            }
            None => (common, [(CONTENT_TYPE, self.content_type), (ETAG, self.etag.as_str())], self.body.clone()).into_response(),
        }
    }

    /// The gzip form (made once, at the best level) when the client accepts it and it pays.
    fn gzipped(&self, headers: &HeaderMap) -> Option<Bytes> {
        let gzip_ok = headers.get_all(ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("gzip"));
        if !gzip_ok || self.body.len() <= 1024 {
            return None;
        }
        let gz = self.gzip.get_or_init(|| {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(self.body.len() / 8), flate2::Compression::best());
            let _ = enc.write_all(&self.body);
            Bytes::from(enc.finish().unwrap_or_default())
        });
        (!gz.is_empty()).then(|| gz.clone())
    }
}

/// Computed responses by key, least recently used first out beyond `max_bytes`.
#[derive(Debug)]
pub struct ResponseCache {
    max_bytes: usize,
    entries: Mutex<Vec<(String, Arc<CachedBody>)>>,
}

impl Default for ResponseCache {
    /// 256 MiB.
    fn default() -> Self {
        Self { max_bytes: 256 << 20, entries: Default::default() }
    }
}

impl ResponseCache {
    pub fn get(&self, key: &str) -> Option<Arc<CachedBody>> {
        let mut entries = self.entries.lock().ok()?;
        let pos = entries.iter().position(|(k, _)| k == key)?;
        let entry = entries.remove(pos);
        let value = entry.1.clone();
        entries.push(entry); // most recently used last
        Some(value)
    }

    pub fn put(&self, key: String, value: Arc<CachedBody>) {
        let Ok(mut entries) = self.entries.lock() else { return };
        entries.retain(|(k, _)| *k != key);
        entries.push((key, value));
        while entries.iter().map(|(_, v)| v.len()).sum::<usize>() > self.max_bytes && entries.len() > 1 {
            entries.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_evicts_the_least_recently_used_beyond_its_budget() {
        let cache = ResponseCache { max_bytes: 10, entries: Default::default() };
        let v = |s: &str| CachedBody::new(s.to_owned(), s.to_owned(), "text/plain");
        cache.put("a".into(), v("aaaa"));
        cache.put("b".into(), v("bbbb"));
        assert!(cache.get("a").is_some()); // a is now the most recent
        cache.put("c".into(), v("cccc")); // 12 bytes > 10: evict b
        assert!(cache.get("b").is_none());
        assert_eq!(cache.get("a").unwrap().body, "aaaa");
        assert_eq!(cache.get("c").unwrap().body, "cccc");
    }

    #[test]
    fn a_client_holding_the_version_gets_304() {
        let body = CachedBody::new("k1".into(), "x".repeat(5000), "application/json");
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, "gzip".parse().unwrap());
        let first = body.respond(&h);
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[CONTENT_ENCODING], "gzip");
        let etag = first.headers()[ETAG].clone();
        h.insert(IF_NONE_MATCH, etag);
        assert_eq!(body.respond(&h).status(), StatusCode::NOT_MODIFIED);
        let other = CachedBody::new("k2".into(), "x".repeat(5000), "application/json");
        assert_eq!(other.respond(&h).status(), StatusCode::OK, "another version is sent in full");
    }
}
