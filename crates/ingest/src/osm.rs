//! Reading an OpenStreetMap PBF file into a plain street and places extract.
//!
//! Method. A `.osm.pbf` file is a sequence of compressed blocks (nodes, then
//! ways, then relations in a sorted file, but any order is accepted). It is
//! read twice with the `osmpbf` crate, blocks decoded in parallel:
//!
//! 1. every block: ways with a routable `highway=*` ([`HighwayClass`]) are kept
//!    with their node references, access for walking and driving
//!    ([`TravelModes`]), one-way direction ([`Oneway`]), name and `maxspeed`;
//!    ways tagged as a place of interest ([`PoiCategory`]) are kept with their
//!    references; tagged nodes that are places of interest become [`Poi`]s at
//!    once. Blocks holding nodes are noted.
//! 2. only the blocks holding nodes: the coordinates of the referenced nodes
//!    (a sorted id list, binary search) are kept.
//!
//! Then every place-of-interest way becomes a [`Poi`] at its centroid (area
//! centroid of a closed way, length-weighted midpoint of an open one). A
//! routable way that references nodes missing from the file (extracts clipped
//! to a box do that) is split at the gaps; pieces of fewer than two nodes are
//! dropped, and [`OsmSummary`] counts both. Relations (multipolygon buildings,
//! routes, turn restrictions) are not read.
//!
//! Cost: two decompressions of the node blocks and one of the rest, O(file)
//! time; memory O(routable ways + places of interest): nodes that no kept way
//! references are never stored, so a country file needs memory for its streets,
//! not for its buildings.
//!
//! Which highways are routable, and for whom (OSRM's foot and car profiles,
//! simplified; tags `access`, `vehicle`, `motor_vehicle`, `motorcar` and `foot`
//! override the defaults):
//!
//! | `highway=` | walk | drive |
//! | --- | --- | --- |
//! | motorway, motorway_link | no | yes |
//! | trunk, trunk_link, primary … tertiary (and links), unclassified, residential, living_street, service, road | yes | yes |
//! | track | yes | no |
//! | pedestrian, footway, path, steps, platform | yes | no |
//! | cycleway, bridleway | only with `foot=yes/designated/permissive` | no |
//!
//! Trunk roads count as walkable: the main avenues of Kazakh cities are tagged
//! `trunk` and have pavements that are often not mapped separately; `foot=no`
//! or `foot=use_sidepath` removes them.
//!
//! ```no_run
//! use qalqan_ingest::osm::{read_osm_extract, PoiCategory};
//! # fn demo() -> Result<(), qalqan_ingest::IngestError> {
//! let extract = read_osm_extract(std::path::Path::new("helsinki.osm.pbf"))?;
//! let pubs = extract.pois.iter().filter(|p| p.category == PoiCategory::Pub).count();
//! println!("{} street nodes, {} ways, {pubs} pubs", extract.nodes.len(), extract.ways.len());
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use osmpbf::{BlobDecode, BlobReader, PrimitiveBlock};
use rayon::prelude::*;

use crate::IngestError;

/// A node used by a routable way, in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OsmNode {
    pub id: i64,
    pub lat: f64,
    pub lon: f64,
}

/// The `highway=*` classes Qalqan routes on (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HighwayClass {
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

impl HighwayClass {
    /// Every class, in the order of the enum.
    pub const ALL: [HighwayClass; 23] = [
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

    /// The class of a `highway=*` value, if Qalqan routes on it.
    pub fn from_tag(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_tag() == value)
    }

    /// The `highway=*` value of the class (`"living_street"`, `"motorway_link"`).
    pub fn as_tag(self) -> &'static str {
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

    /// Who may use the class when no access tag says otherwise.
    fn default_modes(self) -> TravelModes {
        use HighwayClass::*;
        match self {
            Motorway | MotorwayLink => TravelModes { walk: false, drive: true },
            Trunk | TrunkLink | Primary | PrimaryLink | Secondary | SecondaryLink | Tertiary | TertiaryLink | Unclassified
            | Residential | LivingStreet | Service | Road => TravelModes { walk: true, drive: true },
            Track | Pedestrian | Footway | Path | Steps | Platform => TravelModes { walk: true, drive: false },
            Cycleway | Bridleway => TravelModes { walk: false, drive: false },
        }
    }
}

