use super::*;

/// The fixture's text, kept for the whole test run so parsed maps may
/// borrow from it.
fn fixture(name: &str) -> &'static str {
    let path = format!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/maps/{}"),
        name
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    Box::leak(text.into_boxed_str())
}

#[test]
fn every_capture_reads_as_a_person_would_state_it() {
    let table = fixture("health.tsv");
    let mut rows = 0;
    for line in table.lines().filter(|line| !line.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, count, health, total, active, queueing] = cols[..] else {
            panic!("bad health.tsv line: {line}");
        };
        let maps = parse_maps_json(fixture(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
        assert_eq!(maps.len().to_string(), count, "{file}: map count");
        rows += 1;
        let Some(map) = maps.first() else { continue };
        assert_eq!(map.health.as_str(), health, "{file}: health");
        assert_eq!(map.paths_total.to_string(), total, "{file}: paths-total");
        assert_eq!(map.paths_active.to_string(), active, "{file}: paths-active");
        assert_eq!(
            map.queueing.as_deref().unwrap_or("-"),
            queueing,
            "{file}: queueing"
        );
        assert_eq!(map.reason.is_some(), health != "optimal", "{file}: reason");
    }
    assert!(rows >= 20, "health.tsv lists every fixture");
}

#[test]
fn real_fields_are_normalised() {
    let maps = parse_maps_json(fixture("scsi-02-one-path-offline.json")).unwrap();
    let map = &maps[0];
    assert_eq!(map.wwid.as_deref(), Some("35000c50015ea71ac"));
    assert_eq!(map.name.as_deref(), Some("labmp0"));
    assert_eq!(map.sysfs.as_deref(), Some("dm-0"));
    assert_eq!(map.vendor.as_deref(), Some("LAB"));
    assert_eq!(map.product.as_deref(), Some("MPATH-LUN"));
    assert_eq!(map.path_faults, Some(1));
    assert_eq!(map.queueing, None, "'-' is no queueing");
    assert_eq!(map.reason.as_deref(), Some("1 of 2 paths failed"));
    let failed = &map.path_groups[1].paths[0];
    assert_eq!(failed.dev.as_deref(), Some("sdb"));
    assert_eq!(failed.dm_state.as_deref(), Some("failed"));
    assert_eq!(failed.dev_state.as_deref(), Some("offline"));
    assert_eq!(failed.check_state.as_deref(), Some("faulty"));
    assert_eq!(failed.dev_t.as_deref(), Some("8:16"));
    assert_eq!(failed.target_wwpn, None, "[undef] is cleaned");
    assert_eq!(failed.host_adapter, None);
    assert_eq!(failed.transport, None);
    assert_eq!(
        map.path_groups[1].selector.as_deref(),
        Some("service-time 0")
    );
}

#[test]
fn iscsi_paths_carry_the_target_name() {
    let maps = parse_maps_json(fixture("synthetic-iscsi-one-session-down.json")).unwrap();
    let path = &maps[0].path_groups[0].paths[0];
    assert_eq!(path.transport, Some(Transport::Iscsi));
    assert_eq!(
        path.target_iqn.as_deref(),
        Some("iqn.2026-11.lab.mpath:lun1")
    );
    assert_eq!(path.target_wwnn, None);
    assert_eq!(path.host_adapter.as_deref(), Some("10.0.2.15"));
    // the downed session's path: dev_st still 'running', checker faulty
    let down = &maps[0].path_groups[1].paths[0];
    assert!(!down.is_usable());
    assert_eq!(down.host_adapter, None);
}

#[test]
fn fibre_channel_from_a_real_wwpn_only() {
    let text = r#"{"maps":[{"uuid":"w","path_groups":[{"paths":[
        {"dev":"sda","dm_st":"active","chk_st":"ready","dev_st":"running","target_wwpn":"0x500a0980"},
        {"dev":"sdb","dm_st":"active","chk_st":"ready","dev_st":"running","target_wwpn":"[undef]"}
    ]}]}]}"#;
    let maps = parse_maps_json(text).unwrap();
    let paths = &maps[0].path_groups[0].paths;
    assert_eq!(paths[0].transport, Some(Transport::Fc));
    assert_eq!(paths[0].target_wwpn.as_deref(), Some("0x500a0980"));
    assert_eq!(paths[1].transport, None);
    assert_eq!(maps[0].health, State::Optimal);
}

