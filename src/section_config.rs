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
//! A section is a `type: id` header followed by indented `key value` lines
//! and ends at an empty line; `#` comment lines are skipped anywhere.
//! Reading never fails: like SectionConfig, a bad value, an unknown key, an
//! unknown section type or a stray line is reported in `errors` with its
//! line and left out, and the rest is read. Writing refuses an invalid
//! configuration as a whole, so nothing half-valid reaches pmxcfs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use anyhow::{bail, Error};
use serde::Serialize;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::schema::{self, SectionType};

/// One section: its type and its properties in stored form.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub section_type: SectionType,
    pub props: BTreeMap<String, Value>,
}

/// A problem found while reading; the affected line was left out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParseError {
    /// `file F line N`, as SectionConfig words it.
    pub context: String,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub err: String,
}

impl ParseError {
    /// The warning SectionConfig prints for this error.
    pub fn warning(&self) -> String {
        match (&self.section, &self.key) {
            (Some(section), Some(key)) => format!(
                "{} (section '{section}') - unable to parse value of '{key}': {}",
                self.context, self.err
            ),
            (Some(section), None) => {
                format!("{} (section '{section}') - {}", self.context, self.err)
            }
            _ => format!("{} - {}", self.context, self.err),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    pub ids: BTreeMap<String, Section>,
    pub order: BTreeMap<String, u64>,
    pub digest: String,
    pub errors: Vec<ParseError>,
}

pub fn digest(raw: &str) -> String {
    Sha1::digest(raw.as_bytes())
        .iter()
        .fold(String::with_capacity(40), |mut hex, byte| {
            // writing to a String cannot fail
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// `type: id`, as `^(\S+):\s*(\S+)\s*$`.
fn parse_header(line: &str) -> Option<(&str, &str)> {
    let (section_type, rest) = line.split_once(':')?;
    let id = rest.trim();
    let type_ok = !section_type.is_empty() && !section_type.contains(char::is_whitespace);
    (type_ok && !id.is_empty() && !id.contains(char::is_whitespace)).then_some((section_type, id))
}

/// An indented `key [value]` line, as `^\s+(\S+)(\s+(.*\S))?\s*$`.
fn parse_property(line: &str) -> Option<(&str, Option<&str>)> {
    if !line.starts_with(char::is_whitespace) {
        return None;
    }
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    match line.split_once(char::is_whitespace) {
        Some((key, value)) => Some((key, Some(value.trim_start()))),
        None => Some((line, None)),
    }
}

struct Reader<'a> {
    filename: &'a str,
    config: Config,
    next_order: u64,
}

impl Reader<'_> {
    fn error(&mut self, line: usize, section: Option<&str>, key: Option<&str>, err: String) {
        self.config.errors.push(ParseError {
            context: format!("file {} line {line}", self.filename),
            line,
            section: section.map(str::to_string),
            key: key.map(str::to_string),
            err,
        });
    }

    fn property(
        &mut self,
        line: usize,
        id: &str,
        section: &mut Section,
        key: &str,
        value: Option<&str>,
    ) {
        let Some(knob) = schema::settable(section.section_type, key) else {
            self.error(
                line,
                Some(id),
                Some(key),
                format!("unexpected property '{key}'"),
            );
            return;
        };
        if section.props.contains_key(key) {
            self.error(line, Some(id), Some(key), "duplicate attribute".to_string());
            return;
        }
        let Some(value) = value else {
            self.error(line, Some(id), Some(key), "missing value".to_string());
            return;
        };
        match schema::check_value(knob, &Value::from(value)) {
            Ok(value) => {
                section.props.insert(key.to_string(), value);
            }
            Err(err) => self.error(line, Some(id), Some(key), err),
        }
    }
}

/// Read `multipath.cfg`; see the module documentation.
pub fn parse(filename: &str, raw: &str) -> Config {
    let mut reader = Reader {
        filename,
        config: Config {
            digest: digest(raw),
            ..Config::default()
        },
        next_order: 1,
    };
    let mut lines = raw
        .split('\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line));

    while let Some((number, line)) = lines.next() {
        if is_comment(line) || is_blank(line) {
            continue;
        }
        let Some((type_name, id)) = parse_header(line) else {
            reader.error(number, None, None, format!("ignore config line: {line}"));
            continue;
        };
        let section_type = match SectionType::parse(type_name) {
            Some(section_type) => match schema::check_section_id(section_type, id) {
                Ok(()) => Some(section_type),
                Err(err) => {
                    reader.error(number, Some(id), None, err);
                    None
                }
            },
            None => {
                reader.error(
                    number,
                    Some(id),
                    None,
                    format!("unsupported type '{type_name}'"),
                );
                None
            }
        };

        let mut section = section_type.map(|section_type| Section {
            section_type,
            props: BTreeMap::new(),
        });
        for (number, line) in lines.by_ref() {
            if is_comment(line) {
                continue;
            }
            if is_blank(line) {
                break;
            }
            let Some(section) = section.as_mut() else {
                continue; // the lines of a skipped section
            };
            match parse_property(line) {
                Some((key, value)) => reader.property(number, id, section, key, value),
                None => reader.error(
                    number,
                    Some(id),
                    None,
                    format!("ignore config line: {line}"),
                ),
            }
        }

        if let Some(section) = section {
            if reader.config.ids.contains_key(id) {
                reader.error(
                    number,
                    Some(id),
                    None,
                    "duplicate section, replaces the earlier one".into(),
                );
            }
            reader.config.ids.insert(id.to_string(), section);
            reader
                .config
                .order
                .insert(id.to_string(), reader.next_order);
            reader.next_order += 1;
        }
    }
    check_aliases(&reader.config.ids)
        .into_iter()
        .for_each(|err| reader.error(0, None, Some("alias"), err));
    for error in reader
        .config
        .errors
        .iter_mut()
        .filter(|error| error.line == 0)
    {
        error.context = format!("file {}", reader.filename);
    }
    reader.config
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

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Write the text of a valid configuration; an invalid one is refused with
/// every problem named.
pub fn write(config: &Config) -> Result<String, Error> {
    let problems = validate(config);
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
            out.push_str(&format!("\t{key} {}\n", scalar_text(value)));
        }
        out.push('\n');
    }
    Ok(out)
}

/// Every problem of a configuration that did not come from [`parse`].
pub fn validate(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, section) in &config.ids {
        if let Err(err) = schema::check_section_id(section.section_type, id) {
            problems.push(format!("section '{id}': {err}"));
        }
        for (key, value) in &section.props {
            match schema::settable(section.section_type, key) {
                None => problems.push(format!("section '{id}': unexpected property '{key}'")),
                Some(knob) => {
                    if let Err(err) = schema::check_value(knob, value) {
                        problems.push(format!("section '{id}': {key}: {err}"));
                    }
                }
            }
        }
    }
    problems.extend(check_aliases(&config.ids));
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
                let value = match schema::settable(section_type, key) {
                    Some(knob) => {
                        schema::check_value(knob, value).unwrap_or_else(|_| value.clone())
                    }
                    None => value.clone(),
                };
                section.props.insert(key.clone(), value);
            }
            config.ids.insert(id.clone(), section);
        }
        if let Some(Value::Object(order)) = object.get("order") {
            for (id, position) in order {
                let position = match position {
                    Value::Number(number) => number.as_u64(),
                    Value::String(text) => text.parse().ok(),
                    _ => None,
                };
                if let Some(position) = position {
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

pub const DIGEST_MISMATCH: &str =
    "detected modified configuration - file changed by other user? Try again.";

/// Apply an API update, as the series' handlers do: settable keys only, no
/// key both set and deleted, the digest (when given) must match, aliases stay
/// unique. A missing section is created; the `defaults` section goes away
/// when its last knob is deleted.
pub fn update(config: &mut Config, update: &SectionUpdate) -> Result<(), Error> {
    if let Some(expected) = update.digest.filter(|digest| !digest.is_empty()) {
        if expected != config.digest {
            bail!("{DIGEST_MISMATCH}");
        }
    }
    schema::check_section_id(update.section_type, update.id).map_err(Error::msg)?;
    if let Some(existing) = config.ids.get(update.id) {
        if existing.section_type != update.section_type {
            bail!(
                "section '{}' is of type '{}'",
                update.id,
                existing.section_type.name()
            );
        }
    }

    let mut problems = Vec::new();
    let mut values = BTreeMap::new();
    for (key, value) in update.set {
        match schema::settable(update.section_type, key) {
            None => problems.push(format!("{key}: property is not defined in schema")),
            Some(knob) => match schema::check_value(knob, value) {
                Ok(value) => {
                    values.insert(key.clone(), value);
                }
                Err(err) => problems.push(format!("{key}: {err}")),
            },
        }
    }
    let mut deleted = BTreeSet::new();
    for key in update.delete {
        if schema::settable(update.section_type, key).is_none() {
            problems.push(format!("delete: '{key}' is not a settable option"));
        } else if update.set.contains_key(key) {
            problems.push(format!(
                "delete: cannot set and delete '{key}' at the same time"
            ));
        } else {
            deleted.insert(key.clone());
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }

    let next_order = config.order.values().max().copied().unwrap_or(0) + 1;
    let section = config
        .ids
        .entry(update.id.to_string())
        .or_insert_with(|| Section {
            section_type: update.section_type,
            props: BTreeMap::new(),
        });
    section.props.extend(values);
    section.props.retain(|key, _| !deleted.contains(key));
    config
        .order
        .entry(update.id.to_string())
        .or_insert(next_order);

    if update.section_type == SectionType::Defaults && section.props.is_empty() {
        config.ids.remove(update.id);
        config.order.remove(update.id);
    }
    if let Some(Value::String(alias)) = config.ids.get(update.id).and_then(|s| s.props.get("alias"))
    {
        let taken_by = config.ids.iter().find(|(id, section)| {
            id.as_str() != update.id
                && section.props.get("alias") == Some(&Value::from(alias.as_str()))
        });
        if let Some((other, _)) = taken_by {
            bail!("alias '{alias}' is already used by WWID {other}");
        }
    }
    let clashes = alias_clashes(&config.ids);
    if let Some((owner, alias)) = clashes
        .into_iter()
        .find(|(owner, alias)| *owner == update.id || *alias == update.id)
    {
        bail!("{}", alias_clash_message(owner, alias));
    }
    Ok(())
}

/// Drop a section; `false` if there was none.
pub fn remove(config: &mut Config, id: &str, digest: Option<&str>) -> Result<bool, Error> {
    if let Some(expected) = digest.filter(|digest| !digest.is_empty()) {
        if expected != config.digest {
            bail!("{DIGEST_MISMATCH}");
        }
    }
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
            let again = parse("multipath.cfg", &write(&config).unwrap());
            assert_eq!(again.ids, config.ids, "{path:?}");
            assert_eq!(again.order, config.order, "{path:?}");
            count += 1;
        }
        assert!(count >= 4, "the fixtures are there");
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
        let lines: Vec<(usize, &str)> = config
            .errors
            .iter()
            .map(|e| (e.line, e.err.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (4, "value does not match the regex pattern"),
                (5, "unexpected property 'frobnicate'"),
                (6, "duplicate attribute"),
                (7, "ignore config line: not a header"),
                (9, "unsupported type 'bogus'"),
                (12, "the id 'defaults' is reserved and cannot be a WWID"),
                (16, "missing value"),
                (
                    0,
                    "alias 'good' is used by more than one WWID: 3600abc, 3600def"
                ),
            ]
        );
        assert_eq!(
            config.errors[0].warning(),
            "file multipath.cfg line 4 (section '3600abc') - unable to parse value of \
             'no-path-retry': value does not match the regex pattern"
        );
        assert_eq!(config.ids["3600abc"].props.len(), 1);
        assert!(!config.ids.contains_key("defaults"));
        assert!(write(&config)
            .unwrap_err()
            .to_string()
            .contains("alias 'good'"));
    }

    #[test]
    fn duplicate_ids_replace() {
        let config = parse("f", "wwid: 36a\n\talias one\n\nwwid: 36a\n\talias two\n");
        assert_eq!(config.ids["36a"].props["alias"], json!("two"));
        assert_eq!(config.errors.len(), 1);
    }

    #[test]
    fn write_refuses_invalid() {
        let config = Config::from_perl(&json!({
            "ids": { "36a": { "type": "wwid", "alias": "a\nb", "polling-interval": 5 } }
        }))
        .unwrap();
        let err = write(&config).unwrap_err().to_string();
        assert!(err.contains("section '36a': alias: value does not match the regex pattern"));
        assert!(err.contains("section '36a': unexpected property 'polling-interval'"));
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
        let err = update_wwid(
            &mut config,
            "3600def",
            json!({ "alias": "san-a-lun0" }),
            &[],
            Some(&digest),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "alias 'san-a-lun0' is already used by WWID 3600abc"
        );

        let mut config = parse("f", SAMPLE);
        let stale = update_wwid(&mut config, "3600def", json!({}), &[], Some("0000"));
        assert_eq!(stale.unwrap_err().to_string(), DIGEST_MISMATCH);

        let delete = ["find-multipaths", "no-path-retry"];
        update_wwid(&mut config, "defaults", json!({}), &delete, None).unwrap();
        assert!(
            !config.ids.contains_key("defaults"),
            "empty defaults section dropped"
        );

        let both = update_wwid(
            &mut config,
            "3600new",
            json!({ "alias": "x" }),
            &["alias"],
            None,
        );
        assert!(both
            .unwrap_err()
            .to_string()
            .contains("cannot set and delete 'alias'"));

        let scope = update_wwid(
            &mut config,
            "3600new",
            json!({ "polling-interval": 3 }),
            &[],
            None,
        );
        assert!(scope.unwrap_err().to_string().contains("polling-interval"));

        let set = json!({ "alias": "new-lun", "rr-min-io-rq": "4" });
        update_wwid(&mut config, "3600new", set, &[], None).unwrap();
        assert_eq!(config.ids["3600new"].props["rr-min-io-rq"], json!(4));
        assert_eq!(config.order["3600new"], 4);
    }
}
