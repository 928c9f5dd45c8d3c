//! Ids aftercare mints: UUIDv7 (time-ordered, so indexes stay compact),
//! wrapped in a type per kind of thing so a refund id is never passed where
//! a return id belongs.

pub use uuid::Uuid;

/// Declares a typed id over a UUIDv7.
#[macro_export]
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($crate::ids::Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                $name($crate::ids::Uuid::now_v7())
            }

            pub fn from_uuid(id: $crate::ids::Uuid) -> Self {
                $name(id)
            }

            pub fn as_uuid(&self) -> $crate::ids::Uuid {
                self.0
            }

            /// Parses the canonical text form; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                $crate::ids::Uuid::parse_str(s).ok().map($name)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::uuid_id!(ThingId);

    #[test]
    fn ids_round_trip_and_are_time_ordered() {
        let a = ThingId::new();
        let b = ThingId::new();
        assert!(a < b);
        assert_eq!(ThingId::parse(&a.to_string()), Some(a));
        assert_eq!(ThingId::parse("not-an-id"), None);
        assert_eq!(ThingId::from_uuid(a.as_uuid()), a);
    }
}
