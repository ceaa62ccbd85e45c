//! Exports of `PVE::RS::Multipath::Status`: the node pass, the broadcast
//! values and the cluster health matrix. Each export's `///` doc says its
//! signature as Perl sees it.

use std::collections::BTreeMap;

use anyhow::{bail, Error};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::maps::{FactsOptions, KeptHighWater, SysfsOption};
use crate::exports;
use crate::perl::lenient::{self, UInt};
use crate::perl::Text;
use crate::render;
use crate::section_config::Config;
use crate::status::aggregate::{
    ExpectedNodes, KvValue, ListsByLun, NodeValue, Request, Row, Status,
};
use crate::status::node::{self, LastPass, Pass, PassInput};
use crate::status::series::{self, MapInput, SeriesEntry};
use crate::status::{self, reports, wire, LunReport};

fn max_bytes(max_bytes: Option<UInt>) -> Result<usize, Error> {
    let max_bytes = max_bytes.map_or(wire::MAX_VALUE_BYTES as u64, |UInt(max)| max);
    if max_bytes > wire::MAX_VALUE_BYTES as u64 {
        bail!(
            "max_bytes {max_bytes} exceeds the KV limit of {}",
            wire::MAX_VALUE_BYTES
        );
    }
    Ok(max_bytes as usize)
}

#[derive(Serialize)]
struct DecodedPart {
    version: u32,
    time: u64,
    part: usize,
    parts: usize,
    dropped: u64,
    #[serde(rename = "multipath-tools", skip_serializing_if = "Option::is_none")]
    tools_version: Option<String>,
    #[serde(rename = "apply-error", skip_serializing_if = "Option::is_none")]
    apply_error: Option<String>,
    luns: BTreeMap<String, LunReport>,
}

/// What the node kept of its last pass.
#[derive(Default, Deserialize)]
struct LastOption {
    #[serde(default, rename = "content-key")]
    content_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    parts: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    #[allow(dead_code)]
    time: Option<u64>,
}

/// The node facts as in [`FactsOptions`], listed here rather than
/// flattened: serde would buffer every value of a flattened struct first.
#[derive(Deserialize)]
struct PassOptions<'a> {
    #[serde(default, borrow)]
    maps_json: Option<Text<'a>>,
    #[serde(default)]
    sysfs: Option<SysfsOption>,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    high_water: KeptHighWater,
    #[serde(deserialize_with = "lenient::uint")]
    now: u64,
    #[serde(default)]
    apply_error: Option<String>,
    #[serde(default)]
    multipath_tools: Option<String>,
    /// Read back from a file the node wrote; a damaged one reads as none.
    #[serde(default)]
    last: Option<Value>,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    max_bytes: Option<u64>,
    /// Read back from the Generator's state: anything but a list of
    /// strings reads as not known.
    #[serde(default)]
    conflicts: Option<Vec<String>>,
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

/// `{ wwid => name }` where a name is a string or a number; others are
/// left out.
fn name_table(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(wwid, value)| Some((wwid.clone(), name(value)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// `{ node => $value }` as `get_node_kv` returns it: nodes that published
/// nothing are left out.
fn kv_table(kv: Option<BTreeMap<String, KvValue>>) -> BTreeMap<String, NodeValue> {
    kv.unwrap_or_default()
        .into_iter()
        .filter_map(|(node, KvValue(value))| Some((node, value?)))
        .collect()
}

/// pvestatd's update loop runs every 10 seconds.
const DEFAULT_INTERVAL: u64 = 10;

/// A list of names as Perl gives it: an array (strings, numbers) or the
/// keys of a hash; read by [`ListSeed`].
#[derive(Default)]
struct Names(Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut names = Vec::new();
        serde::de::DeserializeSeed::deserialize(ListSeed(&mut names), deserializer)?;
        Ok(Names(names))
    }
}

/// Where the names of a list go as they are read.
trait NameSink {
    fn push_str(&mut self, name: &str);
    fn push_name(&mut self, name: String);
}

impl NameSink for Vec<String> {
    fn push_str(&mut self, name: &str) {
        self.push(name.to_owned());
    }
    fn push_name(&mut self, name: String) {
        self.push(name);
    }
}

impl NameSink for ListsByLun {
    fn push_str(&mut self, name: &str) {
        ListsByLun::push_str(self, name);
    }
    fn push_name(&mut self, name: String) {
        ListsByLun::push_name(self, name);
    }
}

/// `expected_by_lun`: `{ wwid => names }`, each list of names read as
/// [`Names`] reads it, but straight into [`ListsByLun`], which keeps a name
/// only where a list differs from the one before.
struct ExpectedByLun(ListsByLun);

impl<'de> Deserialize<'de> for ExpectedByLun {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ExpectedByLun;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ExpectedByLun, A::Error> {
                let mut by_lun = ListsByLun::default();
                while let Some(wwid) = map.next_key::<String>()? {
                    map.next_value_seed(ListSeed(&mut by_lun))?;
                    by_lun.end_list(wwid);
                }
                by_lun.finish();
                Ok(ExpectedByLun(by_lun))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// One list of names (an array, the keys of a hash, or undef for none),
/// into its sink.
struct ListSeed<'a, S>(&'a mut S);

impl<'de, S: NameSink> serde::de::DeserializeSeed<'de> for ListSeed<'_, S> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: NameSink> serde::de::Visitor<'de> for ListSeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of names or a hash keyed by them")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NameSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
            self.0.push_name(key);
        }
        Ok(())
    }
}

