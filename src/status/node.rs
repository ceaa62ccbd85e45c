//! The node pass: from `multipathd show maps json` to what the node
//! publishes, in one call.
//!
//! ```text
//! {"maps": [{"name": "mpatha", "uuid": "3600...", "paths": 2, ...}]}   multipathd
//! + sysfs facts, the config's expectations, the high-water mark         Perl
//! -> publish multipath = "pmp2 1764043200 1/1 0 0.11.1\n...", clear multipath-2
//!    new high-water mark, content key, changed or not
//! ```
//!
//! pvestatd runs this every 10 s on every node. The maps stay typed from
//! the parse to the encoded value (nothing goes back to Perl but strings),
//! and Perl moves only strings: it never reads the wire format.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Error;

use sha1::Digest;

use super::conflicts;
use super::wire::{self, Broadcast, Encoded};
use super::{reports, LunReport};
use crate::maps::{self, HighWater, Map, SysfsFacts};

/// What only the node's Perl side can gather.
#[derive(Default)]
pub struct NodeFacts {
    pub sysfs: SysfsFacts,
    /// `paths-expected` of the config, per WWID.
    pub paths_expected: BTreeMap<String, u64>,
    /// The allow-list: the high-water mark forgets other WWIDs.
    pub allow_list: Option<BTreeSet<String>>,
    pub high_water: HighWater,
}

/// The maps as the node's API shows them, judged against their
/// expectations, and the high-water mark they leave.
/// `maps_json` is `multipathd show maps json`, `None` when multipathd is
/// not running.
pub fn node_maps<'a>(
    maps_json: Option<&'a str>,
    facts: &NodeFacts,
) -> Result<(Vec<Map<'a>>, HighWater), Error> {
    let mut maps = match maps_json {
        Some(text) => maps::parse_maps_json(text)?,
        None => Vec::new(),
    };
    maps::apply_sysfs(&mut maps, &facts.sysfs);
    let (_, high_water) = expect(&mut maps, facts);
    Ok((maps, high_water))
}

/// The maps as [`node_maps`] judges them, without their path groups: all
/// a node's report needs; with their [`maps::wwid_order`], which the report
/// is made in.
fn report_maps<'a>(
    maps_json: Option<&'a str>,
    facts: &NodeFacts,
) -> Result<(Vec<Map<'a>>, Vec<usize>, HighWater), Error> {
    let mut maps = match maps_json {
        Some(text) => maps::parse_maps_report(text, &facts.sysfs.transports)?,
        None => Vec::new(),
    };
    maps::apply_sizes(&mut maps, &facts.sysfs.sizes);
    let (order, high_water) = expect(&mut maps, facts);
    Ok((maps, order, high_water))
}

/// Each map judged against its expectation; the maps' WWID order (in which
/// the marks and expectations are read) and the new high-water mark.
fn expect(maps: &mut [Map], facts: &NodeFacts) -> (Vec<usize>, HighWater) {
    let order = maps::wwid_order(maps);
    let high_water =
        maps::update_high_water(&facts.high_water, maps, &order, facts.allow_list.as_ref());
    maps::apply_expected(maps, &order, &facts.paths_expected, &high_water);
    (order, high_water)
}

/// What the last pass published, as the node keeps it.
#[derive(Default)]
pub struct LastPass<'a> {
    pub content_key: Option<&'a str>,
    pub parts: usize,
}

/// What Perl publishes and keeps after a pass.
#[derive(Debug, PartialEq, serde::Serialize)]
pub struct Pass {
    /// `[key, value]` to broadcast, in order.
    pub publish: Vec<(String, String)>,
    /// Keys to broadcast as empty (parts no longer used).
    pub clear: Vec<String>,
    /// The content key of this pass, to keep for the next.
    #[serde(rename = "content-key")]
    pub content_key: String,
    /// The content differs from the last pass's.
    pub changed: bool,
    #[serde(rename = "high-water")]
    pub high_water: HighWater,
    #[serde(rename = "high-water-changed")]
    pub high_water_changed: bool,
    /// How many parts are published.
    pub parts: usize,
}

/// Everything of one pass but the I/O.
pub struct PassInput<'a> {
    pub maps_json: Option<&'a str>,
    pub facts: NodeFacts,
    pub now: u64,
    pub apply_error: Option<&'a str>,
    pub tools_version: Option<&'a str>,
    pub last: LastPass<'a>,
    pub max_bytes: usize,
    /// The node's coexistence conflicts; `None`: not known (not published).
    pub conflicts: Option<&'a [String]>,
}

