//! Exports of `PVE::RS::Multipath::Config`: the cluster configuration, the
//! knob schema, the rendered drop-ins and the wwids allow-list.
//!
//! `$cfg` is what `parse_section_config` returns: `{ ids => { id => { type,
//! key => value } }, order, digest, errors? }`. Each export is documented on
//! its line in [`EXPORTS`]; that line is its signature.

use std::collections::BTreeMap;

use anyhow::{bail, Error};
use serde_json::{Map, Value};

use crate::export;
use crate::perl::Export;
use crate::render;
use crate::schema::{self, excerpt, ParamErrors, SectionType};
use crate::section_config::{self, Config, SectionUpdate};
use crate::wwids;

/// `$raw` comes with one character per byte of the file (the Perl side
/// upgrades it), so the bytes are read back exactly.
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

fn write_section_config(_filename: String, cfg: Value) -> Result<String, Error> {
    section_config::write(&Config::from_perl(&cfg)?)
}

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

fn assert_if_modified(digest: Option<String>, current: Option<String>) -> Result<(), Error> {
    section_config::assert_if_modified(digest.as_deref(), current.as_deref().unwrap_or_default())
}

fn remove_section(cfg: Value, id: String, digest: Option<String>) -> Result<Value, Error> {
    let mut config = Config::from_perl(&cfg)?;
    if !section_config::remove(&mut config, &id, digest.as_deref())? {
        bail!("no such section '{}'", excerpt(&id));
    }
    Ok(config.to_perl())
}

fn defaults_api_schema() -> Result<Map<String, Value>, Error> {
    Ok(schema::api_schema(SectionType::Defaults))
}

fn wwid_api_schema() -> Result<Map<String, Value>, Error> {
    Ok(schema::api_schema(SectionType::Wwid))
}

fn managed_defaults() -> Result<Map<String, Value>, Error> {
    Ok(schema::managed_defaults())
}

fn effective_defaults(cfg: Value) -> Result<BTreeMap<String, Value>, Error> {
    Ok(render::effective_defaults(&Config::from_perl(&cfg)?))
}

fn wwid_list(cfg: Value) -> Result<Vec<String>, Error> {
    Ok(render::wwid_opts(&Config::from_perl(&cfg)?)
        .into_keys()
        .collect())
}

fn aliases(cfg: Value) -> Result<BTreeMap<String, Value>, Error> {
    Ok(render::wwid_opts(&Config::from_perl(&cfg)?)
        .into_iter()
        .filter_map(|(wwid, mut props)| Some((wwid, props.remove("alias")?)))
        .collect())
}

fn wwid_opts(cfg: Value) -> Result<BTreeMap<String, BTreeMap<String, Value>>, Error> {
    Ok(render::wwid_opts(&Config::from_perl(&cfg)?))
}

fn paths_expected(cfg: Value) -> Result<BTreeMap<String, u64>, Error> {
    Ok(render::paths_expected(&Config::from_perl(&cfg)?))
}

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

fn build_multipaths_block(opts: Value) -> Result<String, Error> {
    Ok(render::multipaths_block(&render::opts_from_perl(&opts)?))
}

fn render_node_files(
    cfg: Value,
    overrides: Option<String>,
) -> Result<BTreeMap<&'static str, Option<String>>, Error> {
    render::node_files(
        &Config::from_perl(&cfg)?,
        overrides.as_deref().unwrap_or_default(),
    )
}

fn wwid_schema(description: String) -> Result<Map<String, Value>, Error> {
    Ok(schema::wwid_property(&description))
}

fn check_wwid(text: String) -> Result<String, Error> {
    schema::check_wwid(&text).map_err(Error::msg)?;
    Ok(text)
}

fn parse_wwids(text: Option<String>) -> Result<Vec<String>, Error> {
    Ok(wwids::parse(text.as_deref().unwrap_or_default())?.listed)
}

fn read_wwids_file(text: Option<String>) -> Result<wwids::WwidsFile, Error> {
    wwids::parse(text.as_deref().unwrap_or_default())
}

