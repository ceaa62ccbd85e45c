//! `/etc/pve/multipath.cfg`: a Proxmox SectionConfig, read and written as
//! pve-common's `PVE::SectionConfig` does it.
//!
//! ```text
//! defaults: defaults
//!         find-multipaths strict
//!         no-path-retry queue
//!
//! wwid: 3600a098038314b2d4a5d4e6f2f6b4d31
//!         alias vmstore-a
//!         no-path-retry 18
//!
//! ```
//!
//! A section is a `type: id` header followed by indented `key value` lines;
//! `#` comment lines are skipped anywhere. Reading follows the real parser to
//! the byte, since an admin may edit the file by hand and every node must
//! see what pve-common would see: a section ends only at a line Perl takes
//! as false (empty or `0`), so a whitespace-only or `\r` line inside it is an
//! ignored line, not its end; the header is matched greedily (`wwid:36:00`
//! is of type `wwid:36`); the digest is over the raw bytes. Reading never
//! fails: a bad value or key is warned and listed in `errors` with its line,
//! a bad header or stray line is warned, and the rest is read, with the real
//! parser's messages. Writing refuses invalid values as a whole, so nothing
//! half-valid reaches pmxcfs; a duplicate alias an admin wrote by hand does
//! not block writes (rendering the drop-ins names it, see [`validate`]).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Error};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::perl::lenient::UInt;
use crate::schema::{self, ParamErrors, SectionType};

/// One section: its type and its properties in stored form.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub section_type: SectionType,
    pub props: BTreeMap<String, Value>,
}

/// A problem with a key found while reading; the key was left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParseError {
    /// `file F line N`, as SectionConfig words it.
    pub context: String,
    pub line: usize,
    pub section: String,
    pub key: String,
    pub err: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    pub ids: BTreeMap<String, Section>,
    pub order: BTreeMap<String, u64>,
    pub digest: String,
    /// The problems with a key, as SectionConfig lists them in `errors`.
    pub errors: Vec<ParseError>,
    /// Every warning SectionConfig prints while reading, in line order.
    pub warnings: Vec<String>,
}

/// SHA-1 of the raw bytes, as `Digest::SHA::sha1_hex($raw)`.
pub fn digest(raw: &[u8]) -> String {
    crate::text::hex(&Sha1::digest(raw))
}

/// Perl's `\s` on a byte string: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !is_space(*b))
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !is_space(*b))
        .map_or(0, |end| end + 1);
    &bytes[..end]
}

/// One character per byte, so Perl gets back strings equal to the bytes it
/// read (`eq` compares characters) and prints them as those bytes again.
fn text(bytes: &[u8]) -> String {
    bytes.iter().map(|&byte| char::from(byte)).collect()
}

/// `split(/\n/, $raw)`: trailing empty lines are dropped.
fn split_lines(raw: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = raw.split(|&byte| byte == b'\n').collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines
}

/// `/^\s*#/`
fn is_comment(line: &[u8]) -> bool {
    trim_start(line).first() == Some(&b'#')
}

/// A line Perl takes as false (`""` or `"0"`): it ends a section.
fn is_false(line: &[u8]) -> bool {
    line.is_empty() || line == b"0"
}

/// `type: id`, as `^(\S+):\s*(\S+)\s*$` matches it: the longest type whose
/// rest is one word, so `wwid:36:00` is of type `wwid:36`.
fn parse_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let first_word = line.iter().position(|b| is_space(*b)).unwrap_or(line.len());
    (1..first_word).rev().find_map(|colon| {
        if line[colon] != b':' {
            return None;
        }
        let id = trim_end(trim_start(&line[colon + 1..]));
        (!id.is_empty() && !id.iter().any(|b| is_space(*b))).then_some((&line[..colon], id))
    })
}

/// An indented `key [value]` line, as `^\s+(\S+)(\s+(.*\S))?\s*$`.
fn parse_property(line: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    if !line.first().is_some_and(|b| is_space(*b)) {
        return None;
    }
    let rest = trim_start(line);
    if rest.is_empty() {
        return None;
    }
    let key_end = rest.iter().position(|b| is_space(*b)).unwrap_or(rest.len());
    let value = trim_end(trim_start(&rest[key_end..]));
    Some((&rest[..key_end], (!value.is_empty()).then_some(value)))
}

/// A key some section type knows: SectionConfig looks a key's schema up
/// among all types' properties before anything else.
fn is_known_key(key: &str) -> bool {
    key == "type" || schema::knob(key).is_some()
}

struct Reader<'a> {
    filename: &'a str,
    config: Config,
    next_order: u64,
    lineno: usize,
}

