use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::aggregate::{ExpectedNodes, KvValue, ListsByLun, NodeValue, Request};
use super::series::{self, MapInput};
use super::wire::{self, Broadcast, MAX_VALUE_BYTES};
use super::*;

fn fixture(name: &str) -> String {
    let path = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/{}"), name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// A deterministic pseudo-random hex string (no rand crate in the tree).
fn hex(seed: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            char::from_digit((*seed % 16) as u32, 16).unwrap()
        })
        .collect()
}

fn report(state: State, active: u64, total: u64) -> LunReport {
    LunReport {
        state,
        paths_active: active,
        paths_total: total,
        paths_expected: Some(4),
        transport: Some(Transport::Iscsi),
        size: Some(1 << 40),
        queueing: false,
    }
}

/// LIO-style WWIDs: `36001405` and 24 random hex digits (the serial is a
/// UUID), each LUN of its own size.
fn lio_luns(count: usize, seed: u64) -> BTreeMap<String, LunReport> {
    let mut seed = seed;
    (0..count)
        .map(|index| {
            let mut lun = report(State::Optimal, 4, 4);
            lun.size = Some((index as u64 + 1) * 10_737_418_240);
            (format!("36001405{}", hex(&mut seed, 24)), lun)
        })
        .collect()
}

fn broadcast(luns: BTreeMap<String, LunReport>) -> Broadcast {
    Broadcast {
        time: 1_764_043_200,
        apply_error: None,
        tools_version: None,
        luns,
    }
}

/// Per-WWID reports from loose maps, encoded (what `encode_broadcast` does).
fn encode_loose(
    maps: Vec<Value>,
    now: u64,
    apply_error: Option<&str>,
    max_bytes: usize,
) -> Result<Vec<String>, anyhow::Error> {
    let maps: Vec<MapInput> = maps
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()?;
    let luns = reports(
        maps.iter()
            .filter_map(|map| Some((map.wwid.as_deref()?, map.report()))),
    );
    let mut sent = broadcast(luns);
    sent.time = now;
    sent.apply_error = apply_error.map(str::to_string);
    Ok(wire::encode(&sent, max_bytes)?.values)
}

fn map_of(luns: &[(String, LunReport)]) -> BTreeMap<String, LunReport> {
    luns.iter().cloned().collect()
}

fn decode_all(values: &[String]) -> aggregate::NodeSummary {
    aggregate::decode_node(&NodeValue::Raw(values.to_vec())).unwrap()
}

#[test]
fn a_thousand_luns_with_four_paths_fit_one_value() {
    for (shape, luns) in [
        ("lio", lio_luns(1000, 7)),
        (
            "tgt",
            (0..1000)
                .map(|i| {
                    (
                        format!("360000000000000000e0000000001{i:04x}"),
                        report(State::Optimal, 4, 4),
                    )
                })
                .collect(),
        ),
    ] {
        let sent = broadcast(luns);
        let values = wire::encode(&sent, MAX_VALUE_BYTES).unwrap().values;
        assert_eq!(values.len(), 1, "{shape}: one value");
        assert!(
            values[0].len() < 32 * 1024,
            "{shape}: {} bytes",
            values[0].len()
        );
        let back = decode_all(&values);
        assert_eq!(map_of(&back.luns), sent.luns, "{shape}: round trip");
        assert_eq!(back.time, Some(sent.time));
        assert_eq!(back.incomplete, None);
    }
}

#[test]
fn more_luns_split_into_complete_parts() {
    let sent = broadcast(lio_luns(2500, 3));
    let values = wire::encode(&sent, MAX_VALUE_BYTES).unwrap().values;
    assert!(values.len() >= 2, "{} values", values.len());
    for value in &values {
        assert!(value.len() <= MAX_VALUE_BYTES);
    }
    let back = decode_all(&values);
    assert_eq!(map_of(&back.luns), sent.luns);
    assert_eq!(back.incomplete, None);
    // a part that did not arrive is said, not hidden
    let back = decode_all(&values[..1]);
    assert!(back.luns.len() < sent.luns.len());
    let why = back.incomplete.unwrap();
    assert!(why.contains("not received"), "{why}");
}