/// Who may travel along a way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TravelModes {
    /// On foot.
    pub walk: bool,
    /// By car (a patrol car: private and no-motor-vehicle roads excluded).
    pub drive: bool,
}

/// The direction cars may take along a way, relative to the order of its nodes.
/// Walking ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Oneway {
    /// Both directions.
    #[default]
    No,
    /// Only from the first node towards the last (`oneway=yes`, roundabouts, motorways).
    Forward,
    /// Only from the last node towards the first (`oneway=-1`).
    Backward,
}

/// A routable way (or a piece of one, when the file lacks some of its nodes).
#[derive(Debug, Clone, PartialEq)]
pub struct OsmWay {
    /// The OSM way id (shared by the pieces of a way split at missing nodes).
    pub id: i64,
    /// Node ids in way order; every one is in [`OsmExtract::nodes`]; at least two.
    pub nodes: Vec<i64>,
    pub highway: HighwayClass,
    /// Never both false.
    pub modes: TravelModes,
    /// For driving.
    pub oneway: Oneway,
    /// The `name` tag.
    pub name: Option<String>,
    /// The `maxspeed` tag in km/h when it is a number (`"50"`, `"30 mph"`); zone
    /// codes such as `"RU:urban"` are left out.
    pub maxspeed_kmh: Option<f64>,
}

/// What kind of place a [`Poi`] is: the places that shape where crime and
/// disorder happen (licensed premises, cash, transit, targets) and where help is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PoiCategory {
    /// `amenity=bar` or `biergarten`.
    Bar,
    /// `amenity=pub`.
    Pub,
    /// `amenity=nightclub` or `stripclub`.
    Nightclub,
    /// `amenity=fast_food` (late-night crowds).
    FastFood,
    /// `amenity=casino` or `gambling`.
    Gambling,
    /// Any `shop=*` but `vacant`/`no` (the tag says which: `shop=alcohol`, `shop=convenience`).
    Shop,
    /// `amenity=school`.
    School,
    /// `amenity=college` or `university`.
    College,
    /// `highway=bus_stop`, `railway=tram_stop`, `public_transport=platform|stop_position`.
    TransitStop,
    /// `railway=station|halt`, `public_transport=station`, `amenity=bus_station`.
    Station,
    /// `railway=subway_entrance`.
    StationEntrance,
    /// `amenity=parking`.
    Parking,
    /// `amenity=bicycle_parking` (bicycle theft).
    BicycleParking,
    /// `amenity=atm`.
    Atm,
    /// `amenity=bank` or `bureau_de_change`.
    Bank,
    /// `amenity=pharmacy`.
    Pharmacy,
    /// `amenity=fuel`.
    Fuel,
    /// `amenity=police`.
    Police,
    /// `amenity=hospital` or `clinic`.
    Hospital,
}

impl PoiCategory {
    /// A short lowercase name (`"transit_stop"`), stable for files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bar => "bar",
            Self::Pub => "pub",
            Self::Nightclub => "nightclub",
            Self::FastFood => "fast_food",
            Self::Gambling => "gambling",
            Self::Shop => "shop",
            Self::School => "school",
            Self::College => "college",
            Self::TransitStop => "transit_stop",
            Self::Station => "station",
            Self::StationEntrance => "station_entrance",
            Self::Parking => "parking",
            Self::BicycleParking => "bicycle_parking",
            Self::Atm => "atm",
            Self::Bank => "bank",
            Self::Pharmacy => "pharmacy",
            Self::Fuel => "fuel",
            Self::Police => "police",
            Self::Hospital => "hospital",
        }
    }
}

/// Whether a [`Poi`] came from a node or from a way (their ids are separate in OSM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OsmElement {
    Node,
    Way,
}

/// A place of interest: a tagged node, or the centroid of a tagged way.
#[derive(Debug, Clone, PartialEq)]
pub struct Poi {
    pub osm_id: i64,
    pub element: OsmElement,
    pub lat: f64,
    pub lon: f64,
    pub category: PoiCategory,
    /// The tag that gave the category, as `key=value` (`"shop=alcohol"`).
    pub tag: String,
    pub name: Option<String>,
}

