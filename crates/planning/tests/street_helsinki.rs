//! The street graph of central Helsinki (OpenStreetMap, from `../shared`), checked against brute force.

use std::path::Path;

use qalqan_analysis::projection::Utm;
use qalqan_analysis::rng::Rng;
use qalqan_domain::Wgs84Point;
use qalqan_ingest::osm::{self, OsmExtract, read_osm_extract};
use qalqan_planning::street::*;

const WALK_MS: f64 = 5.0 / 3.6;

/// The extract as projected graph input: what a caller of both crates does.
fn road_input(e: &OsmExtract) -> (Vec<RoadNode>, Vec<RoadWay>) {
    let points: Vec<Wgs84Point> = e.nodes.iter().map(|n| Wgs84Point::new(n.lat, n.lon).unwrap()).collect();
    let utm = Utm::for_points(&points);
    let nodes = e
        .nodes
        .iter()
        .zip(&points)
        .map(|(n, &p)| {
            let (x, y) = utm.forward(p);
            RoadNode { id: n.id, x, y }
        })
        .collect();
    let ways = e
        .ways
        .iter()
        .map(|w| RoadWay {
            id: w.id,
            nodes: w.nodes.clone(),
            class: RoadClass::from_osm_tag(w.highway.as_tag()).unwrap(),
            modes: TravelModes { walk: w.modes.walk, drive: w.modes.drive },
            oneway: match w.oneway {
                osm::Oneway::No => Oneway::No,
                osm::Oneway::Forward => Oneway::Forward,
                osm::Oneway::Backward => Oneway::Backward,
            },
            maxspeed_kmh: w.maxspeed_kmh,
            name: w.name.clone(),
        })
        .collect();
    (nodes, ways)
}

fn helsinki() -> (Vec<RoadNode>, Vec<RoadWay>, StreetGraph) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/helsinki.osm.pbf");
    let extract = read_osm_extract(&path).unwrap();
    let (nodes, ways) = road_input(&extract);
    let graph = StreetGraph::build(&nodes, &ways, &StreetParams::default()).unwrap();
    (nodes, ways, graph)
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

fn bbox(g: &StreetGraph) -> (f64, f64, f64, f64) {
    let mut b = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
    for v in 0..g.node_count() {
        let (x, y) = g.node_xy(NodeId(v as u32));
        b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    }
    b
}

