//! One suite, two backends: every test runs on SQLite (a temp file) and on
//! PostgreSQL (a private schema on the server at 127.0.0.1:5432, dropped
//! afterwards). Set QALQAN_TEST_POSTGRES_URL to use another server, or
//! QALQAN_TEST_POSTGRES=skip to run the SQLite half only.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{TimeZone, Utc};
use geo_types::{MultiPolygon, polygon};
use qalqan_domain::audit::{Actor, ChainBreak, NewAuditEntry};
use qalqan_domain::{
    DistrictName, DistrictRef, NewIncident, OccurredAt, OffenceCategory, RowKey, Sha256Hex, Territory, TerritoryName, Wgs84Point,
};
use qalqan_store::{IncidentFilter, NewBatch, NewDistrict, NewTerritory, ReaderCounts, Store, StoreError, TableCounts};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

fn pg_url() -> Option<String> {
    if std::env::var("QALQAN_TEST_POSTGRES").as_deref() == Ok("skip") {
        return None;
    }
    Some(std::env::var("QALQAN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned()))
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("t.db")).await.unwrap();
    store.migrate().await.unwrap();
    let result = tokio::spawn(test(store)).await;
    drop(dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = pg_url() else { return };
    let schema =
        format!("qalqan_test_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), Utc::now().timestamp_micros());
    let store = Store::connect_postgres_schema(&url, &schema)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed for these tests ({e}); set QALQAN_TEST_POSTGRES=skip to skip them"));
    store.migrate().await.unwrap();
    let result = tokio::spawn(test(store.clone())).await;
    store.close().await;
    qalqan_store::drop_postgres_schema(&url, &schema).await.unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares `#[tokio::test]`s running `$body(store)` on each backend.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::on_sqlite(super::$name).await
            }
            #[tokio::test]
            async fn postgres() {
                super::on_postgres(super::$name).await
            }
        }
    };
}

fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![(x: x, y: y), (x: x + side, y: y), (x: x + side, y: y + side), (x: x, y: y + side)]])
}

async fn astana(store: &Store) -> Territory {
    let t = NewTerritory {
        name: TerritoryName::parse("Astana").unwrap(),
        time_zone: "Asia/Almaty".parse().unwrap(),
        boundary: Some(square(71.0, 51.0, 1.0)),
    };
    store.add_territory(&t, &actor()).await.unwrap();
    store.territory(&t.name).await.unwrap()
}

fn incident(key: u8, category: OffenceCategory, day: u32, district: Option<DistrictRef>) -> NewIncident {
    let tz: chrono_tz::Tz = "Asia/Almaty".parse().unwrap();
    NewIncident {
        row_key: RowKey([key; 16]),
        source_line: u64::from(key) + 1,
        external_id: None,
        category,
        subcategory: None,
        occurred: OccurredAt::in_hour(chrono::NaiveDate::from_ymd_opt(2024, 1 + day / 28, 1 + day % 28).unwrap(), 12, tz).unwrap(),
        location: Wgs84Point::new(51.1, 71.4).unwrap(),
        district,
        premises: Some("street".into()),
    }
}

fn actor() -> Actor {
    Actor::cli("analyst")
}

fn batch(checksum_byte: char) -> NewBatch {
    NewBatch {
        file_name: "export.csv".into(),
        checksum: Sha256Hex::parse(&checksum_byte.to_string().repeat(64)).unwrap(),
        format: "csv".into(),
        actor: actor(),
    }
}

async fn migrations_are_idempotent(store: Store) {
    let again = store.migrate().await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.current, 20);
    assert_eq!(store.table_counts().await.unwrap(), TableCounts::default());
}
on_both!(migrations_are_idempotent);

async fn territory_round_trips_with_boundary_and_nested_districts(store: Store) {
    let t = astana(&store).await;
    assert_eq!(t.time_zone.name(), "Asia/Almaty");
    assert!(t.covers(Wgs84Point::new(51.5, 71.5).unwrap()));
    assert!(!t.covers(Wgs84Point::new(43.2, 76.9).unwrap()));
    let districts = vec![
        NewDistrict { name: DistrictName::parse("Yesil").unwrap(), parent: None, boundary: Some(square(71.0, 51.0, 0.5)) },
        NewDistrict {
            name: DistrictName::parse("Yesil-3").unwrap(),
            parent: Some(DistrictName::parse("Yesil").unwrap()),
            boundary: Some(square(71.1, 51.1, 0.1)),
        },
    ];
    store.add_districts(t.id, &districts, &actor()).await.unwrap();
    let t = store.territory(&t.name).await.unwrap();
    assert_eq!(t.districts.len(), 2);
    let inner = t.district_by_name("Yesil-3").unwrap();
    assert_eq!(inner.parent, Some(t.district_by_name("Yesil").unwrap().id));
    assert_eq!(t.locate_district(Wgs84Point::new(51.15, 71.15).unwrap()), Some(inner.id));

    let list = store.territories().await.unwrap();
    assert_eq!((list.len(), list[0].districts, list[0].has_boundary), (1, 2, true));
}
on_both!(territory_round_trips_with_boundary_and_nested_districts);

async fn duplicate_names_conflict_and_leave_nothing_behind(store: Store) {
    let t = astana(&store).await;
    let again = NewTerritory { name: t.name.clone(), time_zone: t.time_zone, boundary: None };
    assert!(matches!(store.add_territory(&again, &actor()).await, Err(StoreError::Conflict { what: "territory", .. })));
    let d = |n: &str| NewDistrict { name: DistrictName::parse(n).unwrap(), parent: None, boundary: None };
    let err = store.add_districts(t.id, &[d("Almaty"), d("Baikonyr"), d("Almaty")], &actor()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { what: "district", .. }), "{err}");
    assert_eq!(store.table_counts().await.unwrap().districts, 0, "district import is all or nothing");
    let missing_parent =
        NewDistrict { name: DistrictName::parse("X").unwrap(), parent: Some(DistrictName::parse("Nowhere").unwrap()), boundary: None };
    assert!(matches!(store.add_districts(t.id, &[missing_parent], &actor()).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.territory(&TerritoryName::parse("Atlantis").unwrap()).await, Err(StoreError::NotFound { .. })));
}
on_both!(duplicate_names_conflict_and_leave_nothing_behind);

async fn a_rolled_back_or_dropped_import_leaves_no_trace(store: Store) {
    let t = astana(&store).await;
    let before = store.table_counts().await.unwrap();
    let new_district = Some(DistrictRef::New(DistrictName::parse("Nura").unwrap()));
    let mut tx = store.begin_import(&t, &batch('a')).await.unwrap();
    tx.insert(&[incident(1, OffenceCategory::Theft, 1, new_district.clone())]).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.table_counts().await.unwrap(), before);

    let mut tx = store.begin_import(&t, &batch('a')).await.unwrap();
    tx.insert(&[incident(1, OffenceCategory::Theft, 1, new_district)]).await.unwrap();
    drop(tx); // as when the process dies mid-import
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(store.table_counts().await.unwrap(), before);
    assert!(store.batch_by_checksum(t.id, &batch('a').checksum).await.unwrap().is_none());
}
on_both!(a_rolled_back_or_dropped_import_leaves_no_trace);