/// One element of a list of names: a string or a number is a name (as
/// [`name`] has it), anything else is skipped.
struct NameSeed<'a, S>(&'a mut S);

impl<'de, S: NameSink> serde::de::DeserializeSeed<'de> for NameSeed<'_, S> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: NameSink> serde::de::Visitor<'de> for NameSeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a name")
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.0.push_str(text);
        Ok(())
    }
    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<(), E> {
        self.0.push_name(text);
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<(), E> {
        self.0.push_name(number.to_string());
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<(), E> {
        self.0.push_name(number.to_string());
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, number: f64) -> Result<(), E> {
        // as JSON would have it: not a number (NaN, infinite), no name
        if let Some(name) = name(&Value::from(number)) {
            self.0.push_name(name);
        }
        Ok(())
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, inner: D) -> Result<(), D::Error> {
        inner.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        serde::de::IgnoredAny.visit_seq(seq).map(|_| ())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        serde::de::IgnoredAny.visit_map(map).map(|_| ())
    }
}

/// The arguments of [`aggregate_status`], also what the notification
/// pass aggregates from.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Options {
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    allow_list: Names,
    #[serde(default)]
    aliases: Value,
    #[serde(default)]
    used_by: Value,
    #[serde(default)]
    kv: Option<BTreeMap<String, KvValue>>,
    #[serde(default)]
    conflicts: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    online: Value,
    #[serde(default)]
    expected_by_lun: Option<ExpectedByLun>,
    #[serde(default)]
    expected_nodes: Option<Names>,
    #[serde(default)]
    paths_expected: Option<BTreeMap<String, UInt>>,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    now: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    interval: Option<u64>,
}

