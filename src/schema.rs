//! The knob schema: one table that drives validation here and the API
//! parameters of the Perl side.
//!
//! ```text
//! defaults: defaults
//!         no-path-retry queue          # shared knob (defaults and per WWID)
//!         polling-interval 5           # defaults only
//!         paths-expected 2             # ours: expected paths per node, never rendered
//!
//! wwid: 3600a098038314b2d4a5d4e6f2f6b4d31
//!         alias vmstore-a              # per WWID only
//!         path-selector service-time 0
//! ```
//!
//! Parameter names are kebab-case; the drop-ins use multipathd's snake_case
//! keyword. Every value is checked against a whitelist of characters, so no
//! value can carry a newline, brace, quote or comment character into a
//! rendered drop-in. Messages follow PVE::JSONSchema's wording; the problems
//! of a call's parameters are gathered by property in [`ParamErrors`], the
//! `{ property => message }` hash that `raise_param_exc` takes.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{json, Map, Value};

/// Where a knob may be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Shared,
    DefaultsOnly,
    WwidOnly,
}

/// The section types of `multipath.cfg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SectionType {
    Defaults,
    Wwid,
}

impl SectionType {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "defaults" => Some(Self::Defaults),
            "wwid" => Some(Self::Wwid),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Defaults => "defaults",
            Self::Wwid => "wwid",
        }
    }

    fn allows(self, scope: Scope) -> bool {
        matches!(
            (self, scope),
            (_, Scope::Shared)
                | (Self::Defaults, Scope::DefaultsOnly)
                | (Self::Wwid, Scope::WwidOnly)
        )
    }
}

/// What values a knob takes.
#[derive(Debug)]
pub enum Kind {
    Enum(&'static [&'static str]),
    Integer {
        minimum: i64,
        maximum: i64,
    },
    /// Text checked by `check`, which `pattern` describes for the API.
    Text {
        pattern: &'static str,
        typetext: Option<&'static str>,
        max_length: usize,
        check: fn(&str) -> bool,
    },
}

#[derive(Debug)]
pub struct Knob {
    pub name: &'static str,
    pub scope: Scope,
    pub kind: Kind,
    /// The managed default (defaults section only).
    pub default: Option<&'static str>,
    /// Whether the knob is a multipathd keyword; ours are not rendered.
    pub rendered: bool,
    pub description: &'static str,
}

impl Knob {
    /// The multipathd keyword.
    pub fn keyword(&self) -> String {
        self.name.replace('-', "_")
    }
}

fn is_count(text: &str) -> bool {
    let bytes = text.as_bytes();
    (1..=9).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1)
}

fn is_positive_count(text: &str) -> bool {
    is_count(text) && text != "0"
}

fn is_no_path_retry(text: &str) -> bool {
    matches!(text, "queue" | "fail") || is_positive_count(text)
}