fn format_wwids(list: Vec<String>) -> Result<String, Error> {
    wwids::format(&list)
}

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

pub const EXPORTS: &[Export] = &[
    export!(
        /// The parsed config; never dies, problems are in `errors`
        /// (`[{ context, line, section?, key?, err }]`).
        parse_section_config(filename: String, raw: Option<String>)
    ),
    export!(
        /// The config's text; dies on an invalid one.
        write_section_config(filename: String, cfg: Value)
    ),
    export!(
        /// The API's update rule: `$cfg` with section `$id` of type `$section`
        /// created or updated; `$delete` is a list or a comma/space separated
        /// string of keys. Dies with `{ property => message }` for bad
        /// parameters (keys, values, `delete`, an alias in use, the id as
        /// `wwid`), with pve-common's message for a stale `$digest`.
        update_section(
            cfg: Value,
            section: String,
            id: String,
            params: Option<Map<String, Value>>,
            delete: Option<Value>,
            digest: Option<String>,
        )
    ),
    export!(
        /// `$cfg` without section `$id`; dies when there is none, or with
        /// pve-common's message for a stale `$digest`.
        remove_section(cfg: Value, id: String, digest: Option<String>)
    ),
    export!(
        /// `PVE::Tools::assert_if_modified`, the one digest check of every
        /// write: dies with "detected modified configuration - file changed by
        /// other user? Try again.\n" when `$digest` (undef or '' is none) is
        /// not `$current`.
        assert_if_modified(digest: Option<String>, current: Option<String>)
    ),
    export!(
        /// JSONSchema properties of the `defaults` section.
        defaults_api_schema()
    ),
    export!(
        /// JSONSchema properties of a `wwid` section.
        wwid_api_schema()
    ),
    export!(
        /// The defaults PVE manages, `{ knob => value }`.
        managed_defaults()
    ),
    export!(
        /// The managed defaults with the config's `defaults` section applied.
        effective_defaults(cfg: Value)
    ),
    export!(
        /// The allow-listed WWIDs, sorted.
        wwid_list(cfg: Value)
    ),
    export!(
        /// `{ wwid => alias }` for the WWIDs that have one.
        aliases(cfg: Value)
    ),
    export!(
        /// `{ wwid => { knob => value } }` for every allow-listed WWID.
        wwid_opts(cfg: Value)
    ),
    export!(
        /// `{ wwid => n }`: the paths each WWID should have, where configured.
        paths_expected(cfg: Value)
    ),
    export!(
        /// The managed defaults drop-in's text, for `$defaults` (`{ knob =>
        /// value }`, checked) or the managed defaults.
        generate_managed_conf(defaults: Option<Map<String, Value>>)
    ),
    export!(
        /// The `multipaths { }` block for `$opts` (as `wwid_opts` returns).
        build_multipaths_block(opts: Value)
    ),
    export!(
        /// `{ file => $text | undef }`: every drop-in of a node, undef for one
        /// to remove.
        render_node_files(cfg: Value, overrides: Option<String>)
    ),
    export!(
        /// The one WWID rule as a JSONSchema property with `$description`.
        wwid_schema(description: String)
    ),
    export!(
        /// The WWID (the one rule: length and characters); dies quoting at
        /// most 80 characters of the text.
        check_wwid(text: String)
    ),
    export!(
        /// The WWIDs listed in a wwids file's text.
        parse_wwids(text: Option<String>)
    ),
    export!(
        /// `{ listed, removed }`: a wwids file's listed and commented-out WWIDs.
        read_wwids_file(text: Option<String>)
    ),
    export!(
        /// A wwids file's text for a list of WWIDs.
        format_wwids(list: Vec<String>)
    ),
    export!(
        /// `{ add, remove, keep => [{ wwid, reason }] }`: how to bring the
        /// wwids file (`$current`) to `$desired`; only WWIDs in `$added_by_pve`
        /// are ever removed.
        plan_wwids(
            desired: Vec<String>,
            current: Option<String>,
            added_by_pve: Option<Vec<String>>,
        )
    ),
];

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