#[test]
fn past_the_part_limit_the_healthiest_are_left_out_and_counted() {
    let mut luns = lio_luns(300, 11);
    let failed: Vec<String> = luns.keys().step_by(50).cloned().collect();
    for wwid in &failed {
        luns.get_mut(wwid).unwrap().state = State::Failed;
    }
    let sent = broadcast(luns);
    // a tiny value size forces the limit of MAX_PARTS values
    let values = wire::encode(&sent, 400).unwrap().values;
    assert_eq!(values.len(), wire::MAX_PARTS, "as many as may be");
    let back = decode_all(&values);
    assert!(back.luns.len() < 300);
    for wwid in &failed {
        assert_eq!(map_of(&back.luns)[wwid].state, State::Failed, "worst kept");
    }
    let first = wire::decode(&values[0]).unwrap();
    assert_eq!(first.dropped as usize, 300 - back.luns.len());
    assert!(back.incomplete.unwrap().contains("truncated"));
}

#[test]
fn fields_round_trip() {
    let mut luns = BTreeMap::new();
    let odd = LunReport {
        state: State::Degraded,
        paths_active: 1,
        paths_total: 2,
        paths_expected: None,
        transport: None,
        size: None,
        queueing: true,
    };
    luns.insert("SATA_ST4000NM0035_ZC1A2B3C".to_string(), odd.clone());
    luns.insert("eui.0025385b71b0a7e2".to_string(), odd.clone());
    luns.insert(
        "3600a098038303053453f463045727a6f".to_string(),
        report(State::Failed, 0, 2),
    );
    luns.insert(
        "3600a098038303053453f463045727a70".to_string(),
        report(State::Degraded, 1, 2),
    );
    luns.insert(
        "35000c50015ea71ac".to_string(),
        report(State::Optimal, 2, 4),
    );
    let mut sent = broadcast(luns);
    sent.apply_error = Some("reload failed:\n50% \"done\" – ünïcode".into());
    let values = wire::encode(&sent, MAX_VALUE_BYTES).unwrap().values;
    assert!(values[0].is_ascii());
    let back = wire::decode(&values[0]).unwrap();
    assert_eq!(map_of(&back.luns), sent.luns);
    assert_eq!(back.apply_error, sent.apply_error);
    assert_eq!(back.lines_hint(), values[0].lines().count());
}

impl wire::Part {
    fn lines_hint(&self) -> usize {
        2 + usize::from(self.apply_error.is_some()) + self.luns.len()
    }
}

#[test]
fn hostile_values_are_refused_with_a_reason() {
    let good = wire::encode(&broadcast(lio_luns(3, 1)), MAX_VALUE_BYTES)
        .unwrap()
        .values
        .remove(0);
    let huge = format!("pmp1 1 1/1 0\n{}", "0x".repeat(20_000));
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "no 'pmp' header"),
        ("garbage".into(), "no 'pmp' header"),
        (r#"{"w":{"state":"optimal"}}"#.into(), "series JSON"),
        ("pmp3 1 1/1 0\n".into(), "unsupported summary version '3'"),
        ("pmp2 1 1/1 0\n".into(), "header of pmp2 needs 5 fields"),
        (
            "pmp2 1 1/1 0 0.11.1 x\n".into(),
            "header of pmp2 needs 5 fields",
        ),
        ("pmp2 1 1/1 0 <b>\n".into(), "bad multipath-tools version"),
        // peer WWIDs are held to our own WWID rule
        (
            "pmp1 1 1/1 0\n0x%0A%3Cscript%3E O2n\nend 1\n".into(),
            "bad WWID '\\n<script>'",
        ),
        (
            "pmp1 1 1/1 0\n0xb%00c O2n\nend 1\n".into(),
            "bad WWID 'b\\u{0}c'",
        ),
        (
            format!("pmp1 1 1/1 0\n0x{} O2n\nend 1\n", "a".repeat(300)),
            "bad WWID",
        ),
        (format!("pmp1 1 1/{} 0\n", 1_000_000), "bad part"),
        ("pmp1 x 1/1 0\n".into(), "bad report time"),
        ("pmp1 1 2/1 0\n".into(), "bad part"),
        ("pmp1 1 1/99 0\n".into(), "bad part"),
        ("pmp1 1 1/1\n".into(), "header of pmp1 needs 4 fields"),
        (
            "pmp1 1 1/1 0\n0xw O2n\n0xw O2n\n".into(),
            "line 3: WWIDs out of order",
        ),
        ("pmp1 1 1/1 0\n0xw O3/2n\n".into(), "line 2: 3 of 2 paths"),
        ("pmp1 1 1/1 0\n0xw O99999n\n".into(), "out of range"),
        ("pmp1 1 1/1 0\n0xw O2z\n".into(), "bad transport"),
        ("pmp1 1 1/1 0\n9xw O2n\n".into(), "shares 9 characters"),
        ("pmp1 1 1/1 0\n0hA O2n\n".into(), "bad length"),
        ("pmp1 1 1/1 0\n0xw O2n =\n".into(), "'=' size"),
        ("pmp1 1 1/1 0\n0x%zz O2n\n".into(), "bad escape"),
        ("pmp1 1 1/1 0\n0xw O2n\n!late\n".into(), "apply error"),
        (huge, "exceeds the 32 KiB"),
        (good.replace("end 3\n", ""), "ends early (no end line)"),
        (
            good.replace("end 3", "end 9"),
            "end line counts 9 LUNs, value has 3",
        ),
        (good.clone() + "0xz O2n\n", "data after the end line"),
        (good.replace('O', "\u{1F4A5}"), "non-ASCII byte at offset"),
        ("pmp1 1 1/1 0\n0xw ?2n\nend 1\n".into(), "bad state"),
        // found by mutated_golden_values_never_panic: once a char-boundary panic
        (
            "pmp1 1 1/1 0\nV\u{80}71 O2n\nend 1\n".into(),
            "non-ASCII byte at offset 14",
        ),
    ];
    for (value, expect) in cases {
        let err = wire::decode(&value).unwrap_err().to_string();
        assert!(err.contains(expect), "{value:.40?}: {err}");
        assert!(
            err.chars().count() < 160,
            "the message quotes little: {err}"
        );
    }
}