impl Reader<'_> {
    fn prefix(&self) -> String {
        format!("file {} line {}", self.filename, self.lineno)
    }

    fn warn(&mut self, warning: String) {
        self.config.warnings.push(warning);
    }

    fn key_error(&mut self, id: &str, key: &str, err: String) {
        let context = self.prefix();
        self.warn(format!(
            "{context} (section '{id}') - unable to parse value of '{key}': {err}"
        ));
        self.config.errors.push(ParseError {
            context,
            line: self.lineno,
            section: id.to_string(),
            key: key.to_string(),
            err,
        });
    }

    /// One `key value` line, checked in SectionConfig's order.
    fn property(&mut self, id: &str, section: &mut Section, seen_type: &mut bool, line: &[u8]) {
        let Some((key, value)) = parse_property(line) else {
            let warning = format!(
                "{} (section '{id}') - ignore config line: {}",
                self.prefix(),
                text(line)
            );
            self.warn(warning);
            return;
        };
        let (key, value) = (text(key), value.map(text));
        if !is_known_key(&key) {
            return self.key_error(id, &key, "unknown property type".into());
        }
        if section.props.contains_key(&key) || (key == "type" && *seen_type) {
            return self.key_error(id, &key, "duplicate attribute".into());
        }
        if key == "type" && value.as_deref() == Some(section.section_type.name()) {
            *seen_type = true;
            return;
        }
        let Some(knob) = schema::settable(section.section_type, &key) else {
            return self.key_error(id, &key, format!("unexpected property '{key}'"));
        };
        let Some(value) = value else {
            return self.key_error(id, &key, "got undefined value".into());
        };
        if value.contains(['\n', '\r']) {
            return self.key_error(id, &key, "property contains a line feed".into());
        }
        match schema::check_value(knob, &Value::from(value)) {
            Ok(value) => {
                section.props.insert(key, value);
            }
            Err(err) => self.key_error(id, &key, err),
        }
    }

    /// The section type of a header, or the warning that skips the section.
    fn section_type(&self, type_name: &str, id: &str) -> Result<SectionType, String> {
        let section_type = SectionType::parse(type_name)
            .ok_or_else(|| format!("unsupported type '{type_name}'"))?;
        schema::check_section_id(section_type, id)?;
        Ok(section_type)
    }
}

/// Read `multipath.cfg` exactly as `PVE::SectionConfig::parse_config` reads
/// it (see the module documentation); `raw` is the file's bytes.
pub fn parse(filename: &str, raw: impl AsRef<[u8]>) -> Config {
    let raw = raw.as_ref();
    let mut reader = Reader {
        filename,
        config: Config {
            digest: digest(raw),
            ..Config::default()
        },
        next_order: 1,
        lineno: 0,
    };
    let mut lines = split_lines(raw).into_iter().peekable();
    let mut next_line = |reader: &mut Reader| {
        for line in lines.by_ref() {
            reader.lineno += 1;
            if !is_comment(line) {
                return Some(line);
            }
        }
        None
    };

    while let Some(line) = next_line(&mut reader) {
        if is_false(line) {
            continue;
        }
        let Some((type_name, id)) = parse_header(line) else {
            let warning = format!("{} - ignore config line: {}", reader.prefix(), text(line));
            reader.warn(warning);
            continue;
        };
        let (type_name, id) = (text(type_name), text(id));
        let mut section = match reader.section_type(&type_name, &id) {
            Ok(section_type) => Some(Section {
                section_type,
                props: BTreeMap::new(),
            }),
            Err(err) => {
                let warning = format!("{} (skip section '{id}'): {err}", reader.prefix());
                reader.warn(warning);
                None
            }
        };
        let mut seen_type = false;
        while let Some(line) = next_line(&mut reader) {
            if is_false(line) {
                break;
            }
            if let Some(section) = section.as_mut() {
                reader.property(&id, section, &mut seen_type, line);
            }
        }
        if let Some(section) = section {
            reader.config.ids.insert(id.clone(), section);
            reader.config.order.insert(id, reader.next_order);
            reader.next_order += 1;
        }
    }
    reader.config
}

/// `PVE::Tools::split_list`: a list given as one string, split at NUL
/// bytes if it has any, else at commas, semicolons and whitespace.
pub fn split_list(text: &str) -> Vec<String> {
    let mut items: Vec<String> = if text.contains('\0') {
        text.split('\0').map(str::to_string).collect()
    } else {
        text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect()
    };
    while items.last().is_some_and(|item| item.is_empty()) {
        items.pop();
    }
    items
}

