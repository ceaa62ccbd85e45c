//! The per-node broadcast summary and the cluster health matrix.
//!
//! Each node condenses its maps into a [`LunReport`] per WWID and publishes
//! them, with its report time and last config-apply error, as the compact
//! value of [`wire`] under the cluster KV key `multipath`:
//!
//! ```text
//! pmp1 1764043200 1/1 0
//! 0hDW0K1QZ3qUBqjQQNY7V6rU O4i G000000
//! Vj71 D2/2/4i =
//! end 2
//! ```
//!
//! [`aggregate`] folds every node's value (untrusted: anything a peer sent)
//! into the per-WWID by per-node matrix of `/cluster/multipath/status`.
//! The series' JSON summary shape ([`summarize_maps`]) is kept for its API.

pub mod aggregate;
pub mod wire;

use std::collections::BTreeMap;

use anyhow::{format_err, Error};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::perl::lenient;

/// A cell of the matrix: a map's health on one node, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Optimal,
    Degraded,
    Missing,
    Failed,
    Unknown,
}

impl State {
    /// Anything else a peer sends is clamped to unknown.
    pub fn parse(text: &str) -> State {
        match text {
            "optimal" => State::Optimal,
            "degraded" => State::Degraded,
            "missing" => State::Missing,
            "failed" => State::Failed,
            _ => State::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Optimal => "optimal",
            State::Degraded => "degraded",
            State::Missing => "missing",
            State::Failed => "failed",
            State::Unknown => "unknown",
        }
    }

    /// Severity for the roll-up; unknown never drives it.
    pub fn rank(self) -> i8 {
        match self {
            State::Unknown => -1,
            State::Optimal => 0,
            State::Degraded => 1,
            State::Missing => 2,
            State::Failed => 3,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Iscsi,
    Fc,
    Sas,
}

impl Transport {
    pub fn parse(text: &str) -> Option<Transport> {
        match text {
            "iscsi" => Some(Transport::Iscsi),
            "fc" => Some(Transport::Fc),
            "sas" => Some(Transport::Sas),
            _ => None,
        }
    }
}

/// One LUN as one node reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LunReport {
    pub state: State,
    #[serde(rename = "paths-active")]
    pub paths_active: u64,
    #[serde(rename = "paths-total")]
    pub paths_total: u64,
    #[serde(rename = "paths-expected", skip_serializing_if = "Option::is_none")]
    pub paths_expected: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub queueing: bool,
}

/// A map as Perl hands it over (from `parse_maps_json` plus what `get_maps`
/// adds); only the fields the summary needs, numbers may be strings.
#[derive(Deserialize)]
pub struct MapInput {
    #[serde(default)]
    pub wwid: Option<String>,
    #[serde(default)]
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

fn map_inputs(maps: Vec<Value>) -> Result<Vec<MapInput>, Error> {
    maps.into_iter()
        .enumerate()
        .map(|(index, map)| {
            serde_json::from_value(map).map_err(|err| format_err!("maps[{index}]: {err}"))
        })
        .collect()
}

/// The series' per-WWID summary: `{ wwid => { state, paths-active,
/// paths-total, transport?, size? } }`; maps without a WWID are skipped.
pub fn summarize_maps(maps: Vec<Value>) -> Result<BTreeMap<String, SeriesEntry>, Error> {
    Ok(map_inputs(maps)?
        .into_iter()
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
        .collect())
}

impl MapInput {
    fn report(&self) -> LunReport {
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

/// The node's broadcast value(s) for its maps, see [`wire`].
pub fn encode_broadcast(
    maps: Vec<Value>,
    now: u64,
    apply_error: Option<&str>,
    max_bytes: usize,
) -> Result<Vec<String>, Error> {
    let mut luns: BTreeMap<String, LunReport> = BTreeMap::new();
    for map in map_inputs(maps)? {
        let Some(wwid) = map.wwid.as_deref().filter(|wwid| !wwid.is_empty()) else {
            continue;
        };
        let report = map.report();
        // two maps with one WWID cannot both exist; keep the worse if so
        match luns.get(wwid) {
            Some(known) if known.state.rank() >= report.state.rank() => {}
            _ => {
                luns.insert(wwid.to_owned(), report);
            }
        }
    }
    let broadcast = wire::Broadcast {
        time: now,
        apply_error: apply_error.map(str::to_owned),
        luns,
    };
    wire::encode(&broadcast, max_bytes)
}

#[cfg(test)]
mod tests;