async fn reimported_rows_are_skipped_and_counted(store: Store) {
    let t = astana(&store).await;
    let rows: Vec<NewIncident> = (0..10).map(|k| incident(k, OffenceCategory::Theft, u32::from(k), None)).collect();
    let mut tx = store.begin_import(&t, &batch('a')).await.unwrap();
    let first = tx.insert(&rows).await.unwrap();
    assert_eq!((first.inserted, first.already_present), (10, 0));
    let b = tx.commit(ReaderCounts { rows_read: 10, ..Default::default() }).await.unwrap();
    assert_eq!((b.rows_read, b.rows_imported, b.imported_by.as_str()), (10, 10, "analyst"));

    // The same file again is refused by checksum; a new file overlapping it adds only new rows.
    assert!(matches!(store.begin_import(&t, &batch('a')).await, Err(StoreError::Conflict { .. })));
    let mut overlap: Vec<NewIncident> = rows[5..].to_vec();
    overlap.extend((10..13).map(|k| incident(k, OffenceCategory::Robbery, 3, None)));
    let mut tx = store.begin_import(&t, &batch('b')).await.unwrap();
    let second = tx.insert(&overlap).await.unwrap();
    assert_eq!((second.inserted, second.already_present), (3, 5));
    let b2 = tx.commit(ReaderCounts { rows_read: 8, ..Default::default() }).await.unwrap();
    assert_eq!((b2.rows_imported, b2.rows_already_present), (3, 5));
    assert_eq!(store.table_counts().await.unwrap().incidents, 13);
    let batches = store.batches(t.id).await.unwrap();
    assert_eq!(batches.iter().map(|b| b.rows_imported).collect::<Vec<_>>(), vec![10, 3]);
    assert_eq!(store.batch_by_checksum(t.id, &batch('a').checksum).await.unwrap().unwrap().id, b.id);
    assert_eq!(store.check_integrity().await.unwrap(), 0);
}
on_both!(reimported_rows_are_skipped_and_counted);

async fn large_chunks_insert_completely(store: Store) {
    let t = astana(&store).await;
    let rows: Vec<NewIncident> = (0..2_500u32)
        .map(|k| {
            let mut i = incident(0, OffenceCategory::Assault, k % 300, None);
            i.row_key = RowKey([(k % 256) as u8, (k / 256) as u8, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
            i
        })
        .collect();
    let mut tx = store.begin_import(&t, &batch('c')).await.unwrap();
    assert_eq!(tx.insert(&rows).await.unwrap().inserted, 2_500);
    tx.commit(ReaderCounts::default()).await.unwrap();
    assert_eq!(store.table_counts().await.unwrap().incidents, 2_500);
}
on_both!(large_chunks_insert_completely);

async fn stats_count_by_category_month_and_district_with_filters(store: Store) {
    let t = astana(&store).await;
    let yesil = Some(DistrictRef::New(DistrictName::parse("Yesil").unwrap()));
    let rows = vec![
        incident(1, OffenceCategory::Theft, 0, yesil.clone()), // 2024-01-01
        incident(2, OffenceCategory::Theft, 5, yesil.clone()), // 2024-01-06
        incident(3, OffenceCategory::Burglary, 30, None),      // 2024-02-03
        incident(4, OffenceCategory::Theft, 60, yesil),        // 2024-03-05
    ];
    let mut tx = store.begin_import(&t, &batch('d')).await.unwrap();
    tx.insert(&rows).await.unwrap();
    assert_eq!(tx.districts_created(), 1);
    tx.commit(ReaderCounts::default()).await.unwrap();

    let all = IncidentFilter { territory: t.id, from: None, to: None, category: None };
    let s = store.incident_stats(&all).await.unwrap();
    assert_eq!(s.total, 4);
    assert_eq!(s.by_category, vec![("theft".into(), 3), ("burglary".into(), 1)]);
    assert_eq!(s.by_month, vec![(202401, 2), (202402, 1), (202403, 1)]);
    assert_eq!(s.by_district, vec![(Some("Yesil".into()), 3), (None, 1)]);

    let feb = IncidentFilter {
        from: Some(Utc.with_ymd_and_hms(2024, 1, 31, 19, 0, 0).unwrap()), // 2024-02-01 00:00 in Astana
        to: Some(Utc.with_ymd_and_hms(2024, 3, 31, 19, 0, 0).unwrap()),
        category: Some(OffenceCategory::Theft),
        ..all
    };
    let s = store.incident_stats(&feb).await.unwrap();
    assert_eq!((s.total, s.by_month.clone()), (1, vec![(202403, 1)]));

    let records = store.incident_records(&all).await.unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].location, rows[0].location);
    assert_eq!((records[0].start, records[0].end), (rows[0].occurred.start(), rows[0].occurred.end()));
    assert_eq!(records[0].precision, qalqan_domain::TimePrecision::Hour);
    assert_eq!(records[2].category, OffenceCategory::Burglary);
    assert!(records[0].district.is_some() && records[2].district.is_none());
    assert_eq!(store.incident_records(&feb).await.unwrap().len(), 1);
}
on_both!(stats_count_by_category_month_and_district_with_filters);

async fn integrity_check_finds_incidents_pointing_at_missing_parents(store: Store) {
    let t = astana(&store).await;
    let mut tx = store.begin_import(&t, &batch('e')).await.unwrap();
    let good = incident(1, OffenceCategory::Theft, 1, Some(DistrictRef::New(DistrictName::parse("Nura").unwrap())));
    tx.insert(&[good]).await.unwrap();
    tx.commit(ReaderCounts::default()).await.unwrap();
    assert_eq!(store.check_integrity().await.unwrap(), 0);

    // A caller that passes a district id the territory does not have.
    let mut tx = store.begin_import(&t, &batch('f')).await.unwrap();
    tx.insert(&[incident(2, OffenceCategory::Theft, 1, Some(DistrictRef::Known(qalqan_domain::DistrictId(999_999))))]).await.unwrap();
    tx.commit(ReaderCounts::default()).await.unwrap();
    assert_eq!(store.check_integrity().await.unwrap(), 1);
}
on_both!(integrity_check_finds_incidents_pointing_at_missing_parents);

