//! Folding every node's broadcast into the per-WWID by per-node matrix.
//!
//! The rules (the series' plus its v2 and our own):
//!
//! - Rows: the allow-list plus every WWID a decodable report mentions.
//! - A node's value is untrusted. Malformed, oversized, wrong-version or
//!   (given `now`) older than three refresh intervals: its cells read
//!   `unknown` with the reason; the call never fails because of it. A state
//!   this version does not know is clamped to `unknown`.
//! - `missing` only where the node is expected to carry the LUN: with
//!   per-LUN expected node sets (v2), exactly those nodes; without them
//!   (the series), every online reporting node, plus the series' expected
//!   nodes for allow-listed WWIDs.
//! - A report below its expectation (`paths-expected` from the config, else
//!   the node's own) that claims `optimal` reads `degraded`, with why.
//! - The cluster state is the worst cell; `unknown` cells never drive it,
//!   and a row with nothing else is `unknown`.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::series::{MapInput, SeriesSummary};
use super::{conflicts, health, wire};
use super::{LunReport, State, Transport};
use crate::schema;

/// What a node published, as Perl got it from `get_node_kv` (a raw string,
/// an array of the parts) or as the series passed it (a decoded hash).
pub enum NodeValue {
    Raw(Vec<String>),
    Series(SeriesSummary),
    Invalid(String),
}

impl NodeValue {
    /// `None`: nothing published (undef or an empty string, a cleared key).
    pub fn from_parts(parts: Vec<String>) -> Option<NodeValue> {
        let parts: Vec<String> = parts.into_iter().filter(|part| !part.is_empty()).collect();
        (!parts.is_empty()).then_some(NodeValue::Raw(parts))
    }
}

/// A KV value as Perl passed it; anything but a string, a list of strings
/// or (the series) a hash of reports reads as invalid, never as an error of
/// the whole call.
pub struct KvValue(pub Option<NodeValue>);

