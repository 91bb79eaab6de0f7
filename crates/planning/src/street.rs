//! The routable street graph: snapping points to streets, and travel times on foot and by car.
//!
//! Model. Streets come in as OpenStreetMap-like ways ([`RoadWay`]: node ids,
//! a [`RoadClass`], who may use it, one-way direction, `maxspeed`) over
//! projected nodes ([`RoadNode`], metres). The graph's nodes are the
//! intersections and the way ends; the nodes in between (degree 2) become the
//! geometry of a [`Segment`], which keeps its polyline and its length in
//! metres. Each segment is traversable on foot in both directions (when the
//! way is walkable) and by car in the directions its one-way tag allows.
//!
//! Speeds ([`StreetParams`]): walking 5 km/h on every walkable segment; driving
//! at `maxspeed × 0.8` where the way has a numeric `maxspeed` (OSRM's car
//! profile discounts posted limits by the same factor), otherwise at the
//! class speed of [`DriveSpeeds::default`] — the car profile of OSRM:
//!
//! | class | km/h | class | km/h |
//! | --- | --- | --- | --- |
//! | motorway | 90 | motorway_link | 45 |
//! | trunk | 85 | trunk_link | 40 |
//! | primary | 65 | primary_link | 30 |
//! | secondary | 55 | secondary_link | 25 |
//! | tertiary | 40 | tertiary_link | 20 |
//! | unclassified, road | 25 | residential | 25 |
//! | service | 15 | living_street | 10 |
//! | track, pedestrian, footway, path, platform, cycleway, bridleway (when tags let cars on) | 10 | steps | 5 |
//!
//! Turn costs, traffic signals and congestion are not modelled: driving times
//! are free-flow times, best read as lower bounds for an ordinary patrol car.
//!
//! Methods and costs (N nodes, E segments, P geometry pieces):
//! - Building: O(N + P) time and memory, plus a uniform grid index over the
//!   pieces (cell [`StreetParams::index_cell_m`], 100 m by default).
//! - [`StreetGraph::snap`]: the nearest piece by a ring search of the grid,
//!   O(pieces in the cells within the answer's distance), exact.
//! - [`StreetGraph::travel_times`]: Dijkstra (1959) from one or many
//!   [`Location`]s with a time limit, on a binary heap with lazy deletion,
//!   O((n + m) log n) for the n nodes and m edges within the limit. A bucket
//!   (Dial) queue would need times rounded to whole buckets, and its gain is
//!   the log factor of a frontier that, within ten minutes, holds a few hundred
//!   nodes; the heap keeps times exact.
//! - [`StreetGraph::travel_time`]: the same search, stopped as soon as the
//!   target's best time cannot improve.
//! - [`cost_matrix`]: one limited search per site, in parallel over sites
//!   (rayon), each with its own reused workspace; demand points are found
//!   through the segments at the settled nodes, O(S · (n log n + d)) for S
//!   sites and d demand points within reach of each.
//!
//! A position on the network is a [`Location`]: a segment and a distance along
//! it from the segment's `from` node. Travel between two locations counts only
//! the network: the walk from an incident to the street it snapped to is not
//! added (the snap distance is reported with the [`Snap`]).
//!
//! ```
//! use qalqan_planning::street::*;
//!
//! // A 200 m street west–east, crossed in its middle by a 100 m footway going north.
//! let nodes = vec![
//!     RoadNode { id: 1, x: 0.0, y: 0.0 },
//!     RoadNode { id: 2, x: 100.0, y: 0.0 },
//!     RoadNode { id: 3, x: 200.0, y: 0.0 },
//!     RoadNode { id: 4, x: 100.0, y: 100.0 },
//! ];
//! let both = TravelModes { walk: true, drive: true };
//! let ways = vec![
//!     RoadWay { id: 10, nodes: vec![1, 2, 3], class: RoadClass::Residential, modes: both, oneway: Oneway::No, maxspeed_kmh: None, name: None },
//!     RoadWay { id: 11, nodes: vec![2, 4], class: RoadClass::Footway, modes: TravelModes { walk: true, drive: false }, oneway: Oneway::No, maxspeed_kmh: None, name: None },
//! ];
//! let graph = StreetGraph::build(&nodes, &ways, &StreetParams::default()).unwrap();
//! assert_eq!((graph.node_count(), graph.segment_count()), (4, 3));
//!
//! // Walking from the west end to the footway's end: 200 m at 5 km/h = 144 s.
//! let start = graph.snap(0.0, 0.0, SegmentSet::Walkable, 10.0).unwrap().location;
//! let end = graph.snap(100.0, 101.0, SegmentSet::Walkable, 10.0).unwrap().location;
//! let seconds = graph.travel_time(start, end, Mode::Walk, 3_600.0).unwrap();
//! assert!((seconds - 144.0).abs() < 1e-9);
//! // Cars cannot use the footway.
//! assert_eq!(graph.travel_time(start, end, Mode::Drive, 3_600.0), None);
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::ControlFlow;

use rayon::prelude::*;

use crate::PlanningError;

/// How one travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// On foot, both directions of every walkable segment.
    Walk,
    /// By car, in the directions one-way tags allow.
    Drive,
}

/// Which segments a snap or a count considers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SegmentSet {
    /// Every segment. Default.
    #[default]
    All,
    /// Segments one may walk along.
    Walkable,
    /// Segments a car may use in at least one direction.
    Drivable,
}

impl From<Mode> for SegmentSet {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Walk => SegmentSet::Walkable,
            Mode::Drive => SegmentSet::Drivable,
        }
    }
}

/// Along a segment: `Forward` is from its `from` node to its `to` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Forward,
    Backward,
}

/// The direction cars may take along a way, relative to the order of its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Oneway {
    /// Both directions. Default.
    #[default]
    No,
    /// From the first node towards the last.
    Forward,
    /// From the last node towards the first.
    Backward,
}

/// Who may travel along a way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TravelModes {
    pub walk: bool,
    pub drive: bool,
}

/// The road classes, spelled as OpenStreetMap's `highway=*` values (the
/// contract with the reader of OSM files: [`RoadClass::from_osm_tag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RoadClass {
    Motorway,
    MotorwayLink,
    Trunk,
    TrunkLink,
    Primary,
    PrimaryLink,
    Secondary,
    SecondaryLink,
    Tertiary,
    TertiaryLink,
    Unclassified,
    Residential,
    LivingStreet,
    Service,
    Road,
    Track,
    Pedestrian,
    Footway,
    Path,
    Steps,
    Platform,
    Cycleway,
    Bridleway,
}

impl RoadClass {
    /// Every class, in the order of the enum.
    pub const ALL: [RoadClass; 23] = [
        Self::Motorway,
        Self::MotorwayLink,
        Self::Trunk,
        Self::TrunkLink,
        Self::Primary,
        Self::PrimaryLink,
        Self::Secondary,
        Self::SecondaryLink,
        Self::Tertiary,
        Self::TertiaryLink,
        Self::Unclassified,
        Self::Residential,
        Self::LivingStreet,
        Self::Service,
        Self::Road,
        Self::Track,
        Self::Pedestrian,
        Self::Footway,
        Self::Path,
        Self::Steps,
        Self::Platform,
        Self::Cycleway,
        Self::Bridleway,
    ];