#[test]
fn queueing_without_paths_is_failed_and_says_so() {
    let maps = parse_maps_json(fixture("edge-02-queue-all-failed.json")).unwrap();
    assert_eq!(maps[0].health, State::Failed);
    let reason = maps[0].reason.as_deref().unwrap();
    assert!(reason.contains("all 2 paths failed"), "{reason}");
    assert!(reason.contains("queued"), "{reason}");
    let maps = parse_maps_json(fixture("edge-03-queue-disabled.json")).unwrap();
    assert!(!maps[0].reason.as_deref().unwrap().contains("queued"));
}

#[test]
fn checker_and_kernel_state_count_too() {
    // dm still uses the path, but the checker already calls it faulty
    let text = r#"{"maps":[{"uuid":"w","path_groups":[{"paths":[
        {"dev":"sda","dm_st":"active","chk_st":"ready","dev_st":"running"},
        {"dev":"sdb","dm_st":"active","chk_st":"faulty","dev_st":"running"},
        {"dev":"sdc","dm_st":"active","chk_st":"ghost","dev_st":"running"}
    ]}]}]}"#;
    let map = &parse_maps_json(text).unwrap()[0];
    assert_eq!(
        map.paths_active, 2,
        "paths-active counts the paths carrying I/O, which the health rule judges"
    );
    assert_eq!(map.health, State::Degraded);
    assert_eq!(map.reason.as_deref(), Some("1 of 3 paths failed"));
}

