//! Exports of `PVE::RS::Multipath::Config` for importing a node's own
//! multipath setup, see [`crate::import`]. `$cfg` is the cluster config as
//! `parse_section_config` returns it.

use anyhow::Error;
use serde_json::{json, Value};

use crate::exports;
use crate::import::{self, BlockDevice, NodeFile, NodeSetup, Parts, Proposal};
use crate::perl::lenient::Bool;
use crate::section_config::Config;

exports! {
    pub const EXPORTS;

    /// `import_propose({ files => [{ name, text }], wwids, bindings, maps =>
    /// [{ wwid, local, blacklisted }] }, $use_bindings?, $cfg?, $overrides?)
    /// -> { proposal => { defaults, wwids => { wwid => { knob => value } },
    /// overrides }, report => [{ file, line, text, reason }], changes => [{
    /// keyword, value }], differences => [{ section, key, node?, cluster? }],
    /// remainder => { file => $text } }`: what of the node's own files, wwids
    /// and bindings (`wwids`, `bindings`: the files' texts) the cluster config
    /// can take over, what stays behind and why; `differences` only with a
    /// `$cfg` (undef for none).
    fn import_propose(
        setup: NodeSetup,
        use_bindings: Option<Bool>,
        cfg: Option<Value>,
        overrides: Option<String>,
    ) -> Result<import::Import, Error> {
        let mut result = import::propose(&setup, use_bindings.is_some_and(|flag| flag.0))?;
        if let Some(cfg) = cfg.filter(|cfg| !cfg.is_null()) {
            let config = Config::from_perl(&cfg)?;
            result.differences = import::differences(
                &result.proposal,
                &config,
                overrides.as_deref().unwrap_or_default(),
            );
        }
        Ok(result)
    }

    /// `import_apply($cfg, $overrides, $proposal, $parts?, $overwrite?,
    /// $digest?) -> { config => $cfg, overrides => $text }`: the proposal's
    /// chosen `$parts` (`{ wwids => [..], defaults => 0|1, overrides => 0|1
    /// }`, a part left out is taken whole) merged into the config and
    /// overrides text (`$cfg` undef: none yet). Dies listing every conflict,
    /// one per line, unless `$overwrite`; with pve-common's message for a
    /// stale `$digest`.
    fn import_apply(
        cfg: Option<Value>,
        overrides: Option<String>,
        proposal: Proposal,
        parts: Option<Parts>,
        overwrite: Option<Bool>,
        digest: Option<String>,
    ) -> Result<Value, Error> {
        let config = match cfg.filter(|cfg| !cfg.is_null()) {
            Some(cfg) => Config::from_perl(&cfg)?,
            None => Config::default(),
        };
        let parts = parts.unwrap_or_default();
        let (config, overrides) = import::apply(
            &config,
            overrides.as_deref().unwrap_or_default(),
            &proposal,
            &parts,
            overwrite.is_some_and(|flag| flag.0),
            digest.as_deref(),
        )?;
        Ok(json!({ "config": config.to_perl(), "overrides": overrides }))
    }

    /// `import_conflicts([{ name, text }], $cfg, $devices?) -> [$message]`:
    /// where the node's own files contradict the cluster config, each message
    /// naming the file and line. `$devices` (`[{ dev, wwid, vendor?, product?,
    /// properties?, sysfs_path?, nvme_transport? }]`, the node's block
    /// devices: `properties` the names of its udev properties, `sysfs_path`
    /// the target of `/sys/block/<dev>`) lets `devnode` and `device`
    /// blacklist entries be judged too, and `property` and `protocol` ones
    /// where those facts are given.
    fn import_conflicts(
        files: Vec<NodeFile>,
        cfg: Value,
        devices: Option<Vec<BlockDevice>>,
    ) -> Result<Vec<String>, Error> {
        Ok(import::conflicts(
            &files,
            &Config::from_perl(&cfg)?,
            &devices.unwrap_or_default(),
        ))
    }
}
