//! The text of a fieldless wire enum, taken from its serde derive: one name per value for the
//! JSON body, the database column (`sqlx::Type`, same snake_case) and any text built from it
//! (the attendance chain's hashed fields, messages). No hand-written `match` to drift.

use serde::de::{DeserializeOwned, IntoDeserializer, value::Error as DeError};
use serde::ser::{self, Impossible, Serialize};

/// A fieldless enum whose serde names are its text. Implement with an empty `impl`.
pub trait WireText: Serialize + DeserializeOwned + Copy {
    /// The serde name of this value, e.g. `PunchKind::In` → `in`.
    fn wire_text(self) -> &'static str {
        unit_variant_name(&self).expect("WireText is implemented for fieldless enums only")
    }

    /// The value named `text`; `None` for any other text.
    fn from_wire_text(text: &str) -> Option<Self> {
        Self::deserialize(IntoDeserializer::<DeError>::into_deserializer(text)).ok()
    }
}

/// The serde name of a unit variant; `None` for any other value.
fn unit_variant_name<T: Serialize + ?Sized>(value: &T) -> Option<&'static str> {
    value.serialize(VariantName).ok()
}

/// A serializer that only answers the name of a unit variant.
struct VariantName;

#[derive(Debug)]
struct NotAUnitVariant;

impl std::fmt::Display for NotAUnitVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a unit variant")
    }
}

impl std::error::Error for NotAUnitVariant {}

impl ser::Error for NotAUnitVariant {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        NotAUnitVariant
    }
}

type Refuse = Result<&'static str, NotAUnitVariant>;

macro_rules! refuse {
    ($($method:ident($($ty:ty),*);)*) => {
        $(fn $method(self, $(_: $ty),*) -> Refuse {
            Err(NotAUnitVariant)
        })*
    };
}

impl ser::Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotAUnitVariant;
    type SerializeSeq = Impossible<&'static str, NotAUnitVariant>;
    type SerializeTuple = Impossible<&'static str, NotAUnitVariant>;
    type SerializeTupleStruct = Impossible<&'static str, NotAUnitVariant>;
    type SerializeTupleVariant = Impossible<&'static str, NotAUnitVariant>;
    type SerializeMap = Impossible<&'static str, NotAUnitVariant>;
    type SerializeStruct = Impossible<&'static str, NotAUnitVariant>;
    type SerializeStructVariant = Impossible<&'static str, NotAUnitVariant>;

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Refuse {
        Ok(variant)
    }

    refuse! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Refuse {
        Err(NotAUnitVariant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Refuse {
        Err(NotAUnitVariant)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Refuse {
        Err(NotAUnitVariant)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attendance::{PunchKind, Verdict};
    use crate::auth::Platform;
    use crate::liveness::HeadAction;
    use crate::privacy::ErasureScope;
    use crate::reports::{DayStatusCode, ReportKind};

    fn check<T: WireText + std::fmt::Debug + PartialEq>(values: &[T]) {
        for &v in values {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(
                json,
                serde_json::Value::String(v.wire_text().into()),
                "{v:?}"
            );
            assert_eq!(T::from_wire_text(v.wire_text()), Some(v));
        }
        assert_eq!(T::from_wire_text("no_such_value"), None);
    }

    #[test]
    fn wire_text_is_the_serde_name_both_ways() {
        check(&[PunchKind::In, PunchKind::Out]);
        check(&[Verdict::Verified, Verdict::Flagged, Verdict::Rejected]);
        check(&[
            Platform::Android,
            Platform::Ios,
            Platform::Web,
            Platform::Kiosk,
            Platform::Desktop,
        ]);
        check(&[
            HeadAction::TurnLeft,
            HeadAction::TurnRight,
            HeadAction::LookUp,
            HeadAction::LookDown,
        ]);
        check(&[
            ErasureScope::Biometrics,
            ErasureScope::Locations,
            ErasureScope::Photos,
            ErasureScope::Everything,
        ]);
        check(&[ReportKind::Summary, ReportKind::Daily, ReportKind::T13]);
        assert_eq!(ReportKind::T13.wire_text(), "t13");
        let days = [
            DayStatusCode::Present,
            DayStatusCode::Late,
            DayStatusCode::LeftEarly,
            DayStatusCode::Absent,
            DayStatusCode::DayOff,
            DayStatusCode::Holiday,
            DayStatusCode::OnLeave,
            DayStatusCode::MissingCheckOut,
            DayStatusCode::InProgress,
            DayStatusCode::Upcoming,
        ];
        check(&days);
        // The stored text of `timesheet_days.status` (never changes once shipped).
        let texts: Vec<&str> = days.map(WireText::wire_text).into();
        assert_eq!(
            texts,
            [
                "present",
                "late",
                "left_early",
                "absent",
                "day_off",
                "holiday",
                "on_leave",
                "missing_check_out",
                "in_progress",
                "upcoming"
            ]
        );
        assert_eq!(PunchKind::In.wire_text(), "in");
        assert_eq!(Verdict::Flagged.wire_text(), "flagged");
    }

    #[test]
    fn only_unit_variants_have_a_name() {
        assert_eq!(unit_variant_name(&1u8), None);
        assert_eq!(unit_variant_name("text"), None);
        assert_eq!(unit_variant_name(&PunchKind::Out), Some("out"));
    }
}