#[test]
fn a_map_without_paths_is_failed() {
    let map = &parse_maps_json(r#"{"maps":[{"uuid":"w","paths":0,"path_groups":[]}]}"#).unwrap()[0];
    assert_eq!(map.health, State::Failed);
    assert_eq!(map.reason.as_deref(), Some("no paths"));
}

#[test]
fn malformed_output_is_a_clear_error_naming_the_place() {
    for (file, expect) in [
        ("malformed-unescaped-quote.json", "line 17 column"),
        ("malformed-truncated.json", "truncated"),
        ("malformed-unknown-map-fail.txt", "'fail'"),
    ] {
        let err = parse_maps_json(fixture(file)).unwrap_err().to_string();
        assert!(
            err.starts_with("could not parse multipathd maps JSON"),
            "{file}: {err}"
        );
        assert!(err.contains(expect), "{file}: {err}");
    }
    let err = parse_maps_json(fixture("malformed-unescaped-quote.json")).unwrap_err();
    assert!(
        err.to_string().contains("near '\"vend\" : \"LA\"B"),
        "{err}"
    );
    for text in ["", "   ", "not json", "{}", r#"{"maps": 3}"#, "[1,2]"] {
        let err = parse_maps_json(text).unwrap_err().to_string();
        assert!(
            err.starts_with("could not parse multipathd maps JSON"),
            "{text:?}: {err}"
        );
    }
}

#[test]
fn escaped_strings_still_parse() {
    let text = r#"{"maps":[{"uuid":"w","vend":"LA\"B","path_groups":[]}]}"#;
    assert_eq!(
        parse_maps_json(text).unwrap()[0].vendor.as_deref(),
        Some("LA\"B")
    );
}

#[test]
fn high_water_mark_keeps_the_most_paths_seen() {
    let optimal = parse_maps_json(fixture("scsi-01-optimal.json")).unwrap();
    let removed = parse_maps_json(fixture("scsi-04-one-path-removed.json")).unwrap();
    let state = update_high_water(&BTreeMap::new(), &optimal, &wwid_order(&optimal), None);
    assert_eq!(state.get("35000c50015ea71ac"), Some(&2));
    let state = update_high_water(&state, &removed, &wwid_order(&removed), None);
    assert_eq!(state.get("35000c50015ea71ac"), Some(&2), "never goes down");
    let mut previous = BTreeMap::new();
    previous.insert("gone".to_string(), 4);
    let state = update_high_water(&previous, &removed, &wwid_order(&removed), None);
    assert_eq!(state.get("gone"), Some(&4));
    assert_eq!(state.get("35000c50015ea71ac"), Some(&1));
    let keep = BTreeSet::from(["35000c50015ea71ac".to_string()]);
    let state = update_high_water(&previous, &removed, &wwid_order(&removed), Some(&keep));
    assert_eq!(state.get("gone"), None, "dropped outside the allow-list");
}

#[test]
fn removed_path_is_degraded_against_its_expectation() {
    let removed = parse_maps_json(fixture("scsi-04-one-path-removed.json")).unwrap();
    let mut high_water = BTreeMap::new();
    high_water.insert("35000c50015ea71ac".to_string(), 2);
    let mut maps = removed.clone();
    let order = wwid_order(&maps);
    apply_expected(&mut maps, &order, &BTreeMap::new(), &high_water);
    assert_eq!(maps[0].health, State::Degraded);
    assert_eq!(maps[0].paths_expected, Some(2));
    assert_eq!(maps[0].expected_from, Some(ExpectedFrom::HighWater));
    assert_eq!(
        maps[0].reason.as_deref(),
        Some("1 of 2 expected paths present")
    );
    // the config wins over the mark, also when it expects fewer
    let mut config = BTreeMap::new();
    config.insert("35000c50015ea71ac".to_string(), 1);
    let mut maps = removed.clone();
    let order = wwid_order(&maps);
    apply_expected(&mut maps, &order, &config, &high_water);
    assert_eq!(maps[0].health, State::Optimal);
    assert_eq!(maps[0].expected_from, Some(ExpectedFrom::Config));
    // a failed map stays failed
    let mut failed = parse_maps_json(fixture("scsi-06-all-paths-failed.json")).unwrap();
    config.insert("35000c50015ea71ac".to_string(), 4);
    let order = wwid_order(&failed);
    apply_expected(&mut failed, &order, &config, &high_water);
    assert_eq!(failed[0].health, State::Failed);
    assert_eq!(failed[0].paths_expected, Some(4));
}

/// Where real `/sys/block` links point (iSCSI from the lab's guests, FC
/// from a NetApp host), and what each path's protocol and transport read.
#[test]
fn a_path_protocol_is_read_from_where_its_sysfs_link_points() {
    let cases = [
        (
            "../devices/platform/host6/session1/target6:0:0/6:0:0:1/block/sda",
            Some(ScsiProtocol::Iscsi),
            Some(Transport::Iscsi),
        ),
        (
            "../devices/pci0000:00/0000:00:03.0/0000:3b:00.0/host1/rport-1:0-2/target1:0:0/1:0:0:0/block/sdb",
            Some(ScsiProtocol::Fcp),
            Some(Transport::Fc),
        ),
        (
            "../devices/pci0000:00/0000:00:01.0/0000:01:00.0/host0/port-0:0/expander-0:0/port-0:0:0/end_device-0:0:0/target0:0:0/0:0:0:0/block/sdc",
            Some(ScsiProtocol::Sas),
            Some(Transport::Sas),
        ),
        (
            "../devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host7/target7:0:0/7:0:0:0/block/sdd",
            Some(ScsiProtocol::Usb),
            None,
        ),
        (
            "../devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sde",
            Some(ScsiProtocol::Ata),
            None,
        ),
        (
            "../devices/pci0000:00/0000:00:04.0/virtio1/host2/target2:0:0/2:0:0:0/block/sdf",
            None,
            None,
        ),
        ("../devices/pci0000:00/0000:3d:00.0/nvme/nvme0/nvme0n1", None, None),
        // a directory name alone, without the number after it, is not one
        ("../devices/platform/sessions/rport-x/end_device-/block/sdg", None, None),
        ("", None, None),
    ];
    for (link, protocol, transport) in cases {
        let read = ScsiProtocol::from_sysfs_link(link);
        assert_eq!(read, protocol, "{link}");
        assert_eq!(read.and_then(ScsiProtocol::transport), transport, "{link}");
    }
}

#[test]
fn sysfs_facts_set_size_and_transports() {
    let mut maps = parse_maps_json(fixture("scsi-02-one-path-offline.json")).unwrap();
    let facts = SysfsFacts {
        sizes: BTreeMap::from([("dm-0".to_string(), 4096)]),
        transports: BTreeMap::from([
            ("sda".to_string(), Transport::Sas),
            ("sdb".to_string(), Transport::Sas),
        ]),
    };
    apply_sysfs(&mut maps, &facts);
    assert_eq!(maps[0].size, Some(4096));
    assert_eq!(maps[0].transport, Some(Transport::Sas));
    let facts = SysfsFacts {
        transports: BTreeMap::from([("sda".to_string(), Transport::Sas)]),
        ..SysfsFacts::default()
    };
    let mut maps = parse_maps_json(fixture("scsi-02-one-path-offline.json")).unwrap();
    apply_sysfs(&mut maps, &facts);
    assert_eq!(
        maps[0].transport,
        Some(Transport::Sas),
        "the one transport known"
    );
    assert_eq!(maps[0].size, None);
    let facts = SysfsFacts {
        transports: BTreeMap::from([
            ("sda".to_string(), Transport::Sas),
            ("sdb".to_string(), Transport::Iscsi),
        ]),
        ..SysfsFacts::default()
    };
    let mut maps = parse_maps_json(fixture("scsi-02-one-path-offline.json")).unwrap();
    apply_sysfs(&mut maps, &facts);
    assert_eq!(maps[0].transport, None, "paths of two transports");
}

#[test]
fn a_forged_key_is_refused() {
    // multipathd prints the product string unescaped: this one forges `uuid`
    let text = r#"{"maps":[{"uuid":"3600a","prod":"X","uuid":"3600b","path_groups":[]}]}"#;
    let err = parse_maps_json(text).unwrap_err().to_string();
    assert!(err.contains("duplicate key 'uuid'"), "{err}");
    let nested = r#"{"maps":[{"uuid":"w","path_groups":[{"paths":[{"dev":"sda","dev":"sdb"}]}]}]}"#;
    assert!(parse_maps_json(nested)
        .unwrap_err()
        .to_string()
        .contains("duplicate key 'dev'"));
}

#[test]
fn leading_zeros_are_refused() {
    for number in ["01", "-01", "007", "00.5"] {
        let text =
            format!(r#"{{"maps":[{{"uuid":"w","path_faults":{number},"path_groups":[]}}]}}"#);
        let err = parse_maps_json(&text).unwrap_err().to_string();
        assert!(err.contains("leading zero"), "{number}: {err}");
    }
    for number in ["0", "-0", "0.5", "10", "0e1"] {
        let text =
            format!(r#"{{"maps":[{{"uuid":"w","path_faults":{number},"path_groups":[]}}]}}"#);
        assert!(parse_maps_json(&text).is_ok(), "{number}");
    }
}

#[test]
fn a_target_wwpn_starting_with_a_multi_byte_character_is_no_fc_name() {
    for wwpn in ["é0", "0é1", "ü", "0xé", "€€€"] {
        let text = format!(
            r#"{{"maps":[{{"uuid":"w","path_groups":[{{"paths":[{{"dev":"sda","target_wwpn":"{wwpn}"}}]}}]}}]}}"#
        );
        let maps = parse_maps_json(&text).unwrap();
        assert_eq!(maps[0].path_groups[0].paths[0].transport, None, "{wwpn}");
    }
}

/// The node pass's reading of `text` against the full one followed by
/// [`apply_sysfs`]: the same maps less their path groups, or the same error.
fn assert_report_parse_agrees(text: &str, facts: &SysfsFacts) {
    let full = parse_maps_json(text).map(|mut maps| {
        apply_sysfs(&mut maps, facts);
        for map in &mut maps {
            map.path_groups.clear();
        }
        maps
    });
    let report = parse_maps_report(text, &facts.transports).map(|mut maps| {
        apply_sizes(&mut maps, &facts.sizes);
        maps
    });
    match (full, report) {
        (Ok(full), Ok(report)) => assert_eq!(full, report, "{text}"),
        (Err(full), Err(report)) => assert_eq!(full.to_string(), report.to_string()),
        (full, report) => panic!("{text}: full {full:?}, report {report:?}"),
    }
}

#[test]
fn the_report_reading_agrees_with_the_full_one() {
    let sas = SysfsFacts {
        sizes: BTreeMap::from([("dm-0".to_string(), 4096), ("dm-1".to_string(), 512)]),
        transports: BTreeMap::from([
            ("sda".to_string(), Transport::Sas),
            ("sdb".to_string(), Transport::Iscsi),
            ("sdc".to_string(), Transport::Sas),
        ]),
    };
    for name in fixture_names() {
        for facts in [&SysfsFacts::default(), &sas] {
            assert_report_parse_agrees(fixture(&name), facts);
        }
    }
}

/// Every capture in fixtures/maps, in name order.
fn fixture_names() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/maps");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json") || name.ends_with(".txt"))
        .collect();
    names.sort();
    assert!(names.len() > 20, "{names:?}");
    names
}

