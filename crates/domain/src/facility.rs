//! Facilities vulnerable to terrorism (объекты, уязвимые в террористическом отношении), the
//! terrorism threat levels declared for a territory, and the measures each level requires.

use chrono::NaiveDate;

use crate::{DomainError, Wgs84Point};

code_enum!(
    /// What a facility is, as the required measures are set per category.
    FacilityCategory, "facility category", {
        /// Strategic objects.
        Strategic => "strategic",
        /// Life support: water, power, heat, gas.
        LifeSupport => "life_support",
        RailwayStation => "railway_station",
        Airport => "airport",
        BusStation => "bus_station",
        /// Crowded places: shopping and entertainment centres, markets.
        Retail => "retail",
        Sports => "sports",
        Education => "education",
        Health => "health",
        Hotel => "hotel",
        Culture => "culture",
        Other => "other",
    }
);

code_enum!(
    /// A terrorism threat level (уровень террористической опасности), in rising order.
    ThreatLevel, "threat level", {
        /// Moderate ("жёлтый").
        Yellow => "yellow",
        /// High ("оранжевый").
        Orange => "orange",
        /// Critical ("красный").
        Red => "red",
    }
);

impl ThreatLevel {
    /// 1 (yellow) to 3 (red): a level's measures include those of the lower levels.
    pub fn rank(self) -> u8 {
        match self {
            Self::Yellow => 1,
            Self::Orange => 2,
            Self::Red => 3,
        }
    }
}

code_enum!(
    /// A piece of protective equipment a facility has or lacks.
    EquipmentItem, "equipment", {
        VideoSurveillance => "video",
        /// Video connected to the monitoring centre.
        VideoConnected => "video_connected",
        AccessControl => "access_control",
        Alarm => "alarm",
        GuardPost => "guard_post",
        Lighting => "lighting",
        Perimeter => "perimeter",
    }
);

/// A facility as registered: every field checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFacility {
    /// The register's identifier (unique within a territory).
    pub external_id: String,
    pub name: String,
    pub category: FacilityCategory,
    /// The owner or operator.
    pub owner: String,
    pub location: Wgs84Point,
    /// Anti-terrorism passport: its number and until when it is valid.
    pub passport_number: Option<String>,
    pub passport_valid_until: Option<NaiveDate>,
    /// The equipment present, without duplicates, in code order.
    pub equipment: Vec<EquipmentItem>,
}

impl NewFacility {
    /// Checks the identifier and name (non-empty; ≤ 100 and ≤ 300 characters) and that
    /// "connected video" comes with video.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        external_id: &str,
        name: &str,
        category: FacilityCategory,
        owner: &str,
        location: Wgs84Point,
        passport_number: Option<&str>,
        passport_valid_until: Option<NaiveDate>,
        equipment: &[EquipmentItem],
    ) -> Result<Self, DomainError> {
        let (external_id, name) = (external_id.trim(), name.trim());
        for (what, v, max) in [("facility id", external_id, 100), ("facility name", name, 300)] {
            if v.is_empty() {
                return Err(DomainError::Empty { what });
            }
            if v.chars().count() > max {
                return Err(DomainError::TooLong { what, len: v.chars().count(), max });
            }
        }
        let mut equipment: Vec<EquipmentItem> = equipment.to_vec();
        equipment.sort_by_key(|e| EquipmentItem::ALL.iter().position(|x| x == e));
        equipment.dedup();
        if equipment.contains(&EquipmentItem::VideoConnected) && !equipment.contains(&EquipmentItem::VideoSurveillance) {
            return Err(DomainError::OutOfRange {
                what: "equipment",
                value: "video_connected".into(),
                range: "video_connected only with video",
            });
        }
        Ok(Self {
            external_id: external_id.to_owned(),
            name: name.to_owned(),
            category,
            owner: owner.trim().to_owned(),
            location,
            passport_number: passport_number.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            passport_valid_until,
            equipment,
        })
    }
}

/// A measure a threat level requires of a category of facility (or of the police: `category`
/// `None`), as editable data.
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredMeasure {
    /// `None`: for the police units of the territory.
    pub category: Option<FacilityCategory>,
    /// The lowest level that requires it (higher levels require it too).
    pub level: ThreatLevel,
    /// A short stable code ("guard_doubled").
    pub code: String,
    pub text: String,
}

impl RequiredMeasure {
    /// Checks the code (1-64 of `a-z0-9_`) and the text (1-1000 characters).
    pub fn new(category: Option<FacilityCategory>, level: ThreatLevel, code: &str, text: &str) -> Result<Self, DomainError> {
        let code = code.trim();
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(DomainError::OutOfRange { what: "measure code", value: code.to_owned(), range: "1-64 of a-z, 0-9, _" });
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::Empty { what: "measure text" });
        }
        if text.chars().count() > 1000 {
            return Err(DomainError::TooLong { what: "measure text", len: text.chars().count(), max: 1000 });
        }
        Ok(Self { category, level, code: code.to_owned(), text: text.to_owned() })
    }

    /// Whether a level declared at `declared` requires this measure.
    pub fn applies_at(&self, declared: ThreatLevel) -> bool {
        declared.rank() >= self.level.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_and_measures_are_checked() {
        let at = Wgs84Point::new(51.19, 71.41).unwrap();
        let f = NewFacility::new(
            " F1 ",
            " Nurly Zhol railway station ",
            FacilityCategory::RailwayStation,
            "KTZ",
            at,
            Some(" 17 "),
            None,
            &[EquipmentItem::VideoConnected, EquipmentItem::VideoSurveillance, EquipmentItem::VideoSurveillance],
        )
        .unwrap();
        assert_eq!((f.external_id.as_str(), f.passport_number.as_deref()), ("F1", Some("17")));
        assert_eq!(f.equipment, [EquipmentItem::VideoSurveillance, EquipmentItem::VideoConnected]);
        assert!(NewFacility::new("F2", "x", FacilityCategory::Airport, "", at, None, None, &[EquipmentItem::VideoConnected]).is_err());
        assert!(NewFacility::new(" ", "x", FacilityCategory::Airport, "", at, None, None, &[]).is_err());
        let m = RequiredMeasure::new(Some(FacilityCategory::Airport), ThreatLevel::Orange, "guard_doubled", "Double the guard").unwrap();
        assert!(!m.applies_at(ThreatLevel::Yellow) && m.applies_at(ThreatLevel::Orange) && m.applies_at(ThreatLevel::Red));
        assert!(RequiredMeasure::new(None, ThreatLevel::Red, "Guard Doubled", "x").is_err());
    }
}