async fn every_write_is_in_the_audit_chain_in_order(store: Store) {
    let t = astana(&store).await;
    let d = NewDistrict { name: DistrictName::parse("Yesil").unwrap(), parent: None, boundary: None };
    store.add_districts(t.id, &[d], &actor()).await.unwrap();
    let mut tx = store.begin_import(&t, &batch('a')).await.unwrap();
    tx.insert(&[incident(1, OffenceCategory::Theft, 1, None)]).await.unwrap();
    let b = tx.commit(ReaderCounts { rows_read: 1, ..Default::default() }).await.unwrap();
    // A rolled-back import leaves no audit entry either.
    let tx = store.begin_import(&t, &batch('b')).await.unwrap();
    tx.rollback().await.unwrap();

    let entries = store.audit_entries(0, 100).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["territory.add", "territory.districts", "import.incidents"]);
    assert_eq!(entries[2].object, format!("batch:{}", b.id.0));
    assert!(entries[2].detail.contains("\"imported\":1"), "{}", entries[2].detail);
    assert_eq!((entries[0].actor.as_str(), entries[0].origin.as_str()), ("analyst", "cli"));
    let (count, verdict) = store.verify_audit().await.unwrap();
    assert_eq!((count, verdict), (3, Ok(entries[2].hash.clone())));

    let extra = NewAuditEntry {
        actor: actor(),
        action: "incident.read".into(),
        object: "incident:1".into(),
        detail: "{}".into(),
        purpose: Some("court request 17".into()),
    };
    let e = store.audit(&extra).await.unwrap();
    assert_eq!((e.id, e.prev_hash.clone()), (4, entries[2].hash.clone()));
    assert_eq!(store.audit_entries(3, 10).await.unwrap(), vec![e]);
}
on_both!(every_write_is_in_the_audit_chain_in_order);

async fn the_audit_log_refuses_changes_and_verify_finds_tampering(store: Store) {
    astana(&store).await;
    for i in 0..4 {
        let e = NewAuditEntry { actor: actor(), action: "test".into(), object: format!("x:{i}"), detail: "{}".into(), purpose: None };
        store.audit(&e).await.unwrap();
    }
    let (tamper_sql, delete_sql, unprotect): (&str, &str, &str) = match &store {
        Store::Sqlite(_) => (
            "UPDATE audit_log SET actor = 'intruder' WHERE id = 3",
            "DELETE FROM audit_log WHERE id = 2",
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete",
        ),
        Store::Postgres(_) => (
            "UPDATE audit_log SET actor = 'intruder' WHERE id = 3",
            "DELETE FROM audit_log WHERE id = 2",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        ),
    };
    let run = |sql: &'static str| {
        let store = store.clone();
        async move {
            match &store {
                Store::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
                Store::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
            }
        }
    };
    let refused = run(tamper_sql).await.unwrap_err().to_string();
    assert!(refused.contains("append-only"), "{refused}");
    assert!(run(delete_sql).await.is_err());
    assert!(store.verify_audit().await.unwrap().1.is_ok());

    // Someone with direct database access disables the protection and edits a row …
    run(unprotect).await.unwrap();
    run(tamper_sql).await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap().1, Err(ChainBreak::Altered { id: 3 }));
    // … or deletes one.
    run(delete_sql).await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap().1, Err(ChainBreak::Gap { after: 1, next: 3 }));
}
on_both!(the_audit_log_refuses_changes_and_verify_finds_tampering);

async fn accounts_are_created_scoped_disabled_and_reset_with_audit(store: Store) {
    use qalqan_domain::account::{Login, Role};
    use qalqan_store::{AccountState, NewUser, PasswordState};
    let t = astana(&store).await;
    let login = Login::parse("a.kassymova").unwrap();
    let user = NewUser {
        login: login.clone(),
        display_name: "Aigerim Kassymova".into(),
        role: Role::Analyst,
        agency: Some("Astana Police Department".into()),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        password_state: PasswordState::MustChange,
    };
    store.add_user(&user, &actor()).await.unwrap();
    assert!(matches!(store.add_user(&user, &actor()).await, Err(StoreError::Conflict { what: "user", .. })));
    store.grant_scope(&login, t.id, None, &actor()).await.unwrap();
    store.grant_scope(&login, t.id, None, &actor()).await.unwrap(); // idempotent

    let u = store.user(&login).await.unwrap().unwrap();
    assert_eq!(
        (u.role, u.agency.as_deref(), u.state, u.password_state),
        (Role::Analyst, Some("Astana Police Department"), AccountState::Active, PasswordState::MustChange)
    );
    assert_eq!(u.scopes, vec![(t.id, None)]);

    store.set_account_state(&login, AccountState::Disabled, &actor()).await.unwrap();
    store.set_password(&login, "$argon2id$new", PasswordState::Set, None, &actor()).await.unwrap();
    let u = store.user(&login).await.unwrap().unwrap();
    assert_eq!((u.state, u.password_state, u.password_hash.as_str()), (AccountState::Disabled, PasswordState::Set, "$argon2id$new"));
    assert!(store.user(&Login::parse("nobody").unwrap()).await.unwrap().is_none());
    assert!(matches!(
        store.set_account_state(&Login::parse("nobody").unwrap(), AccountState::Active, &actor()).await,
        Err(StoreError::NotFound { .. })
    ));

    let actions: Vec<String> = store.audit_entries(0, 100).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions, vec!["territory.add", "user.add", "user.scope", "user.disable", "user.password"]);
    let entries = store.audit_entries(0, 100).await.unwrap();
    assert!(entries.iter().all(|e| !e.detail.contains("argon2")), "password hashes never reach the audit trail");
    assert!(store.verify_audit().await.unwrap().1.is_ok());
}
on_both!(accounts_are_created_scoped_disabled_and_reset_with_audit);

async fn sessions_live_until_revoked_expired_or_the_account_is_disabled(store: Store) {
    use qalqan_domain::account::{Login, Role};
    use qalqan_store::{AccountState, NewUser, PasswordState};
    let login = Login::parse("inspector7").unwrap();
    let new = NewUser {
        login: login.clone(),
        display_name: "Inspector".into(),
        role: Role::DistrictInspector,
        agency: None,
        password_hash: "h".into(),
        password_state: PasswordState::Set,
    };
    store.add_user(&new, &actor()).await.unwrap();
    assert!(store.has_users().await.unwrap());
    let user = store.user(&login).await.unwrap().unwrap();
    let later = Utc::now() + chrono::Duration::hours(1);
    store.create_session(&user, "hash-a", "csrf-a", later, &actor()).await.unwrap();
    store.create_session(&user, "hash-b", "csrf-b", Utc::now() - chrono::Duration::seconds(1), &actor()).await.unwrap();
    let a = store.session("hash-a").await.unwrap().unwrap();
    assert_eq!((a.csrf_token.as_str(), a.user.login.as_str()), ("csrf-a", "inspector7"));
    assert!(store.session("hash-b").await.unwrap().is_none(), "expired");
    assert!(store.session("nope").await.unwrap().is_none());

    // A password change from session a keeps a and ends the others.
    store.create_session(&user, "hash-c", "csrf-c", later, &actor()).await.unwrap();
    store.set_password(&login, "h2", PasswordState::Set, Some(a.id), &actor()).await.unwrap();
    assert!(store.session("hash-a").await.unwrap().is_some());
    assert!(store.session("hash-c").await.unwrap().is_none());
    store.revoke_session(&a, &actor()).await.unwrap();
    assert!(store.session("hash-a").await.unwrap().is_none());

    // Lockout after three failures with lock_after = 3; counters reset by a successful login.
    let mut u = store.user(&login).await.unwrap().unwrap();
    for expected in [None, None] {
        assert_eq!(store.login_failed(&u, 3, chrono::Duration::minutes(15), &actor()).await.unwrap(), expected);
        u = store.user(&login).await.unwrap().unwrap();
    }
    assert_eq!(u.failed_logins, 2);
    let until = store.login_failed(&u, 3, chrono::Duration::minutes(15), &actor()).await.unwrap().unwrap();
    let u = store.user(&login).await.unwrap().unwrap();
    assert!(u.locked_until.unwrap() > Utc::now() && (u.locked_until.unwrap() - until).num_seconds().abs() <= 1);
    store.create_session(&u, "hash-d", "csrf-d", later, &actor()).await.unwrap();
    let u = store.user(&login).await.unwrap().unwrap();
    assert_eq!((u.failed_logins, u.locked_until), (0, None));

    store.set_account_state(&login, AccountState::Disabled, &actor()).await.unwrap();
    assert!(store.session("hash-d").await.unwrap().is_none(), "disabling ends sessions");
    assert!(store.verify_audit().await.unwrap().1.is_ok());
}
on_both!(sessions_live_until_revoked_expired_or_the_account_is_disabled);

