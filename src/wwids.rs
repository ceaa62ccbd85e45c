//! `/etc/multipath/wwids`: the allow-list that `find_multipaths strict`
//! assembles maps for, in the format `multipath -a` writes.
//!
//! ```text
//! # Multipath wwids, Version : 1.0
//! # NOTE: This file is automatically maintained by multipath and multipathd.
//! # You should not need to edit this file in normal circumstances.
//! #
//! # Valid WWIDs:
//! /3600a098038314b2d4a5d4e6f2f6b4d31/
//! #3600a098038314b2d4a5d4e6f2f6b4d32/
//! ```
//!
//! multipath only considers lines starting with `/`; `multipath -w` turns a
//! line into `#WWID/`, so a removed entry may sit next to a re-added one.
//! Changes go through the real `multipath -a`/`-w` on the node; this module
//! reads the file and plans them. A WWID that Proxmox VE did not add itself
//! is never planned for removal.

use std::collections::BTreeSet;

use anyhow::{bail, format_err, Error};
use serde::Serialize;

use crate::schema::{self, excerpt};

pub const HEADER: &str = "# Multipath wwids, Version : 1.0\n\
                          # NOTE: This file is automatically maintained by multipath and multipathd.\n\
                          # You should not need to edit this file in normal circumstances.\n\
                          #\n\
                          # Valid WWIDs:\n";

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct WwidsFile {
    /// Allow-listed WWIDs, in file order, without duplicates.
    pub listed: Vec<String>,
    /// WWIDs removed with `multipath -w` (`#WWID/`) and not listed again.
    pub removed: Vec<String>,
}

/// Read the wwids file; a line that is neither a comment nor `/WWID/` is an
/// error naming the line.
pub fn parse(text: &str) -> Result<WwidsFile, Error> {
    let mut file = WwidsFile::default();
    let mut listed = BTreeSet::new();
    let mut removed = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('/') {
            let Some(wwid) = rest
                .strip_suffix('/')
                .filter(|w| !w.is_empty() && !w.contains('/'))
            else {
                bail!(
                    "wwids file line {}: expected '/WWID/', got '{}'",
                    index + 1,
                    excerpt(line)
                );
            };
            if listed.insert(wwid.to_string()) {
                file.listed.push(wwid.to_string());
            }
        } else if let Some(rest) = line.strip_prefix('#') {
            if let Some(wwid) = rest
                .strip_suffix('/')
                .filter(|w| !w.is_empty() && !w.contains([' ', '/']))
            {
                removed.push(wwid.to_string());
            }
        } else {
            bail!(
                "wwids file line {}: expected '/WWID/' or a comment, got '{}'",
                index + 1,
                excerpt(line)
            );
        }
    }
    file.removed = removed
        .into_iter()
        .filter(|wwid| !listed.contains(wwid))
        .collect();
    Ok(file)
}

/// Every entry of a list is a WWID, else an error naming the list.
fn check_wwids(what: &str, wwids: &[String]) -> Result<(), Error> {
    for wwid in wwids {
        schema::check_wwid(wwid).map_err(|err| format_err!("{what}: {err}"))?;
    }
    Ok(())
}

/// The file as `multipath -a` writes it, for a fresh allow-list (sorted);
/// only WWIDs, so no entry can add a line of its own.
pub fn format(wwids: &[String]) -> Result<String, Error> {
    check_wwids("wwids", wwids)?;
    let sorted: BTreeSet<&String> = wwids.iter().collect();
    let mut out = HEADER.to_string();
    for wwid in sorted {
        out.push_str(&format!("/{wwid}/\n"));
    }
    Ok(out)
}

#[derive(Debug, PartialEq, Serialize)]
pub struct Kept {
    pub wwid: String,
    pub reason: String,
}

/// What one node has to do to bring its wwids file in line.
#[derive(Debug, PartialEq, Serialize)]
pub struct Plan {
    /// Allow-listed in the cluster, not in the file: `multipath -a`.
    pub add: Vec<String>,
    /// Added by Proxmox VE earlier, no longer allow-listed: `multipath -w`.
    pub remove: Vec<String>,
    /// In the file, not allow-listed, and not added by Proxmox VE.
    pub keep: Vec<Kept>,
}