#[test]
fn unknown_state_letters_are_clamped() {
    let part = wire::decode("pmp1 5 1/1 0\n0xw Z2n\nend 1\n").unwrap();
    assert_eq!(map_of(&part.luns)["w"].state, State::Unknown);
}

#[test]
fn summary_keeps_the_series_shape() {
    let maps: Vec<MapInput> =
        crate::maps::parse_maps_json(&fixture("maps/scsi-02-one-path-offline.json"))
            .unwrap()
            .iter()
            .map(|map| serde_json::from_value(serde_json::to_value(map).unwrap()).unwrap())
            .collect();
    let summary = series::summarize_maps(maps);
    let entry = serde_json::to_value(&summary["35000c50015ea71ac"]).unwrap();
    assert_eq!(
        entry,
        json!({"state": "degraded", "paths-active": 1, "paths-total": 2})
    );
}

#[test]
fn encode_from_maps_carries_expectation_and_queueing() {
    let maps = vec![
        json!({"wwid": "3600a", "health": "degraded", "paths-active": 1, "paths-total": "1",
               "paths-expected": 2, "transport": "fc", "size": 1024}),
        json!({"wwid": "3600b", "health": "failed", "paths-active": 0, "paths-total": 2,
               "queueing": "on"}),
        json!({"name": "no-wwid", "health": "optimal"}),
    ];
    let values = encode_loose(maps, 100, Some("boom"), MAX_VALUE_BYTES).unwrap();
    let part = wire::decode(&values[0]).unwrap();
    assert_eq!(part.time, 100);
    assert_eq!(part.apply_error.as_deref(), Some("boom"));
    assert_eq!(part.luns.len(), 2);
    let luns = map_of(&part.luns);
    let a = &luns["3600a"];
    assert_eq!(
        (a.state, a.paths_active, a.paths_total, a.paths_expected),
        (State::Degraded, 1, 1, Some(2))
    );
    assert_eq!((a.transport, a.size), (Some(Transport::Fc), Some(1024)));
    assert!(luns["3600b"].queueing);
    assert!(encode_loose(vec![json!({"wwid": [1]})], 1, None, MAX_VALUE_BYTES).is_err());
}

// --- aggregation ---------------------------------------------------------

fn value_for(luns: &[(&str, State, u64, u64)], time: u64) -> Value {
    let luns = luns
        .iter()
        .map(|&(wwid, state, active, total)| {
            let mut lun = report(state, active, total);
            lun.paths_expected = Some(total);
            (wwid.to_string(), lun)
        })
        .collect();
    let mut sent = broadcast(luns);
    sent.time = time;
    json!(wire::encode(&sent, MAX_VALUE_BYTES).unwrap().values[0])
}

fn request(kv: Value, online: &[&str], expected: Value, now: u64) -> Request {
    Request {
        allow_list: vec!["wA".into(), "wB".into()],
        aliases: BTreeMap::from([("wA".to_string(), "lun-a".to_string())]),
        used_by: BTreeMap::new(),
        kv: serde_json::from_value::<BTreeMap<String, KvValue>>(kv)
            .unwrap()
            .into_iter()
            .filter_map(|(node, KvValue(value))| Some((node, value?)))
            .collect(),
        conflicts: BTreeMap::new(),
        online: online.iter().map(|node| (node.to_string(), true)).collect(),
        expected: ExpectedNodes::PerLun {
            by_lun: ListsByLun::from_lists(
                serde_json::from_value::<BTreeMap<String, Vec<String>>>(expected).unwrap(),
            ),
            default: Vec::new(),
        },
        paths_expected: BTreeMap::new(),
        now: Some(now),
        interval: 10,
    }
}

