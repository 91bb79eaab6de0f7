//! Police posts: stationary posts with opening hours and mobile police points with a vehicle and
//! a shift schedule, and the daily time windows both are described by.

use std::fmt;
use std::str::FromStr;

use crate::{DomainError, Wgs84Point};

code_enum!(
    /// Stationary post or mobile point.
    PostKind, "post kind", {
        /// A fixed post (a booth, a reception point) open at its hours.
        Stationary => "stationary",
        /// A mobile police point: a vehicle standing where its shift's plan puts it.
        Mobile => "mobile",
    }
);

code_enum!(
    /// A post's state.
    PostStatus, "post status", {
        Active => "active",
        /// Proposed or approved, not yet working.
        Planned => "planned",
        Closed => "closed",
    }
);

const DAY_MIN: u16 = 24 * 60;

/// A window of the day in local time, `HH:MM-HH:MM`; it may run past midnight (`22:00-06:00`);
/// `24h` (or `00:00-24:00`) is the whole day.
///
/// ```
/// use qalqan_domain::post::DailyWindow;
/// let night: DailyWindow = "22:00-06:00".parse().unwrap();
/// assert!(night.contains_hour(23) && night.contains_hour(5) && !night.contains_hour(6));
/// assert_eq!(night.minutes(), 480);
/// assert_eq!(night.to_string(), "22:00-06:00");
/// assert!("08:00-08:00".parse::<DailyWindow>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DailyWindow {
    /// Minutes after midnight, in [0, 1440).
    start: u16,
    /// Length in minutes, in (0, 1440].
    length: u16,
}

impl DailyWindow {
    /// The whole day.
    pub const ALL_DAY: DailyWindow = DailyWindow { start: 0, length: DAY_MIN };

    /// From `start` to `end` minutes after midnight (`end` < `start` runs past midnight; `end` may
    /// be 1440); an empty window is refused.
    pub fn new(start_min: u16, end_min: u16) -> Result<Self, DomainError> {
        if start_min >= DAY_MIN || end_min > DAY_MIN {
            return Err(DomainError::OutOfRange {
                what: "time of day", value: format!("{start_min}-{end_min} min"), range: "00:00–24:00"
            });
        }
        let length = (end_min + DAY_MIN - start_min) % DAY_MIN;
        let length = if length == 0 && start_min == 0 && end_min == DAY_MIN { DAY_MIN } else { length };
        if length == 0 {
            return Err(DomainError::OutOfRange { what: "time window", value: format!("{}", Hm(start_min)), range: "a non-empty window" });
        }
        Ok(Self { start: start_min, length })
    }

    /// Minutes after midnight the window opens.
    pub fn start_min(self) -> u16 {
        self.start
    }

    /// Its length in minutes.
    pub fn minutes(self) -> u16 {
        self.length
    }

    /// True when the minute of the day `m` (0–1439) is inside.
    pub fn contains_minute(self, m: u16) -> bool {
        (m % DAY_MIN + DAY_MIN - self.start) % DAY_MIN < self.length
    }

    /// True when the hour starting at `hour` (0–23) begins inside the window.
    pub fn contains_hour(self, hour: u8) -> bool {
        self.contains_minute(u16::from(hour) * 60)
    }

    /// Minutes the two windows share in a day.
    pub fn overlap_minutes(self, other: DailyWindow) -> u16 {
        (0..DAY_MIN).step_by(5).filter(|&m| self.contains_minute(m) && other.contains_minute(m)).count() as u16 * 5
    }
}

struct Hm(u16);

impl fmt::Display for Hm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl fmt::Display for DailyWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.length == DAY_MIN {
            return f.write_str("24h");
        }
        let end = (self.start + self.length) % DAY_MIN;
        let end = if end == 0 { DAY_MIN } else { end };
        write!(f, "{}-{}", Hm(self.start), Hm(end))
    }
}

fn parse_hm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':').unwrap_or((s.trim(), "0"));
    let (h, m): (u16, u16) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl FromStr for DailyWindow {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        let t = s.trim().to_lowercase();
        if t == "24h" || t == "24/7" {
            return Ok(Self::ALL_DAY);
        }
        let bad = || DomainError::OutOfRange { what: "time window", value: s.to_owned(), range: "HH:MM-HH:MM or 24h" };
        let (a, b) = t.split_once('-').ok_or_else(bad)?;
        let (a, b) = (parse_hm(a).ok_or_else(bad)?, parse_hm(b).ok_or_else(bad)?);
        if a == DAY_MIN {
            return Err(bad());
        }
        Self::new(a, b)
    }
}

/// The windows a post works in every day: `08:00-20:00`, or shifts `08:00-16:00;16:00-24:00`.
///
/// ```
/// use qalqan_domain::post::Schedule;
/// let s: Schedule = "08:00-16:00; 20:00-02:00".parse().unwrap();
/// assert!(s.contains_hour(9) && s.contains_hour(1) && !s.contains_hour(17));
/// assert_eq!(s.to_string(), "08:00-16:00;20:00-02:00");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schedule(Vec<DailyWindow>);

impl Schedule {
    /// Round the clock.
    pub fn all_day() -> Self {
        Self(vec![DailyWindow::ALL_DAY])
    }

    /// At least one window.
    pub fn new(windows: Vec<DailyWindow>) -> Result<Self, DomainError> {
        if windows.is_empty() {
            return Err(DomainError::Empty { what: "schedule" });
        }
        Ok(Self(windows))
    }

    pub fn windows(&self) -> &[DailyWindow] {
        &self.0
    }

