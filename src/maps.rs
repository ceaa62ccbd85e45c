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

// --- reading multipathd's output ---------------------------------------------

mod reader;

use reader::Reader;

type Text<'a> = Option<Cow<'a, str>>;

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

/// A text field, `[undef]` and the like read as unset.
#[inline]
fn read_text<'a>(reader: &mut Reader<'a>) -> reader::Result<Text<'a>> {
    Ok(clean(reader.text()?))
}

/// The known keys of multipathd's objects, as [`reader::key_code`]s.
mod keys {
    use super::reader::key_code;

    pub const MAPS: u128 = key_code("maps");
    pub const MAP: u128 = key_code("map");

    pub const NAME: u128 = key_code("name");
    pub const UUID: u128 = key_code("uuid");
    pub const SYSFS: u128 = key_code("sysfs");
    pub const QUEUEING: u128 = key_code("queueing");
    pub const WRITE_PROT: u128 = key_code("write_prot");
    pub const DM_ST: u128 = key_code("dm_st");
    pub const FEATURES: u128 = key_code("features");
    pub const VEND: u128 = key_code("vend");
    pub const PROD: u128 = key_code("prod");
    pub const REV: u128 = key_code("rev");
    pub const PATH_FAULTS: u128 = key_code("path_faults");
    pub const PATH_GROUPS: u128 = key_code("path_groups");

    pub const SELECTOR: u128 = key_code("selector");
    pub const PRI: u128 = key_code("pri");
    pub const GROUP: u128 = key_code("group");
    pub const PATHS: u128 = key_code("paths");

    pub const DEV: u128 = key_code("dev");
    pub const DEV_T: u128 = key_code("dev_t");
    pub const DEV_ST: u128 = key_code("dev_st");
    pub const CHK_ST: u128 = key_code("chk_st");
    pub const CHECKER: u128 = key_code("checker");
    pub const HOST_WWNN: u128 = key_code("host_wwnn");
    pub const TARGET_WWNN: u128 = key_code("target_wwnn");
    pub const HOST_WWPN: u128 = key_code("host_wwpn");
    pub const TARGET_WWPN: u128 = key_code("target_wwpn");
    pub const HOST_ADAPTER: u128 = key_code("host_adapter");
    pub const LUN_HEX: u128 = key_code("lun_hex");
    pub const MARGINAL_ST: u128 = key_code("marginal_st");
}

/// Read a path straight into its normalised form (the maps are read on
/// every pass; no intermediate copy of the raw fields is made). Unless
/// `full`, only what [`Path::is_usable`] and the transport need is kept;
/// the other known fields are still checked as the full reading checks
/// them, so both refuse the same input alike.
fn read_path<'a>(reader: &mut Reader<'a>, full: bool) -> reader::Result<Path<'a>> {
    let mut path = Path {
        dev: None,
        dev_t: None,
        dm_state: None,
        dev_state: None,
        check_state: None,
        checker: None,
        priority: None,
        target_wwpn: None,
        target_wwnn: None,
        target_iqn: None,
        host_wwnn: None,
        host_wwpn: None,
        host_adapter: None,
        lun_hex: None,
        marginal: None,
        transport: None,
    };
    let mut seen = Seen::default();
    reader.object(|reader, key| {
        let (bit, slot, needed) = match key.code {
            keys::DEV => (0, &mut path.dev, true),
            keys::DEV_T => (1, &mut path.dev_t, false),
            keys::DM_ST => (2, &mut path.dm_state, true),
            keys::DEV_ST => (3, &mut path.dev_state, true),
            keys::CHK_ST => (4, &mut path.check_state, true),
            keys::CHECKER => (5, &mut path.checker, false),
            keys::HOST_WWNN => (6, &mut path.host_wwnn, false),
            keys::TARGET_WWNN => (7, &mut path.target_wwnn, true),
            keys::HOST_WWPN => (8, &mut path.host_wwpn, false),
            keys::TARGET_WWPN => (9, &mut path.target_wwpn, true),
            keys::HOST_ADAPTER => (10, &mut path.host_adapter, false),
            keys::LUN_HEX => (11, &mut path.lun_hex, false),
            keys::MARGINAL_ST => {
                seen.mark(reader, 12, key.text)?;
                if !full {
                    return reader.skip_scalar();
                }
                // only said when it is so: 4,000 paths of `marginal => 0`
                // cost time
                path.marginal = read_text(reader)?
                    .filter(|state| state == "marginal")
                    .map(|_| true);
                return Ok(());
            }
            keys::PRI => {
                seen.mark(reader, 13, key.text)?;
                if !full {
                    return reader.skip_scalar();
                }
                path.priority = reader.int()?;
                return Ok(());
            }
            _ => return reader.skip(),
        };
        seen.mark(reader, bit, key.text)?;
        if full || needed {
            *slot = read_text(reader)?;
            Ok(())
        } else {
            reader.skip_scalar()
        }
    })?;
    // multipathd reports an iSCSI target name as `target_wwnn`
    if path.target_wwnn.as_deref().is_some_and(is_iscsi_name) {
        path.target_iqn = path.target_wwnn.take();
    }
    // a real WWPN means Fibre Channel; the field's mere presence does not
    // ('[undef]' on iSCSI and virtio-scsi)
    path.transport = if path.target_wwpn.as_deref().is_some_and(is_fc_name) {
        Some(Transport::Fc)
    } else if path.target_iqn.is_some() {
        Some(Transport::Iscsi)
    } else {
        None
    };
    Ok(path)
}