exports! {
    pub const EXPORTS;

    /// `summarize_maps($maps) -> { wwid => { state, 'paths-active',
    /// 'paths-total', transport?, size? } }`: the series' summary shape.
    fn summarize_maps(maps: Vec<MapInput>) -> Result<BTreeMap<String, SeriesEntry>, Error> {
        Ok(series::summarize_maps(maps))
    }

    /// `summarize_maps_for_broadcast($maps)`: the same, under the series' name.
    fn summarize_maps_for_broadcast(
        maps: Vec<MapInput>,
    ) -> Result<BTreeMap<String, SeriesEntry>, Error> {
        Ok(series::summarize_maps(maps))
    }

    /// `encode_broadcast($reports, $now, $apply_error?, $max_bytes?,
    /// $tools_version?) -> [ $value, ... ]`: the KV value(s) for per-WWID
    /// reports given as `{ wwid, health, 'paths-active', 'paths-total',
    /// 'paths-expected'?, transport?, size?, queueing? }` (tests, benchmarks;
    /// a node publishes through `node_pass`).
    fn encode_broadcast(
        maps: Vec<MapInput>,
        now: UInt,
        apply_error: Option<String>,
        max_bytes: Option<UInt>,
        tools_version: Option<String>,
    ) -> Result<Vec<String>, Error> {
        let luns = reports(
            maps.iter()
                .filter_map(|map| Some((map.wwid.as_deref()?, map.report()))),
        );
        let broadcast = wire::Broadcast {
            time: now.0,
            apply_error,
            tools_version,
            luns,
        };
        Ok(wire::encode(&broadcast, self::max_bytes(max_bytes)?)?.values)
    }

    /// `decode_broadcast($value) -> { version, time, part, parts, dropped,
    /// 'multipath-tools'?, 'apply-error'?, luns => { wwid => { state, ... } } }`:
    /// one value; dies naming the line of a malformed one.
    fn decode_broadcast(value: String) -> Result<DecodedPart, Error> {
        let part = wire::decode(&value)?;
        let header = part.header;
        Ok(DecodedPart {
            version: header.version,
            time: header.time,
            part: header.part,
            parts: header.parts,
            dropped: header.dropped,
            tools_version: header.tools_version,
            apply_error: part.apply_error,
            luns: part.luns.into_iter().collect(),
        })
    }

    /// `node_pass({ maps_json?, sysfs?, config?, high_water?, now,
    /// apply_error?, multipath_tools?, last?, max_bytes?, conflicts? }) -> { publish =>
    /// [[key, value], ...], clear => [key, ...], 'content-key', changed,
    /// 'high-water', 'high-water-changed', parts }`: one pvestatd pass from
    /// multipathd's output to what to broadcast (`maps_json` undef: multipathd
    /// is not running). `last` is what the node kept of the last pass (`{
    /// 'content-key', parts, time }`); `changed` compares the content keys.
    /// `conflicts` (`[ message, ... ]`, the Generator's) are published with
    /// the health values; without them, none are.
    fn node_pass(options: PassOptions) -> Result<Pass, Error> {
        let facts = FactsOptions {
            maps_json: options.maps_json,
            sysfs: options.sysfs,
            config: options.config,
            high_water: options.high_water,
        };
        let (text, facts) = facts.split()?;
        let last: LastOption = options
            .last
            .and_then(|last| serde_json::from_value(last).ok())
            .unwrap_or_default();
        node::node_pass(&PassInput {
            maps_json: text.as_deref(),
            facts,
            now: options.now,
            apply_error: options.apply_error.as_deref(),
            tools_version: options.multipath_tools.as_deref(),
            last: LastPass {
                content_key: last.content_key.as_deref(),
                parts: last.parts.unwrap_or(0).min(wire::MAX_PARTS as u64) as usize,
            },
            max_bytes: max_bytes(options.max_bytes.map(UInt))?,
            conflicts: options.conflicts.as_deref(),
        })
    }

    /// `broadcast_key() -> 'multipath'`: the KV key of a node's first value.
    fn broadcast_key() -> Result<&'static str, Error> {
        Ok(wire::KV_KEY)
    }

    /// `conflicts_key() -> 'multipath-conflicts'`: the KV key of a node's
    /// conflicts (`aggregate_status`'s `conflicts`).
    fn conflicts_key() -> Result<&'static str, Error> {
        Ok(status::conflicts::KV_KEY)
    }

    /// `parts_to_fetch({ node => $value }) -> { node => [key, ...] }`: for each
    /// node's first value, the keys of its further parts (at most up to the
    /// part limit; none for a value that is not a readable header).
    fn parts_to_fetch(
        first: BTreeMap<String, Option<String>>,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        Ok(first
            .into_iter()
            .filter_map(|(node, value)| {
                let header = wire::decode_header(value.as_deref()?).ok()?;
                Some((
                    node,
                    (2..=header.parts).map(wire::kv_key).collect::<Vec<_>>(),
                ))
            })
            .filter(|(_, keys)| !keys.is_empty())
            .collect())
    }

    /// `aggregate_cluster_status($allow, $aliases, $used_by, $node_kv,
    /// $online, $expected?) -> [ rows ]`: the series' 6-argument form and
    /// result (no staleness check: it has no `now`). `$node_kv` is `{ node =>
    /// $value }` (undef for none), each the series' decoded hash or the raw KV
    /// value(s).
    fn aggregate_cluster_status(
        allow_list: Value,
        aliases: Value,
        used_by: Value,
        node_kv: Option<BTreeMap<String, KvValue>>,
        online: Value,
        expected: Option<Value>,
    ) -> Result<Vec<Row>, Error> {
        let request = Request {
            allow_list: names(&allow_list),
            aliases: name_table(&aliases),
            used_by: name_table(&used_by),
            kv: kv_table(node_kv),
            conflicts: BTreeMap::new(),
            online: online_table(&online),
            expected: ExpectedNodes::Series(expected.as_ref().map(names).unwrap_or_default()),
            paths_expected: BTreeMap::new(),
            now: None,
            interval: DEFAULT_INTERVAL,
        };
        Ok(request.aggregate().luns)
    }

    /// `tools_versions({ ... as aggregate_status }) -> { node => version | undef }`:
    /// the `multipath-tools` of the status matrix's node rows (undef where a
    /// node reports none), without the matrix.
    fn tools_versions(options: Options) -> Result<BTreeMap<String, Option<String>>, Error> {
        let status = request(options)?.aggregate();
        Ok(status
            .nodes
            .iter()
            .map(|(node, row)| (node.to_string(), row.tools_version.clone()))
            .collect())
    }

    /// `aggregate_status({ config?, allow_list?, aliases?, used_by, kv, conflicts?, online,
    /// expected_by_lun?, expected_nodes?, paths_expected?, now, interval? })
    /// -> { luns => [ rows ], nodes => { node => { online, stale,
    /// 'report-time'?, 'multipath-tools'?, 'apply-error'?, error?, luns?,
    /// conflicts? } } }`.
    /// `config` is the parsed cluster config; the allow-list, aliases and
    /// `paths-expected` are taken from it (the separate keys are for callers
    /// without one). `kv` is `{ node => $value | [ $values ] }` as
    /// `get_node_kv` returns them (see `parts_to_fetch`), `conflicts` `{ node =>
    /// $value }` of the key `conflicts_key` (a node's `conflicts`: its messages,
    /// absent when it published none), `online` `{ node =>
    /// bool }`, `expected_by_lun` `{ wwid => [ nodes ] }`, `expected_nodes` `[
    /// nodes ]` for allow-listed WWIDs without an entry (neither: the series'
    /// rule), `now` unix seconds, `interval` the refresh interval (default 10; a
    /// report older, or further in the future, than three intervals reads
    /// `unknown`; the node's row keeps what that report said, its conflicts
    /// too, marked by `stale`). A row: `{ wwid, alias?, 'used-by'?, size?, transport?,
    /// 'cluster-state', nodes => { node => { state, 'paths-active'?,
    /// 'paths-total'?, 'paths-expected'?, transport?, reason? } } }`. Never dies
    /// because of a KV value: a bad one makes that node's cells `unknown` with
    /// the reason (also in `nodes->{node}->{error}`).
    fn aggregate_status(options: Options) -> Result<Status, Error> {
        Ok(request(options)?.aggregate())
    }
}

