//! Exports of `PVE::RS::Multipath::Notify`: the multipath notifications,
//! all pure (the Perl side reads and writes the state and sends).

use std::collections::BTreeMap;

use anyhow::Error;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::status;
use crate::exports;
use crate::notify::{self, Pass, Settings};
use crate::perl::lenient::{self, Bool};

#[derive(Deserialize)]
struct Member {
    #[serde(default, deserialize_with = "lenient::perl_bool")]
    online: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PassOptions {
    #[serde(default)]
    defaults: Option<Map<String, Value>>,
    #[serde(default)]
    state: Option<String>,
    status: status::Options,
    #[serde(deserialize_with = "lenient::uint")]
    now: u64,
}

exports! {
    pub const EXPORTS;

    /// `sender($members, $quorate) -> $node | undef`: the node that sends
    /// for the cluster, the online member with the lowest name, and none
    /// while the cluster is not quorate. `$members` as
    /// `PVE::Cluster::get_members` returns it (`{ node => { online => 0|1,
    /// ... } }`, undef for none), `$quorate` as
    /// `PVE::Cluster::check_cfs_quorum(1)` does.
    fn sender(
        members: Option<BTreeMap<String, Member>>,
        quorate: Bool,
    ) -> Result<Option<String>, Error> {
        let online: BTreeMap<String, bool> = members
            .unwrap_or_default()
            .into_iter()
            .map(|(node, member)| (node, member.online))
            .collect();
        Ok(notify::sender(&online, quorate.0).map(str::to_owned))
    }

    /// `pass({ defaults, state, status, now }) -> { notifications => [ {
    /// severity, template, data, fields } ], state, changed, warnings => [
    /// ] }`: one pass of the sender. `defaults` is the `defaults` section
    /// of `multipath.cfg` (its `notify*` knobs count; undef for none),
    /// `state` the text the previous pass kept (undef for none), `status`
    /// the arguments of `Status::aggregate_status` (the pass decides from
    /// that matrix, which never becomes Perl data), `now` unix seconds.
    /// Each notification is the arguments of `PVE::Notify::notify($severity,
    /// $template, $data, $fields)` (add `common_template_data` to `data`);
    /// `state` is the text to keep when `changed`; `warnings` say why a
    /// kept state was unusable (the pass then starts afresh). Dies on an
    /// unknown key, invalid `notify*` settings or `status` arguments that
    /// `aggregate_status` refuses.
    fn pass(options: PassOptions) -> Result<Pass, Error> {
        let settings = Settings::from_defaults(&options.defaults.unwrap_or_default())?;
        let status = status::request(options.status)?.aggregate();
        Ok(notify::pass(
            options.state.as_deref(),
            &status,
            &settings,
            options.now,
        ))
    }
}