fn run(request: &Request) -> Value {
    serde_json::to_value(request.aggregate()).unwrap()
}

#[test]
fn v2_matrix_with_stale_hostile_and_unexpected_nodes() {
    let now = 1000;
    let request = request(
        json!({
            "n1": value_for(&[("wA", State::Optimal, 2, 2), ("wB", State::Degraded, 1, 2)], now - 5),
            "n2": value_for(&[("wA", State::Optimal, 2, 2)], now - 31),
            "n3": "{\"wA\": {\"state\": \"optimal\"}}",
            "n4": value_for(&[("wA", State::Optimal, 2, 2)], now),
            "n5": 42,
        }),
        &["n1", "n2", "n3", "n4", "n5", "n6"],
        json!({"wA": ["n1", "n2", "n3", "n4", "n6", "n7"], "wB": ["n1"]}),
        now,
    );
    let status = run(&request);
    let rows: BTreeMap<String, Value> = status["luns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["wwid"].as_str().unwrap().to_string(), row.clone()))
        .collect();
    let a = &rows["wA"]["nodes"];
    assert_eq!(rows["wA"]["alias"], "lun-a");
    assert_eq!(a["n1"]["state"], "optimal");
    assert_eq!(a["n2"]["state"], "unknown", "stale (31 s > 3 x 10 s)");
    assert!(a["n2"]["reason"].as_str().unwrap().contains("31 s old"));
    assert_eq!(a["n3"]["state"], "unknown", "series JSON has no time");
    assert_eq!(a["n4"]["state"], "optimal");
    assert!(
        a.get("n5").is_none(),
        "a non-string value, but n5 is not expected for wA"
    );
    assert_eq!(a["n6"]["state"], "missing", "expected, online, silent");
    assert_eq!(
        a["n7"]["state"], "unknown",
        "expected, not in the membership"
    );
    assert_eq!(rows["wA"]["cluster-state"], "missing");
    let b = &rows["wB"]["nodes"];
    assert_eq!(b["n1"]["state"], "degraded");
    assert_eq!(b["n1"]["reason"], "1 of 2 paths failed");
    assert!(
        b.get("n4").is_none(),
        "n4 is not expected to carry wB: no missing cell"
    );
    assert_eq!(rows["wB"]["cluster-state"], "degraded");

    let nodes = &status["nodes"];
    assert_eq!(nodes["n1"]["online"], true);
    assert_eq!(nodes["n1"]["report-time"], now - 5);
    assert_eq!(nodes["n2"]["stale"], true);
    assert!(nodes["n5"]["error"].as_str().unwrap().contains("number"));
    assert_eq!(nodes["n7"]["online"], false);
}

#[test]
fn below_expectation_reads_degraded_with_paths_expected() {
    let now = 50;
    let mut request = request(
        json!({"n1": value_for(&[("wA", State::Optimal, 1, 1)], now)}),
        &["n1"],
        json!({"wA": ["n1"]}),
        now,
    );
    request.paths_expected.insert("wA".into(), 2);
    let status = run(&request);
    let cell = &status["luns"][0]["nodes"]["n1"];
    assert_eq!(cell["state"], "degraded");
    assert_eq!(cell["paths-expected"], 2);
    assert_eq!(cell["reason"], "1 of 2 expected paths present");
}

#[test]
fn the_apply_error_reaches_the_node_view() {
    let mut sent = broadcast(BTreeMap::new());
    sent.time = 10;
    sent.apply_error = Some("multipath-tools not installed".into());
    let value = wire::encode(&sent, MAX_VALUE_BYTES)
        .unwrap()
        .values
        .remove(0);
    let status = run(&request(
        json!({"n1": value}),
        &["n1"],
        json!({"wA": ["n1"]}),
        10,
    ));
    assert_eq!(
        status["nodes"]["n1"]["apply-error"],
        "multipath-tools not installed"
    );
    assert_eq!(status["luns"][0]["nodes"]["n1"]["state"], "missing");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // failures are turned into plain unit tests instead of files
        // outside the module (see the non-ASCII case in the hostile table)
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn decoding_arbitrary_text_never_panics(text in "(pmp1 [0-9]{1,3} [0-9]/[0-9] [0-9]\n)?[ -~\n]{0,300}") {
            let _ = wire::decode(&text);
            let _ = aggregate::decode_node(&NodeValue::Raw(vec![text.clone(), text.clone()]));
        }

        #[test]
        fn one_report_per_wwid_the_worse_kept_the_first_of_equals(
            sent in proptest::collection::vec(("[ab]{0,2}", 0usize..4, 0u64..9), 0..12),
        ) {
            let states = [State::Optimal, State::Degraded, State::Missing, State::Failed];
            let sent: Vec<(String, LunReport)> = sent
                .into_iter()
                .map(|(wwid, state, total)| (wwid, report(states[state], total, total)))
                .collect();
            let mut kept: BTreeMap<String, LunReport> = BTreeMap::new();
            for (wwid, report) in sent.iter().filter(|(wwid, _)| !wwid.is_empty()) {
                match kept.get(wwid) {
                    Some(known) if known.state.rank() >= report.state.rank() => {}
                    _ => {
                        kept.insert(wwid.clone(), report.clone());
                    }
                }
            }
            let got = reports(sent.iter().map(|(wwid, report)| (wwid.as_str(), report.clone())));
            prop_assert_eq!(got, kept);
        }

        #[test]
        fn mutated_golden_values_never_panic(at in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
            let mut value = fixture("status/pmp1-value.txt").into_bytes();
            let at = at % value.len();
            value[at] = byte;
            let value = String::from_utf8_lossy(&value).into_owned();
            let _ = wire::decode(&value);
            let cut = (0..=cut.min(value.len())).rev().find(|&n| value.is_char_boundary(n)).unwrap_or(0);
            let _ = wire::decode(&value[..cut]);
        }

        #[test]
        fn a_decoder_reads_each_value_as_a_fresh_decoder_does(
            base in proptest::collection::btree_map(
                "3[ab]{0,3}[0-9a-f]{0,2}",
                (0u64..3, proptest::option::of(0u64..3)),
                0..30,
            ),
            nodes in proptest::collection::vec(
                (any::<u64>(), 0u64..4, proptest::option::of((0usize..2000, any::<u8>()))),
                1..6,
            ),
            max_bytes in prop_oneof![Just(MAX_VALUE_BYTES), 120usize..400],
        ) {
            let states = [State::Optimal, State::Degraded, State::Failed];
            let mut decoder = wire::Decoder::default();
            for (mask, shift, damage) in nodes {
                // each node sees some of the LUNs, some sizes and states its own
                let luns: BTreeMap<String, LunReport> = base
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| (mask >> (index % 64)) & 1 == 1 || mask % 5 == 0)
                    .map(|(index, (wwid, (state, size)))| {
                        let changed = (index as u64 + shift) % 7 == 0;
                        let mut lun = report(states[(*state as usize + usize::from(changed)) % 3], 2, 4);
                        lun.size = size.map(|size| size + u64::from(changed));
                        (wwid.clone(), lun)
                    })
                    .collect();
                let sent = Broadcast { luns, ..broadcast(BTreeMap::new()) };
                let Ok(encoded) = wire::encode(&sent, max_bytes) else { continue };
                for mut value in encoded.values {
                    if let Some((at, byte)) = damage {
                        let mut bytes = value.into_bytes();
                        let at = at % bytes.len();
                        bytes[at] = byte;
                        value = String::from_utf8_lossy(&bytes).into_owned();
                    }
                    // the decoder keeps borrowing the values it read
                    let value: &'static str = Box::leak(value.into_boxed_str());
                    let fresh = wire::decode(value).map_err(|err| err.to_string());
                    let reused = decoder.decode(value, &mut str::to_owned).map_err(|err| err.to_string());
                    prop_assert_eq!(reused, fresh);
                }
            }
        }

        #[test]
        fn arbitrary_reports_round_trip(
            luns in proptest::collection::btree_map(
                "[0-9a-f]{1,40}|[ -~]{1,20}",
                (0u64..5, 0u64..8, 0u64..8, proptest::option::of(0u64..9), proptest::option::of(any::<u64>()), any::<bool>()),
                0..40,
            ),
            error in proptest::option::of(".{0,50}"),
        ) {
            let states = [State::Optimal, State::Degraded, State::Failed, State::Unknown, State::Optimal];
            let luns: BTreeMap<String, LunReport> = luns
                .into_iter()
                .map(|(wwid, (state, a, t, e, size, queueing))| {
                    (wwid, LunReport {
                        state: states[state as usize],
                        paths_active: a.min(t),
                        paths_total: t,
                        paths_expected: e,
                        transport: None,
                        size,
                        queueing,
                    })
                })
                .collect();
            let sent = Broadcast { time: 9, apply_error: error.filter(|e| !e.is_empty()), tools_version: None, luns };
            let values = wire::encode(&sent, 2000).unwrap().values;
            let back = decode_all(&values);
            // what the format cannot carry is left out, never refused by peers
            let carried: BTreeMap<String, LunReport> = sent
                .luns
                .iter()
                .filter(|(wwid, report)| wire::carries(wwid, report))
                .map(|(wwid, report)| (wwid.clone(), report.clone()))
                .collect();
            prop_assert_eq!(back.luns.len() + wire::decode(&values[0]).unwrap().dropped as usize, sent.luns.len());
            prop_assert_eq!(map_of(&back.luns), carried);
            prop_assert_eq!(back.apply_error.map(|e| e.trim_end_matches("...").to_string()).is_some(), sent.apply_error.is_some());
        }
    }
}

