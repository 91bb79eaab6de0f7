//! Qalqan's analysis core: where and when crime concentrates.
//!
//! Pure, synchronous functions over slices of points, counts and times; no
//! files, no SQL, no HTTP. Each algorithm names the paper or tool it follows,
//! its parameters (in a params struct with documented defaults and an
//! explicit seed where it is random), and its cost.
//!
//! - [`projection`]: WGS84 ↔ UTM (Karney's Krüger series), zone chosen from the data.
//! - [`grid`]: square and hexagonal grids in metres; counts per cell.
//! - [`hotspot`]: hotspot maps: counts, Gi\*, Local Moran per cell over a territory.
//! - [`kde`]: kernel density surfaces by binning + FFT convolution.
//! - [`weights`]: spatial weights (lattice contiguity, distance band).
//! - [`local`]: Getis-Ord Gi\*, Local Moran's I, global Moran's I, Benjamini–Hochberg.
//! - [`near_repeat`]: the Knox test on space × time bands (Near Repeat Calculator), permutations in parallel.
//! - [`concentration`]: repeat places, top-1/5/10 % shares, Lorenz curve, Gini.
//! - [`time_pattern`]: hour × weekday matrix (aoristic for windows) and monthly series, precision-aware.
//! - [`compstat`]: week-to-date, 28-day and year-to-date comparisons with an exact test.
//! - [`forecast`]: short-term hotspot forecasts (naive, rolling KDE, prospective, self-exciting point process) and backtests (hit rate, PAI, PEI\*).
//! - [`disclosure`]: small-count suppression (primary and complementary) for published open data.
//! - [`evaluation`]: did a measure work — the Weighted Displacement Quotient and a difference-in-differences Poisson test.
//! - [`risk_terrain`]: risk terrain modelling (RTMDx): spatial influences of nearby conditions, lasso-selected by cross-validation, refitted as a negative-binomial regression; relative risk values and a composite risk map.
//! - [`rng`]: the seeded generator all randomised methods use.

pub mod compstat;
pub mod concentration;
pub mod disclosure;
pub mod evaluation;
pub mod forecast;
pub mod grid;
pub mod hotspot;
pub mod kde;
pub mod local;
pub mod near_repeat;
pub mod normal;
pub mod projection;
pub mod risk_terrain;
pub mod rng;
pub mod time_pattern;
pub mod weights;

/// Errors of the analysis boundary: parameters that make no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    #[error("cell size {metres} m must be a positive number of metres (at least 1)")]
    InvalidCellSize { metres: f64 },
    #[error("the grid would have {cells} cells; at most {max} are allowed (use a larger cell size or a smaller area)")]
    GridTooLarge { cells: u64, max: u64 },
    #[error("bandwidth {metres} m must be positive")]
    InvalidBandwidth { metres: f64 },
    #[error("{what}: expected {expected} values, got {got}")]
    LengthMismatch { what: &'static str, expected: usize, got: usize },
    #[error("{what} must be finite")]
    NotFinite { what: &'static str },
    #[error("kernel density needs square cells")]
    KdeNeedsSquareCells,
    #[error("distance threshold {metres} m must be positive")]
    InvalidThreshold { metres: f64 },
    #[error("{name} {reason}")]
    InvalidParameter { name: &'static str, reason: &'static str },
    #[error("the {model} forecast needs square cells")]
    ForecastNeedsSquareCells { model: &'static str },
}
