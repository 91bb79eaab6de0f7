//! The minimal start page (server-rendered; the real UI comes with issue #4).

use axum::extract::State;
use axum::response::Html;

use crate::{ApiError, AppState};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

pub(crate) async fn index(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let territories = state.store.territories().await?;
    let mut rows = String::new();
    for t in &territories {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td><a href=\"/api/v1/territories/{}/stats\">JSON</a></td></tr>\n",
            escape(&t.name),
            escape(&t.time_zone),
            if t.has_boundary { "да / yes" } else { "нет / no" },
            t.districts,
            t.incidents,
            escape(&t.name).replace(' ', "%20"),
        ));
    }
    Ok(Html(format!(
        r#"<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Qalqan</title>
<style>body{{font-family:sans-serif;margin:2rem;color:#1b2733}}table{{border-collapse:collapse}}td,th{{padding:.3rem .8rem;border-bottom:1px solid #ccd}}.n{{text-align:right}}</style>
</head><body>
<h1>Qalqan — Қалқан</h1>
<p>Платформа общественной безопасности · Public-safety platform · version {version}</p>
<h2>Территории / Territories</h2>
<table><thead><tr><th>Название / Name</th><th>Часовой пояс / Time zone</th><th>Граница / Boundary</th><th>Районы / Districts</th><th>Происшествия / Incidents</th><th>Статистика</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p><a href="/api/v1/territories">/api/v1/territories</a> · <a href="/api/v1/health">/api/v1/health</a></p>
</body></html>
"#,
        version = env!("CARGO_PKG_VERSION"),
    )))
}