/// Read a path group; its paths go to `path` one by one (the node pass
/// keeps only what its report needs of them: unless `full`, the group's
/// own fields are checked, not kept).
fn read_group<'a>(
    reader: &mut Reader<'a>,
    full: bool,
    path: &mut impl FnMut(Path<'a>),
) -> reader::Result<PathGroup<'a>> {
    let mut group = PathGroup {
        group: 0,
        dm_state: None,
        priority: 0,
        selector: None,
        paths: Vec::new(),
    };
    let mut seen = Seen::default();
    reader.object(|reader, key| {
        let bit = match key.code {
            keys::SELECTOR => 0,
            keys::DM_ST => 1,
            keys::PRI => 2,
            keys::GROUP => 3,
            keys::PATHS => 4,
            _ => return reader.skip(),
        };
        seen.mark(reader, bit, key.text)?;
        match bit {
            0..=3 if !full => reader.skip_scalar()?,
            0 => group.selector = read_text(reader)?,
            1 => group.dm_state = read_text(reader)?,
            2 => group.priority = reader.int()?.unwrap_or(0),
            3 => group.group = reader.int()?.unwrap_or(0),
            _ => {
                if !reader.null()? {
                    reader.array(|reader| {
                        path(read_path(reader, full)?);
                        Ok(())
                    })?;
                }
            }
        }
        Ok(())
    })?;
    Ok(group)
}

/// How much of each map a reader keeps.
#[derive(Clone, Copy)]
enum Keep<'f> {
    /// Everything, path groups and paths included.
    All,
    /// The map's own fields, its path counts and transport (each path's
    /// transport: multipathd's FC/iSCSI names, else these sysfs facts), no
    /// path groups: what a [`crate::status::LunReport`] needs.
    Report(&'f BTreeMap<String, Transport>),
}

/// The transport of a path: multipathd's own names win over sysfs.
fn path_transport(path: &Path, sysfs: &BTreeMap<String, Transport>) -> Option<Transport> {
    path.transport
        .or_else(|| path.dev.as_deref().and_then(|dev| sysfs.get(dev).copied()))
}

/// The transport every path has: `None` when none is known or they differ.
#[derive(Default)]
struct CommonTransport {
    first: Option<Transport>,
    mixed: bool,
}

impl CommonTransport {
    fn add(&mut self, transport: Option<Transport>) {
        match (transport, self.first) {
            (None, _) => {}
            (Some(transport), None) => self.first = Some(transport),
            (Some(transport), Some(first)) => self.mixed |= transport != first,
        }
    }

    fn get(&self) -> Option<Transport> {
        self.first.filter(|_| !self.mixed)
    }
}

