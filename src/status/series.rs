//! What is kept only for the reference series' callers: its JSON broadcast
//! summary and the decoded hashes its aggregation takes.
//!
//! ```text
//! { "3600140500a1b2c3d4e5f6a7b8c9d0e1f": { "state": "optimal", "paths-active": 2, "paths-total": 2, "transport": "iscsi" } }
//! ```
//!
//! Our own nodes publish [`super::wire`] values, built from typed maps in
//! one pass ([`super::node`]); these shapes come from Perl as loose data
//! (numbers may be strings), so they are read leniently, field by field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{LunReport, State, Transport};
use crate::perl::lenient;

/// A map as the series' callers hand it over (from `parse_maps_json` plus
/// what `get_maps` adds); only the fields a summary needs.
#[derive(Deserialize)]
pub struct MapInput {
    #[serde(default)]
    pub wwid: Option<String>,
    #[serde(default, alias = "state")]
    pub health: Option<String>,
    #[serde(
        rename = "paths-active",
        default,
        deserialize_with = "lenient::opt_uint"
    )]
    pub paths_active: Option<u64>,
    #[serde(
        rename = "paths-total",
        default,
        deserialize_with = "lenient::opt_uint"
    )]
    pub paths_total: Option<u64>,
    #[serde(
        rename = "paths-expected",
        default,
        deserialize_with = "lenient::opt_uint"
    )]
    pub paths_expected: Option<u64>,
    #[serde(default)]
    pub transport: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_uint")]
    pub size: Option<u64>,
    #[serde(default)]
    pub queueing: Option<String>,
    #[serde(default)]
    pub features: Option<String>,
}

impl MapInput {
    /// The report this map makes; its stated health is taken as it is.
    pub fn report(&self) -> LunReport {
        let total = self.paths_total.unwrap_or(0);
        LunReport {
            state: self.health.as_deref().map_or(State::Unknown, State::parse),
            paths_active: self.paths_active.unwrap_or(0).min(total),
            paths_total: total,
            paths_expected: self.paths_expected,
            transport: self.transport.as_deref().and_then(Transport::parse),
            size: self.size,
            queueing: self.queueing.as_deref() == Some("on")
                || self
                    .features
                    .as_deref()
                    .is_some_and(|features| features.contains("queue_if_no_path")),
        }
    }
}

/// The series' summary entry (`summarize_maps_for_broadcast`).
#[derive(Serialize)]
pub struct SeriesEntry {
    pub state: Option<String>,
    #[serde(rename = "paths-active")]
    pub paths_active: u64,
    #[serde(rename = "paths-total")]
    pub paths_total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The series' per-WWID summary: `{ wwid => { state, paths-active,
/// paths-total, transport?, size? } }`; maps without a WWID are skipped.
pub fn summarize_maps(maps: Vec<MapInput>) -> BTreeMap<String, SeriesEntry> {
    maps.into_iter()
        .filter_map(|map| {
            let wwid = map.wwid?;
            Some((
                wwid,
                SeriesEntry {
                    state: map.health,
                    paths_active: map.paths_active.unwrap_or(0),
                    paths_total: map.paths_total.unwrap_or(0),
                    transport: map.transport,
                    size: map.size,
                },
            ))
        })
        .collect()
}

/// A node's value as the series' aggregation takes it: its summary hash,
/// decoded by the caller.
pub type SeriesSummary = BTreeMap<String, MapInput>;