impl<'de> Deserialize<'de> for KvValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        fn invalid(what: &str) -> KvValue {
            KvValue(Some(NodeValue::Invalid(format!(
                "a {what} instead of a summary"
            ))))
        }
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KvValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a KV value")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<KvValue, E> {
                Ok(KvValue(None))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<KvValue, E> {
                Ok(KvValue(None))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<KvValue, E> {
                Ok(invalid("boolean"))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<KvValue, E> {
                Ok(invalid("number"))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<KvValue, E> {
                Ok(invalid("number"))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<KvValue, E> {
                Ok(invalid("number"))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<KvValue, E> {
                Ok(KvValue(NodeValue::from_parts(vec![text.to_owned()])))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<KvValue, E> {
                Ok(KvValue(NodeValue::from_parts(vec![text])))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<KvValue, A::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Part {
                    Text(String),
                    Null(()),
                    Other(serde::de::IgnoredAny),
                }
                // at most the parts a node may publish, plus one to tell
                let mut parts = Vec::new();
                let mut bad = false;
                while let Some(part) = seq.next_element::<Part>()? {
                    match part {
                        Part::Text(text) if parts.len() <= wire::MAX_PARTS => parts.push(text),
                        Part::Text(_) | Part::Null(()) => {}
                        Part::Other(_) => bad = true,
                    }
                }
                if bad {
                    return Ok(KvValue(Some(NodeValue::Invalid(
                        "a list with parts that are no strings".into(),
                    ))));
                }
                Ok(KvValue(NodeValue::from_parts(parts)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KvValue, A::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Entry {
                    Report(MapInput),
                    Other(serde::de::IgnoredAny),
                }
                let mut summary = SeriesSummary::new();
                let mut bad = None;
                // every entry is read: a reader may insist on that
                while let Some((wwid, entry)) = map.next_entry::<String, Entry>()? {
                    match entry {
                        Entry::Report(report) => {
                            summary.insert(wwid, report);
                        }
                        Entry::Other(_) => {
                            bad.get_or_insert(wwid);
                        }
                    }
                }
                Ok(KvValue(Some(match bad {
                    Some(wwid) => NodeValue::Invalid(format!(
                        "summary entry '{}' is not a report",
                        wire::excerpt(&wwid)
                    )),
                    None => NodeValue::Series(summary),
                })))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A node's decoded summary.
#[derive(Debug, PartialEq)]
pub struct NodeSummary<W = String> {
    pub time: Option<u64>,
    /// The node's multipath-tools version, when it said.
    pub tools_version: Option<String>,
    pub apply_error: Option<String>,
    /// Sorted by WWID, unique.
    pub luns: Vec<(W, LunReport)>,
    /// Why some LUNs may be absent without being missing.
    pub incomplete: Option<String>,
}

impl<W> Default for NodeSummary<W> {
    fn default() -> Self {
        NodeSummary {
            time: None,
            tools_version: None,
            apply_error: None,
            luns: Vec::new(),
            incomplete: None,
        }
    }
}

/// Decode what one node published; `Err` is the reason it is unusable.
pub fn decode_node(value: &NodeValue) -> Result<NodeSummary, String> {
    decode_node_with(value, &mut wire::Decoder::default(), &mut str::to_owned)
}

/// [`decode_node`] with the decoder of the nodes before (see
/// [`wire::Decoder`]), each WWID kept as `keep` makes it (see
/// [`wire::decode_with`]).
pub fn decode_node_with<'v, W: Clone + std::ops::Deref<Target = str> + Ord>(
    value: &'v NodeValue,
    decoder: &mut wire::Decoder<'v, W>,
    keep: &mut impl FnMut(&str) -> W,
) -> Result<NodeSummary<W>, String> {
    let parts = match value {
        NodeValue::Invalid(reason) => return Err(reason.clone()),
        NodeValue::Series(map) => {
            let mut luns = Vec::with_capacity(map.len());
            for (wwid, entry) in map {
                if !schema::is_wwid(wwid) {
                    return Err(format!(
                        "invalid summary: bad WWID '{}'",
                        wire::excerpt(wwid)
                    ));
                }
                let mut report = entry.report();
                report.paths_total = report.paths_total.min(wire::MAX_PATHS);
                report.paths_active = report.paths_active.min(report.paths_total);
                report.queueing = false;
                luns.push((keep(wwid), report));
            }
            return Ok(NodeSummary {
                luns,
                ..Default::default()
            });
        }
        NodeValue::Raw(parts) => parts,
    };
    let count = parts.len();
    let mut decoded = Vec::with_capacity(count);
    for (index, part) in parts.iter().enumerate() {
        match decoder.decode(part, keep) {
            Ok(part) => decoded.push(part),
            Err(err) if count == 1 => return Err(format!("invalid summary: {err}")),
            Err(err) => return Err(format!("invalid summary (value {}): {err}", index + 1)),
        }
    }
    // parts of an older report (an update racing the read) are left out
    let time = decoded.iter().map(|part| part.time).max().unwrap_or(0);
    decoded.retain(|part| part.time == time);
    let parts = decoded[0].parts;
    let mut summary = NodeSummary {
        time: Some(time),
        tools_version: decoded[0].tools_version.clone(),
        ..Default::default()
    };
    let mut seen = BTreeSet::new();
    let mut dropped = 0;
    decoded.sort_by_key(|part| part.part);
    for part in decoded {
        if part.parts != parts || !seen.insert(part.part) {
            return Err("invalid summary: parts do not fit together".into());
        }
        dropped = dropped.max(part.dropped);
        if part.apply_error.is_some() {
            summary.apply_error = part.apply_error;
        }
        if summary.luns.is_empty() {
            summary.luns = part.luns;
        } else {
            summary.luns.extend(part.luns);
        }
    }
    // each part is sorted and so are the parts among each other, unless a
    // peer's encoder is broken
    if !summary.luns.windows(2).all(|pair| *pair[0].0 < *pair[1].0) {
        summary.luns.sort_by(|a, b| a.0.cmp(&b.0));
        summary.luns.dedup_by(|a, b| *a.0 == *b.0);
    }
    let absent: Vec<String> = (1..=parts)
        .filter(|part| !seen.contains(part))
        .map(|part| part.to_string())
        .collect();
    if !absent.is_empty() {
        summary.incomplete = Some(format!(
            "summary part {} of {parts} not received",
            absent.join(", ")
        ));
    } else if dropped > 0 {
        summary.incomplete = Some(format!(
            "summary truncated: {dropped} of the node's LUNs left out"
        ));
    }
    Ok(summary)
}

/// Text many cells share (a node's name, why a node's cells read
/// unknown): counted, not copied, per cell.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shared(Rc<str>);

impl Shared {
    fn new(text: &str) -> Self {
        Shared(Rc::from(text))
    }

    /// The same text, not only an equal one.
    fn is(&self, other: &Shared) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl From<String> for Shared {
    fn from(text: String) -> Self {
        Shared(Rc::from(text))
    }
}

impl std::ops::Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Shared {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[derive(Debug, Serialize)]
pub struct Cell {
    pub state: State,
    #[serde(rename = "paths-active", skip_serializing_if = "Option::is_none")]
    pub paths_active: Option<u64>,
    #[serde(rename = "paths-total", skip_serializing_if = "Option::is_none")]
    pub paths_total: Option<u64>,
    #[serde(rename = "paths-expected", skip_serializing_if = "Option::is_none")]
    pub paths_expected: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Shared>,
}

impl Cell {
    fn without_report(state: State, reason: &Shared) -> Self {
        Cell {
            state,
            paths_active: None,
            paths_total: None,
            paths_expected: None,
            transport: None,
            reason: Some(reason.clone()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub wwid: Shared,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<Shared>,
    #[serde(rename = "used-by", skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Shared>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The transport when every reporting node agrees; else per cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    #[serde(rename = "cluster-state")]
    pub cluster_state: State,
    pub nodes: Cells,
}

#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub online: bool,
    /// The report is older than three refresh intervals (or from the
    /// future). Its cells, which claim a current state, read unknown; what
    /// this row keeps of it (`report-time`, `apply-error`,
    /// `multipath-tools`, `luns`, `conflicts`) is what the node last said,
    /// kept for the admin and marked old by this flag.
    pub stale: bool,
    #[serde(rename = "report-time", skip_serializing_if = "Option::is_none")]
    pub report_time: Option<u64>,
    #[serde(rename = "apply-error", skip_serializing_if = "Option::is_none")]
    pub apply_error: Option<String>,
    /// The node's installed multipath-tools version, as it reports it.
    #[serde(rename = "multipath-tools", skip_serializing_if = "Option::is_none")]
    pub tools_version: Option<String>,
    /// Why the node's cells read unknown (or may lack LUNs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Shared>,
    /// How many LUNs the node reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub luns: Option<usize>,
    /// Where the node's own multipath files contradict the cluster config;
    /// absent for a node that did not report them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<String>>,
}

/// The result: typed data, turned into Perl's (or JSON) only afterwards.
#[derive(Debug, Serialize)]
pub struct Status {
    pub luns: Vec<Row>,
    pub nodes: Keyed<NodeStatus>,
}

#[cfg(test)]
impl Status {
    /// A status as `/cluster/multipath/status` renders it, for the tests of
    /// what decides from one (the notifications).
    pub fn from_rendered(value: &serde_json::Value) -> Status {
        use serde_json::Value;
        let text =
            |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(Shared::new);
        let count = |value: &Value, key: &str| value.get(key).and_then(Value::as_u64);
        let state = |value: &Value, key: &str| State::parse(value[key].as_str().unwrap_or(""));
        let transport = |value: &Value| {
            value
                .get("transport")
                .and_then(Value::as_str)
                .and_then(Transport::parse)
        };
        let flag = |value: &Value, key: &str| match value.get(key) {
            Some(Value::Bool(flag)) => *flag,
            Some(number) => number.as_u64().is_some_and(|number| number != 0),
            None => false,
        };
        fn entries(value: &Value) -> impl Iterator<Item = (&String, &Value)> {
            value.as_object().into_iter().flatten()
        }

        let mut table = Vec::new();
        let mut rows = Vec::new();
        for row in value["luns"].as_array().into_iter().flatten() {
            let start = table.len();
            for (node, cell) in entries(&row["nodes"]) {
                let cell = Cell {
                    state: state(cell, "state"),
                    paths_active: count(cell, "paths-active"),
                    paths_total: count(cell, "paths-total"),
                    paths_expected: count(cell, "paths-expected"),
                    transport: transport(cell),
                    reason: text(cell, "reason"),
                };
                table.push((Shared::new(node), cell));
            }
            rows.push(Row {
                wwid: text(row, "wwid").expect("a row has a wwid"),
                alias: text(row, "alias"),
                used_by: text(row, "used-by"),
                size: count(row, "size"),
                transport: transport(row),
                cluster_state: state(row, "cluster-state"),
                nodes: Cells {
                    table: Rc::default(),
                    range: start..table.len(),
                },
            });
        }
        let table = Rc::new(table);
        for row in &mut rows {
            row.nodes.table = table.clone();
        }
        let nodes = entries(&value["nodes"])
            .map(|(node, row)| {
                let status = NodeStatus {
                    online: flag(row, "online"),
                    stale: flag(row, "stale"),
                    report_time: count(row, "report-time"),
                    apply_error: row
                        .get("apply-error")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    tools_version: None,
                    error: text(row, "error"),
                    luns: None,
                    conflicts: None,
                };
                (Shared::new(node), status)
            })
            .collect();
        Status {
            luns: rows,
            nodes: Keyed(nodes),
        }
    }
}

/// Entries in node order, serialized as a hash keyed by node.
#[derive(Debug, Default)]
pub struct Keyed<T>(pub Vec<(Shared, T)>);

/// Entries in node order as a hash keyed by node.
fn serialize_by_node<S: serde::Serializer, T: Serialize>(
    entries: &[(Shared, T)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(entries.len()))?;
    for (node, entry) in entries {
        map.serialize_entry(&**node, entry)?;
    }
    map.end()
}

impl<T: Serialize> Serialize for Keyed<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_by_node(&self.0, serializer)
    }
}

impl<T> Keyed<T> {
    /// The entries in node order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &T)> {
        self.0.iter().map(|(node, entry)| (&**node, entry))
    }
}

/// A row's cells in node order, serialized as a hash keyed by node: its
/// part of the one table that holds the cells of all rows. One allocation
/// for 64,000 cells instead of one per row: allocations of a few KiB each,
/// freed after every call, made glibc hand the memory back to the kernel
/// and fault it in again on the next call.
#[derive(Debug)]
pub struct Cells {
    table: Rc<Vec<(Shared, Cell)>>,
    range: std::ops::Range<usize>,
}

impl Cells {
    fn entries(&self) -> &[(Shared, Cell)] {
        &self.table[self.range.clone()]
    }

    /// The row's cells in node order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Cell)> {
        self.entries().iter().map(|(node, cell)| (&**node, cell))
    }
}

impl Serialize for Cells {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_by_node(self.entries(), serializer)
    }
}

/// A node after decoding: usable or why not.
struct Node<'a> {
    name: &'a str,
    shared_name: Shared,
    online: bool,
    published: bool,
    summary: Option<NodeSummary<Shared>>,
    /// Set when the summary may not be used (invalid, stale, no time).
    unusable: Option<Shared>,
    /// Why some LUNs may be absent without being missing.
    incomplete: Option<Shared>,
    stale: bool,
    conflicts: Option<Vec<String>>,
}

impl<'a> Node<'a> {
    fn silent(name: &'a str, online: bool) -> Self {
        Node {
            name,
            shared_name: Shared::new(name),
            online,
            published: false,
            summary: None,
            unusable: None,
            incomplete: None,
            stale: false,
            conflicts: None,
        }
    }
}

/// Decode a node's value (with the decoder of the nodes before) and judge
/// its report time; the rows gain the WWIDs it reports.
fn prepare<'a>(
    name: &'a str,
    online: bool,
    value: &'a NodeValue,
    wwids: &mut Wwids,
    decoder: &mut wire::Decoder<'a, Shared>,
    now: Option<u64>,
    interval: u64,
) -> Node<'a> {
    let mut node = Node {
        published: true,
        ..Node::silent(name, online)
    };
    let summary = match decode_node_with(value, decoder, &mut |wwid| wwids.keep(wwid)) {
        Err(reason) => {
            node.unusable = Some(reason.into());
            return node;
        }
        Ok(summary) => summary,
    };
    // a stale report still names the LUNs it saw (its cells read unknown)
    wwids.add_rows(&summary.luns);
    if let Some(now) = now {
        let limit = interval.saturating_mul(3);
        let unusable = match summary.time {
            None => Some("summary carries no report time".to_string()),
            // a clock ahead by more than that is no fresher report
            Some(time) if time.saturating_sub(now) > limit => Some(format!(
                "report time is {} s in the future (clock skew?)",
                time - now
            )),
            Some(time) if now.saturating_sub(time) > limit => Some(format!(
                "report is {} s old (more than 3 refresh intervals of {interval} s)",
                now - time
            )),
            Some(_) => None,
        };
        node.stale = unusable.is_some();
        node.unusable = unusable.map(Shared::from);
    }
    node.incomplete = summary.incomplete.clone().map(Shared::from);
    node.summary = Some(summary);
    node
}

const OFFLINE: &str = "node is offline";
const SILENT: &str = "node publishes no multipath summary";
const NOT_REPORTED: &str = "not assembled on this node";

fn report_cell(report: &LunReport, config_expected: Option<u64>) -> Cell {
    let counts = report.counts(config_expected);
    let verdict = health::judge_report(&counts, report.state);
    Cell {
        state: verdict.state,
        paths_active: Some(report.paths_active),
        paths_total: Some(report.paths_total),
        paths_expected: counts.expected,
        transport: report.transport,
        reason: verdict.reason.map(Shared::from),
    }
}

/// Advance a sorted cursor up to `key` and take its value if it is there.
/// Every list here is sorted, so the row-major walk needs about one
/// comparison per step instead of a map lookup per cell.
fn seek<'k, T>(
    cursor: &mut std::iter::Peekable<impl Iterator<Item = (&'k str, T)>>,
    key: &str,
) -> Option<T> {
    while let Some((next, _)) = cursor.peek() {
        // the same text (a row's WWID a report shares) needs no comparing
        if std::ptr::eq(*next, key) {
            return cursor.next().map(|(_, value)| value);
        }
        match (*next).cmp(key) {
            std::cmp::Ordering::Less => {
                cursor.next();
            }
            std::cmp::Ordering::Equal => return cursor.next().map(|(_, value)| value),
            std::cmp::Ordering::Greater => return None,
        }
    }
    None
}

/// The rows: the allow-list plus every WWID a decoded report mentions,
/// sorted, unique, each one text that the reports of all nodes share.
/// Decoding each node's WWIDs into these instead of a string each saves
/// 64,000 allocations in a cluster of 64 nodes with 1,000 LUNs, and the
/// matrix walk finds a node's report of a row by address.
struct Wwids {
    rows: Vec<Shared>,
    /// Where the last WWID was found: reports are sorted, so the next one
    /// is usually the next row.
    next: usize,
}

impl Wwids {
    fn new(allow: &[String]) -> Self {
        let mut allow: Vec<&str> = allow.iter().map(String::as_str).collect();
        allow.sort_unstable();
        allow.dedup();
        Wwids {
            rows: allow.into_iter().map(Shared::new).collect(),
            next: 0,
        }
    }

    /// The shared text of a row, or a new one (a row once the report that
    /// has it is used, see [`Wwids::add_rows`]).
    fn keep(&mut self, wwid: &str) -> Shared {
        if let Some(row) = self.rows.get(self.next).filter(|row| ***row == *wwid) {
            self.next += 1;
            return row.clone();
        }
        match self.rows.binary_search_by(|row| (**row).cmp(wwid)) {
            Ok(index) => {
                self.next = index + 1;
                self.rows[index].clone()
            }
            Err(index) => {
                self.next = index;
                Shared::new(wwid)
            }
        }
    }

    /// A decoded report's WWIDs (sorted, unique) that are no rows yet
    /// become rows.
    fn add_rows(&mut self, luns: &[(Shared, LunReport)]) {
        let mut extra = Vec::new();
        let mut known = self.rows.iter().peekable();
        for (wwid, _) in luns {
            // a row's own text (the usual case) needs no comparing
            if known.next_if(|row| row.is(wwid)).is_some() {
                continue;
            }
            while known.next_if(|row| ***row < **wwid).is_some() {}
            if known.peek().is_none_or(|row| ***row != **wwid) {
                extra.push(wwid.clone());
            }
        }
        if !extra.is_empty() {
            self.rows.extend(extra);
            self.rows.sort_unstable();
            self.rows.dedup_by(|a, b| **a == **b);
        }
        self.next = 0;
    }
}

/// Which nodes should carry a LUN, as Perl passed it.
pub enum ExpectedNodes {
    /// The series: every online reporting node, plus these nodes for
    /// allow-listed WWIDs.
    Series(Vec<String>),
    /// v2: per WWID, exactly these nodes; an allow-listed WWID without an
    /// entry, the default nodes.
    PerLun {
        by_lun: ListsByLun,
        default: Vec<String>,
    },
}

/// `{ wwid => [ node, ... ] }`, each distinct list kept once: usually every
/// LUN has the same list, so a list is compared with the last distinct one
/// name by name while it is read, and becomes a list of its own only where
/// it differs (64,000 names of 64 nodes x 1,000 LUNs, no string each).
#[derive(Default)]
pub struct ListsByLun {
    lists: Vec<Vec<String>>,
    /// Each WWID's list, sorted by WWID once read ([`ListsByLun::finish`]).
    wwids: Vec<(String, usize)>,
    /// The list being read: how many of its names equal the last list's,
    /// or (once one differs) its own names.
    matched: usize,
    own: Option<Vec<String>>,
}

impl ListsByLun {
    /// From whole lists (tests, callers without a reader).
    pub fn from_lists(lists: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        let mut by_lun = ListsByLun::default();
        for (wwid, list) in lists {
            for name in list {
                by_lun.push_name(name);
            }
            by_lun.end_list(wwid);
        }
        by_lun.finish();
        by_lun
    }

    /// The next name of the list being read.
    pub fn push_str(&mut self, name: &str) {
        match &mut self.own {
            Some(own) => own.push(name.to_owned()),
            None => self.match_or_own(name, str::to_owned),
        }
    }

    /// [`ListsByLun::push_str`] for a name already owned.
    pub fn push_name(&mut self, name: String) {
        match &mut self.own {
            Some(own) => own.push(name),
            None => self.match_or_own(name, |name| name),
        }
    }

    fn match_or_own<N: std::ops::Deref<Target = str>>(
        &mut self,
        name: N,
        own: impl Fn(N) -> String,
    ) {
        let last = self.lists.last().map_or(&[][..], Vec::as_slice);
        if last.get(self.matched).is_some_and(|known| **known == *name) {
            self.matched += 1;
            return;
        }
        let mut list = Vec::with_capacity(last.len().max(self.matched + 1));
        list.extend_from_slice(&last[..self.matched]);
        list.push(own(name));
        self.own = Some(list);
    }

    /// The list read is `wwid`'s.
    pub fn end_list(&mut self, wwid: String) {
        let matched = std::mem::take(&mut self.matched);
        let same = self
            .lists
            .last()
            .is_some_and(|last| last.len() == matched && self.own.is_none());
        if !same {
            let list = match self.own.take() {
                Some(list) => list,
                None => self
                    .lists
                    .last()
                    .map_or_else(Vec::new, |last| last[..matched].to_vec()),
            };
            self.lists.push(list);
        }
        self.wwids.push((wwid, self.lists.len() - 1));
    }

    /// Each WWID's list, sorted by WWID, and how many distinct lists hold
    /// them.
    #[cfg(test)]
    pub fn read(&self) -> (Vec<(&str, &[String])>, usize) {
        let by_wwid = self
            .wwids
            .iter()
            .map(|(wwid, index)| (wwid.as_str(), self.lists[*index].as_slice()))
            .collect();
        (by_wwid, self.lists.len())
    }

    /// Sort by WWID once all are read; of a WWID given twice, the last list
    /// counts (as a map's insert would have it).
    pub fn finish(&mut self) {
        self.wwids.sort_by(|a, b| a.0.cmp(&b.0));
        self.wwids.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                earlier.1 = later.1;
            }
            same
        });
    }
}

/// A set of nodes by their place in the node order.
type NodeSet = Vec<bool>;

/// The expected node sets: each distinct list once (usually every LUN has
/// the same one), as sets over the node order.
struct Expected<'r> {
    sets: Vec<NodeSet>,
    /// The set of each WWID with an entry of its own, sorted by WWID.
    by_lun: Vec<(&'r str, usize)>,
    /// For allow-listed WWIDs without one (the series: all of them).
    default: Option<usize>,
}

impl<'r> Expected<'r> {
    /// The distinct lists, each once, and per WWID which one it has.
    fn lists(expected: &'r ExpectedNodes) -> (&'r [Vec<String>], Vec<(&'r str, usize)>) {
        match expected {
            ExpectedNodes::PerLun { by_lun, .. } => (
                &by_lun.lists,
                by_lun
                    .wwids
                    .iter()
                    .map(|(wwid, index)| (wwid.as_str(), *index))
                    .collect(),
            ),
            ExpectedNodes::Series(_) => (&[], Vec::new()),
        }
    }

    fn new(
        expected: &'r ExpectedNodes,
        lists: &[Vec<String>],
        by_lun: Vec<(&'r str, usize)>,
        names: &[&str],
    ) -> Self {
        let set = |list: &[String]| {
            let mut set = vec![false; names.len()];
            for name in list {
                if let Ok(index) = names.binary_search(&name.as_str()) {
                    set[index] = true;
                }
            }
            set
        };
        let mut sets: Vec<NodeSet> = lists.iter().map(|list| set(list)).collect();
        let default = match expected {
            ExpectedNodes::Series(list) | ExpectedNodes::PerLun { default: list, .. } => {
                sets.push(set(list));
                Some(sets.len() - 1)
            }
        };
        Expected {
            sets,
            by_lun,
            default,
        }
    }
}

/// The owned arguments of one aggregation call, as Perl passed them.
pub struct Request {
    pub allow_list: Vec<String>,
    pub aliases: BTreeMap<String, String>,
    pub used_by: BTreeMap<String, String>,
    pub kv: BTreeMap<String, NodeValue>,
    /// Each node's conflicts value, as published under [`conflicts::KV_KEY`].
    pub conflicts: BTreeMap<String, String>,
    pub online: BTreeMap<String, bool>,
    pub expected: ExpectedNodes,
    /// `paths-expected` from the config, per WWID.
    pub paths_expected: BTreeMap<String, u64>,
    /// With `now`, a report older than three `interval`s is stale.
    pub now: Option<u64>,
    pub interval: u64,
}

impl Request {
    /// Decode every node once, in name order: those that publish or are
    /// members, and expected ones that are neither.
    fn prepare_nodes<'r>(&'r self, lists: &'r [Vec<String>], wwids: &mut Wwids) -> Vec<Node<'r>> {
        let mut names: Vec<&str> = self
            .kv
            .keys()
            .chain(self.online.keys())
            .map(String::as_str)
            .collect();
        let defaults = match &self.expected {
            ExpectedNodes::Series(list) | ExpectedNodes::PerLun { default: list, .. } => list,
        };
        names.extend(
            lists
                .iter()
                .map(Vec::as_slice)
                .chain([defaults.as_slice()])
                .flatten()
                .map(String::as_str),
        );
        names.sort_unstable();
        names.dedup();
        let mut decoder = wire::Decoder::default();
        names
            .into_iter()
            .map(|name| {
                let online = self.online.get(name).copied().unwrap_or(false);
                let mut node = match self.kv.get(name) {
                    Some(value) => prepare(
                        name,
                        online,
                        value,
                        wwids,
                        &mut decoder,
                        self.now,
                        self.interval,
                    ),
                    None => Node::silent(name, online),
                };
                // an unreadable value is a report too: it says so
                node.conflicts =
                    self.conflicts
                        .get(name)
                        .map(|value| match conflicts::decode(value) {
                            Ok(decoded) => decoded.into_messages(),
                            Err(err) => vec![format!("unreadable conflicts report: {err}")],
                        });
                node
            })
            .collect()
    }

    /// The matrix (`luns`) and the per-node view (`nodes`).
    pub fn aggregate(&self) -> Status {
        let (lists, by_lun) = Expected::lists(&self.expected);
        let mut wwids = Wwids::new(&self.allow_list);
        let nodes = self.prepare_nodes(lists, &mut wwids);
        let names: Vec<&str> = nodes.iter().map(|node| node.name).collect();
        let expected = Expected::new(&self.expected, lists, by_lun, &names);
        let series = matches!(self.expected, ExpectedNodes::Series(_));
        let (offline, silent, not_reported) = (
            Shared::new(OFFLINE),
            Shared::new(SILENT),
            Shared::new(NOT_REPORTED),
        );

        let mut allow: Vec<&str> = self.allow_list.iter().map(String::as_str).collect();
        allow.sort_unstable();
        allow.dedup();
        let wwids = wwids.rows;

        let mut cursors: Vec<_> = nodes
            .iter()
            .map(|node| {
                node.summary
                    .iter()
                    .flat_map(|summary| summary.luns.iter())
                    .map(|(wwid, report)| (&**wwid, report))
                    .peekable()
            })
            .collect();
        let mut allow_cursor = allow.iter().map(|wwid| (*wwid, ())).peekable();
        let mut by_lun_cursor = expected.by_lun.iter().copied().peekable();
        let mut config_cursor = self
            .paths_expected
            .iter()
            .map(|(wwid, count)| (wwid.as_str(), *count))
            .peekable();
        let mut alias_cursor = self
            .aliases
            .iter()
            .map(|(wwid, alias)| (wwid.as_str(), alias))
            .peekable();
        let mut used_by_cursor = self
            .used_by
            .iter()
            .map(|(wwid, user)| (wwid.as_str(), user))
            .peekable();

        let mut rows = Vec::with_capacity(wwids.len());
        let mut table = Vec::with_capacity(wwids.len() * nodes.len());
        // the rows' cells are in the table once it is complete
        let unfilled = Rc::new(Vec::new());
        for row in wwids {
            let wwid = &*row;
            let allowed = seek(&mut allow_cursor, wwid).is_some();
            let config_expected = seek(&mut config_cursor, wwid);
            // this row's expected nodes
            let set = match seek(&mut by_lun_cursor, wwid) {
                Some(index) => Some(index),
                None if allowed => expected.default,
                None => None,
            }
            .map(|index| expected.sets[index].as_slice());

            let start = table.len();
            let mut size = None;
            for (index, (node, cursor)) in nodes.iter().zip(cursors.iter_mut()).enumerate() {
                let expected = set.is_some_and(|set| set[index]);
                let report = seek(cursor, wwid);
                let cell = if !node.published {
                    match (expected, node.online) {
                        (false, _) => continue,
                        (true, true) => Cell::without_report(State::Missing, &silent),
                        (true, false) => Cell::without_report(State::Unknown, &offline),
                    }
                } else if !node.online {
                    if report.is_none() && !expected {
                        continue;
                    }
                    Cell::without_report(State::Unknown, &offline)
                } else if let Some(reason) = &node.unusable {
                    if report.is_none() && !expected && !series {
                        continue;
                    }
                    Cell::without_report(State::Unknown, reason)
                } else if let Some(report) = report {
                    size = size.or(report.size);
                    report_cell(report, config_expected)
                } else if !(expected || series) {
                    continue;
                } else if let Some(reason) = &node.incomplete {
                    Cell::without_report(State::Unknown, reason)
                } else {
                    Cell::without_report(State::Missing, &not_reported)
                };
                table.push((node.shared_name.clone(), cell));
            }
            let cells = &mut table[start..];
            // one transport for the row when every report agrees (the usual
            // case), which keeps the matrix smaller; per cell otherwise
            let mut reported = cells.iter().filter(|(_, cell)| cell.paths_total.is_some());
            let first = reported.next().and_then(|(_, cell)| cell.transport);
            let transport =
                first.filter(|first| reported.all(|(_, cell)| cell.transport == Some(*first)));
            if transport.is_some() {
                for (_, cell) in cells.iter_mut() {
                    cell.transport = None;
                }
            }
            let cluster_state = State::roll_up(cells.iter().map(|(_, cell)| cell.state));
            rows.push(Row {
                wwid: row.clone(),
                alias: seek(&mut alias_cursor, wwid).map(|alias| Shared::new(alias)),
                used_by: seek(&mut used_by_cursor, wwid).map(|user| Shared::new(user)),
                size,
                transport,
                cluster_state,
                nodes: Cells {
                    table: unfilled.clone(),
                    range: start..table.len(),
                },
            });
        }
        let table = Rc::new(table);
        for row in &mut rows {
            row.nodes.table = table.clone();
        }

        let node_status = nodes
            .iter()
            .map(|node| {
                let summary = node.summary.as_ref();
                let status = NodeStatus {
                    online: node.online,
                    stale: node.stale,
                    report_time: summary.and_then(|s| s.time),
                    apply_error: summary.and_then(|s| s.apply_error.clone()),
                    tools_version: summary.and_then(|s| s.tools_version.clone()),
                    error: node.unusable.clone().or_else(|| node.incomplete.clone()),
                    luns: summary.map(|s| s.luns.len()),
                    conflicts: node.conflicts.clone(),
                };
                (node.shared_name.clone(), status)
            })
            .collect();
        Status {
            luns: rows,
            nodes: Keyed(node_status),
        }
    }
}
