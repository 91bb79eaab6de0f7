//! Street networks: a territory's OpenStreetMap extract as a routable graph, and what it says
//! about where incidents happen (shared by the CLI and, later, the API).

use std::collections::HashMap;

use qalqan_analysis::projection::Utm;
use qalqan_domain::{Territory, Wgs84Point};
use qalqan_ingest::osm::{self, OsmExtract};
use qalqan_planning::PlanningError;
use qalqan_planning::street::{
    CandidateParams, NodeId, Oneway, RoadClass, RoadNode, RoadWay, SegmentId, SegmentSet, StreetGraph, StreetParams, TravelModes,
};
use qalqan_store::IncidentRecord;
use serde_json::{Value, json};

/// Parses a kept extract again (through a private temporary file: the reader is file-based).
pub fn read_kept_extract(source: &qalqan_store::StreetSource) -> Result<OsmExtract, crate::ApiError> {
    let internal = |e: String| crate::ApiError::Internal(e);
    let dir = tempfile::tempdir().map_err(|e| internal(e.to_string()))?;
    let path = dir.path().join(&source.file_name);
    std::fs::write(&path, &source.bytes).map_err(|e| internal(e.to_string()))?;
    osm::read_osm_extract(&path).map_err(|e| internal(e.to_string()))
}

/// A territory's street network as the planning tools use it.
pub struct Streets {
    pub graph: StreetGraph,
    pub utm: Utm,
    /// Places of interest (projected), with their category code.
    pub places: Vec<(f64, f64, &'static str)>,
}

/// The territory's street graph, its projection and its places, from the kept extract (none
/// without one).
pub async fn load_streets(store: &qalqan_store::Store, territory: &Territory) -> Result<Option<Streets>, crate::ApiError> {
    let Some(source) = store.street_source(territory.id).await? else { return Ok(None) };
    let territory = territory.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<Streets, crate::ApiError> {
        let extract = read_kept_extract(&source)?;
        let utm = street_projection(&territory, &extract);
        let graph = street_graph(&extract, &utm).map_err(|e| crate::ApiError::Internal(e.to_string()))?;
        let places = extract
            .pois
            .iter()
            .filter_map(|p| {
                let (x, y) = utm.forward(Wgs84Point::new(p.lat, p.lon).ok()?);
                Some((x, y, p.category.as_str()))
            })
            .collect();
        Ok(Streets { graph, utm, places })
    })
    .await
    .map_err(|e| crate::ApiError::Internal(e.to_string()))??;
    Ok(Some(built))
}

/// The territory's street graph and its projection, from the kept extract (none without one).
pub async fn load_street_graph(store: &qalqan_store::Store, territory: &Territory) -> Result<Option<(StreetGraph, Utm)>, crate::ApiError> {
    Ok(load_streets(store, territory).await?.map(|s| (s.graph, s.utm)))
}

/// A segment's polyline in WGS84 `[lon, lat]` (1e-6 degrees), for GeoJSON.
pub fn segment_lon_lat(graph: &StreetGraph, utm: &Utm, id: SegmentId) -> Vec<[f64; 2]> {
    graph
        .segment_geometry(id)
        .iter()
        .map(|&(x, y)| {
            let p = utm.inverse(x, y);
            [(p.lon() * 1e6).round() / 1e6, (p.lat() * 1e6).round() / 1e6]
        })
        .collect()
}

/// Incidents farther than this from any street are not given a street.
pub const SNAP_METRES: f64 = 50.0;

/// The projection of a territory's streets: the boundary's zone, else the extract's.
pub fn street_projection(territory: &Territory, extract: &OsmExtract) -> Utm {
    let points: Vec<Wgs84Point> = extract.nodes.iter().filter_map(|n| Wgs84Point::new(n.lat, n.lon).ok()).collect();
    crate::cameras::planning_projection(territory, &points)
}

