//! Exports of `PVE::RS::Multipath::Status`: the per-node broadcast summary
//! and the cluster health matrix.
//!
//! Signatures as Perl sees them (all pure, no I/O):
//!
//! - `summarize_maps($maps) -> { wwid => { state, 'paths-active',
//!   'paths-total', transport?, size? } }`: the series'
//!   `summarize_maps_for_broadcast` shape (maps without WWID are skipped).
//! - `summarize_maps_for_broadcast($maps)`: the same, under the series' name.
//! - `encode_broadcast($maps, $now, $apply_error?, $max_bytes?) -> [ $value,
//!   ... ]`: the compact, versioned KV value(s) (format `pmp1`, see
//!   `src/status/wire.rs`). `$maps` as from `get_maps` (after
//!   `Maps::apply_expected`, so `paths-expected` travels along; `transport`,
//!   `size` and `queueing` are taken when present), `$now` the report time
//!   (unix seconds), `$apply_error` the last config-apply error (undef for
//!   none). Normally ONE value: about 30 bytes per LUN, >= 1,000 LUNs fit in
//!   32 KiB. More LUNs are split into several values, each a complete part
//!   (`part i of n` in its header): publish value 1 under `multipath` and
//!   value i under `multipath-i`, clear the higher keys no longer used, and
//!   hand all of a node's values to the aggregation as an array ref. Past 16
//!   parts the healthiest LUNs are left out and counted in the header; the
//!   matrix then shows them `unknown` ("summary truncated"), never
//!   `missing`. `$max_bytes` (default and maximum 32767) is for tests.
//! - `decode_broadcast($value) -> { version, time, part, parts, dropped,
//!   'apply-error'?, luns => { wwid => { state, 'paths-active',
//!   'paths-total', 'paths-expected'?, transport?, size?, queueing? } } }`:
//!   one value; dies with a message naming the line on a malformed one.
//! - `aggregate_cluster_status($allow, $aliases, $used_by, $node_kv, $online,
//!   $expected?) -> [ rows ]`: the series' 6-argument form and result (no
//!   staleness check: it has no `now`). `$node_kv->{$node}` may be the
//!   series' decoded hash or the raw KV string (or an array ref of a node's
//!   values) as `PVE::Cluster::get_node_kv` returns it; `$expected` is
//!   `{ node => 1 }` (keys count) or `[ nodes ]`.
//! - `aggregate_status({ allow_list, aliases, used_by, kv, online,
//!   expected_by_lun, expected_nodes, paths_expected, now, interval })
//!   -> { luns => [ rows ], nodes => { node => { online, stale,
//!   'report-time'?, 'apply-error'?, error?, luns? } } }`: the v2 form.
//!   `kv` is `{ node => $raw }` (string, or array ref of a node's values),
//!   `online` `{ node => bool }` (absent = offline), `expected_by_lun`
//!   `{ wwid => [ nodes ] }` (the nodes whose storage chain consumes it),
//!   `expected_nodes` `[ nodes ]` (for allow-listed WWIDs without an
//!   `expected_by_lun` entry; cheaper than the same list for every LUN),
//!   `paths_expected` `{ wwid => n }` (config; overrides the node's own),
//!   `now` unix seconds, `interval` the refresh interval in seconds (default
//!   10; a report older than three intervals reads `unknown`). Without
//!   `expected_by_lun` and `expected_nodes` the series' rule applies (every
//!   online reporting node should carry every LUN). An unknown option key
//!   dies. A row: `{ wwid, alias?, 'used-by'?, size?, transport?,
//!   'cluster-state', nodes => { node => { state, 'paths-active'?,
//!   'paths-total'?, 'paths-expected'?, transport?, reason? } } }`; the row
//!   carries `transport` when every reporting node agrees, else the cells
//!   do. Never dies because of a KV value: a bad one makes that node's cells
//!   `unknown` with the reason (also in `nodes->{node}->{error}`).

use std::collections::BTreeMap;

use anyhow::{bail, Error};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::export;
use crate::maps::count_table;
use crate::perl::lenient::{self, UInt};
use crate::perl::Export;
use crate::status::aggregate::{ExpectedNodes, Request};
use crate::status::{self, wire, LunReport, SeriesEntry};

fn summarize_maps(maps: Vec<Value>) -> Result<BTreeMap<String, SeriesEntry>, Error> {
    status::summarize_maps(maps)
}

fn summarize_maps_for_broadcast(maps: Vec<Value>) -> Result<BTreeMap<String, SeriesEntry>, Error> {
    status::summarize_maps(maps)
}

