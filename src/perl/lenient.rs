//! Numbers as Perl hands them over.
//!
//! A Perl scalar read from a file or a form is a string until it is used
//! numerically, so where a number is meant a numeric string is accepted too
//! (PVE's own code numifies with `$v + 0`). Use these with
//! `#[serde(deserialize_with = "...")]`, or the [`Int`] / [`UInt`] newtypes
//! for plain export arguments.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::text::quote_input;

/// A number or a text as Perl holds it; read with `deserialize_any`, so a
/// wrong shape gets "expected an integer, got a hash reference", not serde's
/// untagged-enum message.
enum IntOrText {
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(String),
}

struct IntOrTextVisitor;

impl Visitor<'_> for IntOrTextVisitor {
    type Value = IntOrText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E>(self, v: i64) -> Result<IntOrText, E> {
        Ok(IntOrText::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<IntOrText, E> {
        Ok(IntOrText::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<IntOrText, E> {
        Ok(IntOrText::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<IntOrText, E> {
        Ok(IntOrText::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<IntOrText, E> {
        Ok(IntOrText::Text(v))
    }
}

impl<'de> Deserialize<'de> for IntOrText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntOrTextVisitor)
    }
}

fn not_an_integer<E: serde::de::Error>(shown: &str) -> E {
    E::custom(format!(
        "type check ('integer') failed - got {}",
        quote_input(shown)
    ))
}

fn to_i64<E: serde::de::Error>(value: IntOrText) -> Result<i64, E> {
    match value {
        IntOrText::Int(int) => Ok(int),
        IntOrText::UInt(uint) => i64::try_from(uint).map_err(|_| E::custom("integer out of range")),
        IntOrText::Float(float) if float.fract() == 0.0 && float.abs() < 9.2e18 => Ok(float as i64),
        IntOrText::Float(float) => Err(not_an_integer(&float.to_string())),
        IntOrText::Text(text) => text.trim().parse().map_err(|_| not_an_integer(&text)),
    }
}

/// An `i64`, also from a numeric string.
pub fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    to_i64(IntOrText::deserialize(deserializer)?)
}

/// An optional `i64`, also from a numeric string; `undef` is `None`.
pub fn opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Option::<IntOrText>::deserialize(deserializer)?
        .map(to_i64)
        .transpose()
}

fn to_u64<E: serde::de::Error>(value: IntOrText) -> Result<u64, E> {
    match value {
        IntOrText::UInt(uint) => Ok(uint),
        IntOrText::Text(text) => text.trim().parse().map_err(|_| not_an_integer(&text)),
        other => u64::try_from(to_i64::<E>(other)?)
            .map_err(|_| E::custom("value must have a minimum value of 0")),
    }
}

/// A `u64`, also from a numeric string.
pub fn uint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    to_u64(IntOrText::deserialize(deserializer)?)
}

/// An optional `u64`, also from a numeric string; `undef` is `None`.
pub fn opt_uint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "uint")] u64);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(uint)| uint))
}

/// Perl truth: `undef`, `""`, `"0"` and `0` are false, anything else true
/// (`!!1` is `"1"`, `!!0` is `""`).
pub fn perl_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct Truth;

    impl<'de> Visitor<'de> for Truth {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean (a Perl scalar)")
        }
        fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_i64<E>(self, v: i64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_u64<E>(self, v: u64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_f64<E>(self, v: f64) -> Result<bool, E> {
            Ok(v != 0.0)
        }
        fn visit_str<E>(self, v: &str) -> Result<bool, E> {
            Ok(!(v.is_empty() || v == "0"))
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_none<E>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    deserializer.deserialize_any(Truth)
}

/// An export argument read with Perl truth, see [`perl_bool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Bool(#[serde(deserialize_with = "perl_bool")] pub bool);

/// An export argument that is an integer or a numeric string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Int(#[serde(deserialize_with = "int")] pub i64);

/// An export argument that is a non-negative integer or a numeric string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct UInt(#[serde(deserialize_with = "uint")] pub u64);

/// A count in data the node wrote itself (a file it may find damaged):
/// `Some` where [`UInt`] reads one, `None` for any other value instead of
/// an error, so only a failed read of the Perl data fails.
pub struct LooseUInt(pub Option<u64>);

impl<'de> Deserialize<'de> for LooseUInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Loose;

        impl<'de> Visitor<'de> for Loose {
            type Value = LooseUInt;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LooseUInt, E> {
                Ok(LooseUInt(to_u64::<E>(IntOrText::UInt(v)).ok()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LooseUInt, E> {
                Ok(LooseUInt(to_u64::<E>(IntOrText::Int(v)).ok()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<LooseUInt, E> {
                Ok(LooseUInt(to_u64::<E>(IntOrText::Float(v)).ok()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LooseUInt, E> {
                Ok(LooseUInt(to_u64::<E>(IntOrText::Text(v.to_owned())).ok()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<LooseUInt, E> {
                Ok(LooseUInt(None))
            }
            fn visit_unit<E>(self) -> Result<LooseUInt, E> {
                Ok(LooseUInt(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LooseUInt, A::Error> {
                IgnoredAny.visit_map(map).map(|_| LooseUInt(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<LooseUInt, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| LooseUInt(None))
            }
        }

        deserializer.deserialize_any(Loose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_numeric_strings() {
        assert_eq!(serde_json::from_value::<Int>(json!(7)).unwrap(), Int(7));
        assert_eq!(serde_json::from_value::<Int>(json!("-7")).unwrap(), Int(-7));
        assert_eq!(
            serde_json::from_value::<UInt>(json!("18")).unwrap(),
            UInt(18)
        );
        assert_eq!(
            serde_json::from_value::<UInt>(json!(u64::MAX)).unwrap(),
            UInt(u64::MAX)
        );
        let err = serde_json::from_value::<Int>(json!("abc")).unwrap_err();
        assert!(err
            .to_string()
            .contains("type check ('integer') failed - got 'abc'"));
        assert!(serde_json::from_value::<UInt>(json!(-1)).is_err());
    }

    #[test]
    fn wrong_shapes_get_plain_messages() {
        let err = serde_json::from_value::<Int>(json!({})).unwrap_err();
        assert_eq!(err.to_string(), "invalid type: map, expected an integer");
        let long = "x".repeat(100_000);
        let err = serde_json::from_value::<UInt>(json!(long)).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn a_loose_count_is_a_count_or_none() {
        for (value, count) in [
            (json!(4), Some(4)),
            (json!(" 4 "), Some(4)),
            (json!(4.0), Some(4)),
            (json!(4.5), None),
            (json!(-1), None),
            (json!("x"), None),
            (json!(true), None),
            (json!(null), None),
            (json!([1]), None),
            (json!({ "a": 1 }), None),
        ] {
            let LooseUInt(read) = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(read, count, "{value}");
        }
    }

    #[test]
    fn perl_truth() {
        for (value, truth) in [
            (json!(true), true),
            (json!(""), false),
            (json!("0"), false),
            (json!("1"), true),
            (json!("0.0"), true),
            (json!(0), false),
            (json!(2), true),
            (json!(null), false),
        ] {
            assert_eq!(serde_json::from_value::<Bool>(value).unwrap(), Bool(truth));
        }
    }
}
