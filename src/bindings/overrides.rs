//! Exports of `PVE::RS::Multipath::Config` for the admin's override text
//! (`/etc/pve/multipath-overrides.conf`), see [`crate::overrides`]. All are
//! pure, no I/O; `$text` may be undef, which reads as the empty text; a
//! release is `0.9.4` or `0.11.1`, a version string may also be a Debian
//! version such as `0.11.1-2`. Each is documented on its definition.
//!
//! `PVE::Multipath::Config` wraps them: `check_overrides($text)`,
//! `check_overrides_in_cluster($text, $versions)`,
//! `parse_overrides($filename, $raw)` (returns `$raw // ''`, as the series)
//! and `write_overrides($filename, $text)` (= `normalize_overrides`).

use std::collections::BTreeMap;

use anyhow::{bail, Error};
use serde_json::Value;

use crate::exports;
use crate::overrides::{self, Release};
use crate::perl::lenient::Bool;

fn die_with(lines: impl Iterator<Item = String>) -> Result<Option<()>, Error> {
    let lines: Vec<String> = lines
        .map(|line| format!("multipath overrides: {line}"))
        .collect();
    bail!("{}\n", lines.join("\n"))
}

exports! {
    pub const EXPORTS;

    /// undef, or dies with every error, one per line, each `multipath
    /// overrides: line N: <message>`, the whole message ending in "\n".
    /// The series' guard: checks the multipath.conf syntax and keyword
    /// tables of every known multipath-tools release; refuses a
    /// `multipaths` block (`... is managed via aliases ...`), unbalanced
    /// braces (`unbalanced braces`) and unknown top-level sections
    /// (`unknown top-level section 'x'`), as the series does. Warnings (see
    /// `lint_overrides`) do not make it die.
    fn check_overrides(text: Option<String>) -> Result<Option<()>, Error> {
        match overrides::check(text.as_deref().unwrap_or("")) {
            Ok(()) => Ok(None),
            Err(errors) => die_with(errors.iter().map(ToString::to_string)),
        }
    }

    /// undef, or dies like `check_overrides`: the strict check for a text
    /// about to be stored, for every release the nodes run (`{ $node =>
    /// $version_or_undef }`; a node reporting an unknown version or none,
    /// while others report one, is checked for every known release, and so
    /// is every release where no node reports one); refuses a device
    /// section without vendor or product too; a message about what only
    /// some releases refuse ends in `(nodes with 0.9.4: n1, n2)`.
    fn check_overrides_in_cluster(
        text: Option<String>,
        versions: Option<BTreeMap<String, Option<String>>>,
    ) -> Result<Option<()>, Error> {
        let versions = versions.unwrap_or_default();
        match overrides::check_for_cluster(text.as_deref().unwrap_or(""), &versions) {
            Ok(()) => Ok(None),
            Err(errors) => die_with(errors.into_iter()),
        }
    }

    /// `{ errors => [ { line, message, releases } ], warnings => [ ... ]
    /// }`: all findings for every known release, in line order, without
    /// dying; `releases` lists the releases a finding concerns (empty: all).
    fn lint_overrides(text: Option<String>) -> Result<overrides::Report, Error> {
        Ok(overrides::lint(text.as_deref().unwrap_or("")))
    }

    /// The same as `lint_overrides` for the given releases (dies on a
    /// version we have no tables of); `$strict` makes a device section
    /// without vendor or product an error.
    fn lint_overrides_for(
        text: Option<String>,
        versions: Vec<String>,
        strict: Option<Bool>,
    ) -> Result<overrides::Report, Error> {
        let mut releases = Vec::with_capacity(versions.len().min(Release::ALL.len()));
        for version in &versions {
            match Release::parse(version) {
                Some(release) => releases.push(release),
                None => bail!(
                    "no keyword tables for multipath-tools '{}' (known: {})\n",
                    overrides::shorten(version),
                    Release::ALL.map(Release::name).join(", ")
                ),
            }
        }
        if releases.is_empty() {
            bail!("no multipath-tools release given\n");
        }
        Ok(overrides::lint_with(
            text.as_deref().unwrap_or(""),
            &releases,
            strict.is_some_and(|Bool(strict)| strict),
        ))
    }

    /// What the series' `write_overrides` stores: trailing whitespace cut
    /// from every line, trailing blank lines dropped, exactly one final
    /// "\n"; an empty or blank text gives ''. Does not check the text.
    fn normalize_overrides(text: Option<String>) -> Result<String, Error> {
        Ok(overrides::normalize(text.as_deref().unwrap_or("")))
    }

    /// `{ releases => [..], sections => { $section => [ keywords ] },
    /// kinds => { $section => { $keyword => $kind } }, facts => [ {
    /// keyword, values, change, release, detail, refused-by } ], crashes =>
    /// [ { keyword, section, releases, what } ], newer => [ { keyword,
    /// sections => [..], release } ] }`: the tables (section names
    /// `top-level`, `defaults`, `blacklist`, `blacklist_exceptions`,
    /// `blacklist device`, `devices`, `devices device`, `overrides`,
    /// `overrides protocol`, `multipaths`, `multipaths multipath`).
    fn overrides_keywords() -> Result<Value, Error> {
        Ok(overrides::keyword_tables())
    }
}
