//! Export arguments from Perl data into the Rust types the export line
//! names, with messages a Perl user understands: `argument 'options' at
//! {'now'}: expected an integer, got a hash reference`, not serde's
//! `invalid type: map, expected struct Options`. Quoted input is cut by
//! [`quote_input`].
//!
//! [`from_sv`] reads straight from the Perl value, through the one
//! [`Reader`] of the call (its budgets, its guarded reads of magic), without
//! an intermediate [`Value`]: `{ maps_json => $text, high_water => { wwid
//! => 4, ... } }` becomes the export's struct with a borrowed text and a
//! map of counts. A string of [`BORROW_MIN_BYTES`] or more that is UTF-8
//! is lent to a borrowing type ([`Text`]) from a private copy-on-write copy
//! of the scalar, never from the caller's own scalar: a tied FETCH run
//! later in the call may change or free that one. [`from_value`] serves
//! the rest (an omitted enum, tests).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use serde::de::value::{StrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeSeed, Expected, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

use super::convert::{
    private_copy, sv_text, ArrayElements, HashEntries, Node, PathDisplay, ReadError, Reader, Step,
};
use super::ffi::Sv;
use crate::text::quote_input;

/// Why an argument does not fit its type, and where inside it.
#[derive(Debug)]
pub struct DeError {
    /// Innermost step first.
    path: Vec<Step>,
    message: String,
    /// Perl code run by magic died: its exception (mortal), to rethrow.
    died: Option<*mut Sv>,
}

impl From<ReadError> for DeError {
    fn from(err: ReadError) -> Self {
        match err {
            ReadError::Died(exception) => Self {
                path: Vec::new(),
                message: "a Perl exception".into(),
                died: Some(exception),
            },
            ReadError::Refused { path, message } => Self {
                path,
                message,
                died: None,
            },
        }
    }
}

impl DeError {
    /// The exception to rethrow when Perl code run while reading died.
    pub fn died(&self) -> Option<*mut Sv> {
        self.died
    }

    fn within(mut self, step: Step) -> Self {
        self.path.push(step);
        self
    }

