//! Exports of `PVE::RS::Multipath::Maps`: `multipathd` output to maps with
//! health, and the expected-paths bookkeeping.
//!
//! Signatures as Perl sees them (all pure, no I/O):
//!
//! - `parse_maps_json($text) -> [ $map, ... ]`
//!   `$text` is the raw output of `multipathd show maps json` (or
//!   `show map NAME json`, whose single `"map"` object gives a one-element
//!   list). Dies with `could not parse multipathd maps JSON: ... at line L
//!   column C ...` on malformed or truncated output. Each map:
//!   `{ wwid, name, sysfs, 'dm-state', 'paths-total', 'paths-active', health,
//!   reason?, queueing?, features?, 'path-faults'?, vendor?, product?,
//!   revision?, 'write-prot'?, 'path-groups' => [ { group, 'dm-state',
//!   priority, selector?, paths => [ { dev, 'dev-t'?, 'dm-state',
//!   'dev-state', 'check-state', checker?, priority?, 'target-wwpn'?,
//!   'target-wwnn'?, 'target-iqn'?, 'host-wwnn'?, 'host-wwpn'?,
//!   'host-adapter'?, 'lun-hex'?, marginal?, transport? } ] } ] }`
//!   (`marginal => 1` only on a marginal path).
//!   `health` is `optimal`, `degraded` or `failed`; `reason` says why when it
//!   is not optimal. `[undef]` fields are left out. Path `transport` is `fc`
//!   for a real target WWPN and `iscsi` for an iSCSI target name in
//!   `target_wwnn`; the map-level `transport` and `size` are left to the Perl
//!   side (sysfs), as in the series.
//! - `health_states() -> { HEALTH_OPTIMAL => 'optimal', HEALTH_DEGRADED =>
//!   'degraded', HEALTH_FAILED => 'failed' }` for the Perl constants.
//! - `update_high_water($previous, $maps, $keep?) -> { wwid => n }`
//!   folds the previous high-water mark state (`{ wwid => n }`, undef for
//!   none) and the current maps into the new one: per WWID the most paths
//!   (`paths-total`) ever seen. With `$keep` (array ref of WWIDs, e.g. the
//!   allow-list) WWIDs outside it are dropped from the state.
//! - `apply_expected($maps, $config_expected?, $high_water?) -> $maps`
//!   sets `paths-expected` (and `expected-from` = `config` | `high-water`)
//!   on each map: from `$config_expected` (`{ wwid => n }`, what
//!   `PVE::RS::Multipath::Config::paths_expected($cfg)` returns) else the
//!   high-water mark. A map with fewer paths than expected that would read
//!   `optimal` becomes `degraded` with a `reason`.

use std::collections::BTreeMap;

use anyhow::Error;
use serde::ser::{Error as _, Serialize, Serializer};
use serde_json::Value;

use crate::export;
use crate::maps::{self, count_table};
use crate::perl::Export;

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

fn parse_maps_json(text: String) -> Result<MapsText, Error> {
    Ok(MapsText(text))
}

fn health_states() -> Result<BTreeMap<&'static str, &'static str>, Error> {
    Ok(BTreeMap::from([
        ("HEALTH_OPTIMAL", "optimal"),
        ("HEALTH_DEGRADED", "degraded"),
        ("HEALTH_FAILED", "failed"),
    ]))
}

fn update_high_water(
    previous: Option<Value>,
    maps: Vec<Value>,
    keep: Option<Vec<String>>,
) -> Result<BTreeMap<String, u64>, Error> {
    let previous = count_table(&previous.unwrap_or(Value::Null));
    Ok(maps::update_high_water(&previous, &maps, keep.as_deref()))
}

fn apply_expected(
    maps: Vec<Value>,
    config_expected: Option<Value>,
    high_water: Option<Value>,
) -> Result<Vec<Value>, Error> {
    let config = count_table(&config_expected.unwrap_or(Value::Null));
    let high_water = count_table(&high_water.unwrap_or(Value::Null));
    Ok(maps::apply_expected(maps, &config, &high_water))
}

pub const EXPORTS: &[Export] = &[
    export!(parse_maps_json(text: String)),
    export!(health_states()),
    export!(update_high_water(previous: Option<Value>, maps: Vec<Value>, keep: Option<Vec<String>>)),
    export!(apply_expected(maps: Vec<Value>, config_expected: Option<Value>, high_water: Option<Value>)),
];