async fn administration_lists_and_ends_sessions_sets_scopes_and_searches_the_audit_trail(store: Store) {
    use qalqan_domain::account::{Login, Role};
    use qalqan_store::{NewUser, PasswordState, SessionsOf};
    let t = astana(&store).await;
    let ids = store
        .add_districts(t.id, &[NewDistrict { name: DistrictName::parse("Yesil").unwrap(), parent: None, boundary: None }], &actor())
        .await
        .unwrap();
    let login = Login::parse("cmd.astana").unwrap();
    let new = NewUser {
        login: login.clone(),
        display_name: "Commander".into(),
        role: Role::Commander,
        agency: Some("DP Astana".into()),
        password_hash: "h".into(),
        password_state: PasswordState::Set,
    };
    store.add_user(&new, &actor()).await.unwrap();
    store.add_agency("Akimat", &actor()).await.unwrap();
    assert!(matches!(store.add_agency("Akimat", &actor()).await, Err(StoreError::Conflict { what: "agency", .. })));
    assert_eq!(store.agencies().await.unwrap(), vec![("Akimat".to_owned(), 0), ("DP Astana".to_owned(), 1)]);

    store.set_scopes(&login, &[(t.id, None), (t.id, Some(ids[0]))], &actor()).await.unwrap();
    assert_eq!(store.user(&login).await.unwrap().unwrap().scopes.len(), 2);
    store.set_scopes(&login, &[(t.id, Some(ids[0]))], &actor()).await.unwrap();
    assert_eq!(store.user(&login).await.unwrap().unwrap().scopes, vec![(t.id, Some(ids[0]))], "replaced, not added");

    let user = store.user(&login).await.unwrap().unwrap();
    let later = Utc::now() + chrono::Duration::hours(1);
    let a = store.create_session(&user, "hash-1", "c1", later, &actor()).await.unwrap();
    store.create_session(&user, "hash-2", "c2", later, &actor()).await.unwrap();
    store.create_session(&user, "hash-3", "c3", Utc::now() - chrono::Duration::seconds(1), &actor()).await.unwrap();
    let live = store.live_sessions().await.unwrap();
    assert_eq!(live.len(), 2, "the expired one is not live");
    assert!(live.iter().all(|s| s.login == "cmd.astana" && s.expires_at > Utc::now() && s.created_at <= Utc::now()));
    assert_eq!(store.revoke_sessions(SessionsOf::Id(a), &actor()).await.unwrap(), 1);
    assert!(store.session("hash-1").await.unwrap().is_none());
    assert!(store.session("hash-2").await.unwrap().is_some());
    assert_eq!(store.revoke_sessions(SessionsOf::User(&login), &actor()).await.unwrap(), 1);
    assert!(store.live_sessions().await.unwrap().is_empty());

    let newest = store.audit_search(None, 3, "", "").await.unwrap();
    assert_eq!(newest.len(), 3);
    assert!(newest[0].id > newest[1].id && newest[1].id > newest[2].id, "newest first");
    assert_eq!(newest[0].action, "session.revoke");
    let revokes = store.audit_search(None, 100, "REVOKE", "").await.unwrap();
    assert_eq!(revokes.len(), 2, "case-insensitive substring of the action");
    let older = store.audit_search(Some(revokes[0].id), 100, "revoke", "").await.unwrap();
    assert_eq!(older.len(), 1);
    assert!(store.audit_search(None, 100, "", "nobody-like-this").await.unwrap().is_empty());
    let (_, chain) = store.verify_audit().await.unwrap();
    assert!(chain.is_ok());
}
on_both!(administration_lists_and_ends_sessions_sets_scopes_and_searches_the_audit_trail);

async fn replacing_a_boundary_is_audited_and_changes_the_territory_stamp(store: Store) {
    let t = astana(&store).await;
    let before = store.territory_stamp(&t.name).await.unwrap().unwrap();
    store.set_territory_boundary(t.id, Some(&square(71.0, 51.0, 2.0)), &actor()).await.unwrap();
    let after = store.territory_stamp(&t.name).await.unwrap().unwrap();
    assert_eq!((after.id, after.data_version), (before.id, before.data_version));
    assert_ne!(after.shape, before.shape, "a new boundary must be seen by servers keeping the territory");
    assert!(store.territory(&t.name).await.unwrap().covers(Wgs84Point::new(52.5, 72.5).unwrap()));
    let last = store.audit_search(None, 1, "", "").await.unwrap();
    assert_eq!(last[0].action, "territory.boundary");
    assert!(store.territory_stamp(&TerritoryName::parse("Nowhere").unwrap()).await.unwrap().is_none());
}
on_both!(replacing_a_boundary_is_audited_and_changes_the_territory_stamp);

