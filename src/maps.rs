//! Normalising `multipathd show maps json` (multipath-tools 0.9.4) into maps
//! with a health verdict.
//!
//! The input looks like this (abridged real output; `show map NAME json`
//! has a single `"map": {...}` instead of the `"maps"` list):
//!
//! ```text
//! {
//!    "major_version": 0,
//!    "minor_version": 1,
//!    "maps": [{
//!       "name" : "labmp0",
//!       "uuid" : "35000c50015ea71ac",
//!       "sysfs" : "dm-0",
//!       "queueing" : "-",
//!       "paths" : 1,
//!       "dm_st" : "active",
//!       "features" : "0",
//!       "path_faults" : 1,
//!       "vend" : "LAB",
//!       "prod" : "MPATH-LUN",
//!       "path_groups": [{
//!          "selector" : "service-time 0",
//!          "pri" : 0,
//!          "dm_st" : "enabled",
//!          "group" : 2,
//!          "paths": [{
//!             "dev" : "sdb",
//!             "dev_t" : "8:16",
//!             "dm_st" : "failed",
//!             "dev_st" : "offline",
//!             "chk_st" : "faulty",
//!             "target_wwnn" : "[undef]",
//!             "target_wwpn" : "[undef]",
//!             "host_adapter" : "[undef]"
//!          }]
//!       }]
//!    }]
//! }
//! ```
//!
//! Facts from the real daemon that shape this code: the map-level `paths`
//! counts *active* paths only (so it is not used for totals); a removed path
//! vanishes (under failover grouping with its whole group), a failed one
//! stays with `dm_st` `failed`; unset fields are the string `[undef]`; the
//! output is not JSON-escaped, so a `"` in a vendor string or alias breaks
//! it, and truncated output has been seen in the field.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, format_err, Error};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The health of one map on one node, as a person reading `multipath -ll`
/// would state it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Optimal,
    Degraded,
    Failed,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Optimal => "optimal",
            Health::Degraded => "degraded",
            Health::Failed => "failed",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One normalised map, in the series' structure plus what an operator needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Map<'a> {
    pub wwid: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub sysfs: Option<Cow<'a, str>>,
    #[serde(rename = "dm-state")]
    pub dm_state: Option<Cow<'a, str>>,
    #[serde(rename = "paths-total")]
    pub paths_total: u64,
    #[serde(rename = "paths-active")]
    pub paths_active: u64,
    pub health: Health,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'a, str>>,
    /// `on`, `off`, or a retry countdown such as `12 sec`; absent for `-`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queueing: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Cow<'a, str>>,
    #[serde(rename = "path-faults", skip_serializing_if = "Option::is_none")]
    pub path_faults: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Cow<'a, str>>,
    #[serde(rename = "write-prot", skip_serializing_if = "Option::is_none")]
    pub write_prot: Option<Cow<'a, str>>,
    #[serde(rename = "path-groups")]
    pub path_groups: Vec<PathGroup<'a>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathGroup<'a> {
    pub group: i64,
    #[serde(rename = "dm-state")]
    pub dm_state: Option<Cow<'a, str>>,
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<Cow<'a, str>>,
    pub paths: Vec<Path<'a>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Path<'a> {
    pub dev: Option<Cow<'a, str>>,
    #[serde(rename = "dev-t", skip_serializing_if = "Option::is_none")]
    pub dev_t: Option<Cow<'a, str>>,
    #[serde(rename = "dm-state")]
    pub dm_state: Option<Cow<'a, str>>,
    #[serde(rename = "dev-state")]
    pub dev_state: Option<Cow<'a, str>>,
    #[serde(rename = "check-state")]
    pub check_state: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checker: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(rename = "target-wwpn", skip_serializing_if = "Option::is_none")]
    pub target_wwpn: Option<Cow<'a, str>>,
    #[serde(rename = "target-wwnn", skip_serializing_if = "Option::is_none")]
    pub target_wwnn: Option<Cow<'a, str>>,
    /// The iSCSI target name (multipathd reports it as `target_wwnn`).
    #[serde(rename = "target-iqn", skip_serializing_if = "Option::is_none")]
    pub target_iqn: Option<Cow<'a, str>>,
    #[serde(rename = "host-wwnn", skip_serializing_if = "Option::is_none")]
    pub host_wwnn: Option<Cow<'a, str>>,
    #[serde(rename = "host-wwpn", skip_serializing_if = "Option::is_none")]
    pub host_wwpn: Option<Cow<'a, str>>,
    /// The HBA, or on iSCSI the initiator's IP address (gone while the
    /// session is down).
    #[serde(rename = "host-adapter", skip_serializing_if = "Option::is_none")]
    pub host_adapter: Option<Cow<'a, str>>,
    #[serde(rename = "lun-hex", skip_serializing_if = "Option::is_none")]
    pub lun_hex: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marginal: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<&'static str>,
}

// --- the raw shape multipathd prints -------------------------------------

mod reader;

use reader::Reader;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Default)]
struct RawMap<'a> {
    name: Text<'a>,
    uuid: Text<'a>,
    sysfs: Text<'a>,
    queueing: Text<'a>,
    write_prot: Text<'a>,
    dm_st: Text<'a>,
    features: Text<'a>,
    path_faults: Option<i64>,
    vend: Text<'a>,
    prod: Text<'a>,
    rev: Text<'a>,
    path_groups: Vec<RawGroup<'a>>,
}