    /// True when some window holds the hour starting at `hour`.
    pub fn contains_hour(&self, hour: u8) -> bool {
        self.0.iter().any(|w| w.contains_hour(hour))
    }

    /// Minutes a day the schedule shares with `window` (windows of the schedule may overlap each
    /// other; a minute counts once).
    pub fn overlap_minutes(&self, window: DailyWindow) -> u16 {
        (0..DAY_MIN).step_by(5).filter(|&m| window.contains_minute(m) && self.0.iter().any(|w| w.contains_minute(m))).count() as u16 * 5
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, w) in self.0.iter().enumerate() {
            if k > 0 {
                f.write_str(";")?;
            }
            write!(f, "{w}")?;
        }
        Ok(())
    }
}

impl FromStr for Schedule {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, DomainError> {
        let windows = s.split([';', ',']).filter(|w| !w.trim().is_empty()).map(str::parse).collect::<Result<Vec<_>, _>>()?;
        Self::new(windows)
    }
}

/// A stationary post or a mobile point as registered: every field checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPost {
    /// The police department's identifier (unique within a territory).
    pub external_id: String,
    /// What people call it ("Post 12, Baiterek"); may be empty.
    pub name: String,
    pub kind: PostKind,
    /// A stationary post's place; a mobile point's usual standing place.
    pub location: Wgs84Point,
    /// Opening hours of a post; the shifts of a mobile point.
    pub schedule: Schedule,
    /// A mobile point's vehicle (plate or call sign); none for a stationary post.
    pub vehicle: Option<String>,
    /// Officers on duty at a time.
    pub officers: u32,
    pub status: PostStatus,
}

impl NewPost {
    /// Checks the fields: a non-empty identifier (≤ 100 characters), a name of ≤ 200, a vehicle
    /// for a mobile point and none for a stationary post, 1–100 officers.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        external_id: &str,
        name: &str,
        kind: PostKind,
        location: Wgs84Point,
        schedule: Schedule,
        vehicle: Option<&str>,
        officers: u32,
        status: PostStatus,
    ) -> Result<Self, DomainError> {
        let external_id = external_id.trim();
        if external_id.is_empty() {
            return Err(DomainError::Empty { what: "post id" });
        }
        for (what, value, max) in [("post id", external_id, 100), ("post name", name.trim(), 200)] {
            if value.chars().count() > max {
                return Err(DomainError::TooLong { what, len: value.chars().count(), max });
            }
        }
        let vehicle = vehicle.map(str::trim).filter(|v| !v.is_empty());
        match (kind, vehicle) {
            (PostKind::Mobile, None) => return Err(DomainError::Empty { what: "vehicle of a mobile point" }),
            (PostKind::Stationary, Some(v)) => {
                return Err(DomainError::OutOfRange { what: "vehicle", value: v.to_owned(), range: "none for a stationary post" });
            }
            _ => {}
        }
        if !(1..=100).contains(&officers) {
            return Err(DomainError::OutOfRange { what: "officers", value: officers.to_string(), range: "1–100" });
        }
        Ok(Self {
            external_id: external_id.to_owned(),
            name: name.trim().to_owned(),
            kind,
            location,
            schedule,
            vehicle: vehicle.map(str::to_owned),
            officers,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Wgs84Point {
        Wgs84Point::new(51.1, 71.4).unwrap()
    }

    #[test]
    fn windows_parse_wrap_and_print_back() {
        let w: DailyWindow = "8-20".parse().unwrap();
        assert_eq!((w.start_min(), w.minutes(), w.to_string()), (480, 720, "08:00-20:00".to_owned()));
        let w: DailyWindow = "16:00-24:00".parse().unwrap();
        assert!(w.contains_hour(23) && !w.contains_hour(0));
        assert_eq!(w.to_string(), "16:00-24:00");
        assert_eq!("00:00-24:00".parse::<DailyWindow>().unwrap(), DailyWindow::ALL_DAY);
        for bad in ["", "8", "25:00-02:00", "08:61-09:00", "24:00-08:00", "10:00-10:00", "a-b"] {
            assert!(bad.parse::<DailyWindow>().is_err(), "{bad}");
        }
        let day: DailyWindow = "08:00-16:00".parse().unwrap();
        let evening: DailyWindow = "12:00-20:00".parse().unwrap();
        assert_eq!(day.overlap_minutes(evening), 240);
        let s: Schedule = "08:00-16:00;12:00-20:00".parse().unwrap();
        assert_eq!(s.overlap_minutes(DailyWindow::ALL_DAY), 720);
        assert!("".parse::<Schedule>().is_err());
    }

    #[test]
    fn posts_are_checked() {
        use PostKind::*;
        let s = Schedule::all_day();
        let p = NewPost::new(" P-1 ", " Vokzal ", Stationary, at(), s.clone(), None, 2, PostStatus::Active).unwrap();
        assert_eq!((p.external_id.as_str(), p.name.as_str()), ("P-1", "Vokzal"));
        assert!(NewPost::new("M-1", "", Mobile, at(), s.clone(), Some(" 123ABC01 "), 2, PostStatus::Active).is_ok());
        assert!(NewPost::new("M-1", "", Mobile, at(), s.clone(), None, 2, PostStatus::Active).is_err());
        assert!(NewPost::new("P-1", "", Stationary, at(), s.clone(), Some("car"), 2, PostStatus::Active).is_err());
        assert!(NewPost::new("P-1", "", Stationary, at(), s.clone(), None, 0, PostStatus::Active).is_err());
        assert!(NewPost::new(" ", "", Stationary, at(), s, None, 1, PostStatus::Active).is_err());
    }
}
