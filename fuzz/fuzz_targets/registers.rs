//! The registers uploaded over HTTP (cameras, posts, facilities, point layers; CSV and GeoJSON),
//! the measures table and boundary files.
#![no_main]
#[path = "common.rs"]
mod common;

use std::path::Path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = data.split_first() else { return };
    let p = Path::new("register");
    match which % 10 {
        0 => drop(qalqan_ingest::cameras::parse_csv("cameras.csv", p, bytes)),
        1 => drop(qalqan_ingest::cameras::parse_geojson("cameras.geojson", p, bytes)),
        2 => drop(qalqan_ingest::posts::parse_csv("posts.csv", p, bytes)),
        3 => drop(qalqan_ingest::posts::parse_geojson("posts.geojson", p, bytes)),
        4 => drop(qalqan_ingest::facilities::parse_csv("facilities.csv", p, bytes)),
        5 => drop(qalqan_ingest::facilities::parse_geojson("facilities.geojson", p, bytes)),
        6 => drop(qalqan_ingest::layers::parse_csv("layer.csv", p, bytes)),
        7 => drop(qalqan_ingest::layers::parse_geojson("layer.geojson", p, bytes)),
        8 => {
            let (_dir, path) = common::as_file("measures.csv", bytes);
            drop(qalqan_ingest::facilities::read_measures(&path));
        }
        _ => {
            let (_dir, path) = common::as_file("boundary.geojson", bytes);
            if let Ok(features) = qalqan_ingest::boundaries::read_polygons(&path) {
                drop(qalqan_ingest::boundaries::select_boundary(&path, &features, "name", "Astana"));
            }
        }
    }
});