#[derive(Default)]
struct RawGroup<'a> {
    selector: Text<'a>,
    pri: Option<i64>,
    dm_st: Text<'a>,
    group: Option<i64>,
    paths: Vec<RawPath<'a>>,
}

#[derive(Default)]
struct RawPath<'a> {
    dev: Text<'a>,
    dev_t: Text<'a>,
    dm_st: Text<'a>,
    dev_st: Text<'a>,
    chk_st: Text<'a>,
    checker: Text<'a>,
    pri: Option<i64>,
    host_wwnn: Text<'a>,
    target_wwnn: Text<'a>,
    host_wwpn: Text<'a>,
    target_wwpn: Text<'a>,
    host_adapter: Text<'a>,
    lun_hex: Text<'a>,
    marginal_st: Text<'a>,
}

/// A list that may also be `null` (read as empty).
fn read_list<'a, T>(
    reader: &mut Reader<'a>,
    mut item: impl FnMut(&mut Reader<'a>) -> reader::Result<T>,
) -> reader::Result<Vec<T>> {
    let mut list = Vec::new();
    if !reader.null()? {
        reader.array(|reader| {
            list.push(item(reader)?);
            Ok(())
        })?;
    }
    Ok(list)
}

fn read_path<'a>(reader: &mut Reader<'a>) -> reader::Result<RawPath<'a>> {
    let mut path = RawPath::default();
    reader.object(|reader, key| {
        let slot = match key {
            "dev" => &mut path.dev,
            "dev_t" => &mut path.dev_t,
            "dm_st" => &mut path.dm_st,
            "dev_st" => &mut path.dev_st,
            "chk_st" => &mut path.chk_st,
            "checker" => &mut path.checker,
            "host_wwnn" => &mut path.host_wwnn,
            "target_wwnn" => &mut path.target_wwnn,
            "host_wwpn" => &mut path.host_wwpn,
            "target_wwpn" => &mut path.target_wwpn,
            "host_adapter" => &mut path.host_adapter,
            "lun_hex" => &mut path.lun_hex,
            "marginal_st" => &mut path.marginal_st,
            "pri" => {
                path.pri = reader.int()?;
                return Ok(());
            }
            _ => return reader.skip(),
        };
        *slot = reader.text()?;
        Ok(())
    })?;
    Ok(path)
}

fn read_group<'a>(reader: &mut Reader<'a>) -> reader::Result<RawGroup<'a>> {
    let mut group = RawGroup::default();
    reader.object(|reader, key| {
        match key {
            "selector" => group.selector = reader.text()?,
            "dm_st" => group.dm_st = reader.text()?,
            "pri" => group.pri = reader.int()?,
            "group" => group.group = reader.int()?,
            "paths" => group.paths = read_list(reader, read_path)?,
            _ => reader.skip()?,
        }
        Ok(())
    })?;
    Ok(group)
}

