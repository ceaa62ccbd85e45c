//! The node-local drop-ins rendered from the cluster-wide configuration.
//!
//! ```text
//! # /etc/multipath/conf.d/pve-defaults.conf
//! defaults {
//!         find_multipaths strict
//!         path_selector "service-time 0"
//!         polling_interval 5
//!         user_friendly_names no
//! }
//!
//! # /etc/multipath/conf.d/pve-aliases.conf
//! multipaths {
//!         multipath {
//!                 wwid 3600a098038314b2d4a5d4e6f2f6b4d31
//!                 alias vmstore-a
//!         }
//! }
//! ```
//!
//! multipathd reads `conf.d` in name order, so the admin's
//! `pve-overrides.conf` comes after the managed baseline and wins where both
//! set a `defaults` keyword. Keys are sorted, so the output only changes when
//! the configuration does. A value with a space is quoted, as multipath needs
//! it (`path_selector service-time 0` unquoted loses the argument); the
//! schema keeps quotes, braces, comment characters and line breaks out of
//! every value, so quoting is all a value ever needs.

use std::collections::BTreeMap;

use anyhow::{format_err, Error};
use serde_json::{Map, Value};

use crate::overrides;
use crate::schema::{self, SectionType};
use crate::section_config::{self, Config, Section};

pub const DEFAULTS_FILE: &str = "pve-defaults.conf";
pub const OVERRIDES_FILE: &str = "pve-overrides.conf";
pub const ALIASES_FILE: &str = "pve-aliases.conf";

const MANAGED_HEADER: &str = "# This file is managed by Proxmox VE - do not edit by hand.\n\
                              # It is rendered from /etc/pve/multipath.cfg on every node.\n";
const OVERRIDES_HEADER: &str = "# This file is managed by Proxmox VE - do not edit by hand.\n\
                                # Edit /etc/pve/multipath-overrides.conf instead.\n";

fn quoted(text: &str) -> String {
    if text.contains(' ') {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

/// `keyword value` lines for the multipathd knobs among `props`, sorted.
fn knob_lines(props: &BTreeMap<String, Value>, indent: &str) -> String {
    props
        .iter()
        .filter_map(|(key, value)| {
            let knob = schema::knob(key).filter(|knob| knob.rendered)?;
            // the values are checked: a scalar each
            let text = schema::scalar_text(value).unwrap_or_default();
            Some(format!("{indent}{} {}\n", knob.keyword(), quoted(&text)))
        })
        .collect()
}

/// The managed defaults with the `defaults` section laid over them.
pub fn effective_defaults(config: &Config) -> BTreeMap<String, Value> {
    let mut defaults: BTreeMap<String, Value> = schema::managed_defaults().into_iter().collect();
    if let Some(section) = config.ids.get("defaults") {
        defaults.extend(section.props.clone());
    }
    defaults
}

/// The managed baseline: the header and exactly one `defaults` block.
pub fn managed_conf(defaults: &BTreeMap<String, Value>) -> String {
    format!(
        "{MANAGED_HEADER}\ndefaults {{\n{}}}\n",
        knob_lines(defaults, "\t")
    )
}

/// The per-WWID options: `{ wwid => { alias?, knob => value } }`.
pub fn wwid_opts(config: &Config) -> BTreeMap<String, BTreeMap<String, Value>> {
    config
        .ids
        .iter()
        .filter(|(_, section)| section.section_type == SectionType::Wwid)
        .map(|(id, section)| (id.clone(), section.props.clone()))
        .collect()
}

/// The `multipaths {}` block: one entry per WWID with an alias or a knob,
/// sorted by WWID; empty when there is none.
pub fn multipaths_block(opts: &BTreeMap<String, BTreeMap<String, Value>>) -> String {
    let entries: Vec<String> = opts
        .iter()
        .filter_map(|(wwid, props)| {
            let lines = knob_lines(props, "\t\t");
            (!lines.is_empty()).then(|| format!("\tmultipath {{\n\t\twwid {wwid}\n{lines}\t}}\n"))
        })
        .collect();
    if entries.is_empty() {
        return String::new();
    }
    format!("multipaths {{\n{}}}\n", entries.concat())
}

/// The node-local files for a configuration and the admin's overrides:
/// file name to content, `None` for a file that must not exist. With no
/// section in the configuration multipath is not managed here and every
/// drop-in goes away. Invalid overrides fail the whole rendering, so no
/// half-valid set of files is ever written.
pub fn node_files(
    config: &Config,
    overrides_text: &str,
) -> Result<BTreeMap<&'static str, Option<String>>, Error> {
    let mut files = BTreeMap::from([
        (DEFAULTS_FILE, None),
        (OVERRIDES_FILE, None),
        (ALIASES_FILE, None),
    ]);
    if config.ids.is_empty() {
        return Ok(files);
    }
    let problems = crate::section_config::validate(config);
    if !problems.is_empty() {
        return Err(format_err!(
            "invalid multipath configuration:\n{}",
            problems.join("\n")
        ));
    }
    files.insert(
        DEFAULTS_FILE,
        Some(managed_conf(&effective_defaults(config))),
    );

    let overrides_text = overrides::normalize(overrides_text);
    if !overrides_text.is_empty() {
        overrides::check(&overrides_text).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format_err!("invalid multipath overrides:\n{}", lines.join("\n"))
        })?;
        files.insert(
            OVERRIDES_FILE,
            Some(format!("{OVERRIDES_HEADER}\n{overrides_text}")),
        );
    }

    let block = multipaths_block(&wwid_opts(config));
    if !block.is_empty() {
        files.insert(ALIASES_FILE, Some(format!("{MANAGED_HEADER}\n{block}")));
    }
    Ok(files)
}