async fn cameras_are_added_then_updated_by_identifier_with_one_audit_entry_per_import(store: Store) {
    use qalqan_domain::camera::{CameraOwner, CameraStatus, MonitoringLink, NewCamera};
    let t = astana(&store).await;
    let cam = |id: &str, range: f64| {
        NewCamera::new(
            id,
            Wgs84Point::new(51.1, 71.4).unwrap(),
            45.0,
            90.0,
            range,
            CameraOwner::Shop,
            MonitoringLink::Connected,
            30,
            CameraStatus::Working,
        )
        .unwrap()
    };
    let first = store.import_cameras(t.id, &[cam("A", 30.0), cam("B", 40.0)], &actor()).await.unwrap();
    assert_eq!((first.added, first.updated), (2, 0));
    let second = store.import_cameras(t.id, &[cam("B", 55.0), cam("C", 20.0)], &actor()).await.unwrap();
    assert_eq!((second.added, second.updated), (1, 1));
    let stored = store.cameras(t.id).await.unwrap();
    assert_eq!(
        stored.iter().map(|c| (c.camera.external_id.as_str(), c.camera.range_m)).collect::<Vec<_>>(),
        [("A", 30.0), ("B", 55.0), ("C", 20.0)]
    );
    assert_eq!(stored[0].camera, cam("A", 30.0));
    let audit = store.audit_entries(0, 1000).await.unwrap();
    let imports: Vec<_> = audit.iter().filter(|e| e.action == "camera.import").collect();
    assert_eq!(imports.len(), 2);
    assert!(imports[1].detail.contains(r#""added":1"#) && imports[1].detail.contains(r#""updated":1"#), "{}", imports[1].detail);
}
on_both!(cameras_are_added_then_updated_by_identifier_with_one_audit_entry_per_import);

async fn posts_beats_and_scenarios_round_trip_and_are_audited(store: Store) {
    use geo_types::polygon;
    use qalqan_domain::Area;
    use qalqan_domain::beat::NewBeat;
    use qalqan_domain::post::{NewPost, PostKind, PostStatus};
    use qalqan_store::NewScenario;
    let t = astana(&store).await;
    let at = Wgs84Point::new(51.1, 71.4).unwrap();
    let post = NewPost::new("P1", "Vokzal", PostKind::Stationary, at, "08:00-20:00".parse().unwrap(), None, 3, PostStatus::Active).unwrap();
    let mobile =
        NewPost::new("M1", "", PostKind::Mobile, at, "20:00-08:00".parse().unwrap(), Some("123AB01"), 2, PostStatus::Active).unwrap();
    let first = store.import_posts(t.id, &[post.clone(), mobile.clone()], &actor()).await.unwrap();
    assert_eq!((first.added, first.updated), (2, 0));
    let moved = NewPost { officers: 4, ..post.clone() };
    assert_eq!(store.import_posts(t.id, std::slice::from_ref(&moved), &actor()).await.unwrap().updated, 1);
    let stored = store.posts(t.id).await.unwrap();
    assert_eq!(stored.iter().map(|p| p.post.clone()).collect::<Vec<_>>(), [mobile, moved]);

    let square = |x: f64, y: f64| {
        Area::new(geo_types::MultiPolygon(vec![
            polygon![(x: x, y: y), (x: x + 0.01, y: y), (x: x + 0.01, y: y + 0.01), (x: x, y: y + 0.01)],
        ]))
        .unwrap()
    };
    let beats = [
        NewBeat::new("Beat 2", None, square(71.41, 51.1)).unwrap(),
        NewBeat::new("Beat 1", Some("Kairat S."), square(71.4, 51.1)).unwrap(),
    ];
    assert_eq!(store.replace_beats(t.id, &beats, &actor()).await.unwrap(), 0);
    assert_eq!(store.replace_beats(t.id, &beats[1..], &actor()).await.unwrap(), 2);
    let stored = store.beats(t.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].beat.name.as_str(), stored[0].beat.inspector.as_deref()), ("Beat 1", Some("Kairat S.")));
    assert!(stored[0].beat.boundary.contains(Wgs84Point::new(51.105, 71.405).unwrap()));
    let twice = [beats[1].clone(), beats[1].clone()];
    assert!(store.replace_beats(t.id, &twice, &actor()).await.is_err());
    assert_eq!(store.beats(t.id).await.unwrap().len(), 1, "a refused map leaves the old one");

    let scenario = |name: &str| NewScenario {
        kind: "cameras".into(),
        name: name.into(),
        params: serde_json::json!({"k": 10}),
        result: serde_json::json!({"covered": 0.25}),
    };
    let a = store.save_scenario(t.id, &scenario("Ten cameras"), &actor()).await.unwrap();
    let b = store.save_scenario(t.id, &scenario("Again"), &actor()).await.unwrap();
    assert!(store.save_scenario(t.id, &scenario("  "), &actor()).await.is_err());
    let saved = store.scenarios(t.id).await.unwrap();
    assert_eq!(saved.iter().map(|s| s.id).collect::<Vec<_>>(), [b, a]);
    assert_eq!(
        (saved[1].name.as_str(), &saved[1].params, saved[1].created_by.as_str()),
        ("Ten cameras", &serde_json::json!({"k": 10}), actor().name.as_str())
    );
    let audit = store.audit_entries(0, 1000).await.unwrap();
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!((count("post.import"), count("beat.replace"), count("scenario.save")), (2, 2, 2));
    assert!(store.verify_audit().await.unwrap().1.is_ok());
}
on_both!(posts_beats_and_scenarios_round_trip_and_are_audited);

async fn a_street_source_replaces_the_previous_one_and_is_audited(store: Store) {
    use qalqan_store::StreetSource;
    let t = astana(&store).await;
    assert_eq!(store.street_source(t.id).await.unwrap(), None);
    let first = StreetSource { file_name: "a.osm.pbf".into(), sha256: "1".repeat(64), bytes: vec![1, 2, 3], summary: "{}".into() };
    store.set_street_source(t.id, &first, &actor()).await.unwrap();
    let second =
        StreetSource { file_name: "b.osm.pbf".into(), sha256: "2".repeat(64), bytes: vec![0; 100_000], summary: r#"{"ways":1}"#.into() };
    store.set_street_source(t.id, &second, &actor()).await.unwrap();
    assert_eq!(store.street_source(t.id).await.unwrap(), Some(second));
    let audit = store.audit_entries(0, 1000).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "streets.import").count(), 2);
}
on_both!(a_street_source_replaces_the_previous_one_and_is_audited);

