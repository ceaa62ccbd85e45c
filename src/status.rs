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
//! [`node`] is the node's pass from multipathd's output to the values it
//! publishes; [`health`] the one rule both sides judge a map by; [`series`]
//! what is kept only for the reference series' callers.

pub mod aggregate;
pub mod conflicts;
pub mod health;
pub mod node;
pub mod series;
pub mod wire;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::maps::Map;
use health::Counts;

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
    /// Anything else is clamped to unknown (the series' hashes).
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

    /// A LUN's cluster state: the worst of its cells' states that is
    /// known; unknown when none is.
    pub fn roll_up(states: impl IntoIterator<Item = State>) -> State {
        states
            .into_iter()
            .filter(|state| *state != State::Unknown)
            .max_by_key(|state| state.rank())
            .unwrap_or(State::Unknown)
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

impl LunReport {
    /// A node's report of one of its maps.
    pub fn from_map(map: &Map) -> LunReport {
        LunReport {
            state: map.health,
            paths_active: map.paths_active.min(map.paths_total),
            paths_total: map.paths_total,
            paths_expected: map.paths_expected,
            transport: map.transport,
            size: map.size,
            queueing: map.is_queueing(),
        }
    }

    /// What the health rule looks at, with the config's expectation (if
    /// any) before the node's own.
    pub fn counts(&self, config_expected: Option<u64>) -> Counts {
        Counts {
            active: self.paths_active,
            total: self.paths_total,
            expected: config_expected.or(self.paths_expected),
            queueing: self.queueing,
        }
    }
}

/// One report per WWID: maps without a WWID are left out; two maps with
/// one WWID cannot both exist, if they do the worse one is kept (of equally
/// bad ones the first). Reports in WWID order are sorted for free.
pub fn reports<'m>(
    maps: impl Iterator<Item = (&'m str, LunReport)>,
) -> BTreeMap<String, LunReport> {
    let mut luns: Vec<(&str, LunReport)> = maps.filter(|(wwid, _)| !wwid.is_empty()).collect();
    luns.sort_by(|a, b| a.0.cmp(b.0));
    luns.dedup_by(|later, kept| {
        if later.0 != kept.0 {
            return false;
        }
        if later.1.state.rank() > kept.1.state.rank() {
            std::mem::swap(later, kept);
        }
        true
    });
    luns.into_iter()
        .map(|(wwid, report)| (wwid.to_owned(), report))
        .collect()
}

#[cfg(test)]
mod tests;
