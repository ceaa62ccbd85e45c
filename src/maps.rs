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
use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, format_err, Error};
use serde::Serialize;

use crate::status::health::{self, Counts};
use crate::status::{State, Transport};

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
    /// Paths carrying I/O now (see [`Path::is_usable`]).
    #[serde(rename = "paths-active")]
    pub paths_active: u64,
    #[serde(rename = "paths-expected", skip_serializing_if = "Option::is_none")]
    pub paths_expected: Option<u64>,
    #[serde(rename = "expected-from", skip_serializing_if = "Option::is_none")]
    pub expected_from: Option<ExpectedFrom>,
    pub health: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    /// Bytes, from sysfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The transport when every path has the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
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
    pub transport: Option<Transport>,
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

/// The known keys of one object read so far: multipathd does not escape
/// its strings, so a vendor string can carry `", "uuid" : "...`; a key
/// given twice is refused, never taken.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn mark(&mut self, reader: &Reader, bit: u32, key: &str) -> reader::Result<()> {
        if self.0 & (1 << bit) != 0 {
            return Err(reader.duplicate(key));
        }
        self.0 |= 1 << bit;
        Ok(())
    }
}

fn read_path<'a>(reader: &mut Reader<'a>) -> reader::Result<RawPath<'a>> {
    let mut path = RawPath::default();
    let mut seen = Seen::default();
    reader.object(|reader, key| {
        let (bit, slot) = match key {
            "dev" => (0, &mut path.dev),
            "dev_t" => (1, &mut path.dev_t),
            "dm_st" => (2, &mut path.dm_st),
            "dev_st" => (3, &mut path.dev_st),
            "chk_st" => (4, &mut path.chk_st),
            "checker" => (5, &mut path.checker),
            "host_wwnn" => (6, &mut path.host_wwnn),
            "target_wwnn" => (7, &mut path.target_wwnn),
            "host_wwpn" => (8, &mut path.host_wwpn),
            "target_wwpn" => (9, &mut path.target_wwpn),
            "host_adapter" => (10, &mut path.host_adapter),
            "lun_hex" => (11, &mut path.lun_hex),
            "marginal_st" => (12, &mut path.marginal_st),
            "pri" => {
                seen.mark(reader, 13, key)?;
                path.pri = reader.int()?;
                return Ok(());
            }
            _ => return reader.skip(),
        };
        seen.mark(reader, bit, key)?;
        *slot = reader.text()?;
        Ok(())
    })?;
    Ok(path)
}

fn read_group<'a>(reader: &mut Reader<'a>) -> reader::Result<RawGroup<'a>> {
    let mut group = RawGroup::default();
    let mut seen = Seen::default();
    reader.object(|reader, key| {
        let bit = match key {
            "selector" => 0,
            "dm_st" => 1,
            "pri" => 2,
            "group" => 3,
            "paths" => 4,
            _ => return reader.skip(),
        };
        seen.mark(reader, bit, key)?;
        match bit {
            0 => group.selector = reader.text()?,
            1 => group.dm_st = reader.text()?,
            2 => group.pri = reader.int()?,
            3 => group.group = reader.int()?,
            _ => group.paths = read_list(reader, read_path)?,
        }
        Ok(())
    })?;
    Ok(group)
}

fn read_map<'a>(reader: &mut Reader<'a>) -> reader::Result<RawMap<'a>> {
    let mut map = RawMap::default();
    let mut seen = Seen::default();
    reader.object(|reader, key| {
        let (bit, slot) = match key {
            "name" => (0, &mut map.name),
            "uuid" => (1, &mut map.uuid),
            "sysfs" => (2, &mut map.sysfs),
            "queueing" => (3, &mut map.queueing),
            "write_prot" => (4, &mut map.write_prot),
            "dm_st" => (5, &mut map.dm_st),
            "features" => (6, &mut map.features),
            "vend" => (7, &mut map.vend),
            "prod" => (8, &mut map.prod),
            "rev" => (9, &mut map.rev),
            "path_faults" => {
                seen.mark(reader, 10, key)?;
                map.path_faults = reader.int()?;
                return Ok(());
            }
            "path_groups" => {
                seen.mark(reader, 11, key)?;
                map.path_groups = read_list(reader, read_group)?;
                return Ok(());
            }
            _ => return reader.skip(),
        };
        seen.mark(reader, bit, key)?;
        *slot = reader.text()?;
        Ok(())
    })?;
    Ok(map)
}

