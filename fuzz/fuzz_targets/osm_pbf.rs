//! An OpenStreetMap extract (PBF), as uploaded for the street network.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The reader turns the PBF decoder's panics on corrupt blocks into errors (catch_unwind);
    // libFuzzer's hook would abort on any panic, caught or not, so report them without aborting:
    // a panic that escapes still ends the process and is a finding.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let (_dir, path) = common::as_file("extract.osm.pbf", data);
    let _ = qalqan_ingest::osm::read_osm_extract(&path);
});
