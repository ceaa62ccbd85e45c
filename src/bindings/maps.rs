//! Exports of `PVE::RS::Multipath::Maps`: `multipathd` output to maps with
//! health, for the node's own view. The map structure is documented on
//! [`crate::maps::Map`] (keys as serialized: `wwid`, `name`, `sysfs`,
//! `dm-state`, `paths-total`, `paths-active`, `paths-expected`?,
//! `expected-from`?, `health`, `reason`?, ..., `path-groups`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Error;
use serde::ser::{Error as _, Serialize, Serializer};
use serde::Deserialize;
use serde_json::Value;

use crate::exports;
use crate::maps::{self, HighWater, SysfsFacts};
use crate::perl::lenient::UInt;
use crate::render;
use crate::section_config::Config;
use crate::status::node::{self, NodeFacts};
use crate::status::{State, Transport};

/// The raw text; parsed while it is serialized to Perl, so the maps can
/// borrow their strings from it instead of copying each one. A parse error
/// reaches Perl as the same `die` as any other export error.
struct MapsText(String);

impl Serialize for MapsText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        maps::parse_maps_json(&self.0)
            .map_err(|err| S::Error::custom(format!("{err:#}")))?
            .serialize(serializer)
    }
}

/// `sysfs => { sizes => { 'dm-0' => bytes }, transports => { sdb => 'iscsi' } }`;
/// a transport this version does not know is left out.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysfsOption {
    #[serde(default)]
    sizes: BTreeMap<String, UInt>,
    #[serde(default)]
    transports: BTreeMap<String, String>,
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
                .transports
                .into_iter()
                .filter_map(|(dev, transport)| Some((dev, Transport::parse(&transport)?)))
                .collect(),
        }
    }
}

/// The node facts every node-side export takes, see [`NodeFacts`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsOptions {
    #[serde(default)]
    pub maps_json: Option<String>,
    #[serde(default)]
    pub sysfs: Option<SysfsOption>,
    /// The parsed cluster config (`parse_section_config`'s result).
    #[serde(default)]
    pub config: Option<Value>,
    /// Read back from a file the node wrote: anything but a hash of
    /// counts (a damaged file) is taken as no mark.
    #[serde(default)]
    pub high_water: Option<Value>,
}

impl FactsOptions {
    /// The multipathd text and the typed facts.
    pub fn split(self) -> Result<(Option<String>, NodeFacts), Error> {
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
            high_water: high_water(self.high_water),
        };
        Ok((self.maps_json, facts))
    }
}

/// The kept high-water mark: a file the node wrote, so entries that are no
/// count (a damaged file) are dropped rather than refused.
fn high_water(kept: Option<Value>) -> HighWater {
    let Some(Value::Object(kept)) = kept else {
        return HighWater::new();
    };
    kept.into_iter()
        .filter_map(|(wwid, count)| Some((wwid, serde_json::from_value::<UInt>(count).ok()?.0)))
        .collect()
}

#[derive(serde::Serialize)]
struct NodeMaps<'a> {
    maps: Vec<maps::Map<'a>>,
    #[serde(rename = "high-water")]
    high_water: HighWater,
}

/// The maps with sysfs facts and expectations applied, built while they
/// are serialized so that they borrow from the text.
struct NodeMapsRequest(Option<String>, NodeFacts);

impl Serialize for NodeMapsRequest {
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
    fn parse_maps_json(text: String) -> Result<MapsText, Error> {
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
    /// one call. `sysfs` is `{ sizes => { 'dm-0' => bytes }, transports => {
    /// sdb => 'iscsi' } }`, `config` the parsed cluster config, `high_water`
    /// the kept mark. Each map carries `size`, `transport`, `paths-expected`
    /// and `expected-from` (`config` or `high-water`) where known, and its
    /// health judged against them.
    fn node_maps(options: FactsOptions) -> Result<NodeMapsRequest, Error> {
        let (text, facts) = options.split()?;
        Ok(NodeMapsRequest(text, facts))
    }
}
