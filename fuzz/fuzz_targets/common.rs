//! What the importer targets share: a territory, and the bytes as a file (the readers take paths).

use std::path::PathBuf;

use qalqan_domain::territory::Area;
use qalqan_domain::{District, DistrictId, DistrictName, Territory, TerritoryId, TerritoryName};

pub fn territory() -> Territory {
    use geo_types::{MultiPolygon, polygon};
    let square = polygon![(x: 71.0, y: 51.0), (x: 72.0, y: 51.0), (x: 72.0, y: 52.0), (x: 71.0, y: 52.0)];
    let west = polygon![(x: 71.0, y: 51.0), (x: 71.5, y: 51.0), (x: 71.5, y: 52.0), (x: 71.0, y: 52.0)];
    Territory {
        id: TerritoryId(1),
        name: TerritoryName::parse("Astana").unwrap(),
        time_zone: "Asia/Almaty".parse().unwrap(),
        boundary: Some(Area::new(MultiPolygon(vec![square])).unwrap()),
        districts: vec![District {
            id: DistrictId(7),
            name: DistrictName::parse("Yesil").unwrap(),
            parent: None,
            boundary: Some(Area::new(MultiPolygon(vec![west])).unwrap()),
        }],
    }
}

/// Writes `bytes` to a file named `name` in a fresh private directory (kept alive by the guard).
pub fn as_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("qalqan-fuzz-").tempdir_in(shm()).unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn shm() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() { shm } else { std::env::temp_dir() }
}

/// A mapping every incident target uses: columns type, date, lat, lon, district, id.
pub const MAPPING: &str = r#"
[columns]
id = "id"
category = "type"
latitude = "lat"
longitude = "lon"
district = "district"
[time]
column = "date"
format = "%Y-%m-%d %H:%M"
[categories]
"Theft" = "theft"
"Assault" = "assault"
"#;

/// Reads the file as incidents, as an import would; errors are fine, panics and hangs are not.
pub fn read(name: &str, bytes: &[u8]) {
    let (_dir, path) = as_file(name, bytes);
    let mapping = qalqan_ingest::Mapping::parse(MAPPING, std::path::Path::new("mapping.toml")).unwrap();
    let Ok(source) = qalqan_ingest::SourceFile::open(&path, None) else { return };
    let territory = territory();
    let ctx = qalqan_ingest::ImportContext { territory: &territory, now: chrono::Utc::now() };
    let mut sink = |_chunk: Vec<qalqan_domain::NewIncident>| std::ops::ControlFlow::Continue(());
    let _ = qalqan_ingest::read_incidents(&source, &mapping, &ctx, &qalqan_ingest::ReadOptions { chunk_size: 64, bytes_read: None }, &mut sink);
}