#[test]
fn the_map_by_map_reading_hands_over_the_same_maps_and_errors() {
    for name in fixture_names() {
        let text = fixture(&name);
        let mut each = Vec::new();
        let result = parse_maps_json_each(text, |map| each.push(map));
        match (parse_maps_json(text), result) {
            (Ok(maps), Ok(())) => assert_eq!(maps, each, "{name}"),
            (Err(all), Err(one_by_one)) => assert_eq!(all.to_string(), one_by_one.to_string()),
            (all, one_by_one) => panic!("{name}: all {all:?}, one by one {one_by_one:?}"),
        }
    }
    // an error after the first map: that one was handed over, the error stands
    let text = r#"{"maps": [{"name": "a", "uuid": "3600a"}, {"name": "b", "name": "c"}]}"#;
    let mut names = Vec::new();
    let err = parse_maps_json_each(text, |map| names.push(map.name.unwrap().into_owned()))
        .unwrap_err()
        .to_string();
    assert_eq!(names, ["a"]);
    assert!(err.contains("duplicate key 'name'"), "{err}");
    assert_eq!(err, parse_maps_json(text).unwrap_err().to_string());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // failures are turned into plain unit tests instead of files
        // outside the module (see the non-ASCII case in the hostile table)
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = parse_maps_json(&text);
        }

        #[test]
        fn marks_and_expectations_walked_in_wwid_order_read_as_searched(
            previous in proptest::collection::btree_map("w[0-5]", 0u64..6, 0..5),
            config in proptest::collection::btree_map("w[0-5]", 0u64..6, 0..3),
            seen in proptest::collection::vec((proptest::option::of("w[0-5]"), 0u64..6), 0..8),
            keep in proptest::option::of(proptest::collection::btree_set("w[0-5]", 0..5)),
        ) {
            let template = parse_maps_json(fixture("scsi-01-optimal.json")).unwrap().remove(0);
            let maps: Vec<Map> = seen
                .iter()
                .map(|(wwid, total)| Map {
                    wwid: wwid.clone().map(Cow::Owned),
                    paths_total: *total,
                    ..template.clone()
                })
                .collect();
            // the reference: each map searched for
            let mut marks = previous.clone();
            for map in &maps {
                if let Some(wwid) = map.wwid.as_deref() {
                    let mark = marks.entry(wwid.to_string()).or_insert(0);
                    *mark = (*mark).max(map.paths_total);
                }
            }
            if let Some(keep) = &keep {
                marks.retain(|wwid, _| keep.contains(wwid));
            }
            let expected: Vec<Option<(u64, ExpectedFrom)>> = maps
                .iter()
                .map(|map| {
                    let wwid = map.wwid.as_deref()?;
                    config
                        .get(wwid)
                        .map(|count| (*count, ExpectedFrom::Config))
                        .or(marks.get(wwid).map(|count| (*count, ExpectedFrom::HighWater)))
                })
                .collect();

            let order = wwid_order(&maps);
            let walked = update_high_water(&previous, &maps, &order, keep.as_ref());
            prop_assert_eq!(&walked, &marks);
            let mut judged = maps.clone();
            apply_expected(&mut judged, &order, &config, &walked);
            let got: Vec<Option<(u64, ExpectedFrom)>> = judged
                .iter()
                .map(|map| map.paths_expected.zip(map.expected_from))
                .collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn mutated_captures_never_panic(cut in 0usize..1915, byte in 0u8..128) {
            let mut text = fixture("scsi-02-one-path-offline.json").as_bytes().to_vec();
            let cut = cut.min(text.len() - 1);
            text[cut] = byte;
            let _ = parse_maps_json(&String::from_utf8_lossy(&text));
            let _ = parse_maps_json(&String::from_utf8_lossy(&text[..cut]));
            let facts = SysfsFacts::default();
            assert_report_parse_agrees(&String::from_utf8_lossy(&text), &facts);
            assert_report_parse_agrees(&String::from_utf8_lossy(&text[..cut]), &facts);
        }
    }
}

