//! An OpenStreetMap extract (PBF), as uploaded for the street network.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_dir, path) = common::as_file("extract.osm.pbf", data);
    let _ = qalqan_ingest::osm::read_osm_extract(&path);
});