/// Counts of what was read and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsmSummary {
    /// Data blocks in the file.
    pub blocks: u64,
    pub nodes_read: u64,
    pub ways_read: u64,
    pub relations_read: u64,
    /// Routable ways found (before splitting at missing nodes).
    pub routable_ways: u64,
    /// References from kept ways to nodes the file does not have.
    pub missing_node_refs: u64,
    /// Pieces of routable ways left with fewer than two nodes, dropped.
    pub pieces_dropped: u64,
    /// Places of interest whose way has none of its nodes in the file, dropped.
    pub pois_dropped: u64,
}

/// The street network and places of interest of one PBF file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsmExtract {
    /// The nodes the ways use, sorted by id.
    pub nodes: Vec<OsmNode>,
    /// Routable ways, sorted by id.
    pub ways: Vec<OsmWay>,
    /// Places of interest, sorted by (element, id).
    pub pois: Vec<Poi>,
    pub summary: OsmSummary,
}

impl OsmExtract {
    /// The node with this id, by binary search.
    pub fn node(&self, id: i64) -> Option<&OsmNode> {
        self.nodes.binary_search_by_key(&id, |n| n.id).ok().map(|i| &self.nodes[i])
    }
}

/// Reads the routable ways, their nodes and the places of interest of an
/// `.osm.pbf` file (see the module documentation for the method and cost).
///
/// Errors name the file: it cannot be opened, is not an OSM PBF file (no
/// header block first, a block that does not decode), or needs a feature this
/// reader lacks (history files).
pub fn read_osm_extract(path: &Path) -> Result<OsmExtract, IngestError> {
    // The PBF decoder (osmpbf) panics on some corrupt blocks (an integer overflow in a dense
    // block's coordinates, found by fuzzing): a corrupt upload is an error naming the file, never
    // a crashed worker.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_osm_extract_unguarded(path))).unwrap_or_else(|_| {
        Err(IngestError::Osm { path: path.to_path_buf(), reason: "a block does not decode: the extract is corrupt".into() })
    })
}

fn read_osm_extract_unguarded(path: &Path) -> Result<OsmExtract, IngestError> {
    let err = |reason: String| IngestError::Osm { path: path.to_path_buf(), reason };
    let first = blobs(path)?;
    let pass1: Vec<BlockScan> =
        first.par_bridge().map(|(index, blob)| scan_block(path, index, blob)).collect::<Result<Vec<_>, IngestError>>()?;
    let headers = pass1.iter().filter(|b| b.is_header).count();
    if pass1.is_empty() || headers == 0 {
        return Err(err("not an OpenStreetMap PBF file: it has no header block".into()));
    }

    let mut summary = OsmSummary::default();
    let mut ways = Vec::new();
    let mut poi_ways = Vec::new();
    let mut pois = Vec::new();
    let mut node_blocks = vec![false; pass1.len()];
    for scan in pass1 {
        summary.blocks += u64::from(!scan.is_header);
        summary.nodes_read += scan.nodes;
        summary.ways_read += scan.ways;
        summary.relations_read += scan.relations;
        if let Some(flag) = node_blocks.get_mut(scan.index) {
            *flag = scan.nodes > 0;
        }
        ways.extend(scan.routable);
        poi_ways.extend(scan.poi_ways);
        pois.extend(scan.node_pois);
    }
    summary.routable_ways = ways.len() as u64;

    // Every node id a kept way references, sorted; coordinates filled by the second pass.
    let mut wanted: Vec<i64> = ways.iter().flat_map(|w: &RawWay| w.refs.iter().copied()).collect();
    wanted.extend(poi_ways.iter().flat_map(|w: &RawPoiWay| w.refs.iter().copied()));
    wanted.sort_unstable();
    wanted.dedup();
    let found: Vec<Vec<(u32, f64, f64)>> = blobs(path)?
        .filter(|(index, _)| node_blocks.get(*index).copied().unwrap_or(false))
        .par_bridge()
        .map(|(index, blob)| locate_nodes(path, index, blob, &wanted))
        .collect::<Result<Vec<_>, IngestError>>()?;
    let mut coords = vec![(f64::NAN, f64::NAN); wanted.len()];
    for (i, lat, lon) in found.into_iter().flatten() {
        coords[i as usize] = (lat, lon);
    }
    let position = |id: i64| wanted.binary_search(&id).ok().filter(|&i| !coords[i].0.is_nan());

    // Routable ways, split where nodes are missing; the nodes they use.
    let mut used = vec![false; wanted.len()];
    let mut out_ways = Vec::with_capacity(ways.len());
    for way in ways {
        let mut piece: Vec<i64> = Vec::with_capacity(way.refs.len());
        let mut flush = |piece: &mut Vec<i64>, summary: &mut OsmSummary| {
            if piece.len() >= 2 {
                out_ways.push(OsmWay {
                    id: way.id,
                    nodes: std::mem::take(piece),
                    highway: way.highway,
                    modes: way.modes,
                    oneway: way.oneway,
                    name: way.name.clone(),
                    maxspeed_kmh: way.maxspeed_kmh,
                });
            } else if !piece.is_empty() {
                summary.pieces_dropped += 1;
                piece.clear();
            }
        };
        for &id in &way.refs {
            match position(id) {
                Some(_) => piece.push(id),
                None => {
                    summary.missing_node_refs += 1;
                    flush(&mut piece, &mut summary);
                }
            }
        }
        flush(&mut piece, &mut summary);
    }
    for way in &out_ways {
        for &id in &way.nodes {
            if let Ok(i) = wanted.binary_search(&id) {
                used[i] = true;
            }
        }
    }
    let nodes: Vec<OsmNode> =
        wanted.iter().zip(&coords).zip(&used).filter(|(_, used)| **used).map(|((&id, &(lat, lon)), _)| OsmNode { id, lat, lon }).collect();

    for way in poi_ways {
        let points: Vec<(f64, f64)> = way.refs.iter().filter_map(|&id| position(id).map(|i| coords[i])).collect();
        summary.missing_node_refs += (way.refs.len() - points.len()) as u64;
        match centroid(&points, way.closed) {
            Some((lat, lon)) => {
                pois.push(Poi { osm_id: way.id, element: OsmElement::Way, lat, lon, category: way.category, tag: way.tag, name: way.name })
            }
            None => summary.pois_dropped += 1,
        }
    }

    out_ways.sort_by_key(|w| w.id);
    pois.sort_by_key(|p| (p.element, p.osm_id));
    Ok(OsmExtract { nodes, ways: out_ways, pois, summary })
}

