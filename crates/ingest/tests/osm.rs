//! Reading OpenStreetMap PBF files: the Helsinki extract (from `../shared`), and files that are not PBF.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use qalqan_ingest::IngestError;
use qalqan_ingest::osm::{HighwayClass, OsmElement, PoiCategory, read_osm_extract};

fn helsinki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/helsinki.osm.pbf")
}

#[test]
fn helsinki_extract_has_plausible_streets_nodes_and_places() {
    let e = read_osm_extract(&helsinki()).unwrap();
    // Central Helsinki, about 1 × 1.6 km: thousands of street nodes, a few thousand ways.
    assert!((3_000..20_000).contains(&e.nodes.len()), "{} nodes", e.nodes.len());
    assert!((1_000..10_000).contains(&e.ways.len()), "{} ways", e.ways.len());
    for n in &e.nodes {
        assert!((60.15..60.19).contains(&n.lat) && (24.92..24.97).contains(&n.lon), "{n:?}");
    }
    assert!(e.nodes.windows(2).all(|w| w[0].id < w[1].id), "nodes sorted by id, no duplicates");
    assert!(e.ways.windows(2).all(|w| w[0].id <= w[1].id), "ways sorted by id");
    for w in &e.ways {
        assert!(w.nodes.len() >= 2 && (w.modes.walk || w.modes.drive));
        assert!(w.nodes.iter().all(|&id| e.node(id).is_some()), "way {} uses a node not in the extract", w.id);
    }
    // Every node is used by some way.
    let used: std::collections::HashSet<i64> = e.ways.iter().flat_map(|w| w.nodes.iter().copied()).collect();
    assert_eq!(used.len(), e.nodes.len());

    let mut classes: BTreeMap<HighwayClass, usize> = BTreeMap::new();
    for w in &e.ways {
        *classes.entry(w.highway).or_default() += 1;
    }
    for class in
        [HighwayClass::Primary, HighwayClass::Secondary, HighwayClass::Residential, HighwayClass::Footway, HighwayClass::Pedestrian]
    {
        assert!(classes.get(&class).copied().unwrap_or(0) >= 10, "{class:?}: {classes:?}");
    }
    assert!(e.ways.iter().filter(|w| w.modes.drive).count() > 300);
    assert!(e.ways.iter().filter(|w| w.modes.walk && !w.modes.drive).count() > 500);
    assert!(e.ways.iter().any(|w| w.name.as_deref() == Some("Mannerheimintie")));
    assert!(e.ways.iter().filter(|w| w.maxspeed_kmh.is_some()).all(|w| (5.0..=120.0).contains(&w.maxspeed_kmh.unwrap_or(0.0))));

    let mut pois: BTreeMap<PoiCategory, usize> = BTreeMap::new();
    for p in &e.pois {
        *pois.entry(p.category).or_default() += 1;
        assert!((60.15..60.19).contains(&p.lat) && (24.92..24.97).contains(&p.lon), "{p:?}");
    }
    let n = |c| pois.get(&c).copied().unwrap_or(0);
    assert!(n(PoiCategory::Pub) >= 20 && n(PoiCategory::Bar) >= 10, "{pois:?}");
    assert!(n(PoiCategory::Shop) >= 200 && n(PoiCategory::TransitStop) >= 50, "{pois:?}");
    assert!(n(PoiCategory::Station) >= 1 && n(PoiCategory::School) >= 1 && n(PoiCategory::Parking) >= 5, "{pois:?}");
    assert!(e.pois.iter().any(|p| p.element == OsmElement::Way), "centroids of tagged ways");
    assert!(e.pois.iter().filter(|p| p.category == PoiCategory::Shop).all(|p| p.tag.starts_with("shop=")));

    // The file is clipped to a box: ways crossing its edge lose nodes and are split there.
    let s = &e.summary;
    assert!(s.nodes_read > e.nodes.len() as u64 && s.ways_read > e.ways.len() as u64 / 2 && s.relations_read > 0);
    assert!(s.missing_node_refs > 0 && s.routable_ways > 0, "{s:?}");
}

#[test]
fn helsinki_extract_reads_the_same_twice() {
    let a = read_osm_extract(&helsinki()).unwrap();
    let b = read_osm_extract(&helsinki()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn missing_file_is_an_io_error_naming_the_file() {
    let err = read_osm_extract(Path::new("/nonexistent/city.osm.pbf")).unwrap_err();
    assert!(matches!(err, IngestError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/city.osm.pbf"), "{err}");
}

#[test]
fn empty_and_text_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.osm.pbf");
    std::fs::write(&empty, b"").unwrap();
    let err = read_osm_extract(&empty).unwrap_err();
    assert!(matches!(err, IngestError::Osm { .. }) && err.to_string().contains("empty.osm.pbf"), "{err}");

    let text = dir.path().join("streets.osm.pbf");
    std::fs::write(&text, "<?xml version='1.0'?><osm version='0.6'></osm>\n").unwrap();
    let err = read_osm_extract(&text).unwrap_err();
    assert!(matches!(err, IngestError::Osm { .. }) && err.to_string().contains("streets.osm.pbf"), "{err}");
    assert!(err.to_string().contains("not an OpenStreetMap PBF file"), "{err}");
}

#[test]
fn truncated_file_is_refused_naming_the_file_and_block() {
    let bytes = std::fs::read(helsinki()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.osm.pbf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_osm_extract(&cut).unwrap_err();
    assert!(err.to_string().contains("cut.osm.pbf") && err.to_string().contains("block"), "{err}");
}

/// Found by fuzzing (fuzz/regressions/osm_pbf): a dense block whose coordinates overflow made the
/// PBF decoder panic. It is an error naming the file.
#[test]
fn a_corrupt_dense_block_is_an_error_not_a_crash() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/osm_pbf/dense-coordinate-overflow.osm.pbf");
    let err = read_osm_extract(&path).unwrap_err().to_string();
    assert!(err.contains("dense-coordinate-overflow.osm.pbf"), "{err}");
}