    /// ` at {'key'}[3]`, or nothing for the argument itself.
    pub fn path(&self) -> PathDisplay<'_> {
        PathDisplay::new(&self.path)
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path(), self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            path: Vec::new(),
            message: msg.to_string(),
            died: None,
        }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Self::custom(format!(
            "expected {}, got {}",
            expected_text(expected),
            unexpected_text(unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Self::custom(format!(
            "{} is not {}",
            unexpected_text(unexpected),
            expected_text(expected)
        ))
    }

    fn invalid_length(len: usize, expected: &dyn Expected) -> Self {
        Self::custom(format!(
            "{len} elements, expected {}",
            expected_text(expected)
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format!(
            "unknown value {}, expected one of: {}",
            quote_input(variant),
            expected.join(", ")
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format!(
            "unknown key {} (known keys: {})",
            quote_input(field),
            expected.join(", ")
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::custom(format!("missing key '{field}'"))
    }
}

/// What serde expected, in Perl terms.
fn expected_text(expected: &dyn Expected) -> String {
    let text = expected.to_string();
    if text.starts_with("struct ") || text == "a map" {
        return "a hash reference".into();
    }
    if text.starts_with("tuple") || text == "a sequence" {
        return "an array reference".into();
    }
    match text.as_str() {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "unit" => "undef".into(),
        _ => text,
    }
}

/// What the argument held, in Perl terms; strings quoted and cut.
fn unexpected_text(unexpected: Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(flag) => format!("the boolean {flag}"),
        Unexpected::Unsigned(number) => format!("the number {number}"),
        Unexpected::Signed(number) => format!("the number {number}"),
        Unexpected::Float(number) => format!("the number {number}"),
        Unexpected::Char(ch) => format!("the string {}", quote_input(&ch.to_string())),
        Unexpected::Str(text) => format!("the string {}", quote_input(text)),
        Unexpected::Bytes(_) => "a byte string".into(),
        Unexpected::Unit | Unexpected::Option => "undef".into(),
        Unexpected::Map => "a hash reference".into(),
        Unexpected::Seq => "an array reference".into(),
        other => other.to_string(),
    }
}

/// Deserialize a `T` from an argument's value (tests).
#[cfg(test)]
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, DeError> {
    T::deserialize(ValueDeserializer(value))
}

struct ValueDeserializer(Value);

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(flag) => visitor.visit_bool(flag),
            Value::Number(number) => {
                if let Some(unsigned) = number.as_u64() {
                    visitor.visit_u64(unsigned)
                } else if let Some(signed) = number.as_i64() {
                    visitor.visit_i64(signed)
                } else {
                    visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(text) => visitor.visit_string(text),
            Value::Array(list) => {
                let len = list.len();
                let mut access = SeqDeserializer {
                    iter: list.into_iter(),
                    index: 0,
                };
                let value = visitor.visit_seq(&mut access)?;
                if access.iter.len() != 0 {
                    return Err(de::Error::invalid_length(len, &"fewer elements"));
                }
                Ok(value)
            }
            Value::Object(map) => visitor.visit_map(MapDeserializer {
                iter: map.into_iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            value => visitor.visit_some(ValueDeserializer(value)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::String(variant) => {
                visitor.visit_enum(IntoDeserializer::<DeError>::into_deserializer(variant))
            }
            Value::Object(map) if map.len() == 1 => {
                let (variant, value) = map.into_iter().next().expect("one entry");
                visitor.visit_enum(EnumDeserializer { variant, value })
            }
            other => Err(de::Error::invalid_type(
                unexpected_of(&other),
                &"a string or a hash reference with one key",
            )),
        }
    }

    /// A struct is a hash: serde would also take a list of its fields in
    /// order, which makes `aggregate_status([])` an empty request.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Array(_) => Err(de::Error::invalid_type(Unexpected::Seq, &visitor)),
            value => ValueDeserializer(value).deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map
        identifier ignored_any
    }
}

fn unexpected_of(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(flag) => Unexpected::Bool(*flag),
        Value::Number(number) => match (number.as_u64(), number.as_i64()) {
            (Some(unsigned), _) => Unexpected::Unsigned(unsigned),
            (_, Some(signed)) => Unexpected::Signed(signed),
            _ => Unexpected::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => Unexpected::Str(text),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct SeqDeserializer {
    iter: std::vec::IntoIter<Value>,
    index: usize,
}

impl<'de> SeqAccess<'de> for SeqDeserializer {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(value) = self.iter.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(ValueDeserializer(value))
            .map(Some)
            .map_err(|err| err.within(Step::Index(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDeserializer {
    iter: <Map<String, Value> as IntoIterator>::IntoIter,
    pending: Option<(String, Value)>,
}

impl<'de> MapAccess<'de> for MapDeserializer {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        let deserialized = seed
            .deserialize(StringDeserializer::<DeError>::new(key.clone()))
            .map_err(|err| err.within(Step::Key(key.clone())))?;
        self.pending = Some((key, value));
        Ok(Some(deserialized))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("a hash value without its key"))?;
        seed.deserialize(ValueDeserializer(value))
            .map_err(|err| err.within(Step::Key(key)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// `{ variant => value }`, as serde_json represents a variant with data.
struct EnumDeserializer {
    variant: String,
    value: Value,
}

impl<'de> de::EnumAccess<'de> for EnumDeserializer {
    type Error = DeError;
    type Variant = ValueDeserializer;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, ValueDeserializer), DeError> {
        let variant = seed.deserialize(StringDeserializer::<DeError>::new(self.variant))?;
        Ok((variant, ValueDeserializer(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDeserializer {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

/// Strings this long or longer are lent, not copied (see the module doc).
pub const BORROW_MIN_BYTES: usize = 4096;

/// A text argument that borrows a big string for the call instead of
/// copying it (see the module doc); other strings, and a Latin-1 byte
/// string's characters, are its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Text<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E>(self, text: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }

        deserializer.deserialize_string(TextVisitor(PhantomData))
    }
}

/// Deserialize a `T` straight from an argument's Perl value (`None`: the
/// argument was omitted, read as `undef`).
///
/// # Safety
///
/// `sv` must be a live scalar of the reader's interpreter, and `'de` must
/// end with the XSUB call: borrowed strings live in mortal copies.
pub unsafe fn from_sv<'de, T: de::Deserialize<'de>>(
    reader: &mut Reader,
    sv: Option<*mut Sv>,
) -> Result<T, DeError> {
    // SAFETY: the caller's promise.
    let node = match sv {
        Some(sv) => unsafe { reader.node(sv, 0) }?,
        None => reader.missing_node()?,
    };
    T::deserialize(SvDeserializer {
        reader,
        node,
        depth: 0,
        lifetime: PhantomData,
    })
}

/// One value being deserialized; its [`Node`] is already read (and
/// counted) by the parent, so `deserialize_option` can look at it.
struct SvDeserializer<'r, 'de> {
    reader: &'r mut Reader,
    node: Node,
    depth: usize,
    lifetime: PhantomData<&'de ()>,
}

impl SvDeserializer<'_, '_> {
    /// The value read as a whole, for the rare shapes read that way.
    fn value(self) -> Result<Value, DeError> {
        // SAFETY: the node is from this reader, in this call.
        Ok(unsafe { self.reader.build(self.node, self.depth) }?)
    }
}

impl<'de> de::Deserializer<'de> for SvDeserializer<'_, 'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let perl = self.reader.perl;
        match self.node {
            Node::Undef => visitor.visit_unit(),
            Node::Bool(flag) => visitor.visit_bool(flag),
            Node::Int(number) if number >= 0 => visitor.visit_u64(number as u64),
            Node::Int(number) => visitor.visit_i64(number),
            Node::UInt(number) => visitor.visit_u64(number),
            Node::Float(number) => visitor.visit_f64(number),
            // SAFETY: a plain string SV, live for the call (Reader::node),
            // read just now; its text is used before any Perl code can run
            // again, unless it is lent from a private copy that lives as
            // long as 'de.
            Node::Str(text) => unsafe {
                if text.len >= BORROW_MIN_BYTES {
                    return match sv_text::<'de>(perl, private_copy(perl, text.sv)) {
                        Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
                        Cow::Owned(text) => visitor.visit_string(text),
                    };
                }
                match text.text() {
                    Cow::Borrowed(text) => visitor.visit_str(text),
                    Cow::Owned(text) => visitor.visit_string(text),
                }
            },
            Node::Hash(hv) => {
                // SAFETY: a held hash of this reader (Reader::node).
                let entries = unsafe { self.reader.hash_entries(hv) }?;
                visitor.visit_map(HashAccess {
                    reader: self.reader,
                    entries,
                    pending: None,
                    depth: self.depth,
                    lifetime: PhantomData,
                })
            }
            Node::Array(av) => {
                // SAFETY: a held array of this reader (Reader::node).
                let elements = unsafe { self.reader.array_elements(av) }?;
                let len = elements.len;
                let mut access = ArrayAccess {
                    reader: self.reader,
                    elements,
                    index: 0,
                    depth: self.depth,
                    lifetime: PhantomData,
                };
                let value = visitor.visit_seq(&mut access)?;
                if access.index != len {
                    return Err(de::Error::invalid_length(len, &"fewer elements"));
                }
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node {
            Node::Undef => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    /// Enums are small and rare: read as a whole, then as [`from_value`]
    /// takes them.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        ValueDeserializer(self.value()?).deserialize_enum(name, variants, visitor)
    }

    /// A struct is a hash (see [`ValueDeserializer`]'s).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.node {
            Node::Array(_) => Err(de::Error::invalid_type(Unexpected::Seq, &visitor)),
            _ => self.deserialize_any(visitor),
        }
    }

    /// Read all the same: a value left unused is still read (its magic
    /// run, its size counted) as when arguments were read whole.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.value()?;
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map
        identifier
    }
}

struct HashAccess<'r, 'de> {
    reader: &'r mut Reader,
    entries: HashEntries,
    pending: Option<(String, *mut Sv)>,
    depth: usize,
    lifetime: PhantomData<&'de ()>,
}

impl<'de> MapAccess<'de> for HashAccess<'_, 'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        // SAFETY: the walk was started by this reader, in this call.
        let Some((key, value)) = (unsafe { self.entries.next(self.reader) })? else {
            return Ok(None);
        };
        let deserialized = seed
            .deserialize(StrDeserializer::<DeError>::new(&key))
            .map_err(|err| err.within(Step::Key(key.clone())))?;
        self.pending = Some((key, value));
        Ok(Some(deserialized))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("a hash value without its key"))?;
        let depth = self.depth + 1;
        // SAFETY: value is live: a held hash's entry or a mortal copy.
        let node = match unsafe { self.reader.node(value, depth) } {
            Ok(node) => node,
            Err(err) => return Err(DeError::from(err).within(Step::Key(key))),
        };
        seed.deserialize(SvDeserializer {
            reader: self.reader,
            node,
            depth,
            lifetime: PhantomData,
        })
        .map_err(|err| err.within(Step::Key(key)))
    }
}

struct ArrayAccess<'r, 'de> {
    reader: &'r mut Reader,
    elements: ArrayElements,
    index: usize,
    depth: usize,
    lifetime: PhantomData<&'de ()>,
}

impl<'de> SeqAccess<'de> for ArrayAccess<'_, 'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if self.index == self.elements.len {
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        let depth = self.depth + 1;
        // SAFETY: the array was sized by this reader, in this call; an
        // element is live (held array) or a mortal copy.
        let node = unsafe {
            match self.elements.get(self.reader, index) {
                Ok(Some(sv)) => self.reader.node(sv, depth),
                Ok(None) => self.reader.missing_node(),
                Err(err) => Err(err),
            }
        };
        let node = node.map_err(|err| DeError::from(err).within(Step::Index(index)))?;
        seed.deserialize(SvDeserializer {
            reader: self.reader,
            node,
            depth,
            lifetime: PhantomData,
        })
        .map(Some)
        .map_err(|err| err.within(Step::Index(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.elements.reserve().saturating_sub(self.index))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Options {
        now: u64,
        nodes: Option<Vec<String>>,
    }

    fn message<T: de::DeserializeOwned + fmt::Debug>(value: Value) -> String {
        from_value::<T>(value).expect_err("refused").to_string()
    }

    #[test]
    fn values_deserialize_as_serde_json_does() {
        let value = json!({ "a": [1, -2, 2.5, "x", null, true], "b": {} });
        assert_eq!(from_value::<Value>(value.clone()).unwrap(), value);
        assert_eq!(
            from_value::<Options>(json!({ "now": 7, "nodes": ["n1"] })).unwrap(),
            Options {
                now: 7,
                nodes: Some(vec!["n1".into()])
            }
        );
        assert_eq!(
            from_value::<BTreeMap<String, Option<u64>>>(json!({ "x": null, "y": 3 })).unwrap(),
            BTreeMap::from([("x".into(), None), ("y".into(), Some(3))])
        );
    }

    #[test]
    fn messages_speak_perl_and_name_the_place() {
        assert_eq!(
            message::<Options>(json!("x")),
            ": expected a hash reference, got the string 'x'"
        );
        assert_eq!(
            message::<Options>(json!({ "now": {} })),
            " at {'now'}: expected a non-negative integer, got a hash reference"
        );
        assert_eq!(
            message::<Options>(json!({ "now": 1, "nodes": ["a", 5] })),
            " at {'nodes'}[1]: expected a string, got the number 5"
        );
        assert_eq!(
            message::<Options>(json!({ "now": 1, "later": 2 })),
            " at {'later'}: unknown key 'later' (known keys: now, nodes)"
        );
        assert_eq!(message::<Options>(json!({})), ": missing key 'now'");
        assert_eq!(
            message::<Options>(json!([7])),
            ": expected a hash reference, got an array reference"
        );
        assert_eq!(
            message::<Vec<String>>(json!({})),
            ": expected an array reference, got a hash reference"
        );
    }

    #[test]
    fn quoted_input_is_cut() {
        let long = "y".repeat(65536);
        let text = message::<u64>(json!(long));
        assert!(text.len() < 200, "{text}");
    }
}
