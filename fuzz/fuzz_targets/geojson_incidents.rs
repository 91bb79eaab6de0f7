//! An incident export as GeoJSON, read through the import's own reader.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::read("export.geojson", data);
});