/// Timing aid for `bench/run` numbers (not a test of time): run with
/// `BENCH_DOCUMENT=file cargo test --release -- --ignored parse_timing --nocapture`.
#[test]
#[ignore]
fn parse_timing() {
    let Ok(path) = std::env::var("BENCH_DOCUMENT") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let _ = serde_json::from_str::<serde::de::IgnoredAny>(&text).unwrap();
    }
    eprintln!(
        "serde_json, for comparison, skipping everything: {:?}",
        start.elapsed() / 20
    );
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let _ = parse_maps_json(&text).unwrap();
    }
    eprintln!("parse + normalise: {:?}", start.elapsed() / 20);
    let facts = crate::status::node::NodeFacts::default();
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let _ = crate::status::node::node_pass(&crate::status::node::PassInput {
            maps_json: Some(&text),
            facts: crate::status::node::NodeFacts::default(),
            now: 1,
            apply_error: None,
            tools_version: None,
            last: crate::status::node::LastPass::default(),
            max_bytes: crate::status::wire::MAX_VALUE_BYTES,
            conflicts: None,
        })
        .unwrap();
    }
    eprintln!("node pass: {:?}", start.elapsed() / 20);
    let _ = facts;
}

mod reading {
    use super::*;

    fn vendor(text: &str) -> Result<Option<String>, String> {
        let doc = format!(r#"{{"maps":[{{"uuid":"w","vend":{text}}}]}}"#);
        parse_maps_json(&doc)
            .map(|maps| maps[0].vendor.as_deref().map(str::to_owned))
            .map_err(|err| err.to_string())
    }

    #[test]
    fn strict_json_strings() {
        assert_eq!(
            vendor(r#""a\"b\\c\/d\n""#).unwrap().as_deref(),
            Some("a\"b\\c/d\n")
        );
        assert_eq!(
            vendor(r#""\u00fc\ud83d\ude00""#).unwrap().as_deref(),
            Some("ü😀")
        );
        assert_eq!(vendor("\"grüße\"").unwrap().as_deref(), Some("grüße"));
        assert_eq!(vendor("null").unwrap(), None);
        assert_eq!(
            vendor("12").unwrap().as_deref(),
            Some("12"),
            "a number as text"
        );
        for (bad, expect) in [
            (r#""\ud83d""#, "lone surrogate"),
            (r#""\x""#, "invalid escape"),
            (r#""\u12""#, "invalid \\u escape"),
            ("\"tab\there\"", "control character"),
            ("[1]", "expected a string or a number, found '['"),
            ("tru", "expected a value"),
            ("-", "expected a digit"),
            ("1.", "expected a digit"),
        ] {
            let err = vendor(bad).unwrap_err();
            assert!(err.contains(expect), "{bad}: {err}");
            assert!(err.contains("at line 1 column"), "{bad}: {err}");
        }
    }

    #[test]
    fn structure_errors_say_where() {
        for (text, expect) in [
            (
                "{\"maps\":[}",
                "expected an object, found '}' at line 1 column 10",
            ),
            (
                "{\"maps\":[] x",
                "expected ',' or '}', found 'x' at line 1 column 12",
            ),
            (
                "{\"maps\":[]} {}",
                "expected the end of the output, found '{'",
            ),
            ("{\"maps\":{}}", "expected a list, found '{'"),
            (
                "{\"maps\":[{\"path_groups\":3}]}",
                "expected a list, found '3'",
            ),
            ("{\"maps\":[{\"uuid\" \"w\"}]}", "expected ':'"),
            ("{maps:[]}", "expected a key in double quotes"),
            (
                "{\"maps\":[{\"uuid\":\"w\"",
                "output ends early (truncated?)",
            ),
            (
                "{\"maps\":nul",
                "output ends early (truncated?): output ends inside 'null'",
            ),
        ] {
            let err = parse_maps_json(text).unwrap_err().to_string();
            assert!(err.contains(expect), "{text}: {err}");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        let err = parse_maps_json(&deep).unwrap_err().to_string();
        assert!(err.contains("nested too deeply"), "{err}");
    }

    #[test]
    fn unknown_fields_of_any_shape_are_skipped() {
        let text = r#"{"major_version":0,"x":{"a":[1,-2.5e3,true,false,null,{"b":"c"}]},
            "maps":[{"uuid":"w","future":[{"k":"v"}],"path_groups":null,"paths":"[undef]"}]}"#;
        let maps = parse_maps_json(text).unwrap();
        assert_eq!(maps[0].wwid.as_deref(), Some("w"));
        assert_eq!(maps[0].paths_total, 0);
    }

    #[test]
    fn integers_also_as_strings() {
        let text = r#"{"maps":[{"uuid":"w","path_faults":"7","path_groups":[
            {"pri":"50","group":2.0,"paths":[{"dev":"sda","pri":"[undef]","dm_st":"active"}]}]}]}"#;
        let map = &parse_maps_json(text).unwrap()[0];
        assert_eq!(map.path_faults, Some(7));
        assert_eq!(map.path_groups[0].priority, 50);
        assert_eq!(map.path_groups[0].group, 2);
        assert_eq!(map.path_groups[0].paths[0].priority, None);
    }
}