/// Shortest times from one node to all by label-correcting (Bellman–Ford) over the segment list.
fn bellman_ford(g: &StreetGraph, source: NodeId, mode: Mode) -> Vec<f64> {
    let mut d = vec![f64::INFINITY; g.node_count()];
    d[source.index()] = 0.0;
    loop {
        let mut changed = false;
        for s in g.segments() {
            for (a, b, t) in [(s.from, s.to, s.seconds(mode, Direction::Forward)), (s.to, s.from, s.seconds(mode, Direction::Backward))] {
                if let Some(t) = t {
                    if d[a.index()] + t < d[b.index()] {
                        d[b.index()] = d[a.index()] + t;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            return d;
        }
    }
}

#[test]
fn helsinki_graph_is_plausible_and_mostly_one_connected_component() {
    let (nodes, _, g) = helsinki();
    // Degree-2 nodes fold into segment geometry: far fewer graph nodes than street nodes.
    assert!(g.node_count() > 1_000 && g.node_count() < nodes.len(), "{} of {}", g.node_count(), nodes.len());
    assert!(g.segment_count() > g.node_count(), "{} segments", g.segment_count());
    let km: f64 = g.segments().iter().map(|s| s.length_m).sum::<f64>() / 1000.0;
    assert!((50.0..400.0).contains(&km), "{km} km of streets");
    let (x0, y0, x1, y1) = bbox(&g);
    assert!((600.0..3_000.0).contains(&(x1 - x0)) && (900.0..3_500.0).contains(&(y1 - y0)), "{} × {} m", x1 - x0, y1 - y0);

    for (set, share) in [(SegmentSet::Walkable, 0.9), (SegmentSet::Drivable, 0.8)] {
        let members = (0..g.node_count()).filter(|&v| g.degree(NodeId(v as u32), set) > 0).count();
        let (_, largest) = g.components(set).largest().unwrap();
        assert!(largest as f64 >= share * members as f64, "{set:?}: largest component {largest} of {members}");
    }
    let sites = g.candidate_sites(&CandidateParams::default());
    let thinned = g.candidate_sites(&CandidateParams { min_spacing_m: 100.0, ..CandidateParams::default() });
    assert!(sites.len() > 300 && thinned.len() > 20 && thinned.len() < sites.len() / 2, "{} / {}", sites.len(), thinned.len());
}

#[test]
fn helsinki_travel_times_match_bellman_ford_from_several_sources() {
    let (_, _, g) = helsinki();
    let mut rng = Rng::seed(11);
    for _ in 0..4 {
        let source = NodeId(rng.below(g.node_count() as u64) as u32);
        for mode in [Mode::Walk, Mode::Drive] {
            let want = bellman_ford(&g, source, mode);
            let got = g.travel_times(&[g.node_location(source).unwrap()], mode, f64::INFINITY);
            for (v, (&a, &b)) in got.iter().zip(&want).enumerate() {
                assert!(a == b || (a - b).abs() < 1e-6, "{mode:?} {source:?}->{v}: {a} vs {b}");
            }
            let limited = g.travel_times(&[g.node_location(source).unwrap()], mode, 240.0);
            for (&a, &b) in limited.iter().zip(&want) {
                assert_eq!(a.is_finite(), b <= 240.0);
            }
        }
    }
}

#[test]
fn helsinki_subgraph_times_match_floyd_warshall() {
    let (nodes, ways, g) = helsinki();
    // The streets inside a 400 m square at the centre, ways cut at its edge.
    let (x0, y0, x1, y1) = bbox(&g);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let inside: std::collections::HashSet<i64> =
        nodes.iter().filter(|n| (n.x - cx).abs() <= 200.0 && (n.y - cy).abs() <= 200.0).map(|n| n.id).collect();
    let mut clipped = Vec::new();
    for w in &ways {
        for run in w.nodes.split(|id| !inside.contains(id)).filter(|r| r.len() >= 2) {
            clipped.push(RoadWay { nodes: run.to_vec(), ..w.clone() });
        }
    }
    let sub = StreetGraph::build(&nodes, &clipped, &StreetParams::default()).unwrap();
    let n = sub.node_count();
    assert!((50..600).contains(&n), "{n} nodes");
    for mode in [Mode::Walk, Mode::Drive] {
        let mut d = vec![vec![f64::INFINITY; n]; n];
        for (i, row) in d.iter_mut().enumerate() {
            row[i] = 0.0;
        }
        for s in sub.segments() {
            if let Some(t) = s.seconds(mode, Direction::Forward) {
                d[s.from.index()][s.to.index()] = d[s.from.index()][s.to.index()].min(t);
            }
            if let Some(t) = s.seconds(mode, Direction::Backward) {
                d[s.to.index()][s.from.index()] = d[s.to.index()][s.from.index()].min(t);
            }
        }
        for k in 0..n {
            let dk = d[k].clone();
            for row in d.iter_mut() {
                let dik = row[k];
                if dik.is_finite() {
                    for (j, &dkj) in dk.iter().enumerate() {
                        if dik + dkj < row[j] {
                            row[j] = dik + dkj;
                        }
                    }
                }
            }
        }
        for (v, want) in d.iter().enumerate() {
            let got = sub.travel_times(&[sub.node_location(NodeId(v as u32)).unwrap()], mode, f64::INFINITY);
            for (w, (&a, &b)) in got.iter().zip(want).enumerate() {
                assert!(a == b || (a - b).abs() < 1e-6, "{mode:?} {v}->{w}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn helsinki_snapping_matches_brute_force() {
    let (_, _, g) = helsinki();
    let (x0, y0, x1, y1) = bbox(&g);
    let mut rng = Rng::seed(5);
    for _ in 0..300 {
        let p = (x0 - 100.0 + rng.unit() * (x1 - x0 + 200.0), y0 - 100.0 + rng.unit() * (y1 - y0 + 200.0));
        for set in [SegmentSet::All, SegmentSet::Drivable] {
            let mut brute = f64::INFINITY;
            for (e, s) in g.segments().iter().enumerate() {
                if !s.is_in(set) {
                    continue;
                }
                for w in g.segment_geometry(SegmentId(e as u32)).windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                    let len2 = dx * dx + dy * dy;
                    let t = if len2 > 0.0 { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
                    brute = brute.min(dist(p, (a.0 + t * dx, a.1 + t * dy)));
                }
            }
            let snap = g.snap(p.0, p.1, set, f64::INFINITY).unwrap();
            assert!((snap.distance_m - brute).abs() < 1e-6, "{p:?} {set:?}: {} vs {brute}", snap.distance_m);
            assert!((dist(p, (snap.x, snap.y)) - snap.distance_m).abs() < 1e-6);
            assert!(snap.location.offset_m >= 0.0 && snap.location.offset_m <= g.segment(snap.location.segment).length_m + 1e-9);
        }
    }
}

#[test]
fn helsinki_walking_is_never_faster_than_the_straight_line() {
    let (_, _, g) = helsinki();
    let mut rng = Rng::seed(8);
    let mut detours = Vec::new();
    for _ in 0..10 {
        let source = NodeId(rng.below(g.node_count() as u64) as u32);
        let from = g.node_xy(source);
        let times = g.travel_times(&[g.node_location(source).unwrap()], Mode::Walk, f64::INFINITY);
        for (v, &t) in times.iter().enumerate().filter(|(_, t)| t.is_finite()) {
            let crow = dist(from, g.node_xy(NodeId(v as u32)));
            assert!(t >= crow / WALK_MS - 1e-6, "{t} s for {crow} m");
            if crow > 300.0 {
                detours.push(t * WALK_MS / crow);
            }
        }
        // Driving is never faster than the fastest speed allowed.
        let drive = g.travel_times(&[g.node_location(source).unwrap()], Mode::Drive, f64::INFINITY);
        for (v, &t) in drive.iter().enumerate().filter(|(_, t)| t.is_finite()) {
            assert!(t >= dist(from, g.node_xy(NodeId(v as u32))) / (90.0 / 3.6) - 1e-6);
        }
    }
    // A dense city grid: walks are a little longer than the straight line, not much.
    detours.sort_by(f64::total_cmp);
    let median = detours[detours.len() / 2];
    assert!((1.0..1.6).contains(&median), "median detour factor {median}");

    // Between arbitrary points too (network part only).
    let (x0, y0, x1, y1) = bbox(&g);
    for _ in 0..100 {
        let a = (x0 + rng.unit() * (x1 - x0), y0 + rng.unit() * (y1 - y0));
        let b = (x0 + rng.unit() * (x1 - x0), y0 + rng.unit() * (y1 - y0));
        if let Some(trip) = g.travel_time_between(a, b, Mode::Walk, f64::INFINITY, 200.0) {
            assert!(trip.seconds >= dist((trip.from.x, trip.from.y), (trip.to.x, trip.to.y)) / WALK_MS - 1e-6);
        }
    }
}

#[test]
fn helsinki_cost_matrix_matches_point_to_point_times() {
    let (_, _, g) = helsinki();
    let (x0, y0, x1, y1) = bbox(&g);
    let mut rng = Rng::seed(21);
    let points: Vec<(f64, f64)> = (0..2_000).map(|_| (x0 + rng.unit() * (x1 - x0), y0 + rng.unit() * (y1 - y0))).collect();
    let demand = DemandPoints::snap(&g, &points, SegmentSet::Walkable, 150.0);
    assert!(demand.unsnapped() < 100, "{} unsnapped", demand.unsnapped());
    let sites: Vec<Location> = g
        .candidate_sites(&CandidateParams { min_spacing_m: 150.0, segments: SegmentSet::Walkable, ..CandidateParams::default() })
        .into_iter()
        .filter_map(|v| g.node_location(v))
        .collect();
    let limit = 300.0; // five minutes on foot
    let matrix = cost_matrix(&g, &sites, &demand, Mode::Walk, limit);
    assert!(matrix.pair_count() > sites.len() * 10, "{} pairs", matrix.pair_count());
    for s in (0..sites.len()).step_by(7) {
        for d in (0..demand.len()).step_by(13) {
            let Some(at) = demand.location(d) else { continue };
            let exact = g.travel_time(sites[s], at, Mode::Walk, limit);
            match (matrix.get(s, d), exact) {
                (Some(t), Some(e)) => assert!((f64::from(t) - e).abs() < 1e-2, "{t} vs {e}"),
                (None, None) => {}
                (got, want) => panic!("site {s} point {d}: matrix {got:?}, point to point {want:?}"),
            }
        }
    }
    // Coverage of all sites together: the points some site reaches.
    let times = g.times_to_points(&sites, &demand, Mode::Walk, limit);
    let by_demand = matrix.by_demand();
    for (d, &t) in times.iter().enumerate() {
        assert_eq!(t.is_finite(), !by_demand.row(d).0.is_empty(), "point {d}");
    }
}
