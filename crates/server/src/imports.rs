//! `POST /api/v1/territories/{name}/imports`: the CLI's import over HTTP —
//! the same formats, mapping and validation, the same all-or-nothing rule,
//! and the row-level report (line, field, reason) as JSON.
//! `GET /api/v1/mappings`: the mappings shipped with Qalqan.

use std::net::SocketAddr;
use std::path::Path as FsPath;

use axum::Json;
use axum::extract::{ConnectInfo, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use qalqan_domain::TerritoryName;
use qalqan_domain::account::Role;
use qalqan_importer::{ImportError, InvalidRows, Staged};
use qalqan_ingest::{Mapping, ReadReport, RowError, SourceFile};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::scope::{Access, territory_access};
use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Mappings shipped with Qalqan: (name, TOML).
pub const BUILT_IN_MAPPINGS: &[(&str, &str)] = &[("toronto-mci", include_str!("../../../data/mappings/toronto-mci.toml"))];

/// Largest upload accepted (a city's yearly export is tens of MB).
pub const MAX_UPLOAD_BYTES: usize = 512 << 20;

/// Rejected rows listed in a response; all of them are counted.
const REJECTS_SHOWN: usize = 1000;

#[utoipa::path(get, path = "/api/v1/mappings", tag = "imports", summary = "Import mappings shipped with Qalqan", responses((status = 200, description = "Name and TOML text of each", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn mappings(CurrentSession(_): CurrentSession) -> Json<Value> {
    Json(Value::Array(BUILT_IN_MAPPINGS.iter().map(|(name, toml)| json!({"name": name, "toml": toml})).collect()))
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::BadRequest(m.into())
}

/// A file name safe to create in a private temporary directory: the last
/// path component, only ordinary characters.
fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next()?.trim();
    let clean: String = last.chars().filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ')).collect();
    (!clean.is_empty() && !clean.starts_with('.') && clean.len() <= 200).then_some(clean)
}

struct Upload {
    dir: tempfile::TempDir,
    file: std::path::PathBuf,
    file_name: String,
    mapping: String,
    policy: InvalidRows,
    dry_run: bool,
}

async fn read_upload(mut form: Multipart) -> Result<Upload, ApiError> {
    let dir = tempfile::Builder::new().prefix("qalqan-upload-").tempdir().map_err(|e| ApiError::Internal(e.to_string()))?;
    let (mut file, mut file_name, mut mapping) = (None, String::new(), None);
    let (mut policy, mut dry_run) = (InvalidRows::AbortFile, false);
    while let Some(mut field) = form.next_field().await.map_err(|e| bad(format!("the upload could not be read: {e}")))? {
        match field.name().unwrap_or_default() {
            "file" => {
                let original = field.file_name().unwrap_or_default().to_owned();
                file_name = safe_file_name(&original).ok_or_else(|| bad(format!("file name '{original}' is not usable")))?;
                let path = dir.path().join(&file_name);
                let mut out = tokio::fs::File::create(&path).await.map_err(|e| ApiError::Internal(e.to_string()))?;
                while let Some(chunk) = field.chunk().await.map_err(|e| bad(format!("the upload broke off: {e}")))? {
                    out.write_all(&chunk).await.map_err(|e| ApiError::Internal(e.to_string()))?;
                }
                out.flush().await.map_err(|e| ApiError::Internal(e.to_string()))?;
                file = Some(path);
            }
            "mapping" => mapping = Some(field.text().await.map_err(|e| bad(format!("mapping: {e}")))?),
            "mode" => {
                policy = match field.text().await.map_err(|e| bad(format!("mode: {e}")))?.as_str() {
                    "all_or_nothing" | "" => InvalidRows::AbortFile,
                    "skip_invalid" => InvalidRows::SetAside,
                    other => return Err(bad(format!("mode '{other}' must be all_or_nothing or skip_invalid"))),
                }
            }
            "dry_run" => dry_run = matches!(field.text().await.map_err(|e| bad(format!("dry_run: {e}")))?.as_str(), "true" | "1" | "on"),
            other => return Err(bad(format!("unknown form field '{other}' (expected file, mapping, mode, dry_run)"))),
        }
    }
    let file = file.ok_or_else(|| bad("no file: send the export as the form field 'file'"))?;
    let mapping =
        mapping.filter(|m| !m.trim().is_empty()).ok_or_else(|| bad("no mapping: send the TOML mapping as the form field 'mapping'"))?;
    Ok(Upload { dir, file, file_name, mapping, policy, dry_run })
}

fn reject_json(r: &RowError) -> Value {
    json!({"line": r.line, "field": r.field, "reason": r.reason, "value": r.record})
}