/// One pass. Nothing to say (no maps, no error) publishes nothing: the
/// node's keys are cleared.
pub fn node_pass(input: &PassInput) -> Result<Pass, Error> {
    let (maps, order, high_water) = report_maps(input.maps_json, &input.facts)?;
    let apply_error = input.apply_error.filter(|error| !error.is_empty());
    let Encoded {
        values,
        content_key,
    } = if maps.is_empty() && apply_error.is_none() {
        Encoded {
            values: Vec::new(),
            content_key: String::from("-"),
        }
    } else {
        let luns = reports(
            order
                .iter()
                .map(|&index| &maps[index])
                .filter_map(|map| Some((map.wwid.as_deref()?, LunReport::from_map(map)))),
        );
        wire::encode(
            &Broadcast {
                time: input.now,
                apply_error: apply_error.map(str::to_owned),
                tools_version: input.tools_version.map(str::to_owned),
                luns,
            },
            input.max_bytes,
        )?
    };
    let parts = values.len();
    let mut publish: Vec<(String, String)> = values
        .into_iter()
        .enumerate()
        .map(|(index, value)| (wire::kv_key(index + 1), value))
        .collect();
    let mut clear: Vec<String> = (parts + 1..=input.last.parts.clamp(1, wire::MAX_PARTS))
        .map(wire::kv_key)
        .collect();
    // the conflicts travel with the health values (none to say with none)
    let conflicts = input
        .conflicts
        .filter(|list| parts > 0 || !list.is_empty())
        .map(conflicts::encode);
    let content_key = match conflicts {
        Some(value) => {
            let key = crate::text::hex(&sha1::Sha1::digest(format!("{content_key}\n{value}")));
            publish.push((conflicts::KV_KEY.to_string(), value));
            key
        }
        None => {
            clear.push(conflicts::KV_KEY.to_string());
            content_key
        }
    };
    Ok(Pass {
        publish,
        clear,
        changed: input.last.content_key != Some(content_key.as_str()),
        content_key,
        high_water_changed: high_water != input.facts.high_water,
        high_water,
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/maps/{}"),
            name
        );
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    fn pass<'a>(json: Option<&'a str>, last: LastPass<'a>) -> Pass {
        pass_with_conflicts(json, last, None)
    }

    fn pass_with_conflicts<'a>(
        json: Option<&'a str>,
        last: LastPass<'a>,
        conflicts: Option<&'a [String]>,
    ) -> Pass {
        node_pass(&PassInput {
            maps_json: json,
            facts: NodeFacts::default(),
            now: 1_764_043_200,
            apply_error: None,
            tools_version: Some("0.11.1"),
            last,
            max_bytes: wire::MAX_VALUE_BYTES,
            conflicts,
        })
        .unwrap()
    }

    #[test]
    fn a_pass_publishes_one_value_and_says_whether_it_changed() {
        let json = fixture("scsi-02-one-path-offline.json");
        let first = pass(Some(&json), LastPass::default());
        assert_eq!(first.publish.len(), 1);
        assert_eq!(first.publish[0].0, "multipath");
        assert!(first.publish[0]
            .1
            .starts_with("pmp2 1764043200 1/1 0 0.11.1\n"));
        assert_eq!(
            first.clear,
            [conflicts::KV_KEY],
            "no conflicts known: none published"
        );
        assert!(first.changed);
        assert!(first.high_water_changed);
        assert_eq!(first.high_water.get("35000c50015ea71ac"), Some(&2));

        let again = pass(
            Some(&json),
            LastPass {
                content_key: Some(&first.content_key),
                parts: 1,
            },
        );
        assert!(!again.changed, "same maps, same content key");

        let restored = fixture("scsi-07-restored.json");
        let next = pass(
            Some(&restored),
            LastPass {
                content_key: Some(&first.content_key),
                parts: 1,
            },
        );
        assert!(next.changed);
    }

    #[test]
    fn nothing_to_say_clears_every_key_used_before() {
        let none = pass(
            None,
            LastPass {
                content_key: Some("abc"),
                parts: 3,
            },
        );
        assert!(none.publish.is_empty());
        assert_eq!(
            none.clear,
            [
                "multipath",
                "multipath-2",
                "multipath-3",
                "multipath-conflicts"
            ]
        );
        assert!(none.changed);
        let claimed = pass(
            None,
            LastPass {
                content_key: None,
                parts: 1_000_000,
            },
        );
        assert_eq!(claimed.clear.len(), wire::MAX_PARTS + 1);
    }

    #[test]
    fn the_published_value_decodes_to_the_node_view() {
        let json = fixture("synthetic-iscsi-one-session-down.json");
        let (maps, _) = node_maps(Some(&json), &NodeFacts::default()).unwrap();
        let pass = pass(Some(&json), LastPass::default());
        let part = wire::decode(&pass.publish[0].1).unwrap();
        assert_eq!(part.tools_version.as_deref(), Some("0.11.1"));
        let (wwid, report) = &part.luns[0];
        assert_eq!(Some(wwid.as_str()), maps[0].wwid.as_deref());
        assert_eq!(report, &LunReport::from_map(&maps[0]));
    }

    #[test]
    fn conflicts_travel_with_the_health_values_and_change_the_content_key() {
        let json = fixture("scsi-02-one-path-offline.json");
        let with = |conflicts: Option<&[String]>, json: Option<&str>| {
            pass_with_conflicts(json, LastPass::default(), conflicts)
        };
        let found = vec!["/etc/multipath.conf line 3: blacklist wwid '.*' hides it".to_string()];
        let published = with(Some(&found), Some(&json));
        let (key, value) = published.publish.last().unwrap();
        assert_eq!(key, conflicts::KV_KEY);
        assert_eq!(conflicts::decode(value).unwrap().messages, found);
        assert!(!published.clear.contains(&conflicts::KV_KEY.to_string()));

        let none: Vec<String> = Vec::new();
        let empty = with(Some(&none), Some(&json));
        assert_eq!(empty.publish.last().unwrap().1, "pmc1 0 0\n");
        assert_ne!(empty.content_key, published.content_key);
        let unknown = with(None, Some(&json));
        assert_eq!(unknown.publish.len(), 1, "not known: not published");
        assert!(unknown.clear.contains(&conflicts::KV_KEY.to_string()));
        assert_eq!(
            unknown.content_key,
            pass(Some(&json), LastPass::default()).content_key
        );

        // conflicts alone are something to say; no conflicts and no maps are not
        let alone = with(Some(&found), None);
        assert_eq!(alone.publish.len(), 1);
        assert_eq!(alone.publish[0].0, conflicts::KV_KEY);
        assert!(alone.clear.contains(&"multipath".to_string()));
        assert!(with(Some(&none), None).publish.is_empty());
    }
}
