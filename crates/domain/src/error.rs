//! The one error type of the domain boundary.

/// Why a value could not become a domain type.
///
/// Messages are written for the analyst who has to fix the input file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    #[error("latitude {value} is outside [-90, 90]")]
    LatitudeOutOfRange { value: f64 },
    #[error("longitude {value} is outside [-180, 180]")]
    LongitudeOutOfRange { value: f64 },
    #[error("coordinate is not a finite number")]
    CoordinateNotFinite,
    #[error("coordinates (0, 0) are a missing-location placeholder, not a place")]
    NullIsland,
    #[error("unknown offence category '{value}' (known: {known})")]
    UnknownCategory { value: String, known: String },
    #[error("unknown time precision '{value}' (expected minute, hour, day, month or window)")]
    UnknownPrecision { value: String },
    #[error("time window ends ({end}) before it starts ({start})")]
    WindowReversed { start: String, end: String },
    #[error("local time {local} does not exist in time zone {zone} (clock change)")]
    NonexistentLocalTime { local: String, zone: String },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} characters long; at most {max} are allowed")]
    TooLong { what: &'static str, len: usize, max: usize },
    #[error("unknown time zone '{value}' (use an IANA name such as Asia/Almaty)")]
    UnknownTimeZone { value: String },
    #[error("unknown role '{value}' (expected administrator, analyst, commander, district_inspector, agency_executor or viewer)")]
    UnknownRole { value: String },
    #[error("'{value}' is not an e-mail address such as name@agency.kz")]
    BadEmail { value: String },
    #[error("login '{value}' must be 2–64 characters: lowercase letters, digits, '.', '_' or '-'")]
    BadLogin { value: String },
    #[error("password refused: {reason}")]
    WeakPassword { reason: String },
    #[error("checksum '{value}' is not 64 lowercase hex digits")]
    BadChecksum { value: String },
    #[error("unknown {what} '{value}' (expected one of: {known})")]
    UnknownCode { what: &'static str, value: String, known: String },
    #[error("{what} {value} is outside {range}")]
    OutOfRange { what: &'static str, value: String, range: &'static str },
    #[error("an assignment that is {from} cannot {action}")]
    InvalidTransition { from: &'static str, action: &'static str },
}