/// A line equal to one of the value before reads as that one did only
/// after the same WWID and size: `=` is the size before, and a first line
/// has no WWID before it to share characters with.
#[test]
fn a_decoder_reuses_a_line_only_after_the_same_wwid_and_size() {
    let value = |sizes: [u64; 2]| {
        let luns = ["36001405aa", "36001405ab"]
            .into_iter()
            .zip(sizes)
            .map(|(wwid, size)| {
                let mut lun = report(State::Optimal, 4, 4);
                lun.size = Some(size);
                (wwid.to_string(), lun)
            })
            .collect();
        wire::encode(&broadcast(luns), MAX_VALUE_BYTES)
            .unwrap()
            .values[0]
            .clone()
    };
    let (first, second) = (value([5, 5]), value([6, 6]));
    // the second LUN lines are the same text, `=` after different sizes
    assert_eq!(first.lines().nth(2), second.lines().nth(2));
    assert!(first.lines().nth(2).unwrap().ends_with(" ="));
    // a first line that would share characters with a WWID before it
    let lines: Vec<&str> = first.lines().collect();
    let headless = format!("{}\n{}\nend 1\n", lines[0], lines[2]);

    let mut decoder = wire::Decoder::default();
    for value in [&first, &second, &first, &headless] {
        let fresh = wire::decode(value).map_err(|err| err.to_string());
        let reused = decoder
            .decode(value, &mut str::to_owned)
            .map_err(|err| err.to_string());
        assert_eq!(reused, fresh);
    }
    let sizes = |value| {
        let part = wire::Decoder::default().decode(value, &mut str::to_owned);
        let part = part.unwrap();
        part.luns
            .iter()
            .map(|(_, lun)| lun.size)
            .collect::<Vec<_>>()
    };
    assert_eq!(sizes(&second), [Some(6), Some(6)]);
    assert!(wire::decode(&headless).is_err());
}

