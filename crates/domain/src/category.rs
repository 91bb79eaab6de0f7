//! Offence categories: the small, fixed vocabulary every analysis groups by.
//!
//! Police exports name offences in their own words ("Break and Enter",
//! "Кража из жилища", article numbers of the Criminal Code); an import mapping
//! translates those into one of these categories and may keep the original
//! wording as the incident's subcategory.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

macro_rules! categories {
    ($($variant:ident => $code:literal, $doc:literal;)*) => {
        /// A canonical offence category.
        ///
        /// ```
        /// use qalqan_domain::OffenceCategory;
        /// let c: OffenceCategory = "burglary".parse().unwrap();
        /// assert_eq!(c, OffenceCategory::Burglary);
        /// assert_eq!(c.code(), "burglary");
        /// assert!("break_and_enter".parse::<OffenceCategory>().is_err());
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum OffenceCategory {
            $(#[doc = $doc] $variant,)*
        }

        impl OffenceCategory {
            /// Every category, in a stable order.
            pub const ALL: &'static [OffenceCategory] = &[$(OffenceCategory::$variant,)*];

            /// The stable machine code stored in the database and used in mapping files.
            pub fn code(self) -> &'static str {
                match self {
                    $(OffenceCategory::$variant => $code,)*
                }
            }

            /// What the category covers, in English (the UI translates the code).
            pub fn description(self) -> &'static str {
                match self {
                    $(OffenceCategory::$variant => $doc,)*
                }
            }
        }

        impl FromStr for OffenceCategory {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($code => Ok(OffenceCategory::$variant),)*
                    other => Err(DomainError::UnknownCategory {
                        value: other.to_owned(),
                        known: [$($code,)*].join(", "),
                    }),
                }
            }
        }
    };
}

categories! {
    Homicide => "homicide", "Murder, manslaughter and attempts.";
    Assault => "assault", "Assault and bodily harm (including grievous).";
    SexualOffence => "sexual_offence", "Rape and other sexual offences.";
    Robbery => "robbery", "Robbery and open theft with force or threat (грабёж, разбой).";
    Burglary => "burglary", "Break and enter into dwellings or premises.";
    Theft => "theft", "Theft other than burglary and vehicle theft.";
    VehicleTheft => "vehicle_theft", "Theft of or unlawful taking of a motor vehicle.";
    Fraud => "fraud", "Fraud, including online fraud.";
    Drugs => "drugs", "Drug offences.";
    Weapons => "weapons", "Illegal weapons.";
    Vandalism => "vandalism", "Criminal damage and vandalism.";
    Hooliganism => "hooliganism", "Hooliganism and public-order offences.";
    Traffic => "traffic", "Road-traffic crime.";
    Terrorism => "terrorism", "Terrorist and extremist offences.";
    Other => "other", "Anything the mapping does not place elsewhere.";
}

impl fmt::Display for OffenceCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_round_trips_through_its_code() {
        for &c in OffenceCategory::ALL {
            assert_eq!(c.code().parse::<OffenceCategory>(), Ok(c));
        }
    }

    #[test]
    fn unknown_category_error_lists_the_known_codes() {
        let err = "arson".parse::<OffenceCategory>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("'arson'"), "{msg}");
        assert!(msg.contains("burglary"), "{msg}");
    }
}