/// The routable graph of an extract, projected with `utm`.
pub fn street_graph(extract: &OsmExtract, utm: &Utm) -> Result<StreetGraph, PlanningError> {
    let nodes: Vec<RoadNode> = extract
        .nodes
        .iter()
        .filter_map(|n| {
            let (x, y) = utm.forward(Wgs84Point::new(n.lat, n.lon).ok()?);
            Some(RoadNode { id: n.id, x, y })
        })
        .collect();
    let ways: Vec<RoadWay> = extract
        .ways
        .iter()
        .filter_map(|w| {
            Some(RoadWay {
                id: w.id,
                nodes: w.nodes.clone(),
                class: RoadClass::from_osm_tag(w.highway.as_tag())?,
                modes: TravelModes { walk: w.modes.walk, drive: w.modes.drive },
                oneway: match w.oneway {
                    osm::Oneway::Forward => Oneway::Forward,
                    osm::Oneway::Backward => Oneway::Backward,
                    osm::Oneway::No => Oneway::No,
                },
                maxspeed_kmh: w.maxspeed_kmh,
                name: w.name.clone(),
            })
        })
        .collect();
    StreetGraph::build(&nodes, &ways, &StreetParams::default())
}

/// What the network holds and where incidents fall on it: length by class, connectivity,
/// candidate intersections, places by category, and the streets with the most incidents
/// (each incident snapped to the nearest segment within [`SNAP_METRES`]).
pub fn streets_report(territory: &Territory, extract: &OsmExtract, records: &[IncidentRecord]) -> Result<Value, PlanningError> {
    let utm = street_projection(territory, extract);
    let graph = street_graph(extract, &utm)?;
    let mut km_by_class: HashMap<&str, f64> = HashMap::new();
    for s in graph.segments() {
        *km_by_class.entry(s.class.osm_tag()).or_default() += s.length_m / 1000.0;
    }
    let mut classes: Vec<(&str, f64)> = km_by_class.into_iter().collect();
    classes.sort_by(|a, b| b.1.total_cmp(&a.1));
    let members = |set: SegmentSet| (0..graph.node_count()).filter(|&v| graph.degree(NodeId(v as u32), set) > 0).count();
    let share = |set: SegmentSet| {
        let c = graph.components(set);
        c.largest().map(|(_, n)| (n as f64 / members(set).max(1) as f64 * 1e4).round() / 1e4)
    };
    let candidates = graph.candidate_sites(&CandidateParams::default()).len();
    let mut places: HashMap<&str, u64> = HashMap::new();
    for p in &extract.pois {
        *places.entry(p.category.as_str()).or_default() += 1;
    }
    let mut places: Vec<(&str, u64)> = places.into_iter().collect();
    places.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let points: Vec<(f64, f64)> = records.iter().map(|r| utm.forward(r.location)).collect();
    let counts = graph.counts_per_segment(&points, SegmentSet::All, SNAP_METRES);
    // Streets by name (segments of one street added up), then unnamed segments on their own.
    let mut by_street: HashMap<String, (u64, f64)> = HashMap::new();
    for (k, &n) in counts.counts.iter().enumerate() {
        let id = SegmentId(k as u32);
        let name = graph.segment_name(id).map_or_else(|| format!("(unnamed segment {k})"), str::to_owned);
        let e = by_street.entry(name).or_default();
        e.0 += u64::from(n);
        e.1 += graph.segment(id).length_m;
    }
    let mut streets: Vec<(String, (u64, f64))> = by_street.into_iter().filter(|(_, (n, _))| *n > 0).collect();
    streets.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let total_km: f64 = graph.segments().iter().map(|s| s.length_m).sum::<f64>() / 1000.0;
    let round = |v: f64, d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
    Ok(json!({
        "nodes": graph.node_count(), "segments": graph.segment_count(), "km": round(total_km, 2),
        "km_by_class": classes.iter().map(|(c, km)| json!({"class": c, "km": round(*km, 2)})).collect::<Vec<_>>(),
        "largest_component_share": {"walk": share(SegmentSet::Walkable), "drive": share(SegmentSet::Drivable)},
        "candidate_intersections": candidates,
        "places": places.iter().map(|(c, n)| json!({"category": c, "count": n})).collect::<Vec<_>>(),
        "incidents": {"total": records.len(), "on_streets": records.len() as u64 - counts.unsnapped as u64, "snap_metres": SNAP_METRES},
        "streets": streets.iter().take(50).map(|(name, (n, m))| json!({
            "street": name, "incidents": n, "km": round(m / 1000.0, 3), "per_km": if *m > 0.0 { round(*n as f64 / (m / 1000.0), 1) } else { 0.0 },
        })).collect::<Vec<_>>(),
    }))
}