/// The wire format is shared by nodes running different versions: the
/// golden values must stay byte for byte what this version writes (pmp2)
/// and reads (pmp2 and the previous pmp1).
#[test]
fn golden_values_are_stable() {
    let input: Value = serde_json::from_str(&fixture("status/pmp1-maps.json")).unwrap();
    let maps = input["maps"].as_array().unwrap().clone();
    let loose: Vec<MapInput> = maps
        .iter()
        .map(|map| serde_json::from_value(map.clone()).unwrap())
        .collect();
    let mut sent = broadcast(reports(
        loose
            .iter()
            .filter_map(|map| Some((map.wwid.as_deref()?, map.report()))),
    ));
    sent.time = input["now"].as_u64().unwrap();
    sent.apply_error = input["apply-error"].as_str().map(str::to_string);
    sent.tools_version = Some("0.11.1".into());
    let golden = fixture("status/pmp2-value.txt");
    assert_eq!(
        wire::encode(&sent, MAX_VALUE_BYTES).unwrap().values,
        vec![golden.clone()]
    );
    for (file, tools) in [("pmp1-value.txt", None), ("pmp2-value.txt", Some("0.11.1"))] {
        let part = wire::decode(&fixture(&format!("status/{file}"))).unwrap();
        assert_eq!(part.time, 1_764_043_200);
        assert_eq!(part.tools_version.as_deref(), tools);
        assert_eq!(part.apply_error.as_deref(), input["apply-error"].as_str());
        let luns = map_of(&part.luns);
        assert_eq!(luns.len(), maps.len(), "{file}");
        for map in &maps {
            let lun = &luns[map["wwid"].as_str().unwrap()];
            assert_eq!(lun.state.as_str(), map["health"]);
            assert_eq!(lun.paths_active, map["paths-active"]);
            assert_eq!(lun.paths_total, map["paths-total"]);
            assert_eq!(
                lun.paths_expected.map(Value::from),
                map.get("paths-expected").cloned()
            );
            assert_eq!(lun.size.map(Value::from), map.get("size").cloned());
            assert_eq!(lun.queueing, map.get("queueing").is_some());
        }
    }
}