fn read_map<'a>(reader: &mut Reader<'a>) -> reader::Result<RawMap<'a>> {
    let mut map = RawMap::default();
    reader.object(|reader, key| {
        let slot = match key {
            "name" => &mut map.name,
            "uuid" => &mut map.uuid,
            "sysfs" => &mut map.sysfs,
            "queueing" => &mut map.queueing,
            "write_prot" => &mut map.write_prot,
            "dm_st" => &mut map.dm_st,
            "features" => &mut map.features,
            "vend" => &mut map.vend,
            "prod" => &mut map.prod,
            "rev" => &mut map.rev,
            "path_faults" => {
                map.path_faults = reader.int()?;
                return Ok(());
            }
            "path_groups" => {
                map.path_groups = read_list(reader, read_group)?;
                return Ok(());
            }
            _ => return reader.skip(),
        };
        *slot = reader.text()?;
        Ok(())
    })?;
    Ok(map)
}

/// The document: `"maps": [...]` or, from `show map NAME json`, `"map": {...}`.
fn read_document(text: &str) -> reader::Result<Option<Vec<Map<'_>>>> {
    let mut reader = Reader::new(text);
    let mut maps = None;
    reader.object(|reader, key| {
        match key {
            // normalised one by one: no list of raw maps is ever built
            "maps" => {
                maps = Some(read_list(reader, |reader| {
                    read_map(reader).map(normalise_map)
                })?)
            }
            "map" if maps.is_none() => maps = Some(vec![normalise_map(read_map(reader)?)]),
            _ => reader.skip()?,
        }
        Ok(())
    })?;
    reader.finish()?;
    Ok(maps)
}