fn read_map<'a>(reader: &mut Reader<'a>, keep: Keep) -> reader::Result<Map<'a>> {
    let mut map = Map {
        wwid: None,
        name: None,
        sysfs: None,
        dm_state: None,
        paths_total: 0,
        paths_active: 0,
        paths_expected: None,
        expected_from: None,
        health: State::Failed,
        reason: None,
        queueing: None,
        features: None,
        path_faults: None,
        vendor: None,
        product: None,
        revision: None,
        write_prot: None,
        size: None,
        transport: None,
        path_groups: Vec::new(),
    };
    let mut seen = Seen::default();
    let (mut total, mut active, mut transport) = (0, 0, CommonTransport::default());
    reader.object(|reader, key| {
        let (bit, slot) = match key.code {
            keys::NAME => (0, &mut map.name),
            keys::UUID => (1, &mut map.wwid),
            keys::SYSFS => (2, &mut map.sysfs),
            keys::QUEUEING => {
                seen.mark(reader, 3, key.text)?;
                // `-` is "no queueing configured"
                map.queueing = read_text(reader)?.filter(|text| text != "-");
                return Ok(());
            }
            keys::WRITE_PROT => (4, &mut map.write_prot),
            keys::DM_ST => (5, &mut map.dm_state),
            keys::FEATURES => (6, &mut map.features),
            keys::VEND => (7, &mut map.vendor),
            keys::PROD => (8, &mut map.product),
            keys::REV => (9, &mut map.revision),
            keys::PATH_FAULTS => {
                seen.mark(reader, 10, key.text)?;
                map.path_faults = reader.int()?;
                return Ok(());
            }
            keys::PATH_GROUPS => {
                seen.mark(reader, 11, key.text)?;
                match keep {
                    Keep::All => {
                        map.path_groups = read_list(reader, |reader| {
                            let mut paths = Vec::new();
                            let mut group = read_group(reader, true, &mut |path| paths.push(path))?;
                            group.paths = paths;
                            Ok(group)
                        })?;
                    }
                    Keep::Report(sysfs) => {
                        let mut count = |path: Path<'a>| {
                            total += 1;
                            active += u64::from(path.is_usable());
                            transport.add(path_transport(&path, sysfs));
                        };
                        read_list(reader, |reader| {
                            read_group(reader, false, &mut count).map(|_| ())
                        })?;
                    }
                }
                return Ok(());
            }
            _ => return reader.skip(),
        };
        seen.mark(reader, bit, key.text)?;
        *slot = read_text(reader)?;
        Ok(())
    })?;
    match keep {
        Keep::All => {
            map.paths_total = map.paths().count() as u64;
            map.paths_active = map.paths().filter(|path| path.is_usable()).count() as u64;
        }
        Keep::Report(_) => {
            map.paths_total = total;
            map.paths_active = active;
            map.transport = transport.get();
        }
    }
    map.judge();
    Ok(map)
}

/// The document: `"maps": [...]` or, from `show map NAME json`, `"map": {...}`;
/// each map goes to `each` as soon as it is read. False when neither is
/// there.
fn read_document<'a>(
    text: &'a str,
    keep: Keep,
    each: &mut dyn FnMut(Map<'a>),
) -> reader::Result<bool> {
    let mut reader = Reader::new(text);
    let mut seen = Seen::default();
    reader.object(|reader, key| {
        match key.code {
            keys::MAPS | keys::MAP => seen.mark(reader, 0, "maps")?,
            _ => {}
        }
        match key.code {
            keys::MAPS => {
                if !reader.null()? {
                    reader.array(|reader| {
                        each(read_map(reader, keep)?);
                        Ok(())
                    })?;
                }
            }
            keys::MAP => each(read_map(reader, keep)?),
            _ => reader.skip()?,
        }
        Ok(())
    })?;
    reader.finish()?;
    Ok(seen.0 != 0)
}

/// multipathd's spelling of "not set".
fn clean(text: Text<'_>) -> Text<'_> {
    // by length first: one compare of known size, no call
    text.filter(|text| match text.len() {
        0 => false,
        5 => text != "undef",
        7 => text != "[undef]",
        _ => true,
    })
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
    parse_document(text, Keep::All)
}

/// Parse as [`parse_maps_json`] does (the same maps, the same errors), but
/// hand each map to `each` as soon as it is read instead of collecting
/// them: a caller that converts them one by one works on one map at a
/// time, not on the whole list of them. Maps already handed over before
/// an error are not taken back.
pub fn parse_maps_json_each<'a>(text: &'a str, mut each: impl FnMut(Map<'a>)) -> Result<(), Error> {
    read_checked(text, Keep::All, &mut each)
}

/// Parse the same output into what the node's report needs, the way
/// [`parse_maps_json`] and [`apply_sysfs`] with these transports do, less
/// the path groups: the node pass reads the maps on every pass. The same
/// input is refused with the same error.
pub fn parse_maps_report<'a>(
    text: &'a str,
    transports: &BTreeMap<String, Transport>,
) -> Result<Vec<Map<'a>>, Error> {
    parse_document(text, Keep::Report(transports))
}

