//! Protected facilities, required measures, threat levels and their checklists. One body of SQL
//! for both backends (as `coordination`), instantiated per backend by [`threat_fns!`].

use chrono::NaiveDate;
use qalqan_domain::facility::{EquipmentItem, FacilityCategory, NewFacility, RequiredMeasure, ThreatLevel};

use crate::StoreError;
use crate::coordination::date;

/// A stored facility.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityRecord {
    pub id: i64,
    pub facility: NewFacility,
}

/// A declared threat level.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    pub id: i64,
    pub territory_id: i64,
    pub level: ThreatLevel,
    pub starts_on: NaiveDate,
    /// `None`: until lifted.
    pub ends_on: Option<NaiveDate>,
    pub reason: String,
    pub declared_by: String,
    pub declared_at: i64,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<i64>,
}

impl Declaration {
    /// In force on `day`: started, not ended, not lifted.
    pub fn in_force(&self, day: NaiveDate) -> bool {
        self.lifted_at.is_none() && self.starts_on <= day && self.ends_on.is_none_or(|e| day <= e)
    }
}

/// One item of a declaration's checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistItem {
    pub id: i64,
    pub declaration_id: i64,
    /// `None`: for the police units.
    pub facility_id: Option<i64>,
    pub measure_code: String,
    pub text: String,
    pub done_by: Option<String>,
    pub done_at: Option<i64>,
    pub note: String,
}

pub(crate) type FacilityRow = (i64, String, String, String, String, f64, f64, Option<String>, Option<String>, String);

pub(crate) const FACILITY_COLUMNS: &str =
    "id, external_id, name, category, owner, lat, lon, passport_number, passport_valid_until, equipment";

pub(crate) fn facility_from_row(
    (id, ext, name, category, owner, lat, lon, passport, valid, equipment): FacilityRow,
) -> Result<FacilityRecord, StoreError> {
    let corrupt = |e: qalqan_domain::DomainError| StoreError::Corrupt { what: "facility", reason: e.to_string() };
    let equipment: Vec<EquipmentItem> =
        equipment.split(',').filter(|s| !s.is_empty()).map(str::parse).collect::<Result<_, _>>().map_err(corrupt)?;
    let facility = NewFacility::new(
        &ext,
        &name,
        category.parse().map_err(corrupt)?,
        &owner,
        qalqan_domain::Wgs84Point::new(lat, lon).map_err(corrupt)?,
        passport.as_deref(),
        valid.as_deref().map(date).transpose()?,
        &equipment,
    )
    .map_err(corrupt)?;
    Ok(FacilityRecord { id, facility })
}

pub(crate) fn equipment_text(f: &NewFacility) -> String {
    f.equipment.iter().map(|e| e.code()).collect::<Vec<_>>().join(",")
}

pub(crate) fn category_text(c: Option<FacilityCategory>) -> &'static str {
    c.map_or("", FacilityCategory::code)
}

pub(crate) fn measure_from_row((category, level, code, text): (String, String, String, String)) -> Result<RequiredMeasure, StoreError> {
    let corrupt = |e: qalqan_domain::DomainError| StoreError::Corrupt { what: "required measure", reason: e.to_string() };
    let category = if category.is_empty() { None } else { Some(category.parse().map_err(corrupt)?) };
    RequiredMeasure::new(category, level.parse().map_err(corrupt)?, &code, &text).map_err(corrupt)
}

pub(crate) type DeclarationRow = (i64, i64, String, String, Option<String>, String, String, i64, Option<String>, Option<i64>);

pub(crate) const DECLARATION_COLUMNS: &str =
    "id, territory_id, level, starts_on, ends_on, reason, declared_by, declared_at, lifted_by, lifted_at";

pub(crate) fn declaration_from_row(r: DeclarationRow) -> Result<Declaration, StoreError> {
    let (id, territory_id, level, starts_on, ends_on, reason, declared_by, declared_at, lifted_by, lifted_at) = r;
    Ok(Declaration {
        id,
        territory_id,
        level: level
            .parse()
            .map_err(|e: qalqan_domain::DomainError| StoreError::Corrupt { what: "threat level", reason: e.to_string() })?,
        starts_on: date(&starts_on)?,
        ends_on: ends_on.as_deref().map(date).transpose()?,
        reason,
        declared_by,
        declared_at,
        lifted_by,
        lifted_at,
    })
}

