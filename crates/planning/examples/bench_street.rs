//! Timing harness for the street graph: reading OpenStreetMap, building the graph, cost matrices.
//!
//! ```text
//! cargo run --release -p qalqan-planning --example bench_street -- [CITY.osm.pbf] [SIDE SITES DEMAND MINUTES]
//! ```
//!
//! Part 1 reads CITY.osm.pbf (default: `../shared/data/helsinki.osm.pbf` beside the repository)
//! and prints the read time, the graph's size, its build time, snapping and a walking cost matrix
//! from every thinned intersection to every place of interest within ten minutes.
//!
//! Part 2 builds a synthetic SIDE × SIDE street lattice (default 200, blocks of 80 m, residential
//! streets) and times, for SITES random intersections (default 5,000) and DEMAND uniform random
//! points (default 50,000): snapping the demand, and the sparse cost matrix within MINUTES
//! (default 10) on foot, then the same by car. Median of three runs; seed 1.

use std::path::PathBuf;
use std::time::Instant;

use qalqan_analysis::projection::Utm;
use qalqan_analysis::rng::Rng;
use qalqan_domain::Wgs84Point;
use qalqan_ingest::osm::{self, read_osm_extract};
use qalqan_planning::street::*;

fn median_secs<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last.expect("at least one run"))
}

fn city(path: &std::path::Path) {
    let (read_s, extract) = median_secs(3, || read_osm_extract(path).expect("reading the PBF file"));
    let points: Vec<Wgs84Point> = extract.nodes.iter().map(|n| Wgs84Point::new(n.lat, n.lon).expect("valid node")).collect();
    let utm = Utm::for_points(&points);
    let nodes: Vec<RoadNode> = extract
        .nodes
        .iter()
        .zip(&points)
        .map(|(n, &p)| {
            let (x, y) = utm.forward(p);
            RoadNode { id: n.id, x, y }
        })
        .collect();
    let ways: Vec<RoadWay> = extract
        .ways
        .iter()
        .map(|w| RoadWay {
            id: w.id,
            nodes: w.nodes.clone(),
            class: RoadClass::from_osm_tag(w.highway.as_tag()).expect("same vocabulary"),
            modes: TravelModes { walk: w.modes.walk, drive: w.modes.drive },
            oneway: match w.oneway {
                osm::Oneway::Forward => Oneway::Forward,
                osm::Oneway::Backward => Oneway::Backward,
                _ => Oneway::No,
            },
            maxspeed_kmh: w.maxspeed_kmh,
            name: w.name.clone(),
        })
        .collect();
    let (build_s, graph) = median_secs(3, || StreetGraph::build(&nodes, &ways, &StreetParams::default()).expect("graph"));
    let km: f64 = graph.segments().iter().map(|s| s.length_m).sum::<f64>() / 1000.0;
    let walk = graph.components(SegmentSet::Walkable);
    let drive = graph.components(SegmentSet::Drivable);
    let share = |c: &Components, set| {
        let members = (0..graph.node_count()).filter(|&v| graph.degree(NodeId(v as u32), set) > 0).count();
        c.largest().map_or(0.0, |(_, n)| n as f64 / members.max(1) as f64)
    };
    let pois: Vec<(f64, f64)> = extract.pois.iter().map(|p| utm.forward(Wgs84Point::new(p.lat, p.lon).expect("valid place"))).collect();
    let (snap_s, demand) = median_secs(3, || DemandPoints::snap(&graph, &pois, SegmentSet::Walkable, 200.0));
    let sites: Vec<Location> = graph
        .candidate_sites(&CandidateParams { min_spacing_m: 100.0, segments: SegmentSet::Walkable, ..CandidateParams::default() })
        .into_iter()
        .filter_map(|v| graph.node_location(v))
        .collect();
    let (matrix_s, matrix) = median_secs(3, || cost_matrix(&graph, &sites, &demand, Mode::Walk, 600.0));
    println!("{}", path.display());
    println!(
        "  read {:.3} s: {} blocks, {} nodes and {} ways read; kept {} street nodes, {} routable ways, {} places",
        read_s,
        extract.summary.blocks,
        extract.summary.nodes_read,
        extract.summary.ways_read,
        extract.nodes.len(),
        extract.ways.len(),
        extract.pois.len()
    );
    println!(
        "  graph {:.3} s: {} nodes, {} segments, {:.1} km; largest component {:.1} % walkable, {:.1} % drivable; {} intersections",
        build_s,
        graph.node_count(),
        graph.segment_count(),
        km,
        100.0 * share(&walk, SegmentSet::Walkable),
        100.0 * share(&drive, SegmentSet::Drivable),
        graph.candidate_sites(&CandidateParams::default()).len()
    );
    println!(
        "  snap {} places {:.4} s; cost matrix {} sites × {} places, 10 min walk: {:.4} s, {} pairs",
        pois.len(),
        snap_s,
        sites.len(),
        demand.len(),
        matrix_s,
        matrix.pair_count()
    );
}