fn parse_document<'a>(text: &'a str, keep: Keep) -> Result<Vec<Map<'a>>, Error> {
    let mut maps = Vec::new();
    read_checked(text, keep, &mut |map| maps.push(map))?;
    Ok(maps)
}

fn read_checked<'a>(text: &'a str, keep: Keep, each: &mut dyn FnMut(Map<'a>)) -> Result<(), Error> {
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
    let found = read_document(text, keep, each).map_err(|err| {
        let (line, column) = err.locate(text);
        let place = excerpt(text, line, column);
        if err.eof {
            format_err!("{WHAT}: output ends early (truncated?): {err} at line {line} column {column}{place}")
        } else {
            format_err!("{WHAT}: {err} at line {line} column {column}{place}")
        }
    })?;
    if !found {
        bail!("{WHAT}: neither a 'maps' list nor a 'map' object found");
    }
    Ok(())
}

// --- what only the node knows ----------------------------------------------

/// Facts Perl reads from sysfs for the maps: each dm device's size in bytes
/// (`/sys/block/dm-N/size` x 512) and each path device's transport (from
/// where its `/sys/block/sdX` link points, see [`ScsiProtocol`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysfsFacts {
    pub sizes: BTreeMap<String, u64>,
    pub transports: BTreeMap<String, Transport>,
}

/// The SCSI protocol of a path device, from where its `/sys/block/<dev>`
/// link points: the directory it hangs below, looked for in the order of
/// multipath-tools' `sysfs_get_tgt_nodename`. The one rule for a path's
/// transport in the health view and for blacklist `protocol` entries.
///
/// ```text
/// ../devices/platform/host6/session1/target6:0:0/6:0:0:1/block/sda     iSCSI
/// ../devices/pci0000:00/.../host1/rport-1:0-2/target1:0:0/.../block/sdb   FC
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScsiProtocol {
    Sas,
    Usb,
    Fcp,
    Iscsi,
    Ata,
}