#[test]
fn what_peers_would_refuse_is_not_published_but_counted() {
    let mut luns = lio_luns(2, 5);
    luns.insert("a".repeat(300), report(State::Optimal, 4, 4));
    luns.insert("w\n<script>".into(), report(State::Optimal, 4, 4));
    luns.insert("3600many".into(), report(State::Optimal, 5000, 5000));
    let values = wire::encode(&broadcast(luns), MAX_VALUE_BYTES)
        .unwrap()
        .values;
    let part = wire::decode(&values[0]).expect("peers accept what we publish");
    assert_eq!(part.luns.len(), 2);
    assert_eq!(part.dropped, 3);
    let why = decode_all(&values).incomplete.unwrap();
    assert!(why.contains("3 of the node's LUNs left out"), "{why}");
}

#[test]
fn the_content_key_ignores_only_the_report_time() {
    let mut sent = broadcast(lio_luns(3, 2));
    let first = wire::encode(&sent, MAX_VALUE_BYTES).unwrap();
    sent.time += 10;
    let later = wire::encode(&sent, MAX_VALUE_BYTES).unwrap();
    assert_ne!(first.values, later.values);
    assert_eq!(first.content_key, later.content_key);
    sent.tools_version = Some("0.11.1".into());
    assert_ne!(
        wire::encode(&sent, MAX_VALUE_BYTES).unwrap().content_key,
        first.content_key
    );
}

#[test]
fn a_report_from_the_future_is_not_fresh() {
    let now = 1000;
    let request = request(
        json!({
            "n1": value_for(&[("wA", State::Optimal, 2, 2)], now + 31),
            "n2": value_for(&[("wA", State::Optimal, 2, 2)], u64::MAX / 2),
            "n3": value_for(&[("wA", State::Optimal, 2, 2)], now + 5),
        }),
        &["n1", "n2", "n3"],
        json!({"wA": ["n1", "n2", "n3"]}),
        now,
    );
    let status = run(&request);
    let cells = &status["luns"][0]["nodes"];
    for node in ["n1", "n2"] {
        assert_eq!(cells[node]["state"], "unknown", "{node}");
        assert!(cells[node]["reason"]
            .as_str()
            .unwrap()
            .contains("in the future"));
        assert_eq!(status["nodes"][node]["stale"], true);
    }
    assert_eq!(cells["n3"]["state"], "optimal", "a little skew is fine");
}

/// A stale node's row keeps what its last report said, its conflicts as its
/// apply error, marked `stale` as a whole: an admin sees what the node last
/// found wrong and that it is old, not an empty list that reads "no
/// conflicts". Its cells, which claim a current state, read unknown.
#[test]
fn a_stale_node_keeps_its_conflicts_marked_stale_like_its_apply_error() {
    let now = 1000;
    let with_error = |time: u64| {
        let mut sent = broadcast(BTreeMap::from([(
            "wA".to_string(),
            report(State::Optimal, 4, 4),
        )]));
        sent.time = time;
        sent.apply_error = Some("multipathd reconfigure failed".into());
        json!(wire::encode(&sent, MAX_VALUE_BYTES).unwrap().values[0])
    };
    let conflict = "/etc/multipath.conf line 9: alias 'db' differs from the cluster's 'vmdata'";
    let mut request = request(
        json!({ "fresh": with_error(now - 5), "stale": with_error(now - 31) }),
        &["fresh", "stale"],
        json!({"wA": ["fresh", "stale"]}),
        now,
    );
    request.conflicts = ["fresh", "stale"]
        .into_iter()
        .map(|node| (node.to_string(), conflicts::encode(&[conflict.to_string()])))
        .collect();
    let status = run(&request);
    for (node, stale, cell) in [("fresh", false, "optimal"), ("stale", true, "unknown")] {
        let row = &status["nodes"][node];
        assert_eq!(row["stale"], stale, "{node}");
        assert_eq!(row["conflicts"], json!([conflict]), "{node}");
        assert_eq!(
            row["apply-error"], "multipathd reconfigure failed",
            "{node}"
        );
        assert_eq!(row["report-time"], if stale { now - 31 } else { now - 5 });
        assert_eq!(status["luns"][0]["nodes"][node]["state"], cell, "{node}");
    }
    assert!(status["nodes"]["stale"]["error"]
        .as_str()
        .unwrap()
        .contains("31 s old"));
}