/// One message per alias that more than one WWID uses, and per alias that is
/// another allow-listed WWID (with `user_friendly_names no` that WWID's map
/// is named after it, so the two maps would collide).
pub fn check_aliases(ids: &BTreeMap<String, Section>) -> Vec<String> {
    let mut users: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, section) in ids {
        if let Some(Value::String(alias)) = section.props.get("alias") {
            users.entry(alias).or_default().push(id);
        }
    }
    let shared = users
        .iter()
        .filter(|(_, wwids)| wwids.len() > 1)
        .map(|(alias, wwids)| {
            format!(
                "alias '{alias}' is used by more than one WWID: {}",
                wwids.join(", ")
            )
        });
    let clashing = alias_clashes(ids)
        .into_iter()
        .map(|(owner, alias)| alias_clash_message(owner, alias));
    shared.chain(clashing).collect()
}

/// `(owner, alias)` for every alias that is the id of another section.
fn alias_clashes(ids: &BTreeMap<String, Section>) -> Vec<(&str, &str)> {
    ids.iter()
        .filter_map(|(id, section)| match section.props.get("alias") {
            Some(Value::String(alias)) if alias != id && ids.contains_key(alias) => {
                Some((id.as_str(), alias.as_str()))
            }
            _ => None,
        })
        .collect()
}

fn alias_clash_message(owner: &str, alias: &str) -> String {
    format!("alias '{alias}' of WWID {owner} is the WWID of another allow-listed LUN")
}

/// Write the text of a valid configuration; an invalid one is refused with
/// every problem named.
pub fn write(config: &Config) -> Result<String, Error> {
    let problems = validate_sections(config);
    if !problems.is_empty() {
        bail!("invalid multipath configuration:\n{}", problems.join("\n"));
    }
    let mut ids: Vec<&String> = config.ids.keys().collect();
    ids.sort_by_key(|id| {
        (
            config.order.get(*id).copied().unwrap_or(u64::MAX),
            (*id).clone(),
        )
    });

    let mut out = String::new();
    for id in ids {
        let section = &config.ids[id];
        out.push_str(&format!("{}: {id}\n", section.section_type.name()));
        for (key, value) in &section.props {
            // validated above: every value is a scalar
            let text = schema::scalar_text(value).unwrap_or_default();
            out.push_str(&format!("\t{key} {text}\n"));
        }
        out.push('\n');
    }
    Ok(out)
}

/// Every problem of a configuration, duplicate aliases included: what
/// multipathd cannot be given.
pub fn validate(config: &Config) -> Vec<String> {
    let mut problems = validate_sections(config);
    problems.extend(check_aliases(&config.ids));
    problems
}

/// The problems of each section on its own: what is never written.
fn validate_sections(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, section) in &config.ids {
        if let Err(err) = schema::check_section_id(section.section_type, id) {
            problems.push(format!("section '{id}': {err}"));
        }
        if let Err(errors) = schema::check_props(section.section_type, &section.props) {
            problems.extend(
                errors
                    .iter()
                    .map(|(key, message)| format!("section '{id}': {key}: {message}")),
            );
        }
    }
    problems
}

impl Config {
    /// `{ ids, order, digest, errors? }` as SectionConfig returns it.
    pub fn to_perl(&self) -> Value {
        let ids: Map<String, Value> = self
            .ids
            .iter()
            .map(|(id, section)| {
                let mut props: Map<String, Value> = section.props.clone().into_iter().collect();
                props.insert("type".into(), Value::from(section.section_type.name()));
                (id.clone(), Value::Object(props))
            })
            .collect();
        let mut out = Map::new();
        out.insert("ids".into(), Value::Object(ids));
        out.insert(
            "order".into(),
            serde_json::to_value(&self.order).unwrap_or_default(),
        );
        out.insert("digest".into(), Value::from(self.digest.clone()));
        if !self.errors.is_empty() {
            out.insert(
                "errors".into(),
                serde_json::to_value(&self.errors).unwrap_or_default(),
            );
        }
        Value::Object(out)
    }

    /// Take a configuration as Perl holds it. Values are stored as given
    /// (numbers from Perl may be strings); [`validate`] judges them.
    pub fn from_perl(value: &Value) -> Result<Self, Error> {
        let Some(object) = value.as_object() else {
            bail!("configuration must be a hash");
        };
        let mut config = Config::default();
        if let Some(digest) = object.get("digest").and_then(Value::as_str) {
            config.digest = digest.to_string();
        }
        let empty = Map::new();
        let ids = match object.get("ids") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(ids)) => ids,
            Some(_) => bail!("configuration 'ids' must be a hash"),
        };
        for (id, section) in ids {
            let Some(props) = section.as_object() else {
                bail!("section '{id}' must be a hash");
            };
            let type_name = props
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(section_type) = SectionType::parse(type_name) else {
                bail!("section '{id}': unsupported type '{type_name}'");
            };
            let mut section = Section {
                section_type,
                props: BTreeMap::new(),
            };
            for (key, value) in props.iter().filter(|(key, _)| *key != "type") {
                let value =
                    schema::check_prop(section_type, key, value).unwrap_or_else(|_| value.clone());
                section.props.insert(key.clone(), value);
            }
            config.ids.insert(id.clone(), section);
        }
        if let Some(Value::Object(order)) = object.get("order") {
            for (id, position) in order {
                // a number, or a numeric string as Perl may hold it; else unordered
                if let Ok(UInt(position)) = UInt::deserialize(position) {
                    config.order.insert(id.clone(), position);
                }
            }
        }
        Ok(config)
    }
}

