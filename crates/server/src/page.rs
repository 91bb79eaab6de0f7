//! The page served at `/` by a binary built without the web UI (`web/dist`
//! missing): it says so and points at the API. Nothing from the database.

use axum::response::Html;

pub(crate) fn fallback() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Qalqan</title></head><body>
<h1>Qalqan — Қалқан</h1>
<p>Этот бинарный файл собран без веб-интерфейса (нет web/dist). · This binary was built without the web UI (web/dist is missing): run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> and rebuild.</p>
<p>API: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> · <a href="/api/v1/health">/api/v1/health</a></p>
</body></html>
"#,
    )
}