/// The node's view of a map and the matrix cell of its report say the same,
/// in the same words: both come from the one health rule.
#[test]
fn node_reason_and_cell_reason_are_one_text_for_every_fixture() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/maps");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json") && !name.starts_with("malformed"))
        .collect();
    files.sort();
    let mut compared = 0;
    for file in &files {
        let text = fixture(&format!("maps/{file}"));
        for mark in [None, Some(4)] {
            let mut facts = node::NodeFacts::default();
            let (maps, _) = node::node_maps(Some(&text), &facts).unwrap();
            if let Some(mark) = mark {
                for map in &maps {
                    facts
                        .high_water
                        .insert(map.wwid.clone().unwrap().into_owned(), mark);
                }
            }
            let (maps, _) = node::node_maps(Some(&text), &facts).unwrap();
            let pass = node::node_pass(&node::PassInput {
                maps_json: Some(&text),
                facts,
                now: 100,
                apply_error: None,
                tools_version: None,
                last: node::LastPass::default(),
                max_bytes: MAX_VALUE_BYTES,
                conflicts: None,
            })
            .unwrap();
            let kv = pass
                .publish
                .first()
                .map_or(json!({}), |(_, value)| json!({ "n1": value }));
            let wwids: Vec<String> = maps
                .iter()
                .filter_map(|m| m.wwid.clone().map(|w| w.into_owned()))
                .collect();
            let mut request = request(kv, &["n1"], json!({}), 100);
            request.allow_list = wwids;
            request.expected = ExpectedNodes::Series(vec!["n1".into()]);
            let status = run(&request);
            for map in &maps {
                let wwid = map.wwid.as_deref().unwrap();
                let row = status["luns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|row| row["wwid"] == wwid)
                    .unwrap();
                let cell = &row["nodes"]["n1"];
                assert_eq!(cell["state"], map.health.as_str(), "{file} {mark:?}");
                assert_eq!(
                    cell["reason"].as_str(),
                    map.reason.as_deref(),
                    "{file} {mark:?}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 36, "{compared} maps compared");
}

#[test]
fn lists_by_lun_keep_each_list_and_share_only_equal_neighbours() {
    let list =
        |names: &str| -> Vec<String> { names.split_whitespace().map(String::from).collect() };
    // (wwid, list) in reading order; the distinct lists kept
    let cases: &[(&[(&str, &str)], usize)] = &[
        (&[], 0),
        (&[("w1", "")], 1),
        (&[("w1", "a b"), ("w2", "a b"), ("w3", "a b")], 1),
        // a prefix, a longer list, one differing in the middle, an empty one
        (
            &[
                ("w1", "a b c"),
                ("w2", "a b"),
                ("w3", "a b c"),
                ("w4", "a x c"),
                ("w5", ""),
            ],
            5,
        ),
        // only the last distinct list is compared
        (&[("w1", "a"), ("w2", "b"), ("w3", "a")], 3),
        // the order of names counts for sharing, not for the sets
        (&[("w1", "a b"), ("w2", "b a")], 2),
        // read out of order; a WWID given twice keeps its last list
        (&[("w3", "c"), ("w1", "a"), ("w3", "d"), ("w2", "a")], 4),
    ];
    for (input, distinct) in cases {
        let mut by_lun = ListsByLun::default();
        for (wwid, names) in *input {
            for (index, name) in list(names).into_iter().enumerate() {
                // both ways a name arrives
                if index % 2 == 0 {
                    by_lun.push_str(&name);
                } else {
                    by_lun.push_name(name);
                }
            }
            by_lun.end_list(wwid.to_string());
        }
        by_lun.finish();
        let expected: BTreeMap<&str, Vec<String>> = input
            .iter()
            .map(|(wwid, names)| (*wwid, list(names)))
            .collect();
        let (read, kept) = by_lun.read();
        let read: BTreeMap<&str, Vec<String>> = read
            .into_iter()
            .map(|(wwid, names)| (wwid, names.to_vec()))
            .collect();
        assert_eq!(read, expected, "{input:?}");
        assert_eq!(
            read.len(),
            by_lun.read().0.len(),
            "{input:?}: one entry per WWID"
        );
        assert_eq!(kept, *distinct, "{input:?}: distinct lists");
    }
}