/// multipathd's spelling of "not set".
fn clean(text: Text<'_>) -> Text<'_> {
    text.filter(|text| !matches!(text.as_ref(), "" | "[undef]" | "undef"))
}

/// `-` is "no queueing configured" in the `queueing` column.
fn clean_dash(text: Text<'_>) -> Text<'_> {
    clean(text).filter(|text| text != "-")
}

fn is_fc_name(text: &str) -> bool {
    text.len() > 2
        && text[..2].eq_ignore_ascii_case("0x")
        && text[2..].bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn is_iscsi_name(text: &str) -> bool {
    text.starts_with("iqn.") || text.starts_with("eui.")
}

fn normalise_path(raw: RawPath<'_>) -> Path<'_> {
    let target_wwpn = clean(raw.target_wwpn);
    let target_wwnn = clean(raw.target_wwnn);
    let (target_iqn, target_wwnn) = match target_wwnn {
        Some(name) if is_iscsi_name(&name) => (Some(name), None),
        other => (None, other),
    };
    // a real WWPN means Fibre Channel; the field's mere presence does not
    // ('[undef]' on iSCSI and virtio-scsi)
    let transport = if target_wwpn.as_deref().is_some_and(is_fc_name) {
        Some("fc")
    } else if target_iqn.is_some() {
        Some("iscsi")
    } else {
        None
    };
    Path {
        dev: clean(raw.dev),
        dev_t: clean(raw.dev_t),
        dm_state: clean(raw.dm_st),
        dev_state: clean(raw.dev_st),
        check_state: clean(raw.chk_st),
        checker: clean(raw.checker),
        priority: raw.pri,
        target_wwpn,
        target_wwnn,
        target_iqn,
        host_wwnn: clean(raw.host_wwnn),
        host_wwpn: clean(raw.host_wwpn),
        host_adapter: clean(raw.host_adapter),
        lun_hex: clean(raw.lun_hex),
        // only said when it is so: 4,000 paths of `marginal => 0` cost time
        marginal: clean(raw.marginal_st)
            .filter(|state| state == "marginal")
            .map(|_| true),
        transport,
    }
}

impl Path<'_> {
    /// Carries I/O now: device-mapper uses it, the checker does not call it
    /// faulty and the kernel has not taken the device offline. (`ghost`, a
    /// standby path, and a pending check are fine.)
    pub fn is_usable(&self) -> bool {
        self.dm_state.as_deref() == Some("active")
            && !matches!(
                self.check_state.as_deref(),
                Some("faulty" | "shaky" | "i/o timeout")
            )
            && self.dev_state.as_deref() != Some("offline")
    }
}

fn normalise_map(raw: RawMap<'_>) -> Map<'_> {
    let path_groups: Vec<PathGroup> = raw
        .path_groups
        .into_iter()
        .map(|group| PathGroup {
            group: group.group.unwrap_or(0),
            dm_state: clean(group.dm_st),
            priority: group.pri.unwrap_or(0),
            selector: clean(group.selector),
            paths: group.paths.into_iter().map(normalise_path).collect(),
        })
        .collect();
    let mut map = Map {
        wwid: clean(raw.uuid),
        name: clean(raw.name),
        sysfs: clean(raw.sysfs),
        dm_state: clean(raw.dm_st),
        paths_total: 0,
        paths_active: 0,
        health: Health::Failed,
        reason: None,
        queueing: clean_dash(raw.queueing),
        features: clean(raw.features),
        path_faults: raw.path_faults,
        vendor: clean(raw.vend),
        product: clean(raw.prod),
        revision: clean(raw.rev),
        write_prot: clean(raw.write_prot),
        path_groups,
    };
    let paths = map.path_groups.iter().flat_map(|group| &group.paths);
    map.paths_total = paths.clone().count() as u64;
    map.paths_active = paths
        .clone()
        .filter(|path| path.dm_state.as_deref() == Some("active"))
        .count() as u64;
    let (health, reason) = judge(&map);
    map.health = health;
    map.reason = reason;
    map
}

impl Map<'_> {
    /// I/O waits for a path to come back instead of failing.
    pub fn is_queueing(&self) -> bool {
        self.queueing.as_deref() == Some("on")
            || self
                .features
                .as_deref()
                .is_some_and(|features| features.contains("queue_if_no_path"))
    }
}

fn device_list<'a>(paths: impl Iterator<Item = &'a Path<'a>>) -> String {
    paths
        .map(|path| path.dev.as_deref().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdict and, unless optimal, why.
fn judge(map: &Map) -> (Health, Option<Cow<'static, str>>) {
    let paths = || map.path_groups.iter().flat_map(|group| &group.paths);
    let total = map.paths_total;
    let usable = paths().filter(|path| path.is_usable()).count() as u64;
    if total == 0 {
        return (Health::Failed, Some(Cow::Borrowed("no paths")));
    }
    let bad = device_list(paths().filter(|path| !path.is_usable()));
    if usable == 0 {
        let mut reason = format!("all {total} paths failed ({bad})");
        if map.is_queueing() {
            reason.push_str("; I/O is queued until a path returns");
        }
        return (Health::Failed, Some(Cow::Owned(reason)));
    }
    if usable < total {
        let failed = total - usable;
        return (
            Health::Degraded,
            Some(Cow::Owned(format!(
                "{failed} of {total} paths failed ({bad})"
            ))),
        );
    }
    if map.dm_state.as_deref() == Some("suspend") {
        return (Health::Degraded, Some(Cow::Borrowed("map is suspended")));
    }
    (Health::Optimal, None)
}

/// A short excerpt of the input around a parse error, to say where.
fn excerpt(text: &str, line: usize, column: usize) -> String {
    let Some(line_text) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let chars: Vec<char> = line_text.chars().collect();
    let end = column.min(chars.len());
    let start = end.saturating_sub(40);
    let snippet: String = chars[start..end].iter().collect();
    let snippet = snippet.trim();
    if snippet.is_empty() {
        String::new()
    } else {
        format!(" near '{snippet}'")
    }
}

/// Parse `multipathd show maps json` or `show map NAME json` output.
pub fn parse_maps_json(text: &str) -> Result<Vec<Map<'_>>, Error> {
    const WHAT: &str = "could not parse multipathd maps JSON";
    let trimmed = text.trim();
    if trimmed.is_empty() {
        bail!("{WHAT}: empty output");
    }
    if !trimmed.starts_with('{') {
        let first = trimmed.lines().next().unwrap_or_default();
        let first: String = first.chars().take(60).collect();
        if first == "fail" {
            bail!("{WHAT}: multipathd answered 'fail' (no such map?)");
        }
        bail!("{WHAT}: expected a JSON object at line 1, got '{first}'");
    }
    let maps = read_document(text).map_err(|err| {
        let (line, column) = err.locate(text);
        let place = excerpt(text, line, column);
        if err.eof {
            format_err!("{WHAT}: output ends early (truncated?): {err} at line {line} column {column}{place}")
        } else {
            format_err!("{WHAT}: {err} at line {line} column {column}{place}")
        }
    })?;
    maps.ok_or_else(|| format_err!("{WHAT}: neither a 'maps' list nor a 'map' object found"))
}

// --- expected paths ---------------------------------------------------------

/// A number from loosely typed Perl data (an integer or a numeric string);
/// anything else is `None`.
pub fn loose_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// `{ wwid => n }` from untrusted Perl data; unusable entries are skipped.
pub fn count_table(value: &Value) -> BTreeMap<String, u64> {
    let Value::Object(table) = value else {
        return BTreeMap::new();
    };
    table
        .iter()
        .filter_map(|(wwid, count)| Some((wwid.clone(), loose_count(count)?)))
        .collect()
}

fn map_field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_object()?.get(key)
}

/// The new high-water mark: per WWID the most paths seen, now or before.
/// With `keep`, WWIDs outside it are forgotten (their LUN left the
/// allow-list; if it comes back, the mark starts afresh).
pub fn update_high_water(
    previous: &BTreeMap<String, u64>,
    maps: &[Value],
    keep: Option<&[String]>,
) -> BTreeMap<String, u64> {
    let mut state = previous.clone();
    for map in maps {
        let Some(wwid) = map_field(map, "wwid").and_then(Value::as_str) else {
            continue;
        };
        let Some(total) = map_field(map, "paths-total").and_then(loose_count) else {
            continue;
        };
        let mark = state.entry(wwid.to_owned()).or_insert(0);
        *mark = (*mark).max(total);
    }
    if let Some(keep) = keep {
        state.retain(|wwid, _| keep.iter().any(|kept| kept == wwid));
    }
    state
}

/// Where a map's expectation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedFrom {
    Config,
    HighWater,
}

impl ExpectedFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectedFrom::Config => "config",
            ExpectedFrom::HighWater => "high-water",
        }
    }
}