async fn an_assignment_goes_through_every_state_with_its_history_audited(store: Store) {
    use chrono::NaiveDate;
    use qalqan_domain::assignment::{AssignmentAction::*, AssignmentStatus, BodyKind, Deadline, NewAssignment, Priority, is_overdue};
    use qalqan_store::coordination::{AssignmentFilter, NewAttachment, NewBody, NewMeeting, NewReport, ProtocolItem, Source};
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let council = NewBody {
        name: "Coordination council on law and order of Astana".into(),
        kind: BodyKind::CoordinationCouncil,
        members: vec![("Police department".into(), String::new()), ("Akimat".into(), "Deputy akim".into())],
        territory_id: None,
    };
    let body = store.add_body(&council, &actor()).await.unwrap();
    assert!(matches!(store.add_body(&council, &actor()).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.bodies().await.unwrap()[0].members.len(), 2);
    let item = |n: &str, t: &str| ProtocolItem { number: n.into(), text: t.into() };
    let mut meeting = NewMeeting {
        body_id: body,
        held_on: d(2026, 2, 10),
        number: "1".into(),
        agenda: "Crime in public places".into(),
        items: vec![item("1", "Heard the police"), item("2", "On transport hubs"), item("1", "again")],
    };
    let refused = store.add_meeting(&meeting, &actor()).await.unwrap_err().to_string();
    assert!(refused.contains("protocol item '1' appears twice"), "{refused}");
    meeting.items.pop();
    let meeting = store.add_meeting(&meeting, &actor()).await.unwrap();
    let meetings = store.meetings(body).await.unwrap();
    assert_eq!((meetings[0].number.as_str(), meetings[0].items.len()), ("1", 2));
    assert_eq!(meetings[0].items[1], item("2", "On transport hubs"));
    let source = Source { body_id: body, meeting_id: Some(meeting), parent_id: None };
    let stray =
        NewAssignment::new("3", "x", "Akimat", None, &[], "secretary", Deadline::Fixed(d(2026, 3, 1)), Priority::Normal, None).unwrap();
    let refused = store.add_assignment(source, &stray, true, d(2026, 2, 10), &actor()).await.unwrap_err().to_string();
    assert!(refused.contains("protocol 1 of 2026-02-10 has no item '3' (its items: 1, 2)"), "{refused}");
    let text = NewAssignment::new(
        "2",
        "Install video surveillance at the railway station square",
        "Akimat",
        None,
        &["Police department".to_owned()],
        "secretary",
        Deadline::Fixed(d(2026, 3, 1)),
        Priority::High,
        Some("facility:Railway station"),
    )
    .unwrap();
    let id = store.add_assignment(source, &text, true, d(2026, 2, 10), &actor()).await.unwrap();
    let a = store.assignment(id).await.unwrap();
    assert_eq!((a.status, a.due_on, a.assignment.clone()), (AssignmentStatus::OnExecution, d(2026, 3, 1), text.clone()));
    // The police see it as co-executor; another agency does not.
    let of = |agency: &str| AssignmentFilter { agency: Some(agency.into()), ..AssignmentFilter::default() };
    assert_eq!(store.assignments(&of("Police department")).await.unwrap().len(), 1);
    assert_eq!(store.assignments(&of("Prosecutor's office")).await.unwrap().len(), 0);
    // An extension asked and refused: the due date stays; the assignment becomes overdue.
    assert!(store.request_extension(id, d(2026, 2, 20), "earlier", &actor()).await.is_err(), "not later than the due date");
    store.request_extension(id, d(2026, 4, 1), "equipment delivery", &actor()).await.unwrap();
    assert!(matches!(store.request_extension(id, d(2026, 4, 2), "again", &actor()).await, Err(StoreError::Conflict { .. })));
    let a = store.decide_extension(id, false, "the station opens in March", &actor()).await.unwrap();
    assert_eq!(a.due_on, d(2026, 3, 1));
    assert!(is_overdue(a.status, a.due_on, d(2026, 3, 2)));
    assert_eq!(store.extension_requests(id).await.unwrap()[0].granted, Some(false));
    // A second request, granted: the due date moves.
    store.request_extension(id, d(2026, 3, 20), "contractor", &actor()).await.unwrap();
    let a = store.decide_extension(id, true, "", &actor()).await.unwrap();
    assert_eq!(a.due_on, d(2026, 3, 20));
    // Invalid moves are refused and change nothing.
    assert!(store.act_on_assignment(id, Accept, "", None, &actor()).await.is_err());
    assert!(store.act_on_assignment(id, SubmitReport, "", None, &actor()).await.is_err(), "a submission needs its report");
    let pdf = NewAttachment { file_name: "act.pdf".into(), content_type: "application/pdf".into(), bytes: b"%PDF-1.4 test".to_vec() };
    let exe = NewAttachment { file_name: "run.exe".into(), content_type: "application/x-msdownload".into(), bytes: vec![1] };
    let bad = NewReport { text: "Done".into(), attachments: vec![exe] };
    assert!(matches!(store.act_on_assignment(id, SubmitReport, "", Some(&bad), &actor()).await, Err(StoreError::Invalid { .. })));
    let report = NewReport { text: "Six cameras installed".into(), attachments: vec![pdf] };
    let a = store.act_on_assignment(id, SubmitReport, "", Some(&report), &actor()).await.unwrap();
    assert_eq!(a.status, AssignmentStatus::ReportSubmitted);
    let a = store.act_on_assignment(id, Return, "not connected to the monitoring centre", None, &actor()).await.unwrap();
    assert_eq!(a.status, AssignmentStatus::Returned);
    store
        .act_on_assignment(id, SubmitReport, "", Some(&NewReport { text: "Connected".into(), attachments: vec![] }), &actor())
        .await
        .unwrap();
    let a = store.act_on_assignment(id, Accept, "", None, &actor()).await.unwrap();
    assert_eq!(a.status, AssignmentStatus::Accepted);
    assert!(store.act_on_assignment(id, Cancel, "", None, &actor()).await.is_err(), "accepted is final");
    let reports = store.assignment_reports(id).await.unwrap();
    assert_eq!(reports.len(), 2);
    let file = &reports[0].attachments[0];
    assert_eq!((file.size, file.sha256.as_str()), (13, qalqan_domain::Sha256Hex::of(b"%PDF-1.4 test").as_str()));
    assert_eq!(store.attachment_bytes(file.id).await.unwrap(), b"%PDF-1.4 test");
    let actions: Vec<String> = store.assignment_events(id).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            "create",
            "extension_request",
            "extension_refused",
            "extension_request",
            "extension_granted",
            "submit_report",
            "return",
            "submit_report",
            "accept"
        ]
    );
    // A recurring one: accepting a quarter's report opens the next quarter.
    let quarterly = NewAssignment { deadline: "quarterly:5".parse().unwrap(), ..text.clone() };
    let q = store.add_assignment(source, &quarterly, true, d(2026, 2, 10), &actor()).await.unwrap();
    assert_eq!(store.assignment(q).await.unwrap().due_on, d(2026, 4, 5));
    store.act_on_assignment(q, SubmitReport, "", Some(&NewReport { text: "Q1".into(), attachments: vec![] }), &actor()).await.unwrap();
    let a = store.act_on_assignment(q, Accept, "", None, &actor()).await.unwrap();
    assert_eq!((a.status, a.due_on), (AssignmentStatus::OnExecution, d(2026, 7, 5)));
    // A draft is issued, then cancelled.
    let draft = store.add_assignment(source, &text, false, d(2026, 2, 10), &actor()).await.unwrap();
    assert_eq!(store.assignment(draft).await.unwrap().status, AssignmentStatus::Draft);
    store.act_on_assignment(draft, Issue, "", None, &actor()).await.unwrap();
    assert_eq!(store.act_on_assignment(draft, Cancel, "duplicate", None, &actor()).await.unwrap().status, AssignmentStatus::Cancelled);
    let audit = store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().filter(|e| e.action == "assignment.act").count() >= 8);
    assert!(store.verify_audit().await.unwrap().1.is_ok());
}
on_both!(an_assignment_goes_through_every_state_with_its_history_audited);