/// The blobs of the file, numbered in file order; read errors end the iteration as an error item.
fn blobs(path: &Path) -> Result<impl Iterator<Item = (usize, Result<osmpbf::Blob, osmpbf::Error>)> + Send, IngestError> {
    let reader = BlobReader::from_path(path).map_err(|e| IngestError::Io { path: path.to_path_buf(), reason: e.to_string() })?;
    Ok(reader.enumerate())
}

fn block_error(path: &Path, index: usize, e: impl std::fmt::Display) -> IngestError {
    let reason = if index == 0 {
        format!("not an OpenStreetMap PBF file (its first block does not decode: {e})")
    } else {
        format!("block {index}: {e}")
    };
    IngestError::Osm { path: PathBuf::from(path), reason }
}

struct RawWay {
    id: i64,
    refs: Vec<i64>,
    highway: HighwayClass,
    modes: TravelModes,
    oneway: Oneway,
    name: Option<String>,
    maxspeed_kmh: Option<f64>,
}

struct RawPoiWay {
    id: i64,
    refs: Vec<i64>,
    closed: bool,
    category: PoiCategory,
    tag: String,
    name: Option<String>,
}

#[derive(Default)]
struct BlockScan {
    index: usize,
    is_header: bool,
    nodes: u64,
    ways: u64,
    relations: u64,
    routable: Vec<RawWay>,
    poi_ways: Vec<RawPoiWay>,
    node_pois: Vec<Poi>,
}

/// Features a reader must implement for the file's blocks; anything else (history) is refused.
const SUPPORTED_FEATURES: [&str; 2] = ["OsmSchema-V0.6", "DenseNodes"];