/// The aggregation [`Options`] as a [`Request`].
pub(super) fn request(options: Options) -> Result<Request, Error> {
    let expected = match (options.expected_by_lun, options.expected_nodes) {
        (None, None) => ExpectedNodes::Series(Vec::new()),
        (by_lun, default) => ExpectedNodes::PerLun {
            by_lun: by_lun
                .map(|ExpectedByLun(by_lun)| by_lun)
                .unwrap_or_default(),
            default: default.unwrap_or_default().0,
        },
    };
    let mut paths_expected: BTreeMap<String, u64> = options
        .paths_expected
        .unwrap_or_default()
        .into_iter()
        .map(|(wwid, UInt(count))| (wwid, count))
        .collect();
    let (mut allow_list, mut aliases) = (options.allow_list.0, name_table(&options.aliases));
    if let Some(cfg) = options.config.filter(|cfg| !cfg.is_null()) {
        let config = Config::from_perl(&cfg)?;
        let opts = render::wwid_opts(&config);
        allow_list.extend(opts.keys().cloned());
        for (wwid, props) in &opts {
            if let Some(alias) = props.get("alias").and_then(name) {
                aliases.insert(wwid.clone(), alias);
            }
        }
        paths_expected.extend(render::paths_expected(&config));
    }
    let request = Request {
        allow_list,
        aliases,
        used_by: name_table(&options.used_by),
        kv: kv_table(options.kv),
        // a cleared key (undef, empty) is no report; a value that is no
        // string reads as an unreadable one
        conflicts: options
            .conflicts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(node, value)| match value {
                Value::Null => None,
                Value::String(text) if text.is_empty() => None,
                Value::String(text) => Some((node, text)),
                _ => Some((node, String::new())),
            })
            .collect(),
        online: online_table(&options.online),
        expected,
        paths_expected,
        now: options.now,
        interval: options.interval.unwrap_or(DEFAULT_INTERVAL).max(1),
    };
    Ok(request)
}