async fn a_declared_threat_level_generates_checklists_from_the_measures_data(store: Store) {
    use chrono::NaiveDate;
    use qalqan_domain::facility::{EquipmentItem, FacilityCategory, NewFacility, RequiredMeasure, ThreatLevel};
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let t = astana(&store).await;
    let at = Wgs84Point::new(51.19, 71.41).unwrap();
    let station = NewFacility::new(
        "F1",
        "Nurly Zhol station",
        FacilityCategory::RailwayStation,
        "KTZ",
        at,
        Some("17"),
        Some(d(2027, 1, 1)),
        &[EquipmentItem::VideoSurveillance],
    )
    .unwrap();
    let airport = NewFacility::new("F2", "Astana airport", FacilityCategory::Airport, "Airport JSC", at, None, None, &[]).unwrap();
    let first = store.import_facilities(t.id, &[station.clone(), airport.clone()], &actor()).await.unwrap();
    assert_eq!((first.added, first.updated), (2, 0));
    assert_eq!(store.facilities(t.id).await.unwrap()[0].facility, station);
    let measures = [
        RequiredMeasure::new(Some(FacilityCategory::RailwayStation), ThreatLevel::Yellow, "patrols", "Patrols on the station square")
            .unwrap(),
        RequiredMeasure::new(Some(FacilityCategory::Airport), ThreatLevel::Orange, "guard_doubled", "Double the guard").unwrap(),
        RequiredMeasure::new(None, ThreatLevel::Yellow, "readiness", "Units on heightened readiness").unwrap(),
    ];
    store.replace_measures(&measures, &actor()).await.unwrap();
    let twice = [measures[0].clone(), measures[0].clone()];
    assert!(store.replace_measures(&twice, &actor()).await.is_err());
    assert_eq!(store.measures().await.unwrap().len(), 3, "a refused set changes nothing");
    let today = d(2026, 5, 1);
    let yellow = store
        .declare_threat_level(t.id, ThreatLevel::Yellow, today, Some(d(2026, 5, 15)), "operational information", &actor())
        .await
        .unwrap();
    let items = store.checklist(yellow).await.unwrap();
    assert_eq!(
        items.iter().map(|i| i.measure_code.as_str()).collect::<Vec<_>>(),
        ["patrols", "readiness"],
        "the airport's measure starts at orange"
    );
    assert!(matches!(
        store.declare_threat_level(t.id, ThreatLevel::Orange, d(2026, 5, 10), None, "x", &actor()).await,
        Err(StoreError::Conflict { .. })
    ));
    store.extend_threat_level(yellow, Some(d(2026, 5, 31)), &actor()).await.unwrap();
    store.check_item(items[0].id, "two patrols", &actor()).await.unwrap();
    assert!(matches!(store.check_item(items[0].id, "", &actor()).await, Err(StoreError::Conflict { .. })));
    store.lift_threat_level(yellow, &actor()).await.unwrap();
    assert!(store.lift_threat_level(yellow, &actor()).await.is_err());
    let orange = store.declare_threat_level(t.id, ThreatLevel::Orange, d(2026, 6, 1), None, "escalation", &actor()).await.unwrap();
    assert_eq!(store.checklist(orange).await.unwrap().len(), 3);
    let history = store.threat_levels(t.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(!history[0].in_force(d(2026, 5, 10)) && history[0].ends_on == Some(d(2026, 5, 31)) && history[0].lifted_by.is_some());
    assert!(history[1].in_force(d(2026, 6, 2)) && !history[1].in_force(d(2026, 5, 20)));
    assert_eq!(store.checklist(yellow).await.unwrap()[0].done_by.as_deref(), Some(actor().name.as_str()));
    assert!(store.verify_audit().await.unwrap().1.is_ok());
}
on_both!(a_declared_threat_level_generates_checklists_from_the_measures_data);

async fn reminders_and_escalations_reach_the_executing_agency_and_the_controller_once(store: Store) {
    use chrono::NaiveDate;
    use qalqan_domain::account::{Login, Role};
    use qalqan_domain::assignment::{BodyKind, Deadline, NewAssignment, Priority};
    use qalqan_store::coordination::{NewBody, Source};
    use qalqan_store::{NewUser, PasswordState};
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    for (login, role, agency) in
        [("exec1", Role::AgencyExecutor, Some("Akimat")), ("view1", Role::Viewer, Some("Akimat")), ("sec", Role::Analyst, None)]
    {
        let user = NewUser {
            login: Login::parse(login).unwrap(),
            display_name: login.into(),
            role,
            agency: agency.map(str::to_owned),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            password_state: PasswordState::Set,
        };
        store.add_user(&user, &actor()).await.unwrap();
    }
    let body = store
        .add_body(&NewBody { name: "Council".into(), kind: BodyKind::CoordinationCouncil, members: vec![], territory_id: None }, &actor())
        .await
        .unwrap();
    let source = Source { body_id: body, ..Source::default() };
    let text = |due: NaiveDate| {
        NewAssignment::new("", "Report on the night patrols", "Akimat", None, &[], "sec", Deadline::Fixed(due), Priority::Normal, None)
            .unwrap()
    };
    let today = d(2026, 5, 10);
    let soon = store.add_assignment(source, &text(d(2026, 5, 12)), true, today, &actor()).await.unwrap();
    let late = store.add_assignment(source, &text(d(2026, 5, 1)), true, today, &actor()).await.unwrap();
    store.add_assignment(source, &text(d(2026, 6, 30)), true, today, &actor()).await.unwrap();
    assert_eq!(store.generate_notifications(today, 3, &actor()).await.unwrap(), 3, "a reminder to exec1; the overdue one to exec1 and sec");
    assert_eq!(store.generate_notifications(today, 3, &actor()).await.unwrap(), 0, "once");
    let mine = store.notifications("exec1", true).await.unwrap();
    let mut got: Vec<(i64, &str)> = mine.iter().map(|n| (n.assignment_id, n.kind.as_str())).collect();
    got.sort();
    assert_eq!(got, [(soon, "reminder"), (late, "overdue")]);
    assert!(store.notifications("view1", false).await.unwrap().is_empty(), "viewers are not told");
    assert_eq!(store.notifications("sec", false).await.unwrap().len(), 1);
    assert!(!store.mark_notification_read(mine[0].id, "sec").await.unwrap(), "not theirs");
    assert!(store.mark_notification_read(mine[0].id, "exec1").await.unwrap());
    assert_eq!(store.notifications("exec1", true).await.unwrap().len(), 1);
    assert_eq!(store.notifications("exec1", false).await.unwrap().len(), 2);
}
on_both!(reminders_and_escalations_reach_the_executing_agency_and_the_controller_once);

async fn an_inspection_issues_an_assignment_for_each_finding(store: Store) {
    use chrono::NaiveDate;
    use qalqan_domain::assignment::{AssignmentStatus, BodyKind, Deadline, NewAssignment, Priority};
    use qalqan_domain::facility::{FacilityCategory, NewFacility};
    use qalqan_store::coordination::{NewBody, NewInspection};
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let t = astana(&store).await;
    let at = Wgs84Point::new(51.19, 71.41).unwrap();
    let f = NewFacility::new("F1", "Nurly Zhol station", FacilityCategory::RailwayStation, "KTZ", at, None, None, &[]).unwrap();
    store.import_facilities(t.id, &[f], &actor()).await.unwrap();
    let facility = store.facilities(t.id).await.unwrap()[0].id;
    let body = store
        .add_body(&NewBody { name: "ATC".into(), kind: BodyKind::AntiTerroristCommission, members: vec![], territory_id: None }, &actor())
        .await
        .unwrap();
    let finding = |text: &str, due: NaiveDate| {
        NewAssignment::new("", text, "KTZ", None, &[], "sec", Deadline::Fixed(due), Priority::High, Some("facility:F1")).unwrap()
    };
    let inspection =
        NewInspection { facility_id: facility, held_on: d(2026, 4, 2), inspector: "Major Abenov".into(), summary: "Two gaps".into() };
    let findings = [
        finding("Connect the platform cameras to the monitoring centre", d(2026, 5, 1)),
        finding("Repair the perimeter fence", d(2026, 4, 20)),
    ];
    let (id, assignments) = store.add_inspection(t.id, &inspection, &findings, body, d(2026, 4, 2), &actor()).await.unwrap();
    assert_eq!(assignments.len(), 2);
    let a = store.assignment(assignments[1]).await.unwrap();
    assert_eq!((a.status, a.due_on, a.assignment.executor.as_str()), (AssignmentStatus::OnExecution, d(2026, 4, 20), "KTZ"));
    let listed = store.inspections(facility).await.unwrap();
    assert_eq!((listed[0].0, listed[0].4.len(), listed[0].4[0].1), (id, 2, assignments[0]));
    // A missing body changes nothing.
    assert!(store.add_inspection(t.id, &inspection, &findings, 999_999, d(2026, 4, 2), &actor()).await.is_err());
    assert_eq!(store.inspections(facility).await.unwrap().len(), 1);
    assert!(store.verify_audit().await.unwrap().1.is_ok());
}
on_both!(an_inspection_issues_an_assignment_for_each_finding);

async fn a_change_on_a_stale_version_is_refused_and_leases_are_exclusive(store: Store) {
    use chrono::NaiveDate;
    use qalqan_domain::assignment::{AssignmentAction, BodyKind, Deadline, NewAssignment, Priority};
    use qalqan_store::coordination::{NewBody, Source};
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let body = NewBody { name: "Council".into(), kind: BodyKind::CoordinationCouncil, members: vec![], territory_id: None };
    let body = store.add_body(&body, &actor()).await.unwrap();
    let text =
        NewAssignment::new("", "Cameras", "Akimat", None, &[], "sec", Deadline::Fixed(d(2026, 3, 1)), Priority::Normal, None).unwrap();
    let id = store.add_assignment(Source { body_id: body, ..Source::default() }, &text, true, d(2026, 2, 1), &actor()).await.unwrap();
    let seen = store.assignment(id).await.unwrap().version;
    // Two users saw the same version; the first change wins, the second is refused, nothing of it written.
    store.request_extension_at(id, Some(seen), d(2026, 4, 1), "delivery", &actor()).await.unwrap();
    let events = store.assignment_events(id).await.unwrap().len();
    let stale = store.act_on_assignment_at(id, Some(seen), AssignmentAction::Cancel, "", None, &actor()).await;
    assert!(matches!(stale, Err(StoreError::Conflict { .. })), "{stale:?}");
    let a = store.assignment(id).await.unwrap();
    assert_eq!((a.version, a.status.code(), store.assignment_events(id).await.unwrap().len()), (seen + 1, "on_execution", events));
    let a = store.decide_extension_at(id, Some(seen + 1), true, "", &actor()).await.unwrap();
    assert_eq!((a.version, a.due_on), (seen + 2, d(2026, 4, 1)));
    assert!(store.decide_extension_at(id, Some(seen + 1), true, "", &actor()).await.is_err());
    // Without a version the change applies to whatever is current.
    assert_eq!(store.act_on_assignment(id, AssignmentAction::Cancel, "", None, &actor()).await.unwrap().version, seen + 3);

    let hour = chrono::Duration::minutes(60);
    assert!(store.try_lease("hourly", "a", hour).await.unwrap());
    assert!(!store.try_lease("hourly", "b", hour).await.unwrap(), "held by a");
    assert!(store.try_lease("hourly", "a", hour).await.unwrap(), "a renews");
    assert!(store.try_lease("other", "b", hour).await.unwrap(), "leases are per job");
    assert!(store.try_lease("hourly", "a", chrono::Duration::seconds(-1)).await.unwrap(), "a lets it lapse");
    assert!(store.try_lease("hourly", "b", hour).await.unwrap(), "b takes over a lapsed lease");
}
on_both!(a_change_on_a_stale_version_is_refused_and_leases_are_exclusive);

async fn jobs_are_claimed_once_reclaimed_from_stalled_workers_and_finished_by_their_owner(store: Store) {
    use qalqan_store::jobs::JobStatus;
    let t = astana(&store).await;
    let id = store.enqueue_job("backtest", t.id.0, "/api/v1/territories/Astana/forecast/backtest", "analyst", &actor()).await.unwrap();
    let now = Utc::now().timestamp();
    let fresh = now - 60;
    let a = store.claim_job("worker-a", fresh, 3).await.unwrap().expect("a job to run");
    assert_eq!((a.id, a.status, a.attempts), (id, JobStatus::Running, 1));
    assert!(store.claim_job("worker-b", fresh, 3).await.unwrap().is_none(), "a running job with a fresh heartbeat is not taken");
    assert!(store.heartbeat_job(id, "worker-a", 0.5, "origin 3 of 6").await.unwrap());
    assert_eq!(store.job(id).await.unwrap().unwrap().progress, 0.5);
    // worker-a stalls: once its heartbeat is older than the limit, worker-b takes the job over.
    let b = store.claim_job("worker-b", now + 1, 3).await.unwrap().expect("the stalled job");
    assert_eq!((b.id, b.attempts, b.progress), (id, 2, 0.0));
    assert!(!store.heartbeat_job(id, "worker-a", 0.9, "").await.unwrap(), "worker-a lost it");
    assert!(!store.finish_job(id, "worker-a", Ok((b"stale".to_vec(), "text/plain".into()))).await.unwrap());
    assert!(store.finish_job(id, "worker-b", Ok((b"{\"ok\":1}".to_vec(), "application/json".into()))).await.unwrap());
    let done = store.job(id).await.unwrap().unwrap();
    assert_eq!((done.status, done.progress, done.result_type.as_deref()), (JobStatus::Done, 1.0, Some("application/json")));
    assert_eq!(store.job_result(id).await.unwrap().unwrap().0, b"{\"ok\":1}");
    assert!(store.claim_job("worker-c", now + 10, 3).await.unwrap().is_none(), "a finished job is not run again");

    // A job whose workers keep dying fails after its last attempt instead of running for ever.
    let doomed = store.enqueue_job("hotspots", t.id.0, "/api/v1/territories/Astana/hotspots", "analyst", &actor()).await.unwrap();
    for attempt in 1..=3 {
        assert_eq!(store.claim_job("w", now + 10, 3).await.unwrap().unwrap().attempts, attempt);
    }
    assert!(store.claim_job("w", now + 10, 3).await.unwrap().is_none());
    let failed = store.job(doomed).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.message.contains("interrupted"), "{}", failed.message);
    assert_eq!(store.jobs_of("analyst", 10).await.unwrap().iter().map(|j| j.id).collect::<Vec<_>>(), vec![doomed, id]);
}
on_both!(jobs_are_claimed_once_reclaimed_from_stalled_workers_and_finished_by_their_owner);