/// `{ wwid => n }`: `paths-expected` per WWID, else from the defaults.
pub fn paths_expected(config: &Config) -> BTreeMap<String, u64> {
    let global = config
        .ids
        .get("defaults")
        .and_then(|section| section.props.get("paths-expected"))
        .and_then(Value::as_u64);
    config
        .ids
        .iter()
        .filter(|(_, section)| section.section_type == SectionType::Wwid)
        .filter_map(|(wwid, section)| {
            let own = section.props.get("paths-expected").and_then(Value::as_u64);
            Some((wwid.clone(), own.or(global)?))
        })
        .collect()
}

/// Loose `{ wwid => { key => value } }` from Perl, as the series'
/// `build_multipaths_block` takes it; checked as a configuration is: every
/// WWID and value, and the aliases (unique, never another WWID).
pub fn opts_from_perl(value: &Value) -> Result<BTreeMap<String, BTreeMap<String, Value>>, Error> {
    let empty = Map::new();
    let object = match value {
        Value::Null => &empty,
        Value::Object(object) => object,
        _ => return Err(format_err!("expected a hash of WWIDs")),
    };
    let mut sections = BTreeMap::new();
    for (wwid, props) in object {
        schema::check_section_id(SectionType::Wwid, wwid).map_err(Error::msg)?;
        let props = match props {
            Value::Null => &empty,
            Value::Object(props) => props,
            _ => return Err(format_err!("{wwid}: expected a hash of options")),
        };
        let checked = schema::check_props(SectionType::Wwid, props).map_err(|errors| {
            let lines: Vec<String> = errors
                .iter()
                .map(|(key, message)| format!("{wwid}: {key}: {message}"))
                .collect();
            format_err!("{}", lines.join("\n"))
        })?;
        let section = Section {
            section_type: SectionType::Wwid,
            props: checked,
        };
        sections.insert(wwid.clone(), section);
    }
    let problems = section_config::check_aliases(&sections);
    if !problems.is_empty() {
        return Err(format_err!("{}", problems.join("\n")));
    }
    Ok(sections
        .into_iter()
        .map(|(wwid, section)| (wwid, section.props))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::section_config::parse;
    use serde_json::json;

    const SAMPLE: &str =
        "defaults: defaults\n\tpath-selector service-time 0\n\tpaths-expected 2\n\n\
                          wwid: 3600def\n\talias san-b-lun0\n\n\
                          wwid: 3600abc\n\talias san-a-lun0\n\tno-path-retry 18\n\n\
                          wwid: 3600nul\n\n";

    #[test]
    fn managed_baseline() {
        let files = node_files(&parse("f", SAMPLE), "").unwrap();
        let conf = files[DEFAULTS_FILE].as_deref().unwrap();
        assert_eq!(conf.matches("defaults {").count(), 1);
        assert!(conf.contains("\tpath_selector \"service-time 0\"\n"));
        assert!(conf.contains("\tfind_multipaths strict\n"));
        assert!(conf.contains("\tuser_friendly_names no\n"));
        assert!(!conf.contains("paths_expected"), "ours, not multipathd's");
        assert_eq!(files[OVERRIDES_FILE], None);
    }

    #[test]
    fn multipaths_entries() {
        let files = node_files(&parse("f", SAMPLE), "").unwrap();
        let aliases = files[ALIASES_FILE].as_deref().unwrap();
        let expected = "multipaths {\n\
                        \tmultipath {\n\t\twwid 3600abc\n\t\talias san-a-lun0\n\t\tno_path_retry 18\n\t}\n\
                        \tmultipath {\n\t\twwid 3600def\n\t\talias san-b-lun0\n\t}\n\
                        }\n";
        assert!(aliases.ends_with(expected), "{aliases}");
    }

    #[test]
    fn empty_config_removes_everything() {
        let files = node_files(&parse("f", ""), "devices {\n}\n").unwrap();
        assert!(files.values().all(Option::is_none));
    }

    #[test]
    fn bad_overrides_fail_the_whole_render() {
        let err = node_files(&parse("f", SAMPLE), "devices {\n").unwrap_err();
        assert!(err.to_string().contains("unbalanced braces"), "{err}");
    }

    #[test]
    fn expected_paths() {
        let expected = paths_expected(&parse(
            "f",
            "defaults: defaults\n\tpaths-expected 2\n\nwwid: 36a\n\tpaths-expected 4\n\nwwid: 36b\n",
        ));
        assert_eq!(
            expected,
            BTreeMap::from([("36a".into(), 4), ("36b".into(), 2)])
        );
        assert!(paths_expected(&parse("f", "wwid: 36a\n")).is_empty());
    }

    #[test]
    fn multipaths_block_input_is_checked_as_a_configuration() {
        let cases = [
            (
                json!({"3600a": {"alias": "lun"}, "3600b": {"alias": "lun"}}),
                "alias 'lun' is used by more than one WWID: 3600a, 3600b",
            ),
            (
                json!({"3600a": {"alias": "3600b"}, "3600b": {}}),
                "alias '3600b' of WWID 3600a is the WWID of another allow-listed LUN",
            ),
            (
                json!({"3600a\n}\nblacklist {": {"alias": "x"}}),
                "invalid WWID '3600a\\n}\\nblacklist {': value does not match the regex pattern",
            ),
            (
                json!({"3600a": "alias x"}),
                "3600a: expected a hash of options",
            ),
            (
                json!({"3600a": {"alias": "a\nb"}}),
                "3600a: alias: value does not match the regex pattern",
            ),
        ];
        for (opts, expected) in cases {
            let err = opts_from_perl(&opts).unwrap_err();
            assert_eq!(err.to_string(), expected, "{opts}");
        }
        let opts = opts_from_perl(&json!({"3600a": {"alias": "3600a"}, "3600b": null})).unwrap();
        assert_eq!(
            multipaths_block(&opts),
            "multipaths {\n\tmultipath {\n\t\twwid 3600a\n\t\talias 3600a\n\t}\n}\n"
        );
    }

    #[test]
    fn booleans_render_as_1_or_0() {
        let defaults = BTreeMap::from([
            ("no-path-retry".to_string(), json!(true)),
            ("polling-interval".to_string(), json!(7)),
        ]);
        let conf = managed_conf(&defaults);
        assert!(conf.contains("\tno_path_retry 1\n"), "{conf}");
        assert!(conf.contains("\tpolling_interval 7\n"), "{conf}");
        let opts = opts_from_perl(&json!({ "3600a": { "no-path-retry": true } })).unwrap();
        assert_eq!(
            multipaths_block(&opts),
            "multipaths {\n\tmultipath {\n\t\twwid 3600a\n\t\tno_path_retry 1\n\t}\n}\n"
        );
    }

    #[test]
    fn an_alias_naming_another_wwid_fails_the_render() {
        let err = node_files(
            &parse("f", "wwid: 3600a\n\talias 3600b\n\nwwid: 3600b\n"),
            "",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("alias '3600b' of WWID 3600a is the WWID of another allow-listed LUN"),
            "{err}"
        );
    }
}
