//! Exports of `PVE::RS::Multipath::Config`: the cluster configuration, the
//! knob schema, the rendered drop-ins and the wwids allow-list.
//!
//! `$cfg` is what `parse_section_config` returns: `{ ids => { id => { type,
//! key => value } }, order, digest, errors? }`. Each export is documented on
//! its definition.

use std::collections::BTreeMap;

use anyhow::{bail, Error};
use serde_json::{Map, Value};

use crate::exports;
use crate::render;
use crate::schema::{self, excerpt, ParamErrors, SectionType};
use crate::section_config::{self, Config, SectionUpdate};
use crate::wwids;

fn section_type(name: &str) -> Result<SectionType, Error> {
    match SectionType::parse(name) {
        Some(section_type) => Ok(section_type),
        None => bail!("unknown section type '{}'", excerpt(name)),
    }
}

/// `delete` as the API takes it: a string split like `PVE::Tools::split_list`,
/// or a list.
fn delete_list(delete: Option<Value>) -> Result<Vec<String>, ParamErrors> {
    let refused = |what: &str, value: &Value| {
        ParamErrors::one("delete", format!("{what} {}", excerpt(&value.to_string())))
    };
    match delete {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(section_config::split_list(&text)),
        Some(Value::Array(keys)) => keys
            .into_iter()
            .map(|key| match key {
                Value::String(key) => Ok(key),
                other => Err(refused("invalid key", &other)),
            })
            .collect(),
        Some(other) => Err(refused("expected a list of keys, got", &other)),
    }
}

