//! Exports of `PVE::RS::Multipath::Config`: the cluster configuration, the
//! knob schema, the rendered drop-ins and the wwids allow-list.
//!
//! Signatures as Perl sees them (`$cfg` is what `parse_section_config`
//! returns: `{ ids => { id => { type, key => value } }, order, digest,
//! errors? }`):
//!
//! - `parse_section_config($filename, $raw) -> $cfg`; never dies, problems
//!   with a key are in `errors` (`[{ context, line, section, key, err }]`),
//!   every warning SectionConfig would print in `warnings`.
//! - `write_section_config($filename, $cfg) -> $text`; dies on an invalid one.
//! - `update_section($cfg, $type, $id, $params?, $delete?, $digest?) -> $cfg`
//!   and `remove_section($cfg, $id, $digest?) -> $cfg`: the API's update rule.
//! - `defaults_api_schema()`, `wwid_api_schema()`: JSONSchema properties.
//! - `managed_defaults()`, `effective_defaults($cfg)`, `wwid_list($cfg)`,
//!   `aliases($cfg)`, `wwid_opts($cfg)`, `paths_expected($cfg)`.
//! - `generate_managed_conf($defaults?)`, `build_multipaths_block($opts)`,
//!   `render_node_files($cfg, $overrides_text?) -> { file => $text | undef }`.
//! - `check_wwid($text) -> $wwid`: the one WWID rule, dies naming the text;
//!   `wwid_schema($description)`: the same rule as a JSONSchema property.
//! - `parse_wwids($text) -> [wwid]`, `read_wwids_file($text) -> { listed,
//!   removed }`, `format_wwids([wwid]) -> $text`, `plan_wwids($desired,
//!   $current_text?, $added_by_pve?) -> { add, remove, keep => [{ wwid,
//!   reason }] }`.

use std::collections::BTreeMap;

use anyhow::{bail, Error};
use serde_json::{Map, Value};

use crate::export;
use crate::perl::Export;
use crate::render;
use crate::schema::{self, excerpt, SectionType};
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
fn delete_list(delete: Option<Value>) -> Result<Vec<String>, Error> {
    Ok(match delete {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => section_config::split_list(&text),
        Some(Value::Array(keys)) => keys
            .into_iter()
            .map(|key| match key {
                Value::String(key) => Ok(key),
                other => bail!("delete: invalid key {}", excerpt(&other.to_string())),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => bail!(
            "delete: expected a list of keys, got {}",
            excerpt(&other.to_string())
        ),
    })
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
    let mut checked = BTreeMap::new();
    for (key, value) in defaults {
        let Some(knob) = schema::settable(SectionType::Defaults, &key) else {
            bail!("defaults: unexpected property '{}'", excerpt(&key));
        };
        let value =
            schema::check_value(knob, &value).map_err(|err| anyhow::format_err!("{key}: {err}"))?;
        checked.insert(key, value);
    }
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
    export!(parse_section_config(filename: String, raw: Option<String>)),
    export!(write_section_config(filename: String, cfg: Value)),
    export!(update_section(
        cfg: Value,
        section: String,
        id: String,
        params: Option<Map<String, Value>>,
        delete: Option<Value>,
        digest: Option<String>,
    )),
    export!(remove_section(cfg: Value, id: String, digest: Option<String>)),
    export!(defaults_api_schema()),
    export!(wwid_api_schema()),
    export!(managed_defaults()),
    export!(effective_defaults(cfg: Value)),
    export!(wwid_list(cfg: Value)),
    export!(aliases(cfg: Value)),
    export!(wwid_opts(cfg: Value)),
    export!(paths_expected(cfg: Value)),
    export!(generate_managed_conf(defaults: Option<Map<String, Value>>)),
    export!(build_multipaths_block(opts: Value)),
    export!(render_node_files(cfg: Value, overrides: Option<String>)),
    export!(wwid_schema(description: String)),
    // The one WWID rule (length and characters); returns the WWID or dies
    // quoting at most 80 characters of the text.
    export!(check_wwid(text: String)),
    export!(parse_wwids(text: Option<String>)),
    export!(read_wwids_file(text: Option<String>)),
    export!(format_wwids(list: Vec<String>)),
    export!(plan_wwids(
        desired: Vec<String>,
        current: Option<String>,
        added_by_pve: Option<Vec<String>>,
    )),
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
            delete_list(Some(json!([{ "a": long }]))).unwrap_err(),
            delete_list(Some(json!({ "a": long }))).unwrap_err(),
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