fn encode_broadcast(
    maps: Vec<Value>,
    now: UInt,
    apply_error: Option<String>,
    max_bytes: Option<UInt>,
) -> Result<Vec<String>, Error> {
    let max_bytes = max_bytes.map_or(wire::MAX_VALUE_BYTES, |UInt(max)| max as usize);
    if max_bytes > wire::MAX_VALUE_BYTES {
        bail!(
            "max_bytes {max_bytes} exceeds the KV limit of {}",
            wire::MAX_VALUE_BYTES
        );
    }
    status::encode_broadcast(maps, now.0, apply_error.as_deref(), max_bytes)
}

#[derive(Serialize)]
struct DecodedPart {
    version: u32,
    time: u64,
    part: usize,
    parts: usize,
    dropped: u64,
    #[serde(rename = "apply-error", skip_serializing_if = "Option::is_none")]
    apply_error: Option<String>,
    luns: BTreeMap<String, LunReport>,
}

fn decode_broadcast(value: String) -> Result<DecodedPart, Error> {
    let part = wire::decode(&value)?;
    Ok(DecodedPart {
        version: part.version,
        time: part.time,
        part: part.part,
        parts: part.parts,
        dropped: part.dropped,
        apply_error: part.apply_error,
        luns: part.luns.into_iter().collect(),
    })
}

/// Perl truth of a loose value.
fn truth(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64() != Some(0.0),
        Value::String(text) => !(text.is_empty() || text == "0"),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn name(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A list of names: an array of them, or the keys of a hash (as the series
/// uses `keys %$expected`).
fn names(value: &Value) -> Vec<String> {
    match value {
        Value::Array(list) => list.iter().filter_map(name).collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn online_table(value: &Value) -> BTreeMap<String, bool> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(node, up)| (node.clone(), truth(up)))
                .collect()
        })
        .unwrap_or_default()
}

fn kv_table(value: Value) -> BTreeMap<String, Value> {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

fn aggregate_cluster_status(
    allow_list: Value,
    aliases: Value,
    used_by: Value,
    node_kv: Value,
    online: Value,
    expected: Option<Value>,
) -> Result<Request, Error> {
    Ok(Request {
        allow_list: names(&allow_list),
        aliases,
        used_by,
        kv: kv_table(node_kv),
        online: online_table(&online),
        expected: ExpectedNodes::Series(expected.as_ref().map(names).unwrap_or_default()),
        paths_expected: BTreeMap::new(),
        now: None,
        interval: DEFAULT_INTERVAL,
        series_result: true,
    })
}

/// pvestatd's update loop runs every 10 seconds.
const DEFAULT_INTERVAL: u64 = 10;

/// A list of names as Perl gives it: an array (strings, numbers) or the
/// keys of a hash; taken over without copying the strings.
#[derive(Default)]
struct Names(Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of names or a hash keyed by them")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Names, E> {
                Ok(Names::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Names, A::Error> {
                let mut names = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<Value>()? {
                    match item {
                        Value::String(text) => names.push(text),
                        other => names.extend(name(&other)),
                    }
                }
                Ok(Names(names))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Names, A::Error> {
                let mut names = Vec::new();
                while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    names.push(key);
                }
                Ok(Names(names))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    allow_list: Names,
    #[serde(default)]
    aliases: Value,
    #[serde(default)]
    used_by: Value,
    #[serde(default)]
    kv: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    online: Value,
    #[serde(default)]
    expected_by_lun: Option<BTreeMap<String, Names>>,
    #[serde(default)]
    expected_nodes: Option<Names>,
    #[serde(default)]
    paths_expected: Value,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    now: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    interval: Option<u64>,
}

fn aggregate_status(options: Options) -> Result<Request, Error> {
    let expected = match (options.expected_by_lun, options.expected_nodes) {
        (None, None) => ExpectedNodes::Series(Vec::new()),
        (by_lun, default) => ExpectedNodes::PerLun {
            by_lun: by_lun
                .unwrap_or_default()
                .into_iter()
                .map(|(wwid, nodes)| (wwid, nodes.0))
                .collect(),
            default: default.unwrap_or_default().0,
        },
    };
    Ok(Request {
        allow_list: options.allow_list.0,
        aliases: options.aliases,
        used_by: options.used_by,
        kv: options.kv.unwrap_or_default(),
        online: online_table(&options.online),
        expected,
        paths_expected: count_table(&options.paths_expected),
        now: options.now,
        interval: options.interval.unwrap_or(DEFAULT_INTERVAL).max(1),
        series_result: false,
    })
}

pub const EXPORTS: &[Export] = &[
    export!(summarize_maps(maps: Vec<Value>)),
    export!(summarize_maps_for_broadcast(maps: Vec<Value>)),
    export!(encode_broadcast(
        maps: Vec<Value>,
        now: UInt,
        apply_error: Option<String>,
        max_bytes: Option<UInt>
    )),
    export!(decode_broadcast(value: String)),
    export!(aggregate_cluster_status(
        allow_list: Value,
        aliases: Value,
        used_by: Value,
        node_kv: Value,
        online: Value,
        expected: Option<Value>
    )),
    export!(aggregate_status(options: Options)),
];
