//! Small macros shared by the domain's modules.

/// A closed set of values with stable lowercase codes (stored in the database, used in files):
/// `ALL`, `code()`, `FromStr` (case-insensitive, unknown codes list the known ones) and `Display`.
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Stable code stored in the database and used in files.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, $crate::DomainError> {
                let v = s.trim().to_lowercase();
                $(if v == $code { return Ok($name::$variant); })+
                Err($crate::DomainError::UnknownCode {
                    what: $what,
                    value: s.to_owned(),
                    known: [$($code),+].join(", "),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
