//! Exports of `PVE::RS::Multipath::Maps`: `multipathd` output to maps with
//! health, for the node's own view. The map structure is documented on
//! [`crate::maps::Map`] (keys as serialized: `wwid`, `name`, `sysfs`,
//! `dm-state`, `paths-total`, `paths-active`, `paths-expected`?,
//! `expected-from`?, `health`, `reason`?, ..., `path-groups`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::Error;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Error as _, Serialize, SerializeSeq, Serializer};
use serde::Deserialize;
use serde_json::Value;

use crate::exports;
use crate::maps::{self, HighWater, SysfsFacts};
use crate::perl::lenient::{LooseUInt, UInt};
use crate::perl::Text;
use crate::render;
use crate::section_config::Config;
use crate::status::node::{self, NodeFacts};
use crate::status::State;

/// The raw text (the caller's string, lent for the call); parsed while it
/// is serialized to Perl, map by map, so the maps can borrow their strings
/// from it instead of copying each one. A parse error reaches Perl as the same
/// `die` as any other export error.
struct MapsText<'a>(Text<'a>);

impl Serialize for MapsText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // each map goes to Perl as soon as it is read: one map's model is
        // still in the cache when it is converted
        let mut list = serializer.serialize_seq(None)?;
        let mut failed = None;
        maps::parse_maps_json_each(&self.0, |map| {
            if failed.is_none() {
                failed = list.serialize_element(&map).err();
            }
        })
        .map_err(|err| S::Error::custom(format!("{err:#}")))?;
        match failed {
            Some(err) => Err(err),
            None => list.end(),
        }
    }
}

/// `sysfs => { sizes => { 'dm-0' => bytes }, links => { sdb =>
/// '../devices/platform/host3/session1/...' } }`: where each block device's
/// `/sys/block` link points; the transport is read from it here (see
/// [`maps::ScsiProtocol`]).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysfsOption {
    #[serde(default)]
    sizes: BTreeMap<String, UInt>,
    #[serde(default)]
    links: BTreeMap<String, String>,
}

impl SysfsOption {
    fn facts(self) -> SysfsFacts {
        SysfsFacts {
            sizes: self
                .sizes
                .into_iter()
                .map(|(name, UInt(size))| (name, size))
                .collect(),
            transports: self
                .links
                .into_iter()
                .filter_map(|(dev, link)| {
                    let transport = maps::ScsiProtocol::from_sysfs_link(&link)?.transport()?;
                    Some((dev, transport))
                })
                .collect(),
        }
    }
}

/// The node facts every node-side export takes, see [`NodeFacts`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsOptions<'a> {
    #[serde(default, borrow)]
    pub maps_json: Option<Text<'a>>,
    #[serde(default)]
    pub sysfs: Option<SysfsOption>,
    /// The parsed cluster config (`parse_section_config`'s result).
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default)]
    pub high_water: KeptHighWater,
}

impl<'a> FactsOptions<'a> {
    /// The multipathd text and the typed facts.
    pub fn split(self) -> Result<(Option<Text<'a>>, NodeFacts), Error> {
        let (paths_expected, allow_list) = match &self.config {
            Some(cfg) if !cfg.is_null() => {
                let config = Config::from_perl(cfg)?;
                let allow: BTreeSet<String> = render::wwid_opts(&config).into_keys().collect();
                (render::paths_expected(&config), Some(allow))
            }
            _ => (BTreeMap::new(), None),
        };
        let facts = NodeFacts {
            sysfs: self.sysfs.unwrap_or_default().facts(),
            paths_expected,
            allow_list,
            high_water: self.high_water.0,
        };
        Ok((self.maps_json, facts))
    }
}

/// The kept high-water mark, read back from a file the node wrote: so
/// anything but a hash of counts (a damaged file) is no mark, and entries
/// that are no count (as [`UInt`] reads them) are dropped rather than
/// refused. Read as it comes, without a `Value` of it first; what is
/// dropped is still read (its magic run, its size counted) like any other
/// argument.
#[derive(Default)]
pub struct KeptHighWater(HighWater);

impl<'de> Deserialize<'de> for KeptHighWater {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MarkVisitor;

        impl<'de> Visitor<'de> for MarkVisitor {
            type Value = KeptHighWater;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hash of counts")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeptHighWater, A::Error> {
                let mut mark = HighWater::new();
                while let Some(wwid) = map.next_key::<String>()? {
                    if let LooseUInt(Some(count)) = map.next_value()? {
                        mark.insert(wwid, count);
                    }
                }
                Ok(KeptHighWater(mark))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeptHighWater, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeptHighWater::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<KeptHighWater, E> {
                Ok(KeptHighWater::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<KeptHighWater, E> {
                Ok(KeptHighWater::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<KeptHighWater, E> {
                Ok(KeptHighWater::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<KeptHighWater, E> {
                Ok(KeptHighWater::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<KeptHighWater, E> {
                Ok(KeptHighWater::default())
            }
            fn visit_unit<E>(self) -> Result<KeptHighWater, E> {
                Ok(KeptHighWater::default())
            }
        }

        deserializer.deserialize_any(MarkVisitor)
    }
}

#[derive(serde::Serialize)]
struct NodeMaps<'a> {
    maps: Vec<maps::Map<'a>>,
    #[serde(rename = "high-water")]
    high_water: HighWater,
}

/// The maps with sysfs facts and expectations applied, built while they
/// are serialized so that they borrow from the text.
struct NodeMapsRequest<'a>(Option<Text<'a>>, NodeFacts);

impl Serialize for NodeMapsRequest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (maps, high_water) = node::node_maps(self.0.as_deref(), &self.1)
            .map_err(|err| S::Error::custom(format!("{err:#}")))?;
        NodeMaps { maps, high_water }.serialize(serializer)
    }
}

exports! {
    pub const EXPORTS;

    /// `parse_maps_json($text) -> [ $map, ... ]`: `multipathd show maps json`
    /// (or `show map NAME json`) as maps with health, without expectations.
    fn parse_maps_json(text: Text) -> Result<MapsText, Error> {
        Ok(MapsText(text))
    }

    /// `health_states() -> { HEALTH_OPTIMAL => 'optimal', ... }` for the Perl
    /// constants.
    fn health_states() -> Result<BTreeMap<&'static str, &'static str>, Error> {
        Ok([State::Optimal, State::Degraded, State::Failed]
            .into_iter()
            .map(|state| match state {
                State::Optimal => ("HEALTH_OPTIMAL", state.as_str()),
                State::Degraded => ("HEALTH_DEGRADED", state.as_str()),
                _ => ("HEALTH_FAILED", state.as_str()),
            })
            .collect())
    }

    /// `node_maps({ maps_json, sysfs?, config?, high_water? }) -> { maps =>
    /// [ $map, ... ], 'high-water' => { wwid => n } }`: the node's API view in
    /// one call. `sysfs` is `{ sizes => { 'dm-0' => bytes }, links => { sdb =>
    /// $link } }` (where `/sys/block/sdb` points), `config` the parsed cluster
    /// config, `high_water`
    /// the kept mark. Each map carries `size`, `transport`, `paths-expected`
    /// and `expected-from` (`config` or `high-water`) where known, and its
    /// health judged against them.
    fn node_maps(options: FactsOptions) -> Result<NodeMapsRequest, Error> {
        let (text, facts) = options.split()?;
        Ok(NodeMapsRequest(text, facts))
    }
}