/// The change one API call makes to one section.
pub struct SectionUpdate<'a> {
    pub section_type: SectionType,
    pub id: &'a str,
    pub set: &'a Map<String, Value>,
    pub delete: &'a [String],
    pub digest: Option<&'a str>,
}

/// pve-common's message for a write based on a stale read.
pub const DIGEST_MISMATCH: &str =
    "detected modified configuration - file changed by other user? Try again.";

/// `PVE::Tools::assert_if_modified`, the one digest check of every write:
/// a change based on what a client read (`given`, the digest it got) is
/// refused when the file changed since. As in pve-common, a digest that is
/// false to Perl (undef, `""` or `"0"`) on either side is none, and there
/// is nothing to check.
pub fn assert_if_modified(given: Option<&str>, current: &str) -> Result<(), Error> {
    let is_digest = |digest: &str| !digest.is_empty() && digest != "0";
    match given {
        Some(given) if is_digest(given) && is_digest(current) && given != current => {
            bail!("{DIGEST_MISMATCH}")
        }
        _ => Ok(()),
    }
}

/// Apply an API update, as the series' handlers do: settable keys only, no
/// key both set and deleted, the digest (when given) must match, aliases stay
/// unique. A missing section is created; the `defaults` section goes away
/// when its last knob is deleted. A stale digest is a plain error; every
/// other refusal is a [`ParamErrors`], a problem with the id under the
/// section type's name (`wwid`), the one parameter that names it.
pub fn update(config: &mut Config, update: &SectionUpdate) -> Result<(), Error> {
    assert_if_modified(update.digest, &config.digest)?;
    let id_param = update.section_type.name();
    schema::check_section_id(update.section_type, update.id)
        .map_err(|message| ParamErrors::one(id_param, message))?;
    if let Some(existing) = config.ids.get(update.id) {
        if existing.section_type != update.section_type {
            let message = format!(
                "section '{}' is of type '{}'",
                update.id,
                existing.section_type.name()
            );
            return Err(ParamErrors::one(id_param, message).into());
        }
    }

    let (values, mut problems) = match schema::check_props(update.section_type, update.set) {
        Ok(values) => (values, ParamErrors::default()),
        Err(problems) => (BTreeMap::new(), problems),
    };
    let mut deleted = BTreeSet::new();
    for key in update.delete {
        if schema::settable(update.section_type, key).is_none() {
            problems.add("delete", format!("'{key}' is not a settable option"));
        } else if update.set.contains_key(key) {
            problems.add(
                "delete",
                format!("cannot set and delete '{key}' at the same time"),
            );
        } else {
            deleted.insert(key.clone());
        }
    }
    if !problems.is_empty() {
        return Err(problems.into());
    }

    let mut props = config
        .ids
        .get(update.id)
        .map(|section| section.props.clone())
        .unwrap_or_default();
    props.extend(values);
    props.retain(|key, _| !deleted.contains(key));
    check_alias_rules(&config.ids, update.id, &props).map_err(|(own, message)| {
        ParamErrors::one(if own { "alias" } else { id_param }, message)
    })?;

    // checked: from here on nothing is refused, so nothing is half-applied
    if update.section_type == SectionType::Defaults && props.is_empty() {
        config.ids.remove(update.id);
        config.order.remove(update.id);
        return Ok(());
    }
    let next_order = config.order.values().max().copied().unwrap_or(0) + 1;
    config
        .order
        .entry(update.id.to_string())
        .or_insert(next_order);
    config.ids.insert(
        update.id.to_string(),
        Section {
            section_type: update.section_type,
            props,
        },
    );
    Ok(())
}

/// The alias rules for section `id` about to get `props`: its alias used by
/// no other section and no other section's id, its id no other section's
/// alias. The refusal says whether the section's own alias is at fault.
fn check_alias_rules(
    ids: &BTreeMap<String, Section>,
    id: &str,
    props: &BTreeMap<String, Value>,
) -> Result<(), (bool, String)> {
    let alias_of = |section: &Section| match section.props.get("alias") {
        Some(Value::String(alias)) => Some(alias.clone()),
        _ => None,
    };
    let others = || ids.iter().filter(|(other, _)| other.as_str() != id);
    if let Some(Value::String(alias)) = props.get("alias") {
        if let Some((other, _)) = others().find(|(_, s)| alias_of(s).as_ref() == Some(alias)) {
            return Err((
                true,
                format!("alias '{alias}' is already used by WWID {other}"),
            ));
        }
        if alias != id && ids.contains_key(alias) {
            return Err((true, alias_clash_message(id, alias)));
        }
    }
    match others().find(|(_, s)| alias_of(s).as_deref() == Some(id)) {
        Some((owner, _)) => Err((false, alias_clash_message(owner, id))),
        None => Ok(()),
    }
}