fn decode(path: &Path, index: usize, blob: Result<osmpbf::Blob, osmpbf::Error>) -> Result<Option<PrimitiveBlock>, IngestError> {
    let blob = blob.map_err(|e| block_error(path, index, e))?;
    match blob.decode().map_err(|e| block_error(path, index, e))? {
        BlobDecode::OsmHeader(header) => {
            if let Some(feature) = header.required_features().iter().find(|f| !SUPPORTED_FEATURES.contains(&f.as_str())) {
                return Err(block_error(path, index, format!("the file needs the feature '{feature}', which Qalqan does not read")));
            }
            Ok(None)
        }
        BlobDecode::OsmData(block) if index == 0 => {
            drop(block);
            Err(IngestError::Osm {
                path: path.to_path_buf(),
                reason: "not an OpenStreetMap PBF file: the first block is not a header".into(),
            })
        }
        BlobDecode::OsmData(block) => Ok(Some(block)),
        BlobDecode::Unknown(_) => Ok(None),
    }
}

fn scan_block(path: &Path, index: usize, blob: Result<osmpbf::Blob, osmpbf::Error>) -> Result<BlockScan, IngestError> {
    let is_header = matches!(&blob, Ok(b) if matches!(b.get_type(), osmpbf::BlobType::OsmHeader));
    let mut scan = BlockScan { index, is_header, ..BlockScan::default() };
    let Some(block) = decode(path, index, blob)? else { return Ok(scan) };
    for group in block.groups() {
        for node in group.dense_nodes() {
            scan.nodes += 1;
            if node.raw_tags().len() > 0 {
                node_poi(&mut scan, node.id(), node.lat(), node.lon(), &Tags::read(node.tags()));
            }
        }
        for node in group.nodes() {
            scan.nodes += 1;
            node_poi(&mut scan, node.id(), node.lat(), node.lon(), &Tags::read(node.tags()));
        }
        for way in group.ways() {
            scan.ways += 1;
            let tags = Tags::read(way.tags());
            if let Some((highway, modes, oneway)) = tags.routable() {
                scan.routable.push(RawWay {
                    id: way.id(),
                    refs: way.refs().collect(),
                    highway,
                    modes,
                    oneway,
                    name: tags.name.map(str::to_owned),
                    maxspeed_kmh: tags.maxspeed.and_then(parse_maxspeed),
                });
            }
            if let Some((category, tag)) = tags.poi() {
                let refs: Vec<i64> = way.refs().collect();
                let closed = refs.len() >= 4 && refs.first() == refs.last();
                scan.poi_ways.push(RawPoiWay { id: way.id(), refs, closed, category, tag, name: tags.name.map(str::to_owned) });
            }
        }
        scan.relations += group.relations().count() as u64;
    }
    Ok(scan)
}

fn node_poi(scan: &mut BlockScan, id: i64, lat: f64, lon: f64, tags: &Tags<'_>) {
    if let Some((category, tag)) = tags.poi() {
        if qalqan_domain::Wgs84Point::new(lat, lon).is_ok() {
            scan.node_pois.push(Poi { osm_id: id, element: OsmElement::Node, lat, lon, category, tag, name: tags.name.map(str::to_owned) });
        }
    }
}

fn locate_nodes(
    path: &Path,
    index: usize,
    blob: Result<osmpbf::Blob, osmpbf::Error>,
    wanted: &[i64],
) -> Result<Vec<(u32, f64, f64)>, IngestError> {
    let mut out = Vec::new();
    let Some(block) = decode(path, index, blob)? else { return Ok(out) };
    let mut keep = |id: i64, lat: f64, lon: f64| {
        if let Ok(i) = wanted.binary_search(&id) {
            if qalqan_domain::Wgs84Point::new(lat, lon).is_ok() {
                out.push((i as u32, lat, lon));
            }
        }
    };
    for group in block.groups() {
        for node in group.dense_nodes() {
            keep(node.id(), node.lat(), node.lon());
        }
        for node in group.nodes() {
            keep(node.id(), node.lat(), node.lon());
        }
    }
    Ok(out)
}

/// The tags this reader looks at, borrowed from the block's string table.
#[derive(Debug, Default, Clone, Copy)]
struct Tags<'a> {
    highway: Option<&'a str>,
    oneway: Option<&'a str>,
    junction: Option<&'a str>,
    access: Option<&'a str>,
    vehicle: Option<&'a str>,
    motor_vehicle: Option<&'a str>,
    motorcar: Option<&'a str>,
    foot: Option<&'a str>,
    name: Option<&'a str>,
    maxspeed: Option<&'a str>,
    amenity: Option<&'a str>,
    shop: Option<&'a str>,
    railway: Option<&'a str>,
    public_transport: Option<&'a str>,
}