    /// The class of a `highway=*` value (`"living_street"`), if it is one of these.
    pub fn from_osm_tag(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.osm_tag() == value)
    }

    /// The `highway=*` value of the class.
    pub fn osm_tag(self) -> &'static str {
        match self {
            Self::Motorway => "motorway",
            Self::MotorwayLink => "motorway_link",
            Self::Trunk => "trunk",
            Self::TrunkLink => "trunk_link",
            Self::Primary => "primary",
            Self::PrimaryLink => "primary_link",
            Self::Secondary => "secondary",
            Self::SecondaryLink => "secondary_link",
            Self::Tertiary => "tertiary",
            Self::TertiaryLink => "tertiary_link",
            Self::Unclassified => "unclassified",
            Self::Residential => "residential",
            Self::LivingStreet => "living_street",
            Self::Service => "service",
            Self::Road => "road",
            Self::Track => "track",
            Self::Pedestrian => "pedestrian",
            Self::Footway => "footway",
            Self::Path => "path",
            Self::Steps => "steps",
            Self::Platform => "platform",
            Self::Cycleway => "cycleway",
            Self::Bridleway => "bridleway",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Driving speed of each class in km/h, used where a way has no numeric `maxspeed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriveSpeeds {
    kmh: [f64; 23],
}

impl Default for DriveSpeeds {
    /// OSRM's car profile (the table in the module documentation).
    fn default() -> Self {
        let mut kmh = [10.0; 23];
        for (class, speed) in [
            (RoadClass::Motorway, 90.0),
            (RoadClass::MotorwayLink, 45.0),
            (RoadClass::Trunk, 85.0),
            (RoadClass::TrunkLink, 40.0),
            (RoadClass::Primary, 65.0),
            (RoadClass::PrimaryLink, 30.0),
            (RoadClass::Secondary, 55.0),
            (RoadClass::SecondaryLink, 25.0),
            (RoadClass::Tertiary, 40.0),
            (RoadClass::TertiaryLink, 20.0),
            (RoadClass::Unclassified, 25.0),
            (RoadClass::Residential, 25.0),
            (RoadClass::LivingStreet, 10.0),
            (RoadClass::Service, 15.0),
            (RoadClass::Road, 25.0),
            (RoadClass::Steps, 5.0),
        ] {
            kmh[class.index()] = speed;
        }
        Self { kmh }
    }
}

impl DriveSpeeds {
    /// The speed of a class in km/h.
    pub fn get(&self, class: RoadClass) -> f64 {
        self.kmh[class.index()]
    }

    /// The table with one class's speed changed.
    pub fn with(mut self, class: RoadClass, kmh: f64) -> Self {
        self.kmh[class.index()] = kmh;
        self
    }
}

/// How a way's `maxspeed` enters its driving speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxspeedUse {
    /// Class speeds only.
    Ignore,
    /// `maxspeed × factor` where the way has one, the class speed elsewhere.
    Scaled(f64),
}

impl Default for MaxspeedUse {
    /// `Scaled(0.8)`, as OSRM's car profile.
    fn default() -> Self {
        MaxspeedUse::Scaled(0.8)
    }
}

/// Parameters of [`StreetGraph::build`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreetParams {
    /// Walking speed in km/h on every walkable segment. Default 5.
    pub walking_kmh: f64,
    /// Driving speed per class. Default OSRM's car profile.
    pub drive_speeds: DriveSpeeds,
    /// Default `Scaled(0.8)`.
    pub maxspeed: MaxspeedUse,
    /// Cell side of the snapping index in metres. Default 100; enlarged when
    /// the area would need more than 4 million cells.
    pub index_cell_m: f64,
}

impl Default for StreetParams {
    fn default() -> Self {
        Self { walking_kmh: 5.0, drive_speeds: DriveSpeeds::default(), maxspeed: MaxspeedUse::default(), index_cell_m: 100.0 }
    }
}

/// An input node: an OSM node id and projected coordinates in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoadNode {
    pub id: i64,
    pub x: f64,
    pub y: f64,
}

/// An input way: its nodes in order and what travels on it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadWay {
    pub id: i64,
    /// Node ids in order, each one in the node list given to [`StreetGraph::build`].
    pub nodes: Vec<i64>,
    pub class: RoadClass,
    pub modes: TravelModes,
    /// For driving only.
    pub oneway: Oneway,
    /// Posted speed limit in km/h.
    pub maxspeed_kmh: Option<f64>,
    pub name: Option<String>,
}

/// A node of the graph (an intersection or a way end), numbered 0..[`StreetGraph::node_count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The position in node-indexed vectors ([`StreetGraph::travel_times`]).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A segment of the graph, numbered 0..[`StreetGraph::segment_count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentId(pub u32);

impl SegmentId {
    /// The position in segment-indexed vectors ([`SegmentCounts::counts`]).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A stretch of one way between two graph nodes, with no intersection inside.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub from: NodeId,
    pub to: NodeId,
    /// Along the polyline, in metres.
    pub length_m: f64,
    pub class: RoadClass,
    /// The OSM id of the way it belongs to.
    pub way_id: i64,
    /// Seconds per metre: walking (both directions), driving forward, driving
    /// backward; infinite where the mode may not go.
    pace: [f64; 3],
    name: Option<u32>,
}

impl Segment {
    /// Seconds per metre along the segment in a direction, if the mode may go that way.
    pub fn pace(&self, mode: Mode, direction: Direction) -> Option<f64> {
        let p = self.pace[pace_slot(mode, direction)];
        p.is_finite().then_some(p)
    }

    /// Seconds to traverse the whole segment, if the mode may go that way.
    pub fn seconds(&self, mode: Mode, direction: Direction) -> Option<f64> {
        self.pace(mode, direction).map(|p| p * self.length_m)
    }

    /// Whether the segment belongs to a set.
    pub fn is_in(&self, set: SegmentSet) -> bool {
        match set {
            SegmentSet::All => true,
            SegmentSet::Walkable => self.pace[0].is_finite(),
            SegmentSet::Drivable => self.pace[1].is_finite() || self.pace[2].is_finite(),
        }
    }
}

fn pace_slot(mode: Mode, direction: Direction) -> usize {
    match (mode, direction) {
        (Mode::Walk, _) => 0,
        (Mode::Drive, Direction::Forward) => 1,
        (Mode::Drive, Direction::Backward) => 2,
    }
}

/// A position on the network: a segment and the distance along it, in metres, from its `from` node.
///
/// Made by [`StreetGraph::snap`] or [`StreetGraph::node_location`]. Functions taking
/// locations clamp the offset to the segment and ignore a location whose segment the
/// graph does not have.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub segment: SegmentId,
    pub offset_m: f64,
}

/// A point snapped to its nearest segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    pub location: Location,
    /// From the point to the segment, in metres.
    pub distance_m: f64,
    /// The nearest point of the segment.
    pub x: f64,
    pub y: f64,
}

/// Points counted on the segment each snapped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCounts {
    /// One count per segment, by [`SegmentId::index`].
    pub counts: Vec<u32>,
    /// Points with no segment within the distance.
    pub unsnapped: usize,
}

/// Connected pieces of the graph, ignoring one-way directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Components {
    /// The component of each node (by [`NodeId::index`]); nodes with no segment of the set get their own.
    pub label: Vec<u32>,
    /// Nodes in each component, by label.
    pub sizes: Vec<usize>,
}

impl Components {
    /// The label and size of the largest component (the smallest label among equals).
    pub fn largest(&self) -> Option<(u32, usize)> {
        self.sizes.iter().enumerate().max_by_key(|&(i, &s)| (s, Reverse(i))).map(|(i, &s)| (i as u32, s))
    }
}

/// A reachable stretch of a segment: `[start_m, end_m]` along it from its `from` node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoveredPart {
    pub segment: SegmentId,
    pub start_m: f64,
    pub end_m: f64,
}

/// Parameters of [`StreetGraph::candidate_sites`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateParams {
    /// Keep nodes where at least this many segment ends meet. Default 3 (intersections).
    pub min_degree: usize,
    /// Keep no two candidates closer than this (metres, straight line); larger
    /// intersections are kept first. Default 0: every intersection.
    pub min_spacing_m: f64,
    /// The segments that count towards the degree. Default all.
    pub segments: SegmentSet,
}

impl Default for CandidateParams {
    fn default() -> Self {
        Self { min_degree: 3, min_spacing_m: 0.0, segments: SegmentSet::All }
    }
}

/// The routable street graph (see the module documentation).
#[derive(Debug, Clone)]
pub struct StreetGraph {
    node_xy: Vec<(f64, f64)>,
    node_osm: Vec<i64>,
    segments: Vec<Segment>,
    /// Geometry of segment s: points `geom_start[s]..geom_start[s + 1]`, with cumulative lengths.
    geom_start: Vec<u32>,
    geom: Vec<(f64, f64)>,
    cum: Vec<f64>,
    /// Segments incident to each node (CSR; a self-loop appears twice).
    incident_start: Vec<u32>,
    incident: Vec<u32>,
    walk: Csr,
    drive: Csr,
    names: Vec<String>,
    index: PieceGrid,
}

/// Directed edges out of each node: target and seconds.
#[derive(Debug, Clone, Default)]
struct Csr {
    start: Vec<u32>,
    target: Vec<u32>,
    seconds: Vec<f64>,
}

impl Csr {
    fn edges(&self, node: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let (a, b) = (self.start[node as usize] as usize, self.start[node as usize + 1] as usize);
        self.target[a..b].iter().copied().zip(self.seconds[a..b].iter().copied())
    }
}

impl StreetGraph {
    /// Builds the graph from projected nodes and ways (see the module documentation).
    ///
    /// Nodes no way uses are left out; consecutive repeats of a node in a way
    /// are skipped; ways with fewer than two distinct nodes, or that neither
    /// walkers nor cars may use, add nothing. Node ids are assigned in
    /// increasing OSM id, segment ids in way order.
    ///
    /// Errors: a way naming a node not in `nodes`, non-finite coordinates, or
    /// speeds that are not positive.
    pub fn build(nodes: &[RoadNode], ways: &[RoadWay], params: &StreetParams) -> Result<StreetGraph, PlanningError> {
        check_params(params)?;
        if nodes.iter().any(|n| !n.x.is_finite() || !n.y.is_finite()) {
            return Err(PlanningError::NotFinite { what: "street node coordinates" });
        }
        let by_id: HashMap<i64, u32> = nodes.iter().enumerate().map(|(i, n)| (n.id, i as u32)).collect();

        // Ways as input-node indices, consecutive repeats removed; how often each node is used.
        let mut uses = vec![0u8; nodes.len()];
        let mut way_refs: Vec<Vec<u32>> = Vec::with_capacity(ways.len());
        for way in ways {
            let mut refs: Vec<u32> = Vec::with_capacity(way.nodes.len());
            if !way.modes.walk && !way.modes.drive {
                way_refs.push(refs);
                continue;
            }
            for &id in &way.nodes {
                let i = *by_id.get(&id).ok_or(PlanningError::UnknownNode { way: way.id, node: id })?;
                if refs.last() != Some(&i) {
                    refs.push(i);
                }
            }
            if refs.len() >= 2 {
                let last = refs.len() - 1;
                for (k, &i) in refs.iter().enumerate() {
                    let add = if k == 0 || k == last { 2 } else { 1 };
                    uses[i as usize] = uses[i as usize].saturating_add(add);
                }
            }
            way_refs.push(refs);
        }

        // Graph nodes: used at least twice (an end, or shared), numbered by OSM id.
        let mut vertices: Vec<u32> = (0..nodes.len() as u32).filter(|&i| uses[i as usize] >= 2).collect();
        vertices.sort_by_key(|&i| nodes[i as usize].id);
        let mut vertex_of = vec![u32::MAX; nodes.len()];
        for (v, &i) in vertices.iter().enumerate() {
            vertex_of[i as usize] = v as u32;
        }
        let node_xy: Vec<(f64, f64)> = vertices.iter().map(|&i| (nodes[i as usize].x, nodes[i as usize].y)).collect();
        let node_osm: Vec<i64> = vertices.iter().map(|&i| nodes[i as usize].id).collect();

        let mut names: Vec<String> = Vec::new();
        let mut name_ids: HashMap<&str, u32> = HashMap::new();
        let mut segments = Vec::new();
        let mut geom_start = vec![0u32];
        let mut geom = Vec::new();
        let mut cum = Vec::new();
        for (way, refs) in ways.iter().zip(&way_refs) {
            if refs.len() < 2 {
                continue;
            }
            let name = way.name.as_deref().map(|n| {
                *name_ids.entry(n).or_insert_with(|| {
                    names.push(n.to_owned());
                    names.len() as u32 - 1
                })
            });
            let pace = way_pace(way, params);
            let mut first = 0;
            for k in 1..refs.len() {
                if vertex_of[refs[k] as usize] == u32::MAX {
                    continue;
                }
                let mut length = 0.0;
                for (j, &i) in refs[first..=k].iter().enumerate() {
                    let p = (nodes[i as usize].x, nodes[i as usize].y);
                    if j > 0 {
                        let q = geom[geom.len() - 1];
                        length += dist(p, q);
                    }
                    geom.push(p);
                    cum.push(length);
                }
                geom_start.push(geom.len() as u32);
                segments.push(Segment {
                    from: NodeId(vertex_of[refs[first] as usize]),
                    to: NodeId(vertex_of[refs[k] as usize]),
                    length_m: length,
                    class: way.class,
                    way_id: way.id,
                    pace,
                    name,
                });
                first = k;
            }
        }
        if segments.len() >= u32::MAX as usize || geom.len() >= u32::MAX as usize {
            return Err(PlanningError::InvalidParameter { name: "street network", reason: "is too large (over 4 billion parts)".into() });
        }

        let n = node_xy.len();
        let mut degree = vec![0u32; n + 1];
        for s in &segments {
            degree[s.from.index()] += 1;
            degree[s.to.index()] += 1;
        }
        let incident_start = prefix_sums(&degree[..n]);
        let mut fill = incident_start.clone();
        let mut incident = vec![0u32; incident_start[n] as usize];
        for (e, s) in segments.iter().enumerate() {
            for v in [s.from, s.to] {
                incident[fill[v.index()] as usize] = e as u32;
                fill[v.index()] += 1;
            }
        }

        let walk = build_csr(n, &segments, Mode::Walk);
        let drive = build_csr(n, &segments, Mode::Drive);
        let index = PieceGrid::build(&geom, &geom_start, params.index_cell_m);
        Ok(StreetGraph { node_xy, node_osm, segments, geom_start, geom, cum, incident_start, incident, walk, drive, names, index })
    }

    /// Number of nodes (intersections and way ends).
    pub fn node_count(&self) -> usize {
        self.node_xy.len()
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Projected coordinates of a node.
    pub fn node_xy(&self, node: NodeId) -> (f64, f64) {
        self.node_xy[node.index()]
    }

    /// The OSM id of a node.
    pub fn node_osm_id(&self, node: NodeId) -> i64 {
        self.node_osm[node.index()]
    }

    /// A segment.
    pub fn segment(&self, id: SegmentId) -> &Segment {
        &self.segments[id.index()]
    }

    /// All segments, by id.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The polyline of a segment, from its `from` node to its `to` node.
    pub fn segment_geometry(&self, id: SegmentId) -> &[(f64, f64)] {
        let (a, b) = self.geom_range(id.0);
        &self.geom[a..b]
    }

    /// The street name of a segment's way.
    pub fn segment_name(&self, id: SegmentId) -> Option<&str> {
        self.segments[id.index()].name.map(|i| self.names[i as usize].as_str())
    }

    /// The segments that end at a node (a self-loop twice).
    pub fn incident_segments(&self, node: NodeId) -> impl Iterator<Item = SegmentId> + '_ {
        let (a, b) = (self.incident_start[node.index()] as usize, self.incident_start[node.index() + 1] as usize);
        self.incident[a..b].iter().map(|&e| SegmentId(e))
    }

    /// The number of segment ends of a set at a node (a self-loop counts twice).
    pub fn degree(&self, node: NodeId, set: SegmentSet) -> usize {
        self.incident_segments(node).filter(|&e| self.segments[e.index()].is_in(set)).count()
    }

    /// The node as a location: the start or end of one of its segments.
    pub fn node_location(&self, node: NodeId) -> Option<Location> {
        let e = self.incident_segments(node).next()?;
        let s = &self.segments[e.index()];
        Some(Location { segment: e, offset_m: if s.from == node { 0.0 } else { s.length_m } })
    }

    /// The point of the network at a location.
    pub fn location_xy(&self, at: Location) -> (f64, f64) {
        let (a, b) = self.geom_range(at.segment.0);
        let cum = &self.cum[a..b];
        let k = cum.partition_point(|&c| c <= at.offset_m).clamp(1, b - a - 1);
        let (p, q) = (self.geom[a + k - 1], self.geom[a + k]);
        let len = cum[k] - cum[k - 1];
        let t = if len > 0.0 { ((at.offset_m - cum[k - 1]) / len).clamp(0.0, 1.0) } else { 0.0 };
        (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
    }

    fn geom_range(&self, segment: u32) -> (usize, usize) {
        (self.geom_start[segment as usize] as usize, self.geom_start[segment as usize + 1] as usize)
    }

    fn csr(&self, mode: Mode) -> &Csr {
        match mode {
            Mode::Walk => &self.walk,
            Mode::Drive => &self.drive,
        }
    }

    /// The nearest point of a segment of `set` to (`x`, `y`) within `max_distance_m`
    /// (may be infinite). Ties go to the lowest segment id.
    pub fn snap(&self, x: f64, y: f64, set: SegmentSet, max_distance_m: f64) -> Option<Snap> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        let best = self.index.nearest(x, y, max_distance_m, |k| {
            let seg = self.index.piece_segment[k as usize];
            self.segments[seg as usize].is_in(set).then(|| self.piece_distance(seg, k, x, y))
        })?;
        let (d, seg, offset, px, py) = best;
        Some(Snap { location: Location { segment: SegmentId(seg), offset_m: offset }, distance_m: d, x: px, y: py })
    }

    /// Distance from a point to piece k (points k, k+1 of the geometry) of segment `seg`:
    /// (distance, segment, offset along the segment, nearest x, nearest y).
    fn piece_distance(&self, seg: u32, k: u32, x: f64, y: f64) -> (f64, u32, f64, f64, f64) {
        let k = k as usize;
        let (a, b) = (self.geom[k], self.geom[k + 1]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 { (((x - a.0) * dx + (y - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
        let (px, py) = (a.0 + t * dx, a.1 + t * dy);
        let offset = self.cum[k] + t * (self.cum[k + 1] - self.cum[k]);
        (dist((x, y), (px, py)), seg, offset, px, py)
    }

    /// Counts points on the segment of `set` each snaps to (within `max_distance_m`), in parallel.
    pub fn counts_per_segment(&self, points: &[(f64, f64)], set: SegmentSet, max_distance_m: f64) -> SegmentCounts {
        let snapped: Vec<Option<u32>> =
            points.par_iter().map(|&(x, y)| self.snap(x, y, set, max_distance_m).map(|s| s.location.segment.0)).collect();
        let mut counts = vec![0u32; self.segments.len()];
        let mut unsnapped = 0;
        for s in snapped {
            match s {
                Some(e) => counts[e as usize] += 1,
                None => unsnapped += 1,
            }
        }
        SegmentCounts { counts, unsnapped }
    }

    /// Seconds from the nearest of `sources` to every node, by `mode`; nodes
    /// farther than `limit_s` (or unreachable) get infinity. Index by [`NodeId::index`].
    pub fn travel_times(&self, sources: &[Location], mode: Mode, limit_s: f64) -> Vec<f64> {
        let mut search = Search::new(self.node_count());
        search.run(self, self.seeds(sources, mode), mode, limit_s, |_, _| ControlFlow::Continue(()));
        search.dist
    }

    /// Seconds from one location to another by `mode`, if at most `limit_s`
    /// (may be infinite). Considers both ends of both segments, and the direct
    /// way along a shared segment.
    pub fn travel_time(&self, from: Location, to: Location, mode: Mode, limit_s: f64) -> Option<f64> {
        let (from, to) = (self.checked(from)?, self.checked(to)?);
        let mut search = Search::new(self.node_count());
        let mut best = self.along(from, to, mode).unwrap_or(f64::INFINITY);
        let target = &self.segments[to.segment.index()];
        let via_from = self.enter(to, mode, Direction::Forward);
        let via_to = self.enter(to, mode, Direction::Backward);
        search.run(self, self.seeds(&[from], mode), mode, limit_s.min(best), |node, d| {
            if d >= best {
                return ControlFlow::Break(());
            }
            if node == target.from.0 {
                if let Some(t) = via_from {
                    best = best.min(d + t);
                }
            }
            if node == target.to.0 {
                if let Some(t) = via_to {
                    best = best.min(d + t);
                }
            }
            ControlFlow::Continue(())
        });
        (best <= limit_s).then_some(best)
    }

    /// Snaps two points to segments usable by `mode` (within `max_snap_m`) and
    /// gives the network travel time between them, if at most `limit_s`.
    pub fn travel_time_between(&self, a: (f64, f64), b: (f64, f64), mode: Mode, limit_s: f64, max_snap_m: f64) -> Option<Trip> {
        let from = self.snap(a.0, a.1, mode.into(), max_snap_m)?;
        let to = self.snap(b.0, b.1, mode.into(), max_snap_m)?;
        let seconds = self.travel_time(from.location, to.location, mode, limit_s)?;
        Some(Trip { seconds, from, to })
    }

    /// Seconds from the nearest of `sources` to each demand point by `mode`,
    /// infinity beyond `limit_s` (or unsnapped): the coverage of posts within T
    /// seconds is the points with a finite time.
    pub fn times_to_points(&self, sources: &[Location], demand: &DemandPoints, mode: Mode, limit_s: f64) -> Vec<f64> {
        let mut out = vec![f64::INFINITY; demand.len()];
        let mut work = Workspace::new(self);
        work.search.run(self, self.seeds(sources, mode), mode, limit_s, |_, _| ControlFlow::Continue(()));
        let mut on_source: Vec<(u32, f64)> = sources.iter().filter_map(|&l| self.checked(l)).map(|l| (l.segment.0, l.offset_m)).collect();
        on_source.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        self.scan_points(&mut work, &on_source, demand, mode, limit_s, |p, t| out[p as usize] = out[p as usize].min(t));
        out
    }

    /// The stretches of segments reachable from the nearest of `sources` within
    /// `limit_s` by `mode`, merged per segment, ordered by segment and start.
    pub fn covered_parts(&self, sources: &[Location], mode: Mode, limit_s: f64) -> Vec<CoveredPart> {
        let mut search = Search::new(self.node_count());
        search.run(self, self.seeds(sources, mode), mode, limit_s, |_, _| ControlFlow::Continue(()));
        let mut parts: Vec<CoveredPart> = Vec::new();
        let mut push = |segment: u32, a: f64, b: f64| {
            if b >= a {
                parts.push(CoveredPart { segment: SegmentId(segment), start_m: a, end_m: b });
            }
        };
        let mut seen = vec![false; self.segments.len()];
        for &v in &search.touched {
            for &e in &self.incident[self.incident_start[v as usize] as usize..self.incident_start[v as usize + 1] as usize] {
                if std::mem::replace(&mut seen[e as usize], true) {
                    continue;
                }
                let s = &self.segments[e as usize];
                let (len, fwd, back) =
                    (s.length_m, s.pace[pace_slot(mode, Direction::Forward)], s.pace[pace_slot(mode, Direction::Backward)]);
                let (df, dt) = (search.dist[s.from.index()], search.dist[s.to.index()]);
                if df <= limit_s {
                    push(e, 0.0, if fwd.is_finite() { ((limit_s - df) / fwd).min(len) } else { 0.0 });
                }
                if dt <= limit_s {
                    push(e, if back.is_finite() { (len - (limit_s - dt) / back).max(0.0) } else { len }, len);
                }
            }
        }
        for l in sources.iter().filter_map(|&l| self.checked(l)) {
            let s = &self.segments[l.segment.index()];
            let (fwd, back) = (s.pace[pace_slot(mode, Direction::Forward)], s.pace[pace_slot(mode, Direction::Backward)]);
            let lo = if back.is_finite() { (l.offset_m - limit_s / back).max(0.0) } else { l.offset_m };
            let hi = if fwd.is_finite() { (l.offset_m + limit_s / fwd).min(s.length_m) } else { l.offset_m };
            if limit_s >= 0.0 {
                push(l.segment.0, lo, hi);
            }
        }
        parts.sort_by(|a, b| a.segment.cmp(&b.segment).then(a.start_m.total_cmp(&b.start_m)));
        let mut merged: Vec<CoveredPart> = Vec::with_capacity(parts.len());
        for p in parts {
            match merged.last_mut() {
                Some(m) if m.segment == p.segment && p.start_m <= m.end_m => m.end_m = m.end_m.max(p.end_m),
                _ => merged.push(p),
            }
        }
        merged
    }

    /// Weakly connected components of the segments in `set`.
    pub fn components(&self, set: SegmentSet) -> Components {
        let n = self.node_count();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(parent: &mut [u32], mut v: u32) -> u32 {
            while parent[v as usize] != v {
                parent[v as usize] = parent[parent[v as usize] as usize];
                v = parent[v as usize];
            }
            v
        }
        for s in self.segments.iter().filter(|s| s.is_in(set)) {
            let (a, b) = (find(&mut parent, s.from.0), find(&mut parent, s.to.0));
            if a != b {
                parent[a.max(b) as usize] = a.min(b);
            }
        }
        let mut label = vec![u32::MAX; n];
        let mut root_label: HashMap<u32, u32> = HashMap::new();
        let mut sizes = Vec::new();
        for v in 0..n as u32 {
            let r = find(&mut parent, v);
            let next = root_label.len() as u32;
            let l = *root_label.entry(r).or_insert(next);
            if l as usize == sizes.len() {
                sizes.push(0);
            }
            sizes[l as usize] += 1;
            label[v as usize] = l;
        }
        Components { label, sizes }
    }

    /// Candidate sites for posts: nodes where at least `min_degree` segment ends
    /// meet, thinned greedily (highest degree first, then lowest id) so that no
    /// two are closer than `min_spacing_m`. Returned in increasing id.
    pub fn candidate_sites(&self, params: &CandidateParams) -> Vec<NodeId> {
        let mut nodes: Vec<(usize, u32)> = (0..self.node_count() as u32)
            .map(|v| (self.degree(NodeId(v), params.segments), v))
            .filter(|&(d, _)| d >= params.min_degree.max(1))
            .collect();
        let spacing = params.min_spacing_m;
        if !(spacing > 0.0 && spacing.is_finite()) {
            return nodes.into_iter().map(|(_, v)| NodeId(v)).collect();
        }
        nodes.sort_by_key(|&(d, v)| (Reverse(d), v));
        let cell = |p: (f64, f64)| ((p.0 / spacing).floor() as i64, (p.1 / spacing).floor() as i64);
        let mut kept: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
        let mut out = Vec::new();
        for (_, v) in nodes {
            let p = self.node_xy[v as usize];
            let (cx, cy) = cell(p);
            let crowded = (-1..=1).any(|dx| {
                (-1..=1).any(|dy| {
                    kept.get(&(cx + dx, cy + dy)).is_some_and(|list| list.iter().any(|&u| dist(p, self.node_xy[u as usize]) < spacing))
                })
            });
            if !crowded {
                kept.entry((cx, cy)).or_default().push(v);
                out.push(NodeId(v));
            }
        }
        out.sort();
        out
    }

    /// Seconds to go from `at` to its segment's `from` node (`Backward`) or `to` node (`Forward`).
    fn leave(&self, at: Location, mode: Mode, direction: Direction) -> Option<f64> {
        let s = &self.segments[at.segment.index()];
        let metres = match direction {
            Direction::Forward => s.length_m - at.offset_m,
            Direction::Backward => at.offset_m,
        };
        if metres <= 0.0 {
            return Some(0.0);
        }
        s.pace(mode, direction).map(|p| p * metres)
    }

    /// Seconds to reach `at` from its segment's `from` node (`Forward`) or `to` node (`Backward`).
    fn enter(&self, at: Location, mode: Mode, direction: Direction) -> Option<f64> {
        let s = &self.segments[at.segment.index()];
        let metres = match direction {
            Direction::Forward => at.offset_m,
            Direction::Backward => s.length_m - at.offset_m,
        };
        if metres <= 0.0 {
            return Some(0.0);
        }
        s.pace(mode, direction).map(|p| p * metres)
    }

    /// The location with its offset clamped to the segment; `None` for a segment
    /// this graph does not have or a NaN offset.
    fn checked(&self, at: Location) -> Option<Location> {
        let s = self.segments.get(at.segment.index())?;
        (!at.offset_m.is_nan()).then(|| Location { segment: at.segment, offset_m: at.offset_m.clamp(0.0, s.length_m) })
    }

    /// Seconds from `a` to `b` along their shared segment, without passing a node.
    fn along(&self, a: Location, b: Location, mode: Mode) -> Option<f64> {
        if a.segment != b.segment {
            return None;
        }
        let s = &self.segments[a.segment.index()];
        let d = b.offset_m - a.offset_m;
        if d == 0.0 {
            Some(0.0)
        } else if d > 0.0 {
            s.pace(mode, Direction::Forward).map(|p| p * d)
        } else {
            s.pace(mode, Direction::Backward).map(|p| -p * d)
        }
    }

    fn seeds<'a>(&'a self, sources: &'a [Location], mode: Mode) -> impl Iterator<Item = (u32, f64)> + 'a {
        sources.iter().filter_map(|&l| self.checked(l)).flat_map(move |at| {
            let s = &self.segments[at.segment.index()];
            [
                self.leave(at, mode, Direction::Backward).map(|t| (s.from.0, t)),
                self.leave(at, mode, Direction::Forward).map(|t| (s.to.0, t)),
            ]
            .into_iter()
            .flatten()
        })
    }

    /// After a search: hands every demand point within `limit_s` to `emit` (a point may
    /// come more than once when several ways reach it; keep the minimum).
    fn scan_points(
        &self,
        work: &mut Workspace,
        sources_by_segment: &[(u32, f64)],
        demand: &DemandPoints,
        mode: Mode,
        limit_s: f64,
        mut emit: impl FnMut(u32, f64),
    ) {
        work.epoch = work.epoch.wrapping_add(1);
        if work.epoch == 0 {
            work.stamp.iter_mut().for_each(|s| *s = 0);
            work.epoch = 1;
        }
        let Workspace { search, stamp, epoch } = work;
        let mut visit = |e: u32| {
            if stamp[e as usize] == *epoch {
                return;
            }
            stamp[e as usize] = *epoch;
            let points = demand.on_segment(e);
            if points.is_empty() {
                return;
            }
            let s = &self.segments[e as usize];
            let (fwd, back) = (s.pace[pace_slot(mode, Direction::Forward)], s.pace[pace_slot(mode, Direction::Backward)]);
            let (df, dt) = (search.dist[s.from.index()], search.dist[s.to.index()]);
            let first = sources_by_segment.partition_point(|&(se, _)| se < e);
            let on_here = sources_by_segment[first..].iter().take_while(|&&(se, _)| se == e);
            for &p in points {
                let o = demand.offset[p as usize];
                let mut t = f64::INFINITY;
                if df.is_finite() {
                    t = t.min(if o <= 0.0 { df } else { df + o * fwd });
                }
                if dt.is_finite() {
                    t = t.min(if o >= s.length_m { dt } else { dt + (s.length_m - o) * back });
                }
                for &(_, os) in on_here.clone() {
                    let d = o - os;
                    t = t.min(if d == 0.0 {
                        0.0
                    } else if d > 0.0 {
                        d * fwd
                    } else {
                        -d * back
                    });
                }
                if t <= limit_s {
                    emit(p, t);
                }
            }
        };
        for i in 0..search.touched.len() {
            let v = search.touched[i] as usize;
            for &e in &self.incident[self.incident_start[v] as usize..self.incident_start[v + 1] as usize] {
                visit(e);
            }
        }
        for &(e, _) in sources_by_segment {
            visit(e);
        }
    }
}

/// A travel time between two snapped points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trip {
    /// Along the network, from `from`'s snapped point to `to`'s.
    pub seconds: f64,
    pub from: Snap,
    pub to: Snap,
}

/// Demand points snapped to the graph once, grouped by segment, for
/// [`StreetGraph::times_to_points`] and [`cost_matrix`].
#[derive(Debug, Clone, PartialEq)]
pub struct DemandPoints {
    /// Segment of each point (`u32::MAX` when unsnapped) and its offset.
    segment: Vec<u32>,
    offset: Vec<f64>,
    /// Points on each segment (CSR by segment id).
    start: Vec<u32>,
    points: Vec<u32>,
    unsnapped: usize,
}

impl DemandPoints {
    /// Snaps every point to the nearest segment of `set` within `max_distance_m`
    /// (in parallel); points with none are kept as unsnapped (never reachable).
    pub fn snap(graph: &StreetGraph, points: &[(f64, f64)], set: SegmentSet, max_distance_m: f64) -> DemandPoints {
        let locations: Vec<Option<Location>> =
            points.par_iter().map(|&(x, y)| graph.snap(x, y, set, max_distance_m).map(|s| s.location)).collect();
        Self::from_locations(graph, &locations)
    }

    /// Demand points at known locations (`None`: not on the network).
    pub fn from_locations(graph: &StreetGraph, locations: &[Option<Location>]) -> DemandPoints {
        let mut count = vec![0u32; graph.segment_count() + 1];
        let mut segment = Vec::with_capacity(locations.len());
        let mut offset = Vec::with_capacity(locations.len());
        let mut unsnapped = 0;
        for l in locations {
            match l {
                Some(l) if l.segment.index() < graph.segment_count() => {
                    count[l.segment.index()] += 1;
                    segment.push(l.segment.0);
                    offset.push(l.offset_m.clamp(0.0, graph.segments[l.segment.index()].length_m));
                }
                _ => {
                    unsnapped += 1;
                    segment.push(u32::MAX);
                    offset.push(f64::NAN);
                }
            }
        }
        let start = prefix_sums(&count[..graph.segment_count()]);
        let mut fill = start.clone();
        let mut pts = vec![0u32; locations.len() - unsnapped];
        for (p, &e) in segment.iter().enumerate() {
            if e != u32::MAX {
                pts[fill[e as usize] as usize] = p as u32;
                fill[e as usize] += 1;
            }
        }
        DemandPoints { segment, offset, start, points: pts, unsnapped }
    }

    /// Number of points, snapped or not.
    pub fn len(&self) -> usize {
        self.segment.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.segment.is_empty()
    }

    /// Points no segment was near enough to.
    pub fn unsnapped(&self) -> usize {
        self.unsnapped
    }

    /// Where point `i` lies on the network.
    pub fn location(&self, i: usize) -> Option<Location> {
        let e = *self.segment.get(i)?;
        (e != u32::MAX).then(|| Location { segment: SegmentId(e), offset_m: self.offset[i] })
    }

    fn on_segment(&self, e: u32) -> &[u32] {
        match (self.start.get(e as usize), self.start.get(e as usize + 1)) {
            (Some(&a), Some(&b)) => &self.points[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Travel times from sites to demand points, only the pairs within the cut-off:
/// a sparse matrix stored by site (CSR), each row in increasing demand index.
#[derive(Debug, Clone, PartialEq)]
pub struct CostMatrix {
    demand_count: usize,
    start: Vec<usize>,
    demand: Vec<u32>,
    seconds: Vec<f32>,
}

impl CostMatrix {
    /// Number of sites (rows).
    pub fn site_count(&self) -> usize {
        self.start.len() - 1
    }

    /// Number of demand points (columns).
    pub fn demand_count(&self) -> usize {
        self.demand_count
    }

    /// Number of (site, demand point) pairs within the cut-off.
    pub fn pair_count(&self) -> usize {
        self.demand.len()
    }

    /// The demand points within reach of a site and the seconds to each (empty for a site out of range).
    pub fn row(&self, site: usize) -> (&[u32], &[f32]) {
        match (self.start.get(site), self.start.get(site + 1)) {
            (Some(&a), Some(&b)) => (&self.demand[a..b], &self.seconds[a..b]),
            _ => (&[], &[]),
        }
    }

    /// Seconds from a site to a demand point, if within the cut-off.
    pub fn get(&self, site: usize, demand: usize) -> Option<f32> {
        let (d, s) = self.row(site);
        d.binary_search(&(demand as u32)).ok().map(|i| s[i])
    }

    /// The sites that reach each demand point and their seconds: the transpose,
    /// one row per demand point in increasing site index.
    pub fn by_demand(&self) -> CostMatrix {
        let mut count = vec![0u32; self.demand_count];
        for &d in &self.demand {
            count[d as usize] += 1;
        }
        let mut start = vec![0usize; self.demand_count + 1];
        for i in 0..self.demand_count {
            start[i + 1] = start[i] + count[i] as usize;
        }
        let mut fill = start.clone();
        let mut site = vec![0u32; self.demand.len()];
        let mut seconds = vec![0f32; self.demand.len()];
        for s in 0..self.site_count() {
            let (d, t) = self.row(s);
            for (&d, &t) in d.iter().zip(t) {
                let k = fill[d as usize];
                site[k] = s as u32;
                seconds[k] = t;
                fill[d as usize] += 1;
            }
        }
        CostMatrix { demand_count: self.site_count(), start, demand: site, seconds }
    }
}

/// Travel times by `mode` from each site to each demand point within `limit_s`
/// seconds (sparse), one limited Dijkstra per site, sites in parallel.
///
/// Sites are locations (for candidate nodes: [`StreetGraph::node_location`]).
/// Times are stored as `f32` seconds (about 0.1 ms of precision at an hour).
pub fn cost_matrix(graph: &StreetGraph, sites: &[Location], demand: &DemandPoints, mode: Mode, limit_s: f64) -> CostMatrix {
    let rows: Vec<Vec<(u32, f32)>> = sites
        .par_iter()
        .map_init(
            || (Workspace::new(graph), Vec::<(u32, f64)>::new()),
            |(work, found), &site| {
                let Some(site) = graph.checked(site) else { return Vec::new() };
                work.search.run(graph, graph.seeds(std::slice::from_ref(&site), mode), mode, limit_s, |_, _| ControlFlow::Continue(()));
                found.clear();
                graph.scan_points(work, &[(site.segment.0, site.offset_m)], demand, mode, limit_s, |p, t| found.push((p, t)));
                found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                found.dedup_by_key(|f| f.0);
                found.iter().map(|&(p, t)| (p, t as f32)).collect()
            },
        )
        .collect();
    let mut start = Vec::with_capacity(sites.len() + 1);
    start.push(0);
    let total: usize = rows.iter().map(Vec::len).sum();
    let mut d = Vec::with_capacity(total);
    let mut seconds = Vec::with_capacity(total);
    for row in rows {
        for (p, t) in row {
            d.push(p);
            seconds.push(t);
        }
        start.push(d.len());
    }
    CostMatrix { demand_count: demand.len(), start, demand: d, seconds }
}

/// Dijkstra's state, reusable: distances reset only where they were touched.
#[derive(Debug, Clone)]
struct Search {
    dist: Vec<f64>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl Search {
    fn new(n: usize) -> Self {
        Search { dist: vec![f64::INFINITY; n], touched: Vec::new(), heap: BinaryHeap::new() }
    }

    fn reset(&mut self) {
        for &v in &self.touched {
            self.dist[v as usize] = f64::INFINITY;
        }
        self.touched.clear();
        self.heap.clear();
    }

    /// Settles nodes in order of time up to `limit`; `on_settle` may stop early.
    /// Times are non-negative, so their bit patterns order like the numbers.
    fn run(
        &mut self,
        graph: &StreetGraph,
        seeds: impl Iterator<Item = (u32, f64)>,
        mode: Mode,
        limit: f64,
        mut on_settle: impl FnMut(u32, f64) -> ControlFlow<()>,
    ) {
        self.reset();
        for (v, t) in seeds {
            self.relax(v, t, limit);
        }
        let csr = graph.csr(mode);
        while let Some(Reverse((bits, v))) = self.heap.pop() {
            let d = f64::from_bits(bits);
            if d > self.dist[v as usize] {
                continue;
            }
            if on_settle(v, d).is_break() {
                break;
            }
            for (w, t) in csr.edges(v) {
                self.relax(w, d + t, limit);
            }
        }
    }

    fn relax(&mut self, v: u32, t: f64, limit: f64) {
        let slot = &mut self.dist[v as usize];
        if t < *slot && t <= limit {
            if slot.is_infinite() {
                self.touched.push(v);
            }
            *slot = t;
            self.heap.push(Reverse((t.to_bits(), v)));
        }
    }
}

/// A search plus a per-segment stamp (segments already scanned for demand points).
#[derive(Debug, Clone)]
struct Workspace {
    search: Search,
    stamp: Vec<u32>,
    epoch: u32,
}

impl Workspace {
    fn new(graph: &StreetGraph) -> Self {
        Workspace { search: Search::new(graph.node_count()), stamp: vec![0; graph.segment_count()], epoch: 0 }
    }
}

/// A uniform grid of cells, each listing the geometry pieces whose bounding box meets it.
#[derive(Debug, Clone)]
struct PieceGrid {
    x0: f64,
    y0: f64,
    cell: f64,
    cols: i64,
    rows: i64,
    start: Vec<u32>,
    /// Global index k of each listed piece (points k and k + 1).
    pieces: Vec<u32>,
    /// Segment of the piece starting at each geometry point.
    piece_segment: Vec<u32>,
}

/// Most cells of the snapping index.
const MAX_CELLS: f64 = 4.0e6;

impl PieceGrid {
    fn build(geom: &[(f64, f64)], geom_start: &[u32], cell_m: f64) -> Self {
        let mut piece_segment = vec![u32::MAX; geom.len()];
        for s in 0..geom_start.len().saturating_sub(1) {
            for k in geom_start[s]..geom_start[s + 1].saturating_sub(1) {
                piece_segment[k as usize] = s as u32;
            }
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &(x, y) in geom {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        if geom.is_empty() {
            (x0, y0, x1, y1) = (0.0, 0.0, 0.0, 0.0);
        }
        let mut cell = cell_m;
        while ((x1 - x0) / cell + 1.0) * ((y1 - y0) / cell + 1.0) > MAX_CELLS {
            cell *= 2.0;
        }
        let cols = ((x1 - x0) / cell).floor() as i64 + 1;
        let rows = ((y1 - y0) / cell).floor() as i64 + 1;
        let mut grid = PieceGrid { x0, y0, cell, cols, rows, start: Vec::new(), pieces: Vec::new(), piece_segment: Vec::new() };
        let listed: Vec<usize> = (0..geom.len()).filter(|&k| piece_segment[k] != u32::MAX).collect();
        let cells_of = |g: &PieceGrid, k: usize| {
            let (a, b) = (geom[k], geom[k + 1]);
            let (c0, r0) = g.cell_of(a.0.min(b.0), a.1.min(b.1));
            let (c1, r1) = g.cell_of(a.0.max(b.0), a.1.max(b.1));
            let cols = g.cols;
            (r0..=r1).flat_map(move |r| (c0..=c1).map(move |c| (r * cols + c) as usize))
        };
        let mut count = vec![0u32; (cols * rows) as usize];
        for &k in &listed {
            for c in cells_of(&grid, k) {
                count[c] += 1;
            }
        }
        let start = prefix_sums(&count);
        let mut fill = start.clone();
        let mut pieces = vec![0u32; *start.last().unwrap_or(&0) as usize];
        for &k in &listed {
            for c in cells_of(&grid, k) {
                pieces[fill[c] as usize] = k as u32;
                fill[c] += 1;
            }
        }
        grid.start = start;
        grid.pieces = pieces;
        grid.piece_segment = piece_segment;
        grid
    }

    /// The cell of a point inside the bounding box (clamped).
    fn cell_of(&self, x: f64, y: f64) -> (i64, i64) {
        let c = ((x - self.x0) / self.cell).floor().clamp(0.0, (self.cols - 1) as f64) as i64;
        let r = ((y - self.y0) / self.cell).floor().clamp(0.0, (self.rows - 1) as f64) as i64;
        (c, r)
    }

    /// The best (smallest distance, then segment, then offset) of `test` over the pieces
    /// within `max_distance`, searching rings of cells outwards from the point's cell.
    fn nearest(
        &self,
        x: f64,
        y: f64,
        max_distance: f64,
        mut test: impl FnMut(u32) -> Option<(f64, u32, f64, f64, f64)>,
    ) -> Option<(f64, u32, f64, f64, f64)> {
        if self.pieces.is_empty() {
            return None;
        }
        // The point's cell in an unbounded lattice; rings are clipped to the grid.
        let fx = (x - self.x0) / self.cell;
        let fy = (y - self.y0) / self.cell;
        let (cx, cy) = (fx.floor(), fy.floor());
        if !(cx.abs() < 1e15 && cy.abs() < 1e15) {
            return None;
        }
        let edge = (fx - cx).min(cx + 1.0 - fx).min(fy - cy).min(cy + 1.0 - fy) * self.cell;
        let (cx, cy) = (cx as i64, cy as i64);
        // Rings closer than the grid are empty: start at the Chebyshev distance to it.
        let gap = |c: i64, hi: i64| {
            if c < 0 {
                -c
            } else if c >= hi {
                c - hi + 1
            } else {
                0
            }
        };
        let first = gap(cx, self.cols).max(gap(cy, self.rows));
        let last = (cx.max(self.cols - 1 - cx)).max(cy.max(self.rows - 1 - cy)).max(first);
        let mut best: Option<(f64, u32, f64, f64, f64)> = None;
        let better = |a: &(f64, u32, f64, f64, f64), b: &(f64, u32, f64, f64, f64)| {
            a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)).is_lt()
        };
        for r in first..=last {
            // Every cell of ring r is at least (r - 1) cells plus `edge` away.
            let reach = if r == 0 { 0.0 } else { (r - 1) as f64 * self.cell + edge };
            if reach > max_distance || best.as_ref().is_some_and(|b| b.0 < reach) {
                break;
            }
            let mut visit_cell = |c: i64, row: i64| {
                if c < 0 || row < 0 || c >= self.cols || row >= self.rows {
                    return;
                }
                let i = (row * self.cols + c) as usize;
                for &k in &self.pieces[self.start[i] as usize..self.start[i + 1] as usize] {
                    if let Some(cand) = test(k) {
                        if cand.0 <= max_distance && best.as_ref().is_none_or(|b| better(&cand, b)) {
                            best = Some(cand);
                        }
                    }
                }
            };
            if r == 0 {
                visit_cell(cx, cy);
                continue;
            }
            for c in (cx - r)..=(cx + r) {
                visit_cell(c, cy - r);
                visit_cell(c, cy + r);
            }
            for row in (cy - r + 1)..=(cy + r - 1) {
                visit_cell(cx - r, row);
                visit_cell(cx + r, row);
            }
        }
        best
    }
}

fn check_params(params: &StreetParams) -> Result<(), PlanningError> {
    let positive = |name: &'static str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(PlanningError::InvalidParameter { name, reason: format!("{v} must be a positive number") })
        }
    };
    positive("walking speed (km/h)", params.walking_kmh)?;
    positive("snapping index cell (m)", params.index_cell_m)?;
    for class in RoadClass::ALL {
        positive("driving speed (km/h)", params.drive_speeds.get(class))?;
    }
    if let MaxspeedUse::Scaled(f) = params.maxspeed {
        positive("maxspeed factor", f)?;
    }
    Ok(())
}

/// Seconds per metre of a way: walking, driving forward, driving backward.
fn way_pace(way: &RoadWay, params: &StreetParams) -> [f64; 3] {
    let walk = if way.modes.walk { 3.6 / params.walking_kmh } else { f64::INFINITY };
    let kmh = match (params.maxspeed, way.maxspeed_kmh) {
        (MaxspeedUse::Scaled(f), Some(limit)) if limit.is_finite() && limit > 0.0 => limit * f,
        _ => params.drive_speeds.get(way.class),
    };
    let drive = if way.modes.drive { 3.6 / kmh } else { f64::INFINITY };
    let forward = if way.oneway == Oneway::Backward { f64::INFINITY } else { drive };
    let backward = if way.oneway == Oneway::Forward { f64::INFINITY } else { drive };
    [walk, forward, backward]
}

fn build_csr(n: usize, segments: &[Segment], mode: Mode) -> Csr {
    let edges = || {
        segments.iter().flat_map(move |s| {
            let f = s.seconds(mode, Direction::Forward).filter(|_| s.from != s.to).map(|t| (s.from.0, s.to.0, t));
            let b = s.seconds(mode, Direction::Backward).filter(|_| s.from != s.to).map(|t| (s.to.0, s.from.0, t));
            [f, b].into_iter().flatten()
        })
    };
    let mut count = vec![0u32; n];
    for (u, _, _) in edges() {
        count[u as usize] += 1;
    }
    let start = prefix_sums(&count);
    let mut fill = start.clone();
    let m = start[n] as usize;
    let (mut target, mut seconds) = (vec![0u32; m], vec![0f64; m]);
    for (u, v, t) in edges() {
        let k = fill[u as usize] as usize;
        target[k] = v;
        seconds[k] = t;
        fill[u as usize] += 1;
    }
    Csr { start, target, seconds }
}

/// `[0, c0, c0 + c1, …]`: CSR offsets from counts.
fn prefix_sums(counts: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(counts.len() + 1);
    let mut sum = 0u32;
    out.push(0);
    for &c in counts {
        sum += c;
        out.push(sum);
    }
    out
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: TravelModes = TravelModes { walk: true, drive: true };

    fn way(id: i64, nodes: &[i64], class: RoadClass, modes: TravelModes, oneway: Oneway) -> RoadWay {
        RoadWay { id, nodes: nodes.to_vec(), class, modes, oneway, maxspeed_kmh: None, name: None }
    }

    /// A lattice of `n × n` nodes `spacing` metres apart; ways along every row and column.
    fn lattice(n: i64, spacing: f64) -> (Vec<RoadNode>, Vec<RoadWay>) {
        let id = |r: i64, c: i64| r * n + c + 1;
        let nodes =
            (0..n).flat_map(|r| (0..n).map(move |c| RoadNode { id: id(r, c), x: c as f64 * spacing, y: r as f64 * spacing })).collect();
        let mut ways = Vec::new();
        for r in 0..n {
            ways.push(way(1000 + r, &(0..n).map(|c| id(r, c)).collect::<Vec<_>>(), RoadClass::Residential, BOTH, Oneway::No));
            ways.push(way(2000 + r, &(0..n).map(|c| id(c, r)).collect::<Vec<_>>(), RoadClass::Residential, BOTH, Oneway::No));
        }
        (nodes, ways)
    }

    fn graph(nodes: &[RoadNode], ways: &[RoadWay]) -> StreetGraph {
        StreetGraph::build(nodes, ways, &StreetParams::default()).unwrap()
    }

    fn walk_pace() -> f64 {
        3.6 / 5.0
    }

    #[test]
    fn interior_nodes_of_degree_two_become_segment_geometry() {
        // An L-shaped way 1-2-3 (bend at 2) crossing nothing: one segment with three points.
        let nodes = [RoadNode { id: 1, x: 0.0, y: 0.0 }, RoadNode { id: 2, x: 30.0, y: 0.0 }, RoadNode { id: 3, x: 30.0, y: 40.0 }];
        let g = graph(&nodes, &[way(7, &[1, 2, 3], RoadClass::Footway, TravelModes { walk: true, drive: false }, Oneway::No)]);
        assert_eq!((g.node_count(), g.segment_count()), (2, 1));
        let s = g.segment(SegmentId(0));
        assert_eq!((s.length_m, s.way_id), (70.0, 7));
        assert_eq!(g.segment_geometry(SegmentId(0)), &[(0.0, 0.0), (30.0, 0.0), (30.0, 40.0)]);
        assert_eq!(s.seconds(Mode::Walk, Direction::Backward), Some(70.0 * walk_pace()));
        assert_eq!(s.seconds(Mode::Drive, Direction::Forward), None);
    }

    #[test]
    fn a_node_shared_by_two_ways_splits_both_into_segments() {
        let (nodes, ways) = lattice(3, 100.0);
        let g = graph(&nodes, &ways);
        assert_eq!((g.node_count(), g.segment_count()), (9, 12));
        assert_eq!(g.degree(NodeId(4), SegmentSet::All), 4);
        assert_eq!(g.candidate_sites(&CandidateParams::default()), vec![NodeId(1), NodeId(3), NodeId(4), NodeId(5), NodeId(7)]);
    }

    #[test]
    fn build_rejects_a_way_naming_a_missing_node_and_bad_speeds() {
        let nodes = [RoadNode { id: 1, x: 0.0, y: 0.0 }];
        let err = StreetGraph::build(&nodes, &[way(5, &[1, 9], RoadClass::Service, BOTH, Oneway::No)], &StreetParams::default());
        assert_eq!(err.unwrap_err(), PlanningError::UnknownNode { way: 5, node: 9 });
        let bad = StreetParams { walking_kmh: 0.0, ..StreetParams::default() };
        assert!(matches!(StreetGraph::build(&nodes, &[], &bad), Err(PlanningError::InvalidParameter { .. })));
        let nan = [RoadNode { id: 1, x: f64::NAN, y: 0.0 }];
        assert!(matches!(StreetGraph::build(&nan, &[], &StreetParams::default()), Err(PlanningError::NotFinite { .. })));
    }

    #[test]
    fn empty_network_snaps_nothing_and_reaches_nothing() {
        let g = graph(&[], &[]);
        assert_eq!(g.snap(0.0, 0.0, SegmentSet::All, f64::INFINITY), None);
        assert!(g.travel_times(&[], Mode::Walk, 100.0).is_empty());
        assert_eq!(g.components(SegmentSet::All).largest(), None);
        let demand = DemandPoints::snap(&g, &[(1.0, 1.0)], SegmentSet::All, 10.0);
        assert_eq!(demand.unsnapped(), 1);
        assert_eq!(cost_matrix(&g, &[], &demand, Mode::Walk, 60.0).pair_count(), 0);
    }

    #[test]
    fn oneway_streets_are_driven_one_way_and_walked_both_ways() {
        // 1 → 2 one-way, and a two-way detour 2-3-1 of twice the length.
        let nodes = [RoadNode { id: 1, x: 0.0, y: 0.0 }, RoadNode { id: 2, x: 100.0, y: 0.0 }, RoadNode { id: 3, x: 50.0, y: 86.6 }];
        let ways =
            [way(1, &[1, 2], RoadClass::Residential, BOTH, Oneway::Forward), way(2, &[2, 3, 1], RoadClass::Residential, BOTH, Oneway::No)];
        let g = graph(&nodes, &ways);
        let (a, b) = (g.node_location(NodeId(0)).unwrap(), g.node_location(NodeId(1)).unwrap());
        let drive_pace = 3.6 / 25.0;
        let ab = g.travel_time(a, b, Mode::Drive, f64::INFINITY).unwrap();
        let ba = g.travel_time(b, a, Mode::Drive, f64::INFINITY).unwrap();
        assert!((ab - 100.0 * drive_pace).abs() < 1e-9);
        assert!((ba - g.segment(SegmentId(1)).length_m * drive_pace).abs() < 1e-9);
        let walk_ba = g.travel_time(b, a, Mode::Walk, f64::INFINITY).unwrap();
        assert!((walk_ba - 100.0 * walk_pace()).abs() < 1e-9);
    }

    #[test]
    fn maxspeed_scaled_replaces_the_class_speed_for_driving() {
        let nodes = [RoadNode { id: 1, x: 0.0, y: 0.0 }, RoadNode { id: 2, x: 1000.0, y: 0.0 }];
        let mut w = way(1, &[1, 2], RoadClass::Primary, BOTH, Oneway::No);
        w.maxspeed_kmh = Some(50.0);
        let g = graph(&nodes, &[w.clone()]);
        assert!((g.segment(SegmentId(0)).seconds(Mode::Drive, Direction::Forward).unwrap() - 1000.0 / (40.0 / 3.6)).abs() < 1e-9);
        let ignore = StreetGraph::build(&nodes, &[w], &StreetParams { maxspeed: MaxspeedUse::Ignore, ..StreetParams::default() }).unwrap();
        assert!((ignore.segment(SegmentId(0)).seconds(Mode::Drive, Direction::Forward).unwrap() - 1000.0 / (65.0 / 3.6)).abs() < 1e-9);
    }

    #[test]
    fn travel_time_between_points_on_one_segment_goes_along_it() {
        let (nodes, ways) = lattice(2, 1000.0);
        let g = graph(&nodes, &ways);
        let trip = g.travel_time_between((100.0, 5.0), (400.0, -5.0), Mode::Walk, f64::INFINITY, 50.0).unwrap();
        assert!((trip.seconds - 300.0 * walk_pace()).abs() < 1e-9);
        assert_eq!((trip.from.distance_m, trip.to.distance_m), (5.0, 5.0));
        // Too far from any street.
        assert_eq!(g.travel_time_between((500.0, 500.0), (0.0, 0.0), Mode::Walk, f64::INFINITY, 50.0), None);
        // Beyond the limit.
        assert_eq!(g.travel_time_between((100.0, 0.0), (400.0, 0.0), Mode::Walk, 100.0, 50.0), None);
    }

    #[test]
    fn snap_matches_brute_force_on_a_random_network() {
        let mut rng = qalqan_analysis::rng::Rng::seed(3);
        let nodes: Vec<RoadNode> = (0..60).map(|i| RoadNode { id: i, x: rng.unit() * 1000.0, y: rng.unit() * 700.0 }).collect();
        let ways: Vec<RoadWay> = (0..40)
            .map(|w| {
                let ids: Vec<i64> = (0..2 + rng.below(3)).map(|_| rng.below(60) as i64).collect();
                let modes = if w % 3 == 0 { TravelModes { walk: true, drive: false } } else { BOTH };
                way(w, &ids, RoadClass::Tertiary, modes, Oneway::No)
            })
            .collect();
        let g = StreetGraph::build(&nodes, &ways, &StreetParams { index_cell_m: 37.0, ..StreetParams::default() }).unwrap();
        for _ in 0..500 {
            let (x, y) = (rng.unit() * 1400.0 - 200.0, rng.unit() * 1100.0 - 200.0);
            for set in [SegmentSet::All, SegmentSet::Drivable] {
                let brute = (0..g.segment_count() as u32)
                    .filter(|&e| g.segment(SegmentId(e)).is_in(set))
                    .flat_map(|e| {
                        let (a, b) = g.geom_range(e);
                        (a..b - 1).map(move |k| (e, k as u32))
                    })
                    .map(|(e, k)| g.piece_distance(e, k, x, y).0)
                    .fold(f64::INFINITY, f64::min);
                let snap = g.snap(x, y, set, f64::INFINITY).unwrap();
                assert!((snap.distance_m - brute).abs() < 1e-9, "{x} {y}: {} vs {brute}", snap.distance_m);
                assert!(g.segment(snap.location.segment).is_in(set));
                let (px, py) = g.location_xy(snap.location);
                assert!((px - snap.x).abs() < 1e-6 && (py - snap.y).abs() < 1e-6);
                let limited = g.snap(x, y, set, 50.0);
                assert_eq!(limited.is_some(), brute <= 50.0);
            }
        }
    }

    /// All-pairs shortest times between nodes by Floyd–Warshall on the segments.
    fn floyd_warshall(g: &StreetGraph, mode: Mode) -> Vec<Vec<f64>> {
        let n = g.node_count();
        let mut d = vec![vec![f64::INFINITY; n]; n];
        for (i, row) in d.iter_mut().enumerate() {
            row[i] = 0.0;
        }
        for s in g.segments() {
            if let Some(t) = s.seconds(mode, Direction::Forward) {
                d[s.from.index()][s.to.index()] = d[s.from.index()][s.to.index()].min(t);
            }
            if let Some(t) = s.seconds(mode, Direction::Backward) {
                d[s.to.index()][s.from.index()] = d[s.to.index()][s.from.index()].min(t);
            }
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let via = d[i][k] + d[k][j];
                    if via < d[i][j] {
                        d[i][j] = via;
                    }
                }
            }
        }
        d
    }

    fn random_network(seed: u64) -> StreetGraph {
        let mut rng = qalqan_analysis::rng::Rng::seed(seed);
        let nodes: Vec<RoadNode> = (0..40).map(|i| RoadNode { id: i, x: rng.unit() * 800.0, y: rng.unit() * 800.0 }).collect();
        let ways: Vec<RoadWay> = (0..45)
            .map(|w| {
                let ids: Vec<i64> = (0..2 + rng.below(3)).map(|_| rng.below(40) as i64).collect();
                let oneway = [Oneway::No, Oneway::No, Oneway::Forward, Oneway::Backward][rng.below(4) as usize];
                let class = [RoadClass::Primary, RoadClass::Residential, RoadClass::Service][rng.below(3) as usize];
                let modes = if w % 5 == 0 { TravelModes { walk: true, drive: false } } else { BOTH };
                way(w, &ids, class, modes, oneway)
            })
            .collect();
        graph(&nodes, &ways)
    }

    #[test]
    fn dijkstra_matches_floyd_warshall_on_random_networks() {
        for seed in 1..6 {
            let g = random_network(seed);
            for mode in [Mode::Walk, Mode::Drive] {
                let all = floyd_warshall(&g, mode);
                for (v, from_v) in all.iter().enumerate() {
                    let times = g.travel_times(&[g.node_location(NodeId(v as u32)).unwrap()], mode, f64::INFINITY);
                    for (w, &t) in times.iter().enumerate() {
                        let want = from_v[w];
                        assert!(t == want || (t - want).abs() < 1e-9, "seed {seed} {mode:?} {v}->{w}: {t} vs {want}");
                    }
                    // With a limit: the same times up to it, infinity beyond.
                    let limited = g.travel_times(&[g.node_location(NodeId(v as u32)).unwrap()], mode, 200.0);
                    for (w, &t) in limited.iter().enumerate() {
                        let want = if from_v[w] <= 200.0 { from_v[w] } else { f64::INFINITY };
                        assert!(t == want || (t - want).abs() < 1e-9);
                    }
                }
            }
        }
    }

    /// Seconds from location a to location b by brute force: through either end of each segment.
    fn brute_point_time(g: &StreetGraph, all: &[Vec<f64>], a: Location, b: Location, mode: Mode) -> f64 {
        let (sa, sb) = (g.segment(a.segment), g.segment(b.segment));
        let mut best = g.along(a, b, mode).unwrap_or(f64::INFINITY);
        for (na, leave) in [(sa.from, g.leave(a, mode, Direction::Backward)), (sa.to, g.leave(a, mode, Direction::Forward))] {
            for (nb, enter) in [(sb.from, g.enter(b, mode, Direction::Forward)), (sb.to, g.enter(b, mode, Direction::Backward))] {
                if let (Some(l), Some(e)) = (leave, enter) {
                    best = best.min(l + all[na.index()][nb.index()] + e);
                }
            }
        }
        best
    }

    #[test]
    fn point_times_cost_matrix_and_coverage_agree_with_brute_force() {
        for seed in 1..4 {
            let g = random_network(seed);
            let mut rng = qalqan_analysis::rng::Rng::seed(seed + 100);
            let points: Vec<(f64, f64)> = (0..120).map(|_| (rng.unit() * 800.0, rng.unit() * 800.0)).collect();
            for mode in [Mode::Walk, Mode::Drive] {
                let all = floyd_warshall(&g, mode);
                let demand = DemandPoints::snap(&g, &points, mode.into(), f64::INFINITY);
                let sites: Vec<Location> = (0..15).filter_map(|i| demand.location(i * 7)).collect();
                let limit = 150.0;
                let matrix = cost_matrix(&g, &sites, &demand, mode, limit);
                let by_demand = matrix.by_demand();
                for (s, &site) in sites.iter().enumerate() {
                    for d in 0..demand.len() {
                        let want = demand.location(d).map_or(f64::INFINITY, |b| brute_point_time(&g, &all, site, b, mode));
                        let got = matrix.get(s, d);
                        match got {
                            Some(t) => assert!(want <= limit && (f64::from(t) - want).abs() < 1e-3, "{t} vs {want}"),
                            None => assert!(want > limit - 1e-9, "seed {seed} {mode:?} site {s} point {d}: missing, brute {want}"),
                        }
                        assert_eq!(by_demand.get(d, s), got);
                        if let (Some(t), Some(b)) = (got, demand.location(d)) {
                            let exact = g.travel_time(site, b, mode, limit).unwrap();
                            assert!((f64::from(t) - exact).abs() < 1e-3);
                        }
                    }
                }
                // Several sources at once: the minimum over sources.
                let times = g.times_to_points(&sites, &demand, mode, limit);
                for (d, &t) in times.iter().enumerate() {
                    let want = (0..sites.len()).filter_map(|s| matrix.get(s, d)).map(f64::from).fold(f64::INFINITY, f64::min);
                    assert!((t.is_infinite() && want.is_infinite()) || (t - want).abs() < 1e-3);
                }
                // Covered parts hold exactly the reachable demand points.
                let parts = g.covered_parts(&sites, mode, limit);
                for (d, &t) in times.iter().enumerate() {
                    let Some(l) = demand.location(d) else { continue };
                    let inside =
                        parts.iter().any(|p| p.segment == l.segment && p.start_m - 1e-6 <= l.offset_m && l.offset_m <= p.end_m + 1e-6);
                    if (t - limit).abs() > 1e-6 {
                        assert_eq!(inside, t <= limit, "seed {seed} {mode:?} point {d} time {t}");
                    }
                }
            }
        }
    }

    #[test]
    fn covered_parts_of_a_straight_street_extend_speed_times_limit_each_way() {
        let nodes = [RoadNode { id: 1, x: 0.0, y: 0.0 }, RoadNode { id: 2, x: 1000.0, y: 0.0 }];
        let g = graph(&nodes, &[way(1, &[1, 2], RoadClass::Footway, TravelModes { walk: true, drive: false }, Oneway::No)]);
        let post = Location { segment: SegmentId(0), offset_m: 500.0 };
        let parts = g.covered_parts(&[post], Mode::Walk, 72.0); // 100 m at 5 km/h
        assert_eq!(parts.len(), 1);
        assert!((parts[0].start_m - 400.0).abs() < 1e-9 && (parts[0].end_m - 600.0).abs() < 1e-9);
    }

    #[test]
    fn candidate_sites_are_thinned_to_the_minimum_spacing() {
        let (nodes, ways) = lattice(6, 50.0);
        let g = graph(&nodes, &ways);
        let all = g.candidate_sites(&CandidateParams::default());
        assert_eq!(all.len(), 36 - 4);
        let thinned = g.candidate_sites(&CandidateParams { min_spacing_m: 120.0, ..CandidateParams::default() });
        assert!(thinned.len() < all.len() && !thinned.is_empty());
        for (i, &a) in thinned.iter().enumerate() {
            for &b in &thinned[i + 1..] {
                assert!(dist(g.node_xy(a), g.node_xy(b)) >= 120.0);
            }
        }
        // Every dropped candidate has a kept one nearby.
        for &a in &all {
            assert!(thinned.iter().any(|&b| dist(g.node_xy(a), g.node_xy(b)) < 120.0));
        }
    }

    #[test]
    fn counts_per_segment_count_snapped_points_and_report_the_rest() {
        let (nodes, ways) = lattice(2, 100.0);
        let g = graph(&nodes, &ways);
        let counts = g.counts_per_segment(&[(50.0, 1.0), (50.0, -2.0), (1.0, 50.0), (50.0, 50.0)], SegmentSet::All, 20.0);
        assert_eq!(counts.unsnapped, 1);
        assert_eq!(counts.counts.iter().sum::<u32>(), 3);
        let south = g.snap(50.0, 0.0, SegmentSet::All, 1.0).unwrap().location.segment;
        assert_eq!(counts.counts[south.index()], 2);
    }

    #[test]
    fn locations_outside_the_graph_are_ignored_and_offsets_clamped() {
        let (nodes, ways) = lattice(2, 100.0);
        let g = graph(&nodes, &ways);
        let nowhere = Location { segment: SegmentId(99), offset_m: 0.0 };
        let start = g.node_location(NodeId(0)).unwrap();
        assert_eq!(g.travel_time(nowhere, start, Mode::Walk, f64::INFINITY), None);
        assert!(g.travel_times(&[nowhere], Mode::Walk, f64::INFINITY).iter().all(|t| t.is_infinite()));
        let demand = DemandPoints::snap(&g, &[(50.0, 0.0)], SegmentSet::All, 10.0);
        assert_eq!(cost_matrix(&g, &[nowhere, start], &demand, Mode::Walk, 600.0).row(0).0.len(), 0);
        let beyond = Location { segment: start.segment, offset_m: 1e9 };
        let end = g.segment(start.segment).length_m;
        let t = g.travel_time(start, beyond, Mode::Walk, f64::INFINITY).unwrap();
        assert!((t - end * walk_pace()).abs() < 1e-9);
    }

    #[test]
    fn components_separate_disconnected_streets() {
        let nodes: Vec<RoadNode> = (1..=5).map(|i| RoadNode { id: i, x: i as f64 * 10.0, y: 0.0 }).collect();
        let ways = [
            way(1, &[1, 2, 3], RoadClass::Residential, BOTH, Oneway::Forward),
            way(2, &[4, 5], RoadClass::Footway, TravelModes { walk: true, drive: false }, Oneway::No),
        ];
        let g = graph(&nodes, &ways);
        let c = g.components(SegmentSet::All);
        assert_eq!(c.sizes.len(), 2);
        assert_eq!(c.largest(), Some((0, 2)));
        assert_eq!(g.components(SegmentSet::Drivable).sizes, vec![2, 1, 1]);
    }
}
