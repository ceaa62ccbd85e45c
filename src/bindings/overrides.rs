//! Exports of `PVE::RS::Multipath::Config` for the admin's override text
//! (`/etc/pve/multipath-overrides.conf`), see [`crate::overrides`]. All are
//! pure, no I/O; `$text` may be undef, which reads as the empty text. Each is
//! documented on its line in [`EXPORTS`].
//!
//! `PVE::Multipath::Config` wraps them: `check_overrides($text)`,
//! `parse_overrides($filename, $raw)` (returns `$raw // ''`, as the series)
//! and `write_overrides($filename, $text)` (= `normalize_overrides`).

use anyhow::{bail, Error};
use serde_json::Value;

use crate::export;
use crate::overrides;
use crate::perl::Export;

fn check_overrides(text: Option<String>) -> Result<Option<()>, Error> {
    match overrides::check(text.as_deref().unwrap_or("")) {
        Ok(()) => Ok(None),
        Err(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|error| format!("multipath overrides: {error}"))
                .collect();
            bail!("{}\n", lines.join("\n"))
        }
    }
}

fn lint_overrides(text: Option<String>) -> Result<overrides::Report, Error> {
    Ok(overrides::lint(text.as_deref().unwrap_or("")))
}

fn normalize_overrides(text: Option<String>) -> Result<String, Error> {
    Ok(overrides::normalize(text.as_deref().unwrap_or("")))
}

fn overrides_keywords() -> Result<Value, Error> {
    Ok(overrides::keyword_tables())
}

pub const EXPORTS: &[Export] = &[
    export!(
        /// undef, or dies with every error, one per line, each `multipath
        /// overrides: line N: <message>`, the whole message ending in "\n".
        /// Checks the multipath.conf syntax and keyword tables of multipath-tools
        /// 0.9.4; refuses a `multipaths` block (`... is managed via aliases
        /// ...`), unbalanced braces (`unbalanced braces`) and unknown top-level
        /// sections (`unknown top-level section 'x'`), as the series does.
        /// Warnings (see `lint_overrides`) do not make it die.
        check_overrides(text: Option<String>)
    ),
    export!(
        /// `{ errors => [ { line, message } ], warnings => [ { line, message } ]
        /// }`: all findings, in line order, without dying (for an API that wants
        /// to show warnings too).
        lint_overrides(text: Option<String>)
    ),
    export!(
        /// What the series' `write_overrides` stores: trailing whitespace cut
        /// from every line, trailing blank lines dropped, exactly one final
        /// "\n"; an empty or blank text gives ''. Does not check the text.
        normalize_overrides(text: Option<String>)
    ),
    export!(
        /// `{ sections => { $section => [ keywords ] }, newer => [ { keyword,
        /// sections => [..], release } ] }`: the 0.9.4 tables (section names
        /// `top-level`, `defaults`, `blacklist`, `blacklist_exceptions`,
        /// `blacklist device`, `devices`, `devices device`, `overrides`,
        /// `overrides protocol`, `multipaths`, `multipaths multipath`) and the
        /// keywords of later releases, which are refused.
        overrides_keywords()
    ),
];