fn report_json(status: &str, file: &str, report: &ReadReport) -> serde_json::Map<String, Value> {
    let v = json!({
        "status": status,
        "file": file,
        "rows_read": report.rows_read,
        "rows_valid": report.rows_valid,
        "identical_in_file": report.rows_identical_in_file,
        "rejected": report.rejects.len(),
        "rejects_total": report.rejects.len(),
        "rejects": report.rejects.iter().take(REJECTS_SHOWN).map(reject_json).collect::<Vec<_>>(),
        "imported": 0, "already_present": 0, "districts_created": 0, "batch": null,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// The user-facing form of a file-level error: names the uploaded file, never the server's temporary path.
fn file_error(e: ImportError, dir: &FsPath) -> ApiError {
    match e {
        ImportError::File(e) => bad(e.to_string().replace(&format!("{}/", dir.display()), "")),
        ImportError::Store(e) => e.into(),
        other => ApiError::Internal(other.to_string()),
    }
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/imports", tag = "imports", summary = "Import an export (multipart: file, mapping, mode, dry_run) with the row-level report", params(("name" = String, Path, description = "Territory name")), request_body(content = String, content_type = "multipart/form-data", description = "Fields: file (.csv, .csv.gz, .geojson), mapping (TOML text), mode (all_or_nothing | skip_invalid), dry_run (true | false)"), responses((status = 200, description = "Imported, already imported, or checked: counts and rejected rows (line, field, reason)", body = serde_json::Value), (status = 422, description = "Invalid rows under all_or_nothing, or no valid row: nothing was written; the body is the same report", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    form: Multipart,
) -> Result<Response, ApiError> {
    if !matches!(session.user.role, Role::Administrator | Role::Analyst) {
        return Err(ApiError::Forbidden(format!("the {} role cannot import incidents", session.user.role)));
    }
    let name = TerritoryName::parse(&name).map_err(|e| bad(e.to_string()))?;
    let territory = state.store.territory(&name).await?;
    match territory_access(&session.user, territory.id) {
        Access::None => return Err(ApiError::NotFound(format!("territory '{name}' not found"))),
        Access::Districts(_) => return Err(ApiError::Forbidden(format!("importing into {name} needs access to the whole territory"))),
        Access::Whole => {}
    }
    let up = read_upload(form).await?;
    let mapping = Mapping::parse(&up.mapping, FsPath::new("mapping.toml")).map_err(|e| bad(e.to_string()))?;
    let source = SourceFile::open(&up.file, mapping.format).map_err(|e| file_error(e.into(), up.dir.path()))?.labelled(&up.file_name);
    let shown = up.file_name.clone();
    let strip = |mut m: serde_json::Map<String, Value>| {
        // Row errors name the file as uploaded.
        if let Some(Value::Array(rs)) = m.get_mut("rejects") {
            for r in rs.iter_mut() {
                if let Some(Value::String(reason)) = r.get_mut("reason") {
                    *reason = reason.replace(&format!("{}/", up.dir.path().display()), "");
                }
            }
        }
        m
    };
    if up.dry_run {
        let (territory, source, mapping) = (territory.clone(), source.clone(), mapping.clone());
        let report = tokio::task::spawn_blocking(move || qalqan_importer::check(&territory, &source, &mapping))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| file_error(e, up.dir.path()))?;
        let mut m = strip(report_json("checked", &shown, &report));
        m.insert("imported".into(), json!(0));
        return Ok(Json(Value::Object(m)).into_response());
    }
    let actor = crate::session::actor(&session, peer);
    let staged = qalqan_importer::stage(&state.store, &territory, &source, &mapping, up.policy, &actor, &|_, _| {})
        .await
        .map_err(|e| file_error(e, up.dir.path()))?;
    let body = match staged {
        Staged::AlreadyImported(batch) => {
            let mut m = report_json("already_imported", &shown, &ReadReport::default());
            m.insert("batch".into(), json!(batch.id.0));
            m.insert("rows_read".into(), json!(batch.rows_read));
            m.insert("already_present".into(), json!(batch.rows_imported));
            (StatusCode::OK, m)
        }
        Staged::Rejected(report) => (StatusCode::UNPROCESSABLE_ENTITY, strip(report_json("rejected", &shown, &report))),
        Staged::NoValidRows(report) => (StatusCode::UNPROCESSABLE_ENTITY, strip(report_json("rejected", &shown, &report))),
        Staged::Ready(ready) => {
            let districts_created = ready.districts_created();
            let mut m = strip(report_json("imported", &shown, &ready.report));
            let batch = ready.commit().await.map_err(|e| file_error(e, up.dir.path()))?;
            m.insert("batch".into(), json!(batch.id.0));
            m.insert("imported".into(), json!(batch.rows_imported));
            m.insert("already_present".into(), json!(batch.rows_already_present));
            m.insert("districts_created".into(), json!(districts_created));
            (StatusCode::OK, m)
        }
    };
    Ok((body.0, Json(Value::Object(body.1))).into_response())
}