/// The document: `"maps": [...]` or, from `show map NAME json`, `"map": {...}`.
fn read_document(text: &str) -> reader::Result<Option<Vec<Map<'_>>>> {
    let mut reader = Reader::new(text);
    let mut maps = None;
    let mut seen = Seen::default();
    reader.object(|reader, key| {
        match key {
            "maps" | "map" => seen.mark(reader, 0, "maps")?,
            _ => {}
        }
        match key {
            // normalised one by one: no list of raw maps is ever built
            "maps" => {
                maps = Some(read_list(reader, |reader| {
                    read_map(reader).map(normalise_map)
                })?)
            }
            "map" => maps = Some(vec![normalise_map(read_map(reader)?)]),
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
    let bytes = text.as_bytes();
    bytes.len() > 2
        && bytes[..2].eq_ignore_ascii_case(b"0x")
        && bytes[2..].iter().all(u8::is_ascii_hexdigit)
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
        Some(Transport::Fc)
    } else if target_iqn.is_some() {
        Some(Transport::Iscsi)
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
        paths_expected: None,
        expected_from: None,
        health: State::Failed,
        reason: None,
        queueing: clean_dash(raw.queueing),
        features: clean(raw.features),
        path_faults: raw.path_faults,
        vendor: clean(raw.vend),
        product: clean(raw.prod),
        revision: clean(raw.rev),
        write_prot: clean(raw.write_prot),
        size: None,
        transport: None,
        path_groups,
    };
    map.paths_total = map.paths().count() as u64;
    map.paths_active = map.paths().filter(|path| path.is_usable()).count() as u64;
    map.judge();
    map
}

impl<'a> Map<'a> {
    pub fn paths(&self) -> impl Iterator<Item = &Path<'a>> + Clone {
        self.path_groups.iter().flat_map(|group| &group.paths)
    }

    /// I/O waits for a path to come back instead of failing.
    pub fn is_queueing(&self) -> bool {
        self.queueing.as_deref() == Some("on")
            || self
                .features
                .as_deref()
                .is_some_and(|features| features.contains("queue_if_no_path"))
    }

    /// What the health rule looks at.
    pub fn counts(&self) -> Counts {
        Counts {
            active: self.paths_active,
            total: self.paths_total,
            expected: self.paths_expected,
            queueing: self.is_queueing(),
        }
    }

    /// Set the health and reason by the one rule. A suspended map with
    /// every path working is degraded too (its I/O waits); only the node
    /// knows that, so the cluster side shows the node's state for it.
    fn judge(&mut self) {
        let mut verdict = health::judge(&self.counts());
        if verdict.state == State::Optimal && self.dm_state.as_deref() == Some("suspend") {
            verdict.state = State::Degraded;
            verdict.reason = Some("map is suspended".into());
        }
        self.health = verdict.state;
        self.reason = verdict.reason;
    }
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

// --- what only the node knows ----------------------------------------------

/// Facts Perl reads from sysfs for the maps: each dm device's size in bytes
/// (`/sys/block/dm-N/size` x 512) and each path device's transport (where
/// its `/sys/block/sdX` link points).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysfsFacts {
    pub sizes: BTreeMap<String, u64>,
    pub transports: BTreeMap<String, Transport>,
}

/// Set each map's size and each path's transport from sysfs (multipathd's
/// own FC/iSCSI names win), and the map's transport when its paths agree.
pub fn apply_sysfs(maps: &mut [Map], facts: &SysfsFacts) {
    for map in maps {
        if let Some(sysfs) = map.sysfs.as_deref() {
            map.size = facts.sizes.get(sysfs).copied();
        }
        let mut transports = Vec::new();
        for group in &mut map.path_groups {
            for path in &mut group.paths {
                if path.transport.is_none() {
                    path.transport = path
                        .dev
                        .as_deref()
                        .and_then(|dev| facts.transports.get(dev).copied());
                }
                if let Some(transport) = path.transport {
                    if !transports.contains(&transport) {
                        transports.push(transport);
                    }
                }
            }
        }
        map.transport = match transports[..] {
            [one] => Some(one),
            _ => None,
        };
    }
}

/// Per WWID, the most paths seen on this node, kept across passes.
pub type HighWater = BTreeMap<String, u64>;

/// The new high-water mark: per WWID the most paths seen, now or before.
/// With `keep`, WWIDs outside it are forgotten (their LUN left the
/// allow-list; if it comes back, the mark starts afresh).
pub fn update_high_water(
    previous: &HighWater,
    maps: &[Map],
    keep: Option<&BTreeSet<String>>,
) -> HighWater {
    let mut state = previous.clone();
    for map in maps {
        let Some(wwid) = map.wwid.as_deref() else {
            continue;
        };
        if let Some(mark) = state.get_mut(wwid) {
            *mark = (*mark).max(map.paths_total);
        } else {
            state.insert(wwid.to_owned(), map.paths_total);
        }
    }
    if let Some(keep) = keep {
        state.retain(|wwid, _| keep.contains(wwid));
    }
    state
}

/// Where a map's expectation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ExpectedFrom {
    #[serde(rename = "config")]
    Config,
    #[serde(rename = "high-water")]
    HighWater,
}

/// Set each map's expected path count (the config's `paths-expected`, else
/// the high-water mark) and judge it again against it.
pub fn apply_expected(maps: &mut [Map], config: &BTreeMap<String, u64>, high_water: &HighWater) {
    for map in maps {
        let Some(wwid) = map.wwid.as_deref() else {
            continue;
        };
        let expected = match (config.get(wwid), high_water.get(wwid)) {
            (Some(&count), _) => Some((count, ExpectedFrom::Config)),
            (None, Some(&count)) => Some((count, ExpectedFrom::HighWater)),
            (None, None) => None,
        };
        if let Some((count, from)) = expected {
            map.paths_expected = Some(count);
            map.expected_from = Some(from);
            map.judge();
        }
    }
}

#[cfg(test)]
mod tests;