/// Drop a section; `false` if there was none.
pub fn remove(config: &mut Config, id: &str, digest: Option<&str>) -> Result<bool, Error> {
    assert_if_modified(digest, &config.digest)?;
    config.order.remove(id);
    Ok(config.ids.remove(id).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SAMPLE: &str = "defaults: defaults\n\tfind-multipaths strict\n\tno-path-retry queue\n\n\
                          wwid: 3600def\n\talias san-b-lun0\n\n\
                          wwid: 3600abc\n\talias san-a-lun0\n\tno-path-retry 18\n";

    #[test]
    fn round_trip() {
        let config = parse("multipath.cfg", SAMPLE);
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        assert_eq!(config.ids.len(), 3);
        assert_eq!(config.order["3600def"], 2);
        assert_eq!(config.ids["3600abc"].props["no-path-retry"], json!("18"));

        let written = write(&config).unwrap();
        let again = parse("multipath.cfg", &written);
        assert_eq!(again.ids, config.ids);
        assert_eq!(again.order, config.order);
        assert_eq!(write(&again).unwrap(), written, "writing is stable");
        assert!(written.ends_with("\n\n"));
        assert!(written.starts_with("defaults: defaults\n\tfind-multipaths strict\n"));
    }

    /// The configs the Perl tests render through the real multipath parser.
    #[test]
    fn fixtures_round_trip() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/config");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|ext| ext.to_str()) != Some("cfg") {
                continue;
            }
            let raw = std::fs::read_to_string(&path).unwrap();
            let config = parse("multipath.cfg", &raw);
            assert!(config.errors.is_empty(), "{path:?}: {:?}", config.errors);
            let again = parse("multipath.cfg", write(&config).unwrap());
            assert_eq!(again.ids, config.ids, "{path:?}");
            assert_eq!(again.order, config.order, "{path:?}");
            count += 1;
        }
        assert!(count >= 4, "the fixtures are there");
    }

    #[test]
    fn the_order_from_perl_is_read_leniently() {
        let config = Config::from_perl(&json!({
            "ids": {},
            "order": { "a": 2, "b": "3", "c": " 4", "d": "x", "e": -1, "f": [1] },
        }))
        .unwrap();
        assert_eq!(
            config.order,
            BTreeMap::from([("a".into(), 2), ("b".into(), 3), ("c".into(), 4)])
        );
    }

    #[test]
    fn round_trip_through_perl_shape() {
        let config = parse("multipath.cfg", SAMPLE);
        let back = Config::from_perl(&config.to_perl()).unwrap();
        assert_eq!(back.ids, config.ids);
        assert_eq!(write(&back).unwrap(), write(&config).unwrap());
    }

    #[test]
    fn digest_is_sha1_of_the_raw_text() {
        assert_eq!(
            parse("f", "").digest,
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
    }

    #[test]
    fn errors_name_the_line_and_keep_the_rest() {
        let raw = "# comment\n\
                   wwid: 3600abc\n\
                   \talias good\n\
                   \tno-path-retry sometimes\n\
                   \tfrobnicate 1\n\
                   \talias again\n\
                   not a header\n\
                   \tpolling-interval 5\n\
                   \n\
                   bogus: thing\n\
                   \talias x\n\
                   \n\
                   wwid: defaults\n\
                   \n\
                   wwid: 3600def\n\
                   \talias good\n\
                   \trr-min-io-rq\n";
        let config = parse("multipath.cfg", raw);
        let keyed: Vec<(usize, &str, &str)> = config
            .errors
            .iter()
            .map(|e| (e.line, e.key.as_str(), e.err.as_str()))
            .collect();
        assert_eq!(
            keyed,
            vec![
                (4, "no-path-retry", "value does not match the regex pattern"),
                (5, "frobnicate", "unknown property type"),
                (6, "alias", "duplicate attribute"),
                (
                    8,
                    "polling-interval",
                    "unexpected property 'polling-interval'"
                ),
                (17, "rr-min-io-rq", "got undefined value"),
            ]
        );
        let prefix = "file multipath.cfg line";
        assert_eq!(
            config.warnings,
            vec![
                format!(
                    "{prefix} 4 (section '3600abc') - unable to parse value of 'no-path-retry': \
                     value does not match the regex pattern"
                ),
                format!(
                    "{prefix} 5 (section '3600abc') - unable to parse value of 'frobnicate': \
                     unknown property type"
                ),
                format!(
                    "{prefix} 6 (section '3600abc') - unable to parse value of 'alias': \
                     duplicate attribute"
                ),
                format!("{prefix} 7 (section '3600abc') - ignore config line: not a header"),
                format!(
                    "{prefix} 8 (section '3600abc') - unable to parse value of \
                     'polling-interval': unexpected property 'polling-interval'"
                ),
                format!("{prefix} 10 (skip section 'thing'): unsupported type 'bogus'"),
                format!(
                    "{prefix} 13 (skip section 'defaults'): the id 'defaults' is reserved and \
                     cannot be a WWID"
                ),
                format!(
                    "{prefix} 17 (section '3600def') - unable to parse value of 'rr-min-io-rq': \
                     got undefined value"
                ),
            ]
        );
        assert_eq!(config.ids["3600abc"].props.len(), 1);
        assert!(!config.ids.contains_key("defaults"));
        assert!(!config.ids.contains_key("thing"));
    }

    #[test]
    fn a_section_ends_only_at_an_empty_or_zero_line() {
        let config = parse(
            "f",
            "wwid: 36a\n\talias a\n \t \n\trr-weight uniform\n0\n\tx 1\n",
        );
        assert_eq!(
            config.ids["36a"].props.len(),
            2,
            "whitespace-only line kept it"
        );
        assert_eq!(
            config.warnings,
            vec![
                "file f line 3 (section '36a') - ignore config line:  \t ".to_string(),
                "file f line 6 - ignore config line: \tx 1".to_string(),
            ]
        );
        // a CRLF file is one section: "\r" is not an empty line
        let crlf = parse("f", "wwid: 36a\r\n\talias a\r\n\r\nwwid: 36b\r\n");
        assert_eq!(crlf.ids.keys().collect::<Vec<_>>(), vec!["36a"]);
        assert_eq!(crlf.ids["36a"].props["alias"], json!("a"));
        assert_eq!(crlf.warnings.len(), 2);
        assert!(crlf.errors.is_empty());
    }

    #[test]
    fn headers_match_greedily_like_the_perl_regex() {
        assert_eq!(
            parse_header(b"wwid:36:00"),
            Some((&b"wwid:36"[..], &b"00"[..]))
        );
        assert_eq!(
            parse_header(b"wwid: 36:00 \r"),
            Some((&b"wwid"[..], &b"36:00"[..]))
        );
        assert_eq!(parse_header(b"a:b:"), Some((&b"a"[..], &b"b:"[..])));
        assert_eq!(parse_header(b"wwid:"), None);
        assert_eq!(parse_header(b" wwid: 36a"), None);
        assert_eq!(parse_header(b"wwid: 36a x"), None);
        assert_eq!(
            parse_property(b"\talias\t a b \r"),
            Some((&b"alias"[..], Some(&b"a b"[..])))
        );
        assert_eq!(parse_property(b"\talias \r"), Some((&b"alias"[..], None)));
        assert_eq!(parse_property(b" \t "), None);
    }

    #[test]
    fn values_are_checked_like_section_config() {
        let raw = "wwid: 36a\n\ttype wwid\n\trr-min-io-rq +5\n\talias a\rb\n\n\
                   wwid: 36b\n\ttype defaults\n\n\
                   wwid: 36a\n\tpaths-expected 007\n";
        let config = parse("f", raw);
        assert_eq!(
            config.ids["36a"].props,
            BTreeMap::from([("paths-expected".into(), json!(7))])
        );
        assert_eq!(config.order["36a"], 3, "a repeated id replaces the section");
        let errors: Vec<&str> = config.errors.iter().map(|e| e.err.as_str()).collect();
        assert_eq!(
            errors,
            vec![
                "property contains a line feed",
                "unexpected property 'type'"
            ]
        );
        let first = parse("f", "wwid: 36a\n\trr-min-io-rq +5\n");
        assert_eq!(first.ids["36a"].props["rr-min-io-rq"], json!(5));
    }

    #[test]
    fn the_digest_is_over_the_raw_bytes() {
        let latin1 = parse("f", b"# caf\xe9\nwwid: 36a\n");
        assert_eq!(latin1.digest, digest(b"# caf\xe9\nwwid: 36a\n"));
        assert_eq!(latin1.ids.len(), 1);
        let bad = parse("f", b"wwid: 36a\n\talias caf\xe9\n");
        assert_eq!(bad.errors[0].err, "value does not match the regex pattern");
    }

    #[test]
    fn a_duplicate_alias_is_written_but_not_rendered() {
        let config = parse("f", "wwid: 36a\n\talias same\n\nwwid: 36b\n\talias same\n");
        assert!(config.errors.is_empty() && config.warnings.is_empty());
        assert!(
            write(&config).is_ok(),
            "hand-made duplicates never block writes"
        );
        assert_eq!(
            validate(&config),
            vec!["alias 'same' is used by more than one WWID: 36a, 36b".to_string()]
        );
    }

    #[test]
    fn split_list_like_pve_tools() {
        let cases: &[(&str, &[&str])] = &[
            ("alias,rr-weight", &["alias", "rr-weight"]),
            (" alias;\trr-weight\n,, x ", &["alias", "rr-weight", "x"]),
            ("alias\u{a0}x", &["alias", "x"]),
            ("a\0\0b, c\0\0", &["a", "", "b, c"]),
            ("", &[]),
            (" , ", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(split_list(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn duplicate_ids_replace() {
        let config = parse("f", "wwid: 36a\n\talias one\n\nwwid: 36a\n\talias two\n");
        assert_eq!(config.ids["36a"].props["alias"], json!("two"));
        assert!(config.errors.is_empty() && config.warnings.is_empty());
    }

    #[test]
    fn write_refuses_invalid() {
        let config = Config::from_perl(&json!({
            "ids": { "36a": { "type": "wwid", "alias": "a\nb", "polling-interval": 5 } }
        }))
        .unwrap();
        let err = write(&config).unwrap_err().to_string();
        assert!(err.contains("section '36a': alias: value does not match the regex pattern"));
        assert!(err.contains("section '36a': polling-interval: property is not defined in schema"));
    }

    #[test]
    fn booleans_are_written_as_0_or_1() {
        let mut config = parse("f", "wwid: 36a\n");
        let props = &mut config.ids.get_mut("36a").unwrap().props;
        props.insert("paths-expected".into(), json!(true));
        props.insert("no-path-retry".into(), json!(true));
        assert_eq!(
            write(&config).unwrap(),
            "wwid: 36a\n\tno-path-retry 1\n\tpaths-expected 1\n\n"
        );
        props_of(&mut config, "36a").insert("paths-expected".into(), json!(false));
        let err = write(&config).unwrap_err().to_string();
        assert!(
            err.contains("paths-expected: value must have a minimum value of 1"),
            "false is 0: {err}"
        );
    }

    fn props_of<'a>(config: &'a mut Config, id: &str) -> &'a mut BTreeMap<String, Value> {
        &mut config.ids.get_mut(id).unwrap().props
    }

    #[test]
    fn the_one_digest_check() {
        let current = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        for (given, refused) in [
            (None, false),
            (Some(""), false),
            (Some(current), false),
            (Some("0"), false),
            (Some("0000"), true),
            (Some("0.0"), true),
            (Some(&current[1..]), true),
        ] {
            let result = assert_if_modified(given, current);
            assert_eq!(result.is_err(), refused, "{given:?}");
            if let Err(err) = result {
                assert_eq!(err.to_string(), DIGEST_MISMATCH);
                assert!(
                    err.downcast_ref::<ParamErrors>().is_none(),
                    "a plain message"
                );
            }
        }
        let mut config = parse("f", SAMPLE);
        for stale in [
            remove(&mut config, "3600abc", Some("0000")).unwrap_err(),
            update_wwid(&mut config, "3600abc", json!({}), &[], Some("0000")).unwrap_err(),
        ] {
            assert_eq!(stale.to_string(), DIGEST_MISMATCH);
        }
        assert_eq!(config, parse("f", SAMPLE), "nothing changed");
        for current in ["", "0"] {
            assert!(
                assert_if_modified(Some("0000"), current).is_ok(),
                "a current digest of {current:?} is none, as in pve-common"
            );
        }
    }

    /// The problems of an update as `{ property => message }`.
    fn param_errors(result: Result<(), Error>) -> Vec<(String, String)> {
        let err = result.expect_err("refused");
        let errors = err
            .downcast_ref::<ParamErrors>()
            .unwrap_or_else(|| panic!("not a parameter error: {err}"));
        errors
            .iter()
            .map(|(key, message)| (key.to_string(), message.to_string()))
            .collect()
    }

    #[test]
    fn update_refusals_name_the_property() {
        let long_key = "k".repeat(1000);
        /// id, set, delete, the expected `{ property => message }`
        type Case<'a> = (&'a str, Value, &'a [&'a str], &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            (
                "3600def",
                json!({ "alias": "san-a-lun0" }),
                &[],
                &[(
                    "alias",
                    "alias 'san-a-lun0' is already used by WWID 3600abc",
                )],
            ),
            (
                "3600def",
                json!({ "alias": "3600abc" }),
                &[],
                &[(
                    "alias",
                    "alias '3600abc' of WWID 3600def is the WWID of another allow-listed LUN",
                )],
            ),
            (
                "san-a-lun0",
                json!({}),
                &[],
                &[(
                    "wwid",
                    "alias 'san-a-lun0' of WWID 3600abc is the WWID of another allow-listed LUN",
                )],
            ),
            (
                "36 00",
                json!({}),
                &[],
                &[(
                    "wwid",
                    "invalid WWID '36 00': value does not match the regex pattern",
                )],
            ),
            (
                "3600new",
                json!({ "alias": "x", "polling-interval": 3, "rr-weight": "equal" }),
                &["alias", "type", "x"],
                &[
                    (
                        "delete",
                        "cannot set and delete 'alias' at the same time; \
                         'type' is not a settable option; 'x' is not a settable option",
                    ),
                    ("polling-interval", "property is not defined in schema"),
                    (
                        "rr-weight",
                        "value 'equal' does not have a value in the enumeration \
                         'priorities, uniform'",
                    ),
                ],
            ),
            (
                "3600new",
                json!({ long_key.clone(): 1 }),
                &[],
                &[(
                    &format!("{}...", &long_key[..80]),
                    "property is not defined in schema",
                )],
            ),
        ];
        for (id, set, delete, expected) in cases {
            let mut config = parse("f", SAMPLE);
            let errors = param_errors(update_wwid(&mut config, id, set.clone(), delete, None));
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(key, message)| (key.to_string(), message.to_string()))
                .collect();
            assert_eq!(errors, expected, "{id} {set}");
            assert_eq!(config, parse("f", SAMPLE), "{id} {set}: nothing changed");
        }

        let mut config = parse("f", SAMPLE);
        let err = update(
            &mut config,
            &SectionUpdate {
                section_type: SectionType::Wwid,
                id: "defaults",
                set: &Map::new(),
                delete: &[],
                digest: None,
            },
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "wwid: the id 'defaults' is reserved and cannot be a WWID",
            "displayed as PVE::Exception lists the errors"
        );
    }

    fn update_wwid(
        config: &mut Config,
        id: &str,
        set: Value,
        delete: &[&str],
        digest: Option<&str>,
    ) -> Result<(), Error> {
        let delete: Vec<String> = delete.iter().map(|key| key.to_string()).collect();
        let section_type = if id == "defaults" {
            SectionType::Defaults
        } else {
            SectionType::Wwid
        };
        update(
            config,
            &SectionUpdate {
                section_type,
                id,
                set: set.as_object().unwrap(),
                delete: &delete,
                digest,
            },
        )
    }

    #[test]
    fn updates() {
        let mut config = parse("f", SAMPLE);
        let digest = config.digest.clone();
        let set = json!({ "alias": "san-b" });
        update_wwid(&mut config, "3600def", set, &[], Some(&digest)).unwrap();
        assert_eq!(config.ids["3600def"].props["alias"], json!("san-b"));

        let delete = ["find-multipaths", "no-path-retry"];
        update_wwid(&mut config, "defaults", json!({}), &delete, None).unwrap();
        assert!(
            !config.ids.contains_key("defaults"),
            "empty defaults section dropped"
        );

        let set = json!({ "alias": "new-lun", "rr-min-io-rq": "4" });
        update_wwid(&mut config, "3600new", set, &[], None).unwrap();
        assert_eq!(config.ids["3600new"].props["rr-min-io-rq"], json!(4));
        assert_eq!(config.order["3600new"], 4);
    }
    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever an admin writes: no panic, every listed error names a
            /// line, and what was read is written back and read again alike.
            #[test]
            fn any_text_reads_and_round_trips(
                lines in proptest::collection::vec(
                    "(wwid|defaults|lun|0|#|[ \t\r]{1,2}|alias|rr-weight|no-path-retry|type|\
                      uniform|queue|[0-9a-f:+-]{1,6}| |: |:|\u{e9}|\x00){0,6}",
                    0..12,
                )
            ) {
                let raw = lines.join("\n");
                let config = parse("f", raw.as_bytes());
                prop_assert_eq!(&config.digest, &digest(raw.as_bytes()));
                for error in &config.errors {
                    prop_assert!(error.line >= 1);
                }
                let written = write(&config).map_err(|err| TestCaseError::fail(err.to_string()))?;
                let again = parse("f", written.as_bytes());
                prop_assert_eq!(&again.ids, &config.ids);
                prop_assert!(again.errors.is_empty() && again.warnings.is_empty());
            }

            #[test]
            fn any_bytes_read_without_panic(raw in proptest::collection::vec(any::<u8>(), 0..400)) {
                let config = parse("f", &raw);
                prop_assert_eq!(config.order.len(), config.ids.len());
            }
        }
    }
}