fn is_failback(text: &str) -> bool {
    matches!(text, "manual" | "immediate" | "followover") || is_positive_count(text)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// `name 0`: the selector and its argument count. multipath-tools (0.9.4
/// and 0.11.1 alike) wants the count, and drops the keyword with "invalid
/// argument count" unless exactly that many arguments follow it; none of the
/// kernel's selectors takes one here, so the count is always 0.
fn is_path_selector(text: &str) -> bool {
    let Some(name) = text.strip_suffix(" 0") else {
        return false;
    };
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

fn is_reminder_schedule(text: &str) -> bool {
    crate::notify::parse_reminders(text).is_ok()
}

/// Map aliases: a plain word, never a comment or quote character.
pub fn is_alias(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphanumeric()) && text.chars().all(is_word_char)
}

/// The longest WWID that can have a map. multipath-tools keeps a path's WWID
/// in `WWID_SIZE` (128) bytes with the NUL, so 127 characters at most, and
/// names the map's device-mapper UUID `mpath-<WWID>`, which libdevmapper
/// refuses from `DM_UUID_LEN` (129) bytes with the NUL on: 128 - 6 = 122.
pub const WWID_MAX_LENGTH: usize = 122;

/// WWIDs as multipath prints them (hex NAA ids, `eui.`, `t10.` style ids).
pub fn is_wwid(text: &str) -> bool {
    (1..=WWID_MAX_LENGTH).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.chars().all(|c| is_word_char(c) || c == ':')
}

pub use crate::text::excerpt;

/// Why a text is no WWID, in the API's wording.
fn wwid_problem(text: &str) -> String {
    if text.len() > WWID_MAX_LENGTH {
        format!("value may only be {WWID_MAX_LENGTH} characters long")
    } else {
        "value does not match the regex pattern".to_string()
    }
}

/// A WWID from anywhere (API, Perl caller, peer): the one rule, or an error
/// quoting at most [`crate::text::QUOTE_MAX_CHARS`] of it.
pub fn check_wwid(text: &str) -> Result<(), String> {
    if is_wwid(text) {
        Ok(())
    } else {
        Err(format!(
            "invalid WWID '{}': {}",
            excerpt(text),
            wwid_problem(text)
        ))
    }
}

pub const WWID_PATTERN: &str = "[a-zA-Z0-9][a-zA-Z0-9._:-]*";
pub const ALIAS_PATTERN: &str = "[a-zA-Z0-9][a-zA-Z0-9._-]*";

pub const KNOBS: &[Knob] = &[
    Knob {
        name: "no-path-retry",
        scope: Scope::Shared,
        kind: Kind::Text {
            pattern: "(?:queue|fail|[1-9][0-9]{0,8})",
            typetext: Some("queue|fail|<count>"),
            max_length: 9,
            check: is_no_path_retry,
        },
        default: None,
        rendered: true,
        description: "How to react when all paths are down: keep queueing, fail at once, or \
                      retry for the given number of polling intervals.",
    },
    Knob {
        name: "path-grouping-policy",
        scope: Scope::Shared,
        kind: Kind::Enum(&[
            "failover",
            "multibus",
            "group_by_serial",
            "group_by_prio",
            "group_by_node_name",
        ]),
        default: None,
        rendered: true,
        description: "How paths are grouped into priority groups.",
    },
    Knob {
        name: "failback",
        scope: Scope::Shared,
        kind: Kind::Text {
            pattern: "(?:manual|immediate|followover|[1-9][0-9]{0,8})",
            typetext: Some("manual|immediate|followover|<seconds>"),
            max_length: 10,
            check: is_failback,
        },
        default: None,
        rendered: true,
        description: "When to fail back to a restored higher-priority path group.",
    },
    Knob {
        name: "path-selector",
        scope: Scope::Shared,
        kind: Kind::Text {
            pattern: "[a-z][a-z-]* 0",
            typetext: Some("<selector> 0"),
            max_length: 64,
            check: is_path_selector,
        },
        default: None,
        rendered: true,
        description: "Path selector algorithm used within a priority group, for example \
                      'service-time 0'.",
    },
    Knob {
        name: "paths-expected",
        scope: Scope::Shared,
        kind: Kind::Integer {
            minimum: 1,
            maximum: 256,
        },
        default: None,
        rendered: false,
        description: "Number of paths each node should have to the LUN; a node with fewer is \
                      degraded. Without it, the most paths a node has seen count.",
    },
    Knob {
        name: "find-multipaths",
        scope: Scope::DefaultsOnly,
        kind: Kind::Enum(&["yes", "no", "strict", "greedy", "smart"]),
        default: Some("strict"),
        rendered: true,
        description: "Which devices multipathd assembles into a map. 'strict' only takes \
                      explicitly allow-listed WWIDs.",
    },
    Knob {
        name: "user-friendly-names",
        scope: Scope::DefaultsOnly,
        kind: Kind::Enum(&["yes", "no"]),
        default: Some("no"),
        rendered: true,
        description: "Whether to use node-local mpathN names. Keep 'no' for stable WWID-based \
                      names across the cluster.",
    },
    Knob {
        name: "polling-interval",
        scope: Scope::DefaultsOnly,
        kind: Kind::Integer {
            minimum: 1,
            maximum: 3600,
        },
        default: Some("5"),
        rendered: true,
        description: "Interval between path checks, in seconds.",
    },
    Knob {
        name: "notify",
        scope: Scope::DefaultsOnly,
        kind: Kind::Enum(&["yes", "no"]),
        default: None,
        rendered: false,
        description: "Whether to send notifications when a LUN loses redundancy or fails and \
                      when it recovers (default yes).",
    },
    Knob {
        name: "notify-severity",
        scope: Scope::DefaultsOnly,
        kind: Kind::Enum(&["info", "notice", "warning", "error"]),
        default: None,
        rendered: false,
        description: "The least severity a multipath notification needs to be sent (default \
                      info: recoveries too).",
    },
    Knob {
        name: "notify-reminders",
        scope: Scope::DefaultsOnly,
        kind: Kind::Text {
            pattern: "(?:none|[1-9][0-9]{0,3}[smhd](?:,[1-9][0-9]{0,3}[smhd]){0,7})",
            typetext: Some("none|<duration>[,<duration>...]"),
            max_length: 64,
            check: is_reminder_schedule,
        },
        default: None,
        rendered: false,
        description: "Gaps between reminders while a problem lasts, the last one repeating, \
                      each at least 10m (default 1h,6h,1d).",
    },
    Knob {
        name: "alias",
        scope: Scope::WwidOnly,
        kind: Kind::Text {
            pattern: ALIAS_PATTERN,
            typetext: None,
            max_length: 64,
            check: is_alias,
        },
        default: None,
        rendered: true,
        description: "Human-readable map name for this WWID; multipathd uses it as the map name.",
    },
    Knob {
        name: "rr-min-io-rq",
        scope: Scope::WwidOnly,
        kind: Kind::Integer {
            minimum: 1,
            maximum: 2_147_483_647,
        },
        default: None,
        rendered: true,
        description: "Number of I/O requests to route to a path before switching, request-based.",
    },
    Knob {
        name: "rr-weight",
        scope: Scope::WwidOnly,
        kind: Kind::Enum(&["priorities", "uniform"]),
        default: None,
        rendered: true,
        description: "Whether to weight paths by priority when balancing I/O.",
    },
];

pub fn knob(name: &str) -> Option<&'static Knob> {
    KNOBS.iter().find(|knob| knob.name == name)
}