impl ScsiProtocol {
    /// Each protocol's directory (its name followed by a digit), in
    /// multipath-tools' order.
    const BELOW: [(&'static str, ScsiProtocol); 5] = [
        ("end_device-", ScsiProtocol::Sas),
        ("usb", ScsiProtocol::Usb),
        ("rport-", ScsiProtocol::Fcp),
        ("session", ScsiProtocol::Iscsi),
        ("ata", ScsiProtocol::Ata),
    ];

    /// From a `/sys/block/<dev>` link; `None` for a device below none of
    /// these (virtio, NVMe, ...).
    pub fn from_sysfs_link(link: &str) -> Option<ScsiProtocol> {
        let below = |prefix: &str| {
            link.split('/').any(|part| {
                part.strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
        };
        Self::BELOW
            .into_iter()
            .find(|(prefix, _)| below(prefix))
            .map(|(_, protocol)| protocol)
    }

    /// As `snprint_path_protocol` names it after `scsi:`.
    pub fn name(self) -> &'static str {
        match self {
            ScsiProtocol::Sas => "sas",
            ScsiProtocol::Usb => "usb",
            ScsiProtocol::Fcp => "fcp",
            ScsiProtocol::Iscsi => "iscsi",
            ScsiProtocol::Ata => "ata",
        }
    }

    /// The transport the health view shows (a SAN's: iSCSI, FC, SAS).
    pub fn transport(self) -> Option<Transport> {
        match self {
            ScsiProtocol::Sas => Some(Transport::Sas),
            ScsiProtocol::Fcp => Some(Transport::Fc),
            ScsiProtocol::Iscsi => Some(Transport::Iscsi),
            ScsiProtocol::Usb | ScsiProtocol::Ata => None,
        }
    }
}

/// Set each map's size and each path's transport from sysfs (multipathd's
/// own FC/iSCSI names win), and the map's transport when its paths agree.
pub fn apply_sysfs(maps: &mut [Map], facts: &SysfsFacts) {
    apply_sizes(maps, &facts.sizes);
    for map in maps {
        let mut transport = CommonTransport::default();
        for group in &mut map.path_groups {
            for path in &mut group.paths {
                path.transport = path_transport(path, &facts.transports);
                transport.add(path.transport);
            }
        }
        map.transport = transport.get();
    }
}

/// Set each map's size from sysfs.
pub fn apply_sizes(maps: &mut [Map], sizes: &BTreeMap<String, u64>) {
    for map in maps {
        if let Some(sysfs) = map.sysfs.as_deref() {
            map.size = sizes.get(sysfs).copied();
        }
    }
}

/// Per WWID, the most paths seen on this node, kept across passes.
pub type HighWater = BTreeMap<String, u64>;

/// The indices of the maps that have a WWID, in WWID order. The high-water
/// mark and the config's expectations are kept by WWID; read alongside the
/// maps in this order, each is walked once instead of searched per map
/// (1,024 WWIDs sharing their first digits cost a search some fifteen
/// string comparisons each).
pub fn wwid_order(maps: &[Map]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..maps.len())
        .filter(|&index| maps[index].wwid.is_some())
        .collect();
    order.sort_by(|&a, &b| maps[a].wwid.cmp(&maps[b].wwid));
    order
}

/// The value of `key` in a sorted walk, the walk left before it: keys below
/// it are passed, an equal one is not taken, so the next map of the same
/// WWID finds it too.
fn value_at<'m, V: Copy + 'm>(
    walk: &mut std::iter::Peekable<impl Iterator<Item = (&'m String, &'m V)>>,
    key: &str,
) -> Option<V> {
    while walk.next_if(|(known, _)| known.as_str() < key).is_some() {}
    walk.peek()
        .filter(|(known, _)| known.as_str() == key)
        .map(|(_, value)| **value)
}

/// The new high-water mark: per WWID the most paths seen, now or before.
/// With `keep`, WWIDs outside it are forgotten (their LUN left the
/// allow-list; if it comes back, the mark starts afresh). `order` is the
/// maps' [`wwid_order`].
pub fn update_high_water(
    previous: &HighWater,
    maps: &[Map],
    order: &[usize],
    keep: Option<&BTreeSet<String>>,
) -> HighWater {
    let mut marks: Vec<(String, u64)> = Vec::with_capacity(previous.len().max(order.len()));
    let mut before = previous.iter().peekable();
    for map in order.iter().map(|&index| &maps[index]) {
        let Some(wwid) = map.wwid.as_deref() else {
            continue;
        };
        while let Some((known, mark)) = before.next_if(|(known, _)| known.as_str() < wwid) {
            marks.push((known.clone(), *mark));
        }
        let seen = before
            .next_if(|(known, _)| known.as_str() == wwid)
            .map_or(0, |(_, mark)| *mark);
        match marks.last_mut() {
            Some((last, mark)) if last.as_str() == wwid => *mark = (*mark).max(map.paths_total),
            _ => marks.push((wwid.to_owned(), seen.max(map.paths_total))),
        }
    }
    marks.extend(before.map(|(known, mark)| (known.clone(), *mark)));
    if let Some(keep) = keep {
        marks.retain(|(wwid, _)| keep.contains(wwid));
    }
    // in key order already, which a map collected from a list builds on
    marks.into_iter().collect()
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
/// the high-water mark) and judge it again against it. `order` is the
/// maps' [`wwid_order`].
pub fn apply_expected(
    maps: &mut [Map],
    order: &[usize],
    config: &BTreeMap<String, u64>,
    high_water: &HighWater,
) {
    let (mut config, mut high_water) = (config.iter().peekable(), high_water.iter().peekable());
    for &index in order {
        let map = &mut maps[index];
        let Some(wwid) = map.wwid.as_deref() else {
            continue;
        };
        let expected = match (value_at(&mut config, wwid), value_at(&mut high_water, wwid)) {
            (Some(count), _) => Some((count, ExpectedFrom::Config)),
            (None, Some(count)) => Some((count, ExpectedFrom::HighWater)),
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