/// Generates the threat-level functions of one backend module (`Pool`, `Tx`, `write_tx`,
/// `append_audit`, `sql` in scope).
macro_rules! threat_fns {
    () => {
        use $crate::threat as th;

        pub(crate) async fn import_facilities(
            pool: &Pool,
            territory: i64,
            facilities: &[qalqan_domain::facility::NewFacility],
            audit: &NewAuditEntry,
        ) -> Result<$crate::RegisterImport, StoreError> {
            let mut tx = write_tx(pool).await?;
            let mut result = $crate::RegisterImport { added: 0, updated: 0 };
            for f in facilities {
                let exists: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT id FROM facilities WHERE territory_id = ? AND external_id = ?")))
                    .bind(territory)
                    .bind(&f.external_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_some() {
                    result.updated += 1;
                } else {
                    result.added += 1;
                }
                sqlx::query(sqlx::AssertSqlSafe(sql(
                    "INSERT INTO facilities (territory_id, external_id, name, category, owner, lat, lon, passport_number, passport_valid_until, equipment, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (territory_id, external_id) DO UPDATE SET name = excluded.name, category = excluded.category, owner = excluded.owner, \
                     lat = excluded.lat, lon = excluded.lon, passport_number = excluded.passport_number, \
                     passport_valid_until = excluded.passport_valid_until, equipment = excluded.equipment, updated_at = excluded.updated_at",
                )))
                .bind(territory)
                .bind(&f.external_id)
                .bind(&f.name)
                .bind(f.category.code())
                .bind(&f.owner)
                .bind(f.location.lat())
                .bind(f.location.lon())
                .bind(f.passport_number.as_deref())
                .bind(f.passport_valid_until.map(|d| d.to_string()))
                .bind(th::equipment_text(f))
                .bind(chrono::Utc::now().timestamp())
                .execute(&mut *tx)
                .await?;
            }
            let mut audit = audit.clone();
            audit.detail = serde_json::json!({"facilities": facilities.len(), "added": result.added, "updated": result.updated}).to_string();
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(result)
        }

        pub(crate) async fn facilities(pool: &Pool, territory: i64) -> Result<Vec<th::FacilityRow>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(&format!(
                "SELECT {} FROM facilities WHERE territory_id = ? ORDER BY external_id",
                th::FACILITY_COLUMNS
            ))))
            .bind(territory)
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn replace_measures(
            pool: &Pool,
            measures: &[qalqan_domain::facility::RequiredMeasure],
            audit: &NewAuditEntry,
        ) -> Result<u64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let old = sqlx::query("DELETE FROM required_measures").execute(&mut *tx).await?.rows_affected();
            for m in measures {
                sqlx::query(sqlx::AssertSqlSafe(sql("INSERT INTO required_measures (category, level, code, text) VALUES (?, ?, ?, ?)")))
                    .bind(th::category_text(m.category))
                    .bind(m.level.code())
                    .bind(&m.code)
                    .bind(&m.text)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, "required measure", &m.code))?;
            }
            let mut audit = audit.clone();
            audit.detail = serde_json::json!({"measures": measures.len(), "replaced": old}).to_string();
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(old)
        }

        pub(crate) async fn measures(pool: &Pool) -> Result<Vec<(String, String, String, String)>, StoreError> {
            Ok(sqlx::query_as("SELECT category, level, code, text FROM required_measures ORDER BY category, level, code").fetch_all(pool).await?)
        }

        /// Declares a level and writes its checklist in the same transaction; refused when its
        /// period overlaps another declaration of the territory that was not lifted.
        pub(crate) async fn declare(
            pool: &Pool,
            territory: i64,
            d: &th::Declaration,
            items: &[(Option<i64>, String, String)],
            audit: &NewAuditEntry,
        ) -> Result<i64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let overlapping: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT id FROM threat_levels WHERE territory_id = ? AND lifted_at IS NULL AND starts_on <= ? AND (ends_on IS NULL OR ends_on >= ?)",
            )))
            .bind(territory)
            .bind(d.ends_on.map_or_else(|| "9999-12-31".to_owned(), |e| e.to_string()))
            .bind(d.starts_on.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((a,)) = overlapping {
                return Err(StoreError::Conflict { what: "threat level over the same days (lift or shorten it first)", key: a.to_string() });
            }
            let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql(
                "INSERT INTO threat_levels (territory_id, level, starts_on, ends_on, reason, declared_by, declared_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )))
            .bind(territory)
            .bind(d.level.code())
            .bind(d.starts_on.to_string())
            .bind(d.ends_on.map(|e| e.to_string()))
            .bind(&d.reason)
            .bind(&audit.actor.name)
            .bind(chrono::Utc::now().timestamp())
            .fetch_one(&mut *tx)
            .await?;
            for (facility, code, text) in items {
                sqlx::query(sqlx::AssertSqlSafe(sql("INSERT INTO checklist_items (declaration_id, facility_id, measure_code, text) VALUES (?, ?, ?, ?)")))
                    .bind(id)
                    .bind(*facility)
                    .bind(code)
                    .bind(text)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut audit = audit.clone();
            audit.object = format!("threat_level:{id}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(id)
        }

        pub(crate) async fn declarations(pool: &Pool, territory: i64) -> Result<Vec<th::DeclarationRow>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(&format!(
                "SELECT {} FROM threat_levels WHERE territory_id = ? ORDER BY id",
                th::DECLARATION_COLUMNS
            ))))
            .bind(territory)
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn declaration(pool: &Pool, id: i64) -> Result<Option<th::DeclarationRow>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(&format!("SELECT {} FROM threat_levels WHERE id = ?", th::DECLARATION_COLUMNS))))
                .bind(id)
                .fetch_optional(pool)
                .await?)
        }

        /// Extends (a new end date) or lifts a declaration still in force.
        pub(crate) async fn change_declaration(
            pool: &Pool,
            id: i64,
            ends_on: Option<chrono::NaiveDate>,
            lift: bool,
            audit: &NewAuditEntry,
        ) -> Result<(), StoreError> {
            let mut tx = write_tx(pool).await?;
            let changed = if lift {
                sqlx::query(sqlx::AssertSqlSafe(sql("UPDATE threat_levels SET lifted_by = ?, lifted_at = ? WHERE id = ? AND lifted_at IS NULL")))
                    .bind(&audit.actor.name)
                    .bind(chrono::Utc::now().timestamp())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            } else {
                sqlx::query(sqlx::AssertSqlSafe(sql("UPDATE threat_levels SET ends_on = ? WHERE id = ? AND lifted_at IS NULL")))
                    .bind(ends_on.map(|e| e.to_string()))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            };
            if changed != 1 {
                return Err(StoreError::Conflict { what: "threat level (already lifted)", key: id.to_string() });
            }
            let mut audit = audit.clone();
            audit.object = format!("threat_level:{id}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn checklist(
            pool: &Pool,
            declaration: i64,
        ) -> Result<Vec<(i64, i64, Option<i64>, String, String, Option<String>, Option<i64>, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT id, declaration_id, facility_id, measure_code, text, done_by, done_at, note FROM checklist_items WHERE declaration_id = ? ORDER BY id",
            )))
            .bind(declaration)
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn check_item(pool: &Pool, item: i64, note: &str, audit: &NewAuditEntry) -> Result<(), StoreError> {
            let mut tx = write_tx(pool).await?;
            let changed = sqlx::query(sqlx::AssertSqlSafe(sql(
                "UPDATE checklist_items SET done_by = ?, done_at = ?, note = ? WHERE id = ? AND done_at IS NULL",
            )))
            .bind(&audit.actor.name)
            .bind(chrono::Utc::now().timestamp())
            .bind(note)
            .bind(item)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict { what: "checklist item (absent or done)", key: item.to_string() });
            }
            let mut audit = audit.clone();
            audit.object = format!("checklist_item:{item}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(())
        }
    };
}

pub(crate) use threat_fns;