/// Plan the changes: `desired` is the cluster's allow-list, `current` the
/// file's text, `added_by_pve` what this node added earlier. Every WWID
/// planned is one (`multipath -a`/`-w` get it as an argument, so no option
/// such as `-f` can be planned); the file's own entries are only kept.
pub fn plan(desired: &[String], current: &str, added_by_pve: &[String]) -> Result<Plan, Error> {
    check_wwids("desired", desired)?;
    check_wwids("added by Proxmox VE", added_by_pve)?;
    let file = parse(current)?;
    let desired: BTreeSet<&str> = desired.iter().map(String::as_str).collect();
    let listed: BTreeSet<&str> = file.listed.iter().map(String::as_str).collect();
    let ours: BTreeSet<&str> = added_by_pve.iter().map(String::as_str).collect();

    Ok(Plan {
        add: desired.difference(&listed).map(|w| w.to_string()).collect(),
        remove: listed
            .iter()
            .filter(|wwid| !desired.contains(*wwid) && ours.contains(*wwid))
            .map(|w| w.to_string())
            .collect(),
        keep: listed
            .iter()
            .filter(|wwid| !desired.contains(*wwid) && !ours.contains(*wwid))
            .map(|wwid| Kept {
                wwid: wwid.to_string(),
                reason: "not added by Proxmox VE".to_string(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_what_multipath_writes() {
        let text = format!("{HEADER}/3600a/\n/3600b/\n#3600c/\n/3600a/\n#3600b/\n");
        let file = parse(&text).unwrap();
        assert_eq!(file.listed, strings(&["3600a", "3600b"]));
        assert_eq!(file.removed, strings(&["3600c"]));
    }

    #[test]
    fn format_round_trip() {
        let text = format(&strings(&["3600def", "3600abc"])).unwrap();
        assert!(text.starts_with(HEADER));
        assert!(text.ends_with("/3600abc/\n/3600def/\n"));
        assert_eq!(
            parse(&text).unwrap().listed,
            strings(&["3600abc", "3600def"])
        );
    }

    #[test]
    fn garbage_names_the_line() {
        let err = parse("# x\n/3600a/\n3600b\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "wwids file line 3: expected '/WWID/' or a comment, got '3600b'"
        );
        assert!(parse("/3600a\n")
            .unwrap_err()
            .to_string()
            .contains("line 1"));
    }

    #[test]
    fn plan_never_removes_foreign() {
        let current = format(&strings(&["boot-lun", "3600old", "3600keep"])).unwrap();
        let plan = plan(
            &strings(&["3600keep", "3600new"]),
            &current,
            &strings(&["3600old", "3600gone"]),
        )
        .unwrap();
        assert_eq!(plan.add, strings(&["3600new"]));
        assert_eq!(plan.remove, strings(&["3600old"]));
        assert_eq!(
            plan.keep,
            vec![Kept {
                wwid: "boot-lun".into(),
                reason: "not added by Proxmox VE".into()
            }]
        );
    }

    #[test]
    fn format_refuses_what_is_no_wwid() {
        for (bad, shown) in [
            ("3600a/\n/3600evil", "3600a/\\n/3600evil"),
            ("3600a\n", "3600a\\n"),
            ("", ""),
            ("-f", "-f"),
            ("36 00", "36 00"),
        ] {
            let err = format(&strings(&["3600ok", bad])).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("wwids: invalid WWID '{shown}': value does not match the regex pattern")
            );
        }
    }

    #[test]
    fn plan_refuses_what_is_no_wwid() {
        let err = plan(&strings(&["3600a", "-f"]), "", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "desired: invalid WWID '-f': value does not match the regex pattern"
        );
        let err = plan(&strings(&["3600a"]), "", &strings(&["-w\n"])).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("added by Proxmox VE: invalid WWID '-w\\n'"));
    }

    #[test]
    fn messages_quote_at_most_80_characters() {
        let long = "x".repeat(10_000);
        let err = format(&strings(&[&long])).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
        assert!(err.contains(&format!("'{}...'", "x".repeat(80))), "{err}");
        let err = parse(&format!("{long}\n")).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_without_panic_and_what_it_lists_round_trips(
            text in "(#?/?[0-9a-f:._\\-]{0,40}/?[ \t]*\r?\n){0,8}|\\PC{0,200}"
        ) {
            // the node's file may list anything multipath-tools took; we
            // write only WWIDs by our rule, and read back what we wrote
            if let Ok(file) = parse(&text) {
                let mut ours: Vec<String> = file
                    .listed
                    .into_iter()
                    .filter(|wwid| schema::check_wwid(wwid).is_ok())
                    .collect();
                let written = format(&ours).expect("WWIDs by our rule are writable");
                let mut again = parse(&written).unwrap().listed;
                ours.sort();
                again.sort();
                proptest::prop_assert_eq!(again, ours);
            }
        }
    }
}