/// The knobs a section of this type may set.
pub fn knobs_for(section: SectionType) -> impl Iterator<Item = &'static Knob> {
    KNOBS.iter().filter(move |knob| section.allows(knob.scope))
}

/// The knob `name` if a section of this type may set it.
pub fn settable(section: SectionType, name: &str) -> Option<&'static Knob> {
    knob(name).filter(|knob| section.allows(knob.scope))
}

/// The text of a scalar, as a value is checked, stored in `multipath.cfg`
/// and rendered: a string as it is, a number in decimal, a boolean as `1` or
/// `0` (PVE writes booleans so, and `JSON::PP::Boolean` prints so); `None`
/// for undef, a list or a hash.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// What is wrong with the parameters of a call: one message per property,
/// as PVE::JSONSchema collects them. An export whose error is this dies with
/// the hash `{ property => message }` (see `src/perl/error.rs`), which the
/// API hands to `raise_param_exc` as it is. Displayed as `property: message`
/// lines, sorted by property, as `PVE::Exception` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ParamErrors(BTreeMap<String, String>);

impl ParamErrors {
    /// A single problem.
    pub fn one(property: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(property, message);
        errors
    }

    /// Add a problem; a second one of the same property is appended to the
    /// first after "; ". The property is quoted as input is ([`excerpt`]):
    /// an unknown key may be anything.
    pub fn add(&mut self, property: &str, message: impl Into<String>) {
        let message = message.into();
        self.0
            .entry(excerpt(property))
            .and_modify(|first| {
                first.push_str("; ");
                first.push_str(&message);
            })
            .or_insert(message);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(property, message)`, sorted by property.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// `Ok(value)` if there is no problem.
    pub fn or_ok<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ParamErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (property, message)) in self.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{property}: {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParamErrors {}

/// Check one knob setting of a section type; the value in stored form.
pub fn check_prop(section: SectionType, key: &str, value: &Value) -> Result<Value, String> {
    let knob = settable(section, key).ok_or_else(|| NOT_IN_SCHEMA.to_string())?;
    check_value(knob, value)
}

/// Why a key is no knob of a section type, in PVE::JSONSchema's words.
pub const NOT_IN_SCHEMA: &str = "property is not defined in schema";

/// Check a knob map (a section's settings, an update, the options of a
/// WWID) against the schema: every key must be settable in a section of this
/// type and every value valid. The map in stored form, or every problem.
pub fn check_props<'a>(
    section: SectionType,
    props: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Result<BTreeMap<String, Value>, ParamErrors> {
    let mut checked = BTreeMap::new();
    let mut errors = ParamErrors::default();
    for (key, value) in props {
        match check_prop(section, key, value) {
            Ok(value) => {
                checked.insert(key.clone(), value);
            }
            Err(message) => errors.add(key, message),
        }
    }
    errors.or_ok(checked)
}

/// Check a value for a knob; on success the value in its stored form
/// (integers as numbers, everything else as text).
pub fn check_value(knob: &Knob, value: &Value) -> Result<Value, String> {
    let text = scalar_text(value).ok_or_else(|| "type check ('scalar') failed".to_string())?;
    match &knob.kind {
        Kind::Enum(values) => {
            if values.contains(&text.as_str()) {
                Ok(Value::String(text))
            } else {
                Err(format!(
                    "value '{}' does not have a value in the enumeration '{}'",
                    excerpt(&text),
                    values.join(", ")
                ))
            }
        }
        Kind::Integer { minimum, maximum } => {
            // PVE::JSONSchema::is_integer: /^[+-]?\d+$/
            let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "type check ('integer') failed - got '{}'",
                    excerpt(&text)
                ));
            }
            // too many digits for an i64 is out of range, as it is for Perl
            let number: i64 = text.parse().unwrap_or(if text.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            });
            if number < *minimum {
                Err(format!("value must have a minimum value of {minimum}"))
            } else if number > *maximum {
                Err(format!("value must have a maximum value of {maximum}"))
            } else {
                Ok(Value::from(number))
            }
        }
        Kind::Text {
            max_length, check, ..
        } => {
            if text.chars().count() > *max_length {
                Err(format!("value may only be {max_length} characters long"))
            } else if !check(&text) {
                Err("value does not match the regex pattern".to_string())
            } else {
                Ok(Value::String(text))
            }
        }
    }
}

/// The section id rule of a section type.
pub fn check_section_id(section: SectionType, id: &str) -> Result<(), String> {
    match section {
        SectionType::Defaults if id == "defaults" => Ok(()),
        SectionType::Defaults => Err(format!(
            "invalid section id '{}': the defaults section is named 'defaults'",
            excerpt(id)
        )),
        SectionType::Wwid if id == "defaults" => {
            Err("the id 'defaults' is reserved and cannot be a WWID".to_string())
        }
        SectionType::Wwid => check_wwid(id),
    }
}

/// One knob as a PVE::JSONSchema property, without `default`: an update
/// that omits a knob keeps it instead of resetting it.
fn api_property(knob: &Knob) -> Value {
    let mut property = Map::new();
    property.insert("optional".into(), json!(1));
    property.insert("description".into(), json!(knob.description));
    match &knob.kind {
        Kind::Enum(values) => {
            property.insert("type".into(), json!("string"));
            property.insert("enum".into(), json!(values));
        }
        Kind::Integer { minimum, maximum } => {
            property.insert("type".into(), json!("integer"));
            property.insert("minimum".into(), json!(minimum));
            property.insert("maximum".into(), json!(maximum));
        }
        Kind::Text {
            pattern,
            typetext,
            max_length,
            ..
        } => {
            property.insert("type".into(), json!("string"));
            property.insert("pattern".into(), json!(pattern));
            property.insert("maxLength".into(), json!(max_length));
            if let Some(typetext) = typetext {
                property.insert("typetext".into(), json!(typetext));
            }
        }
    }
    Value::Object(property)
}

/// A WWID as a PVE::JSONSchema property; [`check_wwid`] is the same rule.
pub fn wwid_property(description: &str) -> Map<String, Value> {
    let mut property = Map::new();
    property.insert("description".into(), json!(description));
    property.insert("type".into(), json!("string"));
    property.insert("pattern".into(), json!(WWID_PATTERN));
    property.insert("maxLength".into(), json!(WWID_MAX_LENGTH));
    property
}

/// The settable knobs of a section type as API parameter properties.
pub fn api_schema(section: SectionType) -> Map<String, Value> {
    knobs_for(section)
        .map(|knob| (knob.name.to_string(), api_property(knob)))
        .collect()
}

/// The managed defaults, applied where the `defaults` section omits them.
pub fn managed_defaults() -> Map<String, Value> {
    KNOBS
        .iter()
        .filter_map(|knob| {
            let default = knob.default?;
            let value = check_value(knob, &Value::from(default)).ok()?;
            Some((knob.name.to_string(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, value: Value) -> Result<Value, String> {
        check_value(knob(name).unwrap(), &value)
    }

    #[test]
    fn values_and_messages() {
        let cases: &[(&str, Value, Result<Value, &str>)] = &[
            ("no-path-retry", json!("queue"), Ok(json!("queue"))),
            ("no-path-retry", json!(18), Ok(json!("18"))),
            (
                "no-path-retry",
                json!("0"),
                Err("value does not match the regex pattern"),
            ),
            (
                "no-path-retry",
                json!("007"),
                Err("value does not match the regex pattern"),
            ),
            (
                "no-path-retry",
                json!("sometimes"),
                Err("value does not match the regex pattern"),
            ),
            (
                "no-path-retry",
                json!("1234567890"),
                Err("value may only be 9 characters long"),
            ),
            ("failback", json!("followover"), Ok(json!("followover"))),
            (
                "path-selector",
                json!("service-time 0"),
                Ok(json!("service-time 0")),
            ),
            (
                "path-selector",
                json!("round-robin 0"),
                Ok(json!("round-robin 0")),
            ),
            // multipath-tools drops these: "invalid argument count"
            (
                "path-selector",
                json!("service-time 5"),
                Err("value does not match the regex pattern"),
            ),
            (
                "path-selector",
                json!("queue-length 1"),
                Err("value does not match the regex pattern"),
            ),
            (
                "path-selector",
                json!("service-time 00"),
                Err("value does not match the regex pattern"),
            ),
            (
                "path-selector",
                json!("service-time"),
                Err("value does not match the regex pattern"),
            ),
            (
                "path-selector",
                json!("round-robin 0 }"),
                Err("value does not match the regex pattern"),
            ),
            (
                "path-selector",
                json!("a\"b"),
                Err("value does not match the regex pattern"),
            ),
            ("polling-interval", json!("5"), Ok(json!(5))),
            (
                "polling-interval",
                json!("abc"),
                Err("type check ('integer') failed - got 'abc'"),
            ),
            (
                "polling-interval",
                json!(0),
                Err("value must have a minimum value of 1"),
            ),
            (
                "polling-interval",
                json!(3601),
                Err("value must have a maximum value of 3600"),
            ),
            (
                "rr-weight",
                json!("equal"),
                Err("value 'equal' does not have a value in the enumeration 'priorities, uniform'"),
            ),
            ("alias", json!("san-a.lun_0"), Ok(json!("san-a.lun_0"))),
            (
                "alias",
                json!("san#b"),
                Err("value does not match the regex pattern"),
            ),
            (
                "alias",
                json!("-x"),
                Err("value does not match the regex pattern"),
            ),
            (
                "alias",
                json!("a b"),
                Err("value does not match the regex pattern"),
            ),
            ("alias", json!([1]), Err("type check ('scalar') failed")),
        ];
        for (name, value, expected) in cases {
            let expected = expected.clone().map_err(str::to_string);
            assert_eq!(check(name, value.clone()), expected, "{name} = {value}");
        }
    }

    #[test]
    fn scalars_print_as_pve_writes_them() {
        let cases = [
            (json!("queue"), Some("queue")),
            (json!(""), Some("")),
            (json!(18), Some("18")),
            (json!(-3), Some("-3")),
            (json!(true), Some("1")),
            (json!(false), Some("0")),
            (json!(null), None),
            (json!([1]), None),
            (json!({ "a": 1 }), None),
        ];
        for (value, expected) in cases {
            assert_eq!(scalar_text(&value).as_deref(), expected, "{value}");
        }
        // one rule for checking too: a boolean is the integer it prints as
        assert_eq!(check("paths-expected", json!(true)), Ok(json!(1)));
        assert_eq!(check("no-path-retry", json!(true)), Ok(json!("1")));
        assert_eq!(
            check("polling-interval", json!(false)),
            Err("value must have a minimum value of 1".to_string())
        );
    }

    #[test]
    fn knob_maps_are_checked_in_one_place() {
        let props = json!({
            "alias": "lun",
            "rr-min-io-rq": "007",
            "polling-interval": 5,
            "rr-weight": [1],
        });
        let errors = check_props(SectionType::Wwid, props.as_object().unwrap()).unwrap_err();
        assert_eq!(
            errors.iter().collect::<Vec<_>>(),
            vec![
                ("polling-interval", NOT_IN_SCHEMA),
                ("rr-weight", "type check ('scalar') failed"),
            ]
        );
        let props = json!({ "alias": "lun", "rr-min-io-rq": "007" });
        assert_eq!(
            check_props(SectionType::Wwid, props.as_object().unwrap()),
            Ok(BTreeMap::from([
                ("alias".to_string(), json!("lun")),
                ("rr-min-io-rq".to_string(), json!(7)),
            ])),
            "the stored form"
        );
        assert_eq!(
            check_prop(SectionType::Defaults, "alias", &json!("x")),
            Err(NOT_IN_SCHEMA.to_string())
        );
    }

    #[test]
    fn param_errors_are_a_hash_of_messages() {
        let mut errors = ParamErrors::one("delete", "'type' is not a settable option");
        errors.add("alias", "value does not match the regex pattern");
        errors.add("delete", "'x' is not a settable option");
        errors.add(&"k".repeat(100), "property is not defined in schema");
        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            json!({
                "alias": "value does not match the regex pattern",
                "delete": "'type' is not a settable option; 'x' is not a settable option",
                format!("{}...", "k".repeat(80)): "property is not defined in schema",
            }),
            "as raise_param_exc takes it; a second message of one property appended"
        );
        assert_eq!(
            errors.to_string(),
            format!(
                "alias: value does not match the regex pattern\n\
                 delete: 'type' is not a settable option; 'x' is not a settable option\n\
                 {}...: property is not defined in schema",
                "k".repeat(80)
            ),
            "displayed as PVE::Exception lists them"
        );
        assert_eq!(ParamErrors::default().or_ok(1), Ok(1));
        assert!(ParamErrors::one("a", "b").or_ok(1).is_err());
    }

    #[test]
    fn section_ids() {
        assert!(check_section_id(SectionType::Defaults, "defaults").is_ok());
        assert!(check_section_id(SectionType::Defaults, "other").is_err());
        assert!(check_section_id(SectionType::Wwid, "3600a098038314b2d").is_ok());
        assert!(check_section_id(SectionType::Wwid, "eui.0025385b71b0e3c4").is_ok());
        assert!(check_section_id(SectionType::Wwid, "defaults")
            .unwrap_err()
            .contains("reserved"));
        assert!(check_section_id(SectionType::Wwid, "36/00").is_err());
    }

    #[test]
    fn wwid_length_fits_a_device_mapper_uuid() {
        let longest = format!("3{}", "6".repeat(WWID_MAX_LENGTH - 1));
        assert_eq!(longest.len(), 122);
        assert_eq!(format!("mpath-{longest}").len() + 1, 129, "DM_UUID_LEN");
        assert!(check_section_id(SectionType::Wwid, &longest).is_ok());
        let too_long = format!("{longest}6");
        assert_eq!(
            check_section_id(SectionType::Wwid, &too_long),
            Err(format!(
                "invalid WWID '{}...': value may only be 122 characters long",
                &too_long[..80]
            ))
        );
        assert!(!is_wwid(&"3".repeat(128)));
    }

    #[test]
    fn odd_wwids_are_refused_quoting_little() {
        for (text, shown) in [
            ("3600a\n", "3600a\\n"),
            ("36\u{0}00", "36\\u{0}00"),
            ("-f", "-f"),
            ("", ""),
            ("3600\u{e9}", "3600\u{e9}"),
        ] {
            assert_eq!(
                check_wwid(text),
                Err(format!(
                    "invalid WWID '{shown}': value does not match the regex pattern"
                )),
                "{text:?}"
            );
        }
        assert_eq!(excerpt(&"a".repeat(81)), format!("{}...", "a".repeat(80)));
        assert_eq!(excerpt(&"\u{e9}".repeat(80)), "\u{e9}".repeat(80));
    }

    #[test]
    fn scopes() {
        assert!(settable(SectionType::Wwid, "alias").is_some());
        assert!(settable(SectionType::Defaults, "alias").is_none());
        assert!(settable(SectionType::Wwid, "polling-interval").is_none());
        assert!(settable(SectionType::Defaults, "paths-expected").is_some());
        assert!(settable(SectionType::Wwid, "paths-expected").is_some());
        let schema = api_schema(SectionType::Defaults);
        assert!(schema.contains_key("find-multipaths"));
        assert!(!schema.contains_key("alias"));
        assert!(schema
            .values()
            .all(|property| property.get("default").is_none()));
    }

    #[test]
    fn wwid_property_carries_the_rule() {
        let property = wwid_property("x");
        assert_eq!(property["maxLength"], json!(122));
        assert_eq!(property["pattern"], json!("[a-zA-Z0-9][a-zA-Z0-9._:-]*"));
    }

    #[test]
    fn managed_defaults_are_valid() {
        let defaults = managed_defaults();
        assert_eq!(defaults["find-multipaths"], json!("strict"));
        assert_eq!(defaults["user-friendly-names"], json!("no"));
        assert_eq!(defaults["polling-interval"], json!(5));
    }
}