impl<'a> Tags<'a> {
    fn read(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut t = Tags::default();
        for (key, value) in tags {
            let slot = match key {
                "highway" => &mut t.highway,
                "oneway" => &mut t.oneway,
                "junction" => &mut t.junction,
                "access" => &mut t.access,
                "vehicle" => &mut t.vehicle,
                "motor_vehicle" => &mut t.motor_vehicle,
                "motorcar" => &mut t.motorcar,
                "foot" => &mut t.foot,
                "name" => &mut t.name,
                "maxspeed" => &mut t.maxspeed,
                "amenity" => &mut t.amenity,
                "shop" => &mut t.shop,
                "railway" => &mut t.railway,
                "public_transport" => &mut t.public_transport,
                _ => continue,
            };
            *slot = Some(value);
        }
        t
    }

    /// The class, access and one-way direction of a way, if anyone may travel on it.
    fn routable(&self) -> Option<(HighwayClass, TravelModes, Oneway)> {
        let highway = HighwayClass::from_tag(self.highway?)?;
        let mut modes = highway.default_modes();
        for tag in [self.access, self.vehicle, self.motor_vehicle, self.motorcar].into_iter().flatten() {
            modes.drive = permission(tag).unwrap_or(modes.drive);
        }
        for tag in [self.access, self.foot].into_iter().flatten() {
            modes.walk = permission(tag).unwrap_or(modes.walk);
        }
        let implied = matches!(highway, HighwayClass::Motorway) || matches!(self.junction, Some("roundabout" | "circular"));
        let oneway = match self.oneway {
            Some("yes" | "true" | "1") => Oneway::Forward,
            Some("-1" | "reverse") => Oneway::Backward,
            Some("no" | "false" | "0") => Oneway::No,
            Some("reversible" | "alternating") => {
                // The direction changes during the day: no fixed direction to route.
                modes.drive = false;
                Oneway::No
            }
            _ if implied => Oneway::Forward,
            _ => Oneway::No,
        };
        (modes.walk || modes.drive).then_some((highway, modes, oneway))
    }

    /// The category of a place of interest and the tag that gave it.
    fn poi(&self) -> Option<(PoiCategory, String)> {
        use PoiCategory::*;
        if let Some(amenity) = self.amenity {
            let category = match amenity {
                "bar" | "biergarten" => Some(Bar),
                "pub" => Some(Pub),
                "nightclub" | "stripclub" => Some(Nightclub),
                "fast_food" => Some(FastFood),
                "casino" | "gambling" => Some(Gambling),
                "school" => Some(School),
                "college" | "university" => Some(College),
                "bus_station" => Some(Station),
                "parking" => Some(Parking),
                "bicycle_parking" => Some(BicycleParking),
                "atm" => Some(Atm),
                "bank" | "bureau_de_change" => Some(Bank),
                "pharmacy" => Some(Pharmacy),
                "fuel" => Some(Fuel),
                "police" => Some(Police),
                "hospital" | "clinic" => Some(Hospital),
                _ => None,
            };
            if let Some(category) = category {
                return Some((category, format!("amenity={amenity}")));
            }
        }
        if let Some(railway) = self.railway {
            let category = match railway {
                "station" | "halt" => Some(Station),
                "subway_entrance" => Some(StationEntrance),
                "tram_stop" => Some(TransitStop),
                _ => None,
            };
            if let Some(category) = category {
                return Some((category, format!("railway={railway}")));
            }
        }
        match self.public_transport {
            Some(pt @ "station") => return Some((Station, format!("public_transport={pt}"))),
            Some(pt @ ("platform" | "stop_position")) => return Some((TransitStop, format!("public_transport={pt}"))),
            _ => {}
        }
        if self.highway == Some("bus_stop") {
            return Some((TransitStop, "highway=bus_stop".into()));
        }
        match self.shop {
            Some("no" | "vacant" | "") | None => None,
            Some(shop) => Some((Shop, format!("shop={shop}"))),
        }
    }
}