exports! {
    pub const EXPORTS;

    /// The parsed config; never dies, problems are in `errors`
    /// (`[{ context, line, section?, key?, err }]`). `$raw` comes with one
    /// character per byte of the file (the Perl side upgrades it), so the
    /// bytes are read back exactly.
    fn parse_section_config(filename: String, raw: Option<String>) -> Result<Value, Error> {
        let raw = raw.unwrap_or_default();
        let bytes: Vec<u8> = match raw.chars().map(u8::try_from).collect() {
            Ok(bytes) => bytes,
            Err(_) => raw.into_bytes(), // wide characters: not a file's bytes
        };
        let config = section_config::parse(&filename, bytes);
        let mut cfg = config.to_perl();
        cfg["warnings"] = Value::from(config.warnings);
        Ok(cfg)
    }

    /// The config's text; dies on an invalid one. `$filename` is part of
    /// `PVE::SectionConfig`'s signature only.
    fn write_section_config(filename: String, cfg: Value) -> Result<String, Error> {
        let _ = filename;
        section_config::write(&Config::from_perl(&cfg)?)
    }

    /// The API's update rule: `$cfg` with section `$id` of type `$section`
    /// created or updated; `$delete` is a list or a comma/space separated
    /// string of keys. Dies with `{ property => message }` for bad
    /// parameters (keys, values, `delete`, an alias in use, the id as
    /// `wwid`), with pve-common's message for a stale `$digest`.
    fn update_section(
        cfg: Value,
        section: String,
        id: String,
        params: Option<Map<String, Value>>,
        delete: Option<Value>,
        digest: Option<String>,
    ) -> Result<Value, Error> {
        let mut config = Config::from_perl(&cfg)?;
        let params = params.unwrap_or_default();
        let delete = delete_list(delete)?;
        section_config::update(
            &mut config,
            &SectionUpdate {
                section_type: section_type(&section)?,
                id: &id,
                set: &params,
                delete: &delete,
                digest: digest.as_deref(),
            },
        )?;
        Ok(config.to_perl())
    }

    /// `$cfg` without section `$id`; dies when there is none, or with
    /// pve-common's message for a stale `$digest`.
    fn remove_section(cfg: Value, id: String, digest: Option<String>) -> Result<Value, Error> {
        let mut config = Config::from_perl(&cfg)?;
        if !section_config::remove(&mut config, &id, digest.as_deref())? {
            bail!("no such section '{}'", excerpt(&id));
        }
        Ok(config.to_perl())
    }

    /// `PVE::Tools::assert_if_modified`, the one digest check of every
    /// write: dies with "detected modified configuration - file changed by
    /// other user? Try again.\n" when `$digest` is not `$current`. As in
    /// pve-common, a digest false to Perl (undef, '' or '0') on either side
    /// is none: nothing to check.
    fn assert_if_modified(digest: Option<String>, current: Option<String>) -> Result<(), Error> {
        section_config::assert_if_modified(
            digest.as_deref(),
            current.as_deref().unwrap_or_default(),
        )
    }

    /// JSONSchema properties of the `defaults` section.
    fn defaults_api_schema() -> Result<Map<String, Value>, Error> {
        Ok(schema::api_schema(SectionType::Defaults))
    }

    /// JSONSchema properties of a `wwid` section.
    fn wwid_api_schema() -> Result<Map<String, Value>, Error> {
        Ok(schema::api_schema(SectionType::Wwid))
    }

    /// The defaults PVE manages, `{ knob => value }`.
    fn managed_defaults() -> Result<Map<String, Value>, Error> {
        Ok(schema::managed_defaults())
    }

    /// The managed defaults with the config's `defaults` section applied.
    fn effective_defaults(cfg: Value) -> Result<BTreeMap<String, Value>, Error> {
        Ok(render::effective_defaults(&Config::from_perl(&cfg)?))
    }

    /// The allow-listed WWIDs, sorted.
    fn wwid_list(cfg: Value) -> Result<Vec<String>, Error> {
        Ok(render::wwid_opts(&Config::from_perl(&cfg)?)
            .into_keys()
            .collect())
    }

    /// `{ wwid => alias }` for the WWIDs that have one.
    fn aliases(cfg: Value) -> Result<BTreeMap<String, Value>, Error> {
        Ok(render::wwid_opts(&Config::from_perl(&cfg)?)
            .into_iter()
            .filter_map(|(wwid, mut props)| Some((wwid, props.remove("alias")?)))
            .collect())
    }

    /// `{ wwid => { knob => value } }` for every allow-listed WWID.
    fn wwid_opts(cfg: Value) -> Result<BTreeMap<String, BTreeMap<String, Value>>, Error> {
        Ok(render::wwid_opts(&Config::from_perl(&cfg)?))
    }

    /// `{ wwid => n }`: the paths each WWID should have, where configured.
    fn paths_expected(cfg: Value) -> Result<BTreeMap<String, u64>, Error> {
        Ok(render::paths_expected(&Config::from_perl(&cfg)?))
    }

    /// The managed defaults drop-in's text, for `$defaults` (`{ knob =>
    /// value }`, checked) or the managed defaults.
    fn generate_managed_conf(defaults: Option<Map<String, Value>>) -> Result<String, Error> {
        let Some(defaults) = defaults else {
            return Ok(render::managed_conf(
                &schema::managed_defaults().into_iter().collect(),
            ));
        };
        // not an API call's parameters: a plain message
        let checked = schema::check_props(SectionType::Defaults, &defaults)
            .map_err(|errors| anyhow::format_err!("{errors}"))?;
        Ok(render::managed_conf(&checked))
    }

    /// The `multipaths { }` block for `$opts` (as `wwid_opts` returns).
    fn build_multipaths_block(opts: Value) -> Result<String, Error> {
        Ok(render::multipaths_block(&render::opts_from_perl(&opts)?))
    }

    /// `{ file => $text | undef }`: every drop-in of a node, undef for one
    /// to remove.
    fn render_node_files(
        cfg: Value,
        overrides: Option<String>,
    ) -> Result<BTreeMap<&'static str, Option<String>>, Error> {
        render::node_files(
            &Config::from_perl(&cfg)?,
            overrides.as_deref().unwrap_or_default(),
        )
    }

    /// The one WWID rule as a JSONSchema property with `$description`.
    fn wwid_schema(description: String) -> Result<Map<String, Value>, Error> {
        Ok(schema::wwid_property(&description))
    }

    /// The WWID (the one rule: length and characters); dies quoting at
    /// most 80 characters of the text.
    fn check_wwid(text: String) -> Result<String, Error> {
        schema::check_wwid(&text).map_err(Error::msg)?;
        Ok(text)
    }

    /// The WWIDs listed in a wwids file's text.
    fn parse_wwids(text: Option<String>) -> Result<Vec<String>, Error> {
        Ok(wwids::parse(text.as_deref().unwrap_or_default())?.listed)
    }

    /// `{ listed, removed }`: a wwids file's listed and commented-out WWIDs.
    fn read_wwids_file(text: Option<String>) -> Result<wwids::WwidsFile, Error> {
        wwids::parse(text.as_deref().unwrap_or_default())
    }

    /// A wwids file's text for a list of WWIDs.
    fn format_wwids(list: Vec<String>) -> Result<String, Error> {
        wwids::format(&list)
    }

    /// `{ add, remove, keep => [{ wwid, reason }] }`: how to bring the
    /// wwids file (`$current`) to `$desired`; only WWIDs in `$added_by_pve`
    /// are ever removed.
    fn plan_wwids(
        desired: Vec<String>,
        current: Option<String>,
        added_by_pve: Option<Vec<String>>,
    ) -> Result<wwids::Plan, Error> {
        wwids::plan(
            &desired,
            current.as_deref().unwrap_or_default(),
            &added_by_pve.unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_quote_at_most_80_characters_of_input() {
        let long = "k".repeat(100_000);
        let errors = [
            section_type(&long).unwrap_err(),
            delete_list(Some(json!([{ "a": long }])))
                .unwrap_err()
                .into(),
            delete_list(Some(json!({ "a": long }))).unwrap_err().into(),
            remove_section(json!({ "ids": {} }), long.clone(), None).unwrap_err(),
            generate_managed_conf(Some([(long.clone(), json!(1))].into_iter().collect()))
                .unwrap_err(),
            format_wwids(vec![long.clone()]).unwrap_err(),
            check_wwid(long.clone()).unwrap_err(),
        ];
        for err in errors {
            let message = err.to_string();
            assert!(message.len() < 200, "{}", &message[..200]);
            assert!(message.contains("..."), "{message}");
        }
    }
}