fn lattice(side: i64, spacing: f64) -> (Vec<RoadNode>, Vec<RoadWay>) {
    let id = |r: i64, c: i64| r * side + c + 1;
    let nodes =
        (0..side).flat_map(|r| (0..side).map(move |c| RoadNode { id: id(r, c), x: c as f64 * spacing, y: r as f64 * spacing })).collect();
    let both = TravelModes { walk: true, drive: true };
    let mut ways = Vec::new();
    for r in 0..side {
        for (k, ids) in [(0, (0..side).map(|c| id(r, c)).collect::<Vec<_>>()), (1, (0..side).map(|c| id(c, r)).collect())] {
            ways.push(RoadWay {
                id: 2 * r + k,
                nodes: ids,
                class: RoadClass::Residential,
                modes: both,
                oneway: Oneway::No,
                maxspeed_kmh: None,
                name: None,
            });
        }
    }
    (nodes, ways)
}

fn synthetic(side: i64, sites: usize, demand: usize, minutes: f64) {
    let spacing = 80.0;
    let (nodes, ways) = lattice(side, spacing);
    let (build_s, graph) = median_secs(3, || StreetGraph::build(&nodes, &ways, &StreetParams::default()).expect("graph"));
    let extent = (side - 1) as f64 * spacing;
    let mut rng = Rng::seed(1);
    let points: Vec<(f64, f64)> = (0..demand).map(|_| (rng.unit() * extent, rng.unit() * extent)).collect();
    let site_locations: Vec<Location> =
        (0..sites).map(|_| graph.node_location(NodeId(rng.below(graph.node_count() as u64) as u32)).expect("lattice node")).collect();
    let (snap_s, demand_points) = median_secs(3, || DemandPoints::snap(&graph, &points, SegmentSet::All, 100.0));
    println!(
        "lattice {side} × {side} ({:.1} km square, {} nodes, {} segments): build {:.3} s; snap {} points {:.3} s",
        extent / 1000.0,
        graph.node_count(),
        graph.segment_count(),
        build_s,
        demand,
        snap_s
    );
    for (mode, name) in [(Mode::Walk, "walk"), (Mode::Drive, "drive")] {
        let (s, m) = median_secs(3, || cost_matrix(&graph, &site_locations, &demand_points, mode, minutes * 60.0));
        println!(
            "  cost matrix {sites} sites × {demand} points, {minutes} min {name}: {:.3} s, {} pairs ({:.0} per site), {:.0} sites/s",
            s,
            m.pair_count(),
            m.pair_count() as f64 / sites as f64,
            sites as f64 / s
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pbf = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/helsinki.osm.pbf"));
    let num = |i: usize, default: f64| args.get(i).map_or(default, |a| a.parse().expect("a number"));
    println!("threads: {}", rayon::current_num_threads());
    city(&pbf);
    synthetic(num(1, 200.0) as i64, num(2, 5_000.0) as usize, num(3, 50_000.0) as usize, num(4, 10.0));
}