/// What an access-type tag says: allowed, refused, or nothing definite.
fn permission(value: &str) -> Option<bool> {
    match value {
        "yes" | "designated" | "permissive" | "destination" | "customers" | "delivery" => Some(true),
        "no" | "private" | "use_sidepath" | "discouraged" => Some(false),
        _ => None,
    }
}

/// A numeric `maxspeed` in km/h: `"50"`, `"50 km/h"`, `"30 mph"`; `None` for zone codes,
/// `"none"`, `"walk"` and values outside (0, 300].
fn parse_maxspeed(value: &str) -> Option<f64> {
    let value = value.trim();
    let (number, factor) = if let Some(n) = value.strip_suffix("mph") {
        (n.trim(), 1.609_344)
    } else if let Some(n) = value.strip_suffix("km/h").or_else(|| value.strip_suffix("kmh")).or_else(|| value.strip_suffix("kph")) {
        (n.trim(), 1.0)
    } else {
        (value, 1.0)
    };
    let kmh = number.parse::<f64>().ok()? * factor;
    (kmh > 0.0 && kmh <= 300.0).then_some(kmh)
}

/// The centroid of a way's nodes (lat, lon): area centroid of a closed ring,
/// length-weighted midpoint of an open line, the mean when either is degenerate.
/// Computed in a local plane (longitude scaled by cos latitude).
fn centroid(points: &[(f64, f64)], closed: bool) -> Option<(f64, f64)> {
    let &(lat0, lon0) = points.first()?;
    let k = lat0.to_radians().cos();
    let xy: Vec<(f64, f64)> = points.iter().map(|&(lat, lon)| ((lon - lon0) * k, lat - lat0)).collect();
    let back = |(x, y): (f64, f64)| (lat0 + y, lon0 + if k > 0.0 { x / k } else { 0.0 });
    if closed && xy.len() >= 4 {
        let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
        for w in xy.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            let cross = x0 * y1 - x1 * y0;
            a += cross;
            cx += (x0 + x1) * cross;
            cy += (y0 + y1) * cross;
        }
        if a.abs() > 1e-18 {
            return Some(back((cx / (3.0 * a), cy / (3.0 * a))));
        }
    } else if xy.len() >= 2 {
        let (mut total, mut cx, mut cy) = (0.0, 0.0, 0.0);
        for w in xy.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            let len = (x1 - x0).hypot(y1 - y0);
            total += len;
            cx += 0.5 * (x0 + x1) * len;
            cy += 0.5 * (y0 + y1) * len;
        }
        if total > 0.0 {
            return Some(back((cx / total, cy / total)));
        }
    }
    let n = xy.len() as f64;
    let (sx, sy) = xy.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
    Some(back((sx / n, sy / n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags<'a>(pairs: &[(&'a str, &'a str)]) -> Tags<'a> {
        Tags::read(pairs.iter().copied())
    }

    #[test]
    fn residential_street_is_walkable_and_drivable_both_ways() {
        let t = tags(&[("highway", "residential"), ("name", "Aleksanterinkatu")]);
        assert_eq!(t.routable(), Some((HighwayClass::Residential, TravelModes { walk: true, drive: true }, Oneway::No)));
    }

    #[test]
    fn footway_is_walk_only_and_motorway_is_drive_only_and_oneway() {
        assert_eq!(tags(&[("highway", "footway")]).routable().map(|r| r.1), Some(TravelModes { walk: true, drive: false }));
        assert_eq!(
            tags(&[("highway", "motorway")]).routable(),
            Some((HighwayClass::Motorway, TravelModes { walk: false, drive: true }, Oneway::Forward))
        );
    }

    #[test]
    fn oneway_tags_and_roundabouts_set_the_driving_direction() {
        assert_eq!(tags(&[("highway", "primary"), ("oneway", "yes")]).routable().map(|r| r.2), Some(Oneway::Forward));
        assert_eq!(tags(&[("highway", "primary"), ("oneway", "-1")]).routable().map(|r| r.2), Some(Oneway::Backward));
        assert_eq!(tags(&[("highway", "tertiary"), ("junction", "roundabout")]).routable().map(|r| r.2), Some(Oneway::Forward));
        assert_eq!(tags(&[("highway", "motorway"), ("oneway", "no")]).routable().map(|r| r.2), Some(Oneway::No));
    }

    #[test]
    fn access_tags_override_the_class_defaults() {
        assert_eq!(tags(&[("highway", "service"), ("access", "private")]).routable(), None);
        assert_eq!(
            tags(&[("highway", "service"), ("access", "private"), ("foot", "yes")]).routable().map(|r| r.1),
            Some(TravelModes { walk: true, drive: false })
        );
        assert_eq!(
            tags(&[("highway", "pedestrian"), ("motor_vehicle", "destination")]).routable().map(|r| r.1),
            Some(TravelModes { walk: true, drive: true })
        );
        assert_eq!(tags(&[("highway", "cycleway")]).routable(), None);
        assert_eq!(tags(&[("highway", "cycleway"), ("foot", "designated")]).routable().map(|r| r.1.walk), Some(true));
        assert_eq!(tags(&[("highway", "trunk"), ("foot", "use_sidepath")]).routable().map(|r| r.1.walk), Some(false));
    }

    #[test]
    fn reversible_lanes_are_not_driven_and_unknown_highways_are_not_routable() {
        assert_eq!(tags(&[("highway", "residential"), ("oneway", "reversible")]).routable().map(|r| r.1.drive), Some(false));
        assert_eq!(tags(&[("highway", "construction")]).routable(), None);
        assert_eq!(tags(&[("highway", "proposed")]).routable(), None);
        assert_eq!(tags(&[("building", "yes")]).routable(), None);
    }

    #[test]
    fn every_highway_class_round_trips_through_its_tag() {
        for class in HighwayClass::ALL {
            assert_eq!(HighwayClass::from_tag(class.as_tag()), Some(class));
        }
    }

    #[test]
    fn maxspeed_reads_numbers_and_units_and_ignores_zone_codes() {
        assert_eq!(parse_maxspeed("50"), Some(50.0));
        assert_eq!(parse_maxspeed("40 km/h"), Some(40.0));
        assert!((parse_maxspeed("30 mph").unwrap() - 48.28).abs() < 0.01);
        assert_eq!(parse_maxspeed("RU:urban"), None);
        assert_eq!(parse_maxspeed("none"), None);
        assert_eq!(parse_maxspeed("0"), None);
    }

    #[test]
    fn poi_categories_follow_amenity_then_railway_then_transport_then_shop() {
        assert_eq!(tags(&[("amenity", "pub")]).poi(), Some((PoiCategory::Pub, "amenity=pub".into())));
        assert_eq!(tags(&[("shop", "alcohol")]).poi(), Some((PoiCategory::Shop, "shop=alcohol".into())));
        assert_eq!(tags(&[("shop", "vacant")]).poi(), None);
        assert_eq!(tags(&[("amenity", "pharmacy"), ("shop", "chemist")]).poi().map(|p| p.0), Some(PoiCategory::Pharmacy));
        assert_eq!(tags(&[("highway", "bus_stop")]).poi().map(|p| p.0), Some(PoiCategory::TransitStop));
        assert_eq!(
            tags(&[("public_transport", "platform"), ("highway", "bus_stop")]).poi(),
            Some((PoiCategory::TransitStop, "public_transport=platform".into()))
        );
        assert_eq!(tags(&[("railway", "station"), ("public_transport", "station")]).poi().map(|p| p.0), Some(PoiCategory::Station));
        assert_eq!(tags(&[("amenity", "bench")]).poi(), None);
    }

    #[test]
    fn centroid_of_a_closed_square_is_its_centre() {
        let ring = [(60.0, 25.0), (60.0, 25.002), (60.001, 25.002), (60.001, 25.0), (60.0, 25.0)];
        let (lat, lon) = centroid(&ring, true).unwrap();
        assert!((lat - 60.0005).abs() < 1e-9 && (lon - 25.001).abs() < 1e-9);
    }

    #[test]
    fn centroid_of_an_open_line_is_its_length_weighted_midpoint() {
        // Two equal legs along a parallel: the midpoint of length is the middle node.
        let line = [(0.0, 0.0), (0.0, 0.002), (0.0, 0.004)];
        let (lat, lon) = centroid(&line, false).unwrap();
        assert!(lat.abs() < 1e-12 && (lon - 0.002).abs() < 1e-12);
        assert_eq!(centroid(&[(1.0, 2.0)], false), Some((1.0, 2.0)));
        assert_eq!(centroid(&[], true), None);
    }
}