/// The expectation for one WWID: the config's `paths-expected`, else the
/// high-water mark.
pub fn expected_paths(
    wwid: &str,
    config: &BTreeMap<String, u64>,
    high_water: &BTreeMap<String, u64>,
) -> Option<(u64, ExpectedFrom)> {
    if let Some(count) = config.get(wwid) {
        return Some((*count, ExpectedFrom::Config));
    }
    high_water
        .get(wwid)
        .map(|count| (*count, ExpectedFrom::HighWater))
}

/// The reason a map with `total` of `expected` paths is below expectation.
pub fn below_expectation_reason(total: u64, expected: u64, from: ExpectedFrom) -> String {
    let source = match from {
        ExpectedFrom::Config => "paths-expected",
        ExpectedFrom::HighWater => "most paths seen",
    };
    format!("{total} of {expected} expected paths present ({source} {expected})")
}

/// Annotate maps (loose Perl data, extra keys kept) with `paths-expected`
/// and `expected-from`; a map below its expectation that would otherwise be
/// optimal becomes degraded with a reason.
pub fn apply_expected(
    mut maps: Vec<Value>,
    config: &BTreeMap<String, u64>,
    high_water: &BTreeMap<String, u64>,
) -> Vec<Value> {
    for map in &mut maps {
        let Some(object) = map.as_object_mut() else {
            continue;
        };
        let Some(wwid) = object.get("wwid").and_then(Value::as_str) else {
            continue;
        };
        let Some((expected, from)) = expected_paths(wwid, config, high_water) else {
            continue;
        };
        let total = object.get("paths-total").and_then(loose_count).unwrap_or(0);
        object.insert("paths-expected".into(), expected.into());
        object.insert("expected-from".into(), from.as_str().into());
        if total < expected && object.get("health").and_then(Value::as_str) == Some("optimal") {
            object.insert("health".into(), Health::Degraded.as_str().into());
            object.insert(
                "reason".into(),
                below_expectation_reason(total, expected, from).into(),
            );
        }
    }
    maps
}

#[cfg(test)]
mod tests;
