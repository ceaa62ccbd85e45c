//! The admin's free-form overrides, checked against the multipath.conf
//! grammar and keyword tables of the multipath-tools releases we know:
//! 0.9.4 (Debian bookworm) and 0.11.1 (Debian trixie, Proxmox VE 9).
//!
//! ```text
//! # /etc/pve/multipath-overrides.conf
//! devices {
//!     device {
//!         vendor "NETAPP"                 # one token, or one quoted string
//!         product "LUN.*"
//!         path_selector "service-time 0"  # multi-word values need quotes
//!         no_path_retry queue
//!     }
//! }
//! blacklist {
//!     devnode "^(ram|loop)[0-9]*"
//! }
//! ```
//!
//! The series only counted braces. This module reads the text the way
//! multipath-tools' parser does ([`lexer`]) and checks every keyword against
//! the section it is in ([`keywords`]) and every value against what its
//! handler accepts ([`values`]), for each release a cluster runs. Whatever
//! a release would complain about (it never fails, it logs and carries on
//! with a config that differs from the text) is an error here, with the
//! line number and the releases it concerns, so a typo cannot silently
//! change multipathd's behaviour on every node. A value any known release
//! crashes or hangs on ([`keywords::CRASHES`], and the polling intervals of
//! [`keywords::check_polling_intervals`]) is refused whatever releases a
//! cluster runs. Like the series, a `multipaths` block is refused (it is
//! generated from the `wwid` sections), and so is any top-level section
//! multipath-tools does not know.
//!
//! Two checks: [`check`] is the series' guard, which lets a `device`
//! section without both `vendor` and `product` pass (the series' own test
//! stores `device { vendor X }`) and [`lint`] reports it as a warning;
//! [`check_strict`], used wherever a text is stored, refuses it as
//! multipath-tools drops such a section.
//!
//! Deliberate differences from what `multipath -t` says (each refusal
//! below has a fixture in `fixtures/overrides/bad/` with a `# disagree:`
//! line; tests/overrides-agree.t checks that the release is indeed silent):
//!
//! - a `multipaths` block is refused (multipath-tools takes it);
//! - a section name must be followed by `{` on its line: multipath-tools
//!   silently enters `overrides` and `protocol` blocks after any word;
//! - a carriage return or NUL byte inside a line is refused:
//!   multipath-tools silently drops the rest of the line;
//! - `features` with `queue_if_no_path` or `retain_attached_hw_handler` is
//!   refused everywhere; `multipath -t` complains only where a device
//!   section merges with a built-in one, multipathd whenever the setting
//!   reaches a map;
//! - a `#` or `!` right after a word, and followed by more than a space,
//!   is refused: multipath-tools starts a comment there, so `prio_args
//!   weight#1` silently becomes `weight` (`1# note` is a comment as
//!   written and passes);
//! - a non-ASCII character outside quotes is refused: multipath-tools reads
//!   it as a space, so `vendor Ünï` silently becomes `vendor n` (a UTF-8
//!   byte-order mark at the start of the text is read as the whitespace it
//!   is);
//! - a value a known release crashes or hangs on is refused for every
//!   release (`polling_interval 0` is fine for 0.9.4, fatal for 0.11.1);
//! - `uid` names are not looked up (the node reading the file has its own
//!   passwd); a name-shaped word or a number passes. A `gid` must be a
//!   number: multipath-tools looks a name up as a user name;
//! - a line of exactly 1023 bytes plus its newline passes (multipath-tools
//!   reads the newline as an empty line of its own; only its line numbers
//!   shift).
//!
//! Error messages quote at most [`QUOTED_MAX`] characters of the input.

mod keywords;
pub(crate) mod lexer;
pub(crate) mod regcomp;
mod values;

use std::collections::HashMap;

use serde::Serialize;

pub use keywords::{Change, Fact, Kind, Release, Section, CRASHES, FACTS, NEWER};
use lexer::Token;

/// One finding, tied to a line (1-based). `releases` names the releases it
/// concerns when not every release would say it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub line: usize,
    pub message: String,
    pub releases: Vec<&'static str>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Everything [`lint`] found: errors refuse the text, warnings do not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// The top-level sections an override text may hold.
pub const TOP_LEVEL: &[&str] = &[
    "defaults",
    "blacklist",
    "blacklist_exceptions",
    "devices",
    "overrides",
];

/// The most characters of the input a message quotes.
pub const QUOTED_MAX: usize = crate::text::QUOTE_MAX_CHARS;

pub use crate::text::excerpt as shorten;

/// [`shorten`] in double quotes, as values are shown.
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", shorten(text))
}

/// The series' guard: checks the text for every known release; `Err` holds
/// every error, in line order. A device section without both `vendor` and
/// `product` passes (a warning of [`lint`]).
pub fn check(text: &str) -> Result<(), Vec<Diagnostic>> {
    into_result(lint(text))
}

/// The check for a text about to be stored: like [`check`] for the given
/// releases (every known one when empty), and a device section without
/// both `vendor` and `product` is an error too.
pub fn check_strict(text: &str, releases: &[Release]) -> Result<(), Vec<Diagnostic>> {
    into_result(lint_with(text, releases, true))
}

fn into_result(report: Report) -> Result<(), Vec<Diagnostic>> {
    if report.errors.is_empty() {
        Ok(())
    } else {
        Err(report.errors)
    }
}

/// The text as it is stored: trailing whitespace cut from every line,
/// trailing blank lines dropped, one final newline; empty stays empty.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.split('\n') {
        out.push_str(line.trim_end_matches(is_perl_space));
        out.push('\n');
    }
    let kept = out.trim_end_matches(is_perl_space).len();
    out.truncate(kept);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Perl's `\s` on a byte string: what the series' writer trims.
fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// "0.9.4", "0.9.4 and 0.11.1": the releases a message is about.
fn release_names(releases: &[Release]) -> String {
    let names: Vec<&str> = releases.iter().map(|release| release.name()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// What a block on the stack is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    Known(Section),
    /// A block we refused as unknown: its contents are not checked, only
    /// its braces are followed.
    Skipped,
}

struct Frame {
    block: Block,
    name: String,
    line: usize,
    /// Unique keywords seen in this block, with their line.
    seen: HashMap<String, usize>,
    /// vendor, product, revision of a `devices` `device` block.
    device: [Option<String>; 3],
    /// `type` of a protocol block, `wwid` of a multipath block.
    has_id: bool,
}

impl Frame {
    fn new(block: Block, name: &str, line: usize) -> Self {
        Frame {
            block,
            name: name.to_string(),
            line,
            seen: HashMap::new(),
            device: [None, None, None],
            has_id: false,
        }
    }
}

struct Parser {
    stack: Vec<Frame>,
    report: Report,
    /// The releases the text is checked for, oldest first.
    releases: Vec<Release>,
    /// Whether a device section without vendor or product is an error.
    strict: bool,
    /// (vendor, product, revision) of every complete device section, with
    /// its line: multipath-tools merges duplicates with a complaint.
    devices: HashMap<[Option<String>; 3], usize>,
    /// Whether the last line with a keyword opened a block: a `{` alone on
    /// the next line belongs to a block that did not open.
    last_keyword_opened: Option<bool>,
    /// `polling_interval` and `max_polling_interval` of `defaults`, as
    /// `set_uint` stores them, with the line of the last one set.
    polling: [Option<u32>; 2],
    polling_line: usize,
    /// What the regular expressions so far expand to together.
    regex_elements: u64,
}

/// Reads the whole text and reports every finding for every known release;
/// a device section without vendor or product is a warning.
pub fn lint(text: &str) -> Report {
    lint_with(text, &Release::ALL, false)
}

/// Reads the whole text and reports every finding for `releases` (every
/// known one when empty); `strict` makes a device section without vendor
/// or product an error.
pub fn lint_with(text: &str, releases: &[Release], strict: bool) -> Report {
    let mut releases = if releases.is_empty() {
        Release::ALL.to_vec()
    } else {
        releases.to_vec()
    };
    releases.sort_unstable();
    releases.dedup();
    let mut parser = Parser {
        stack: vec![Frame::new(Block::Known(Section::Root), "", 0)],
        report: Report::default(),
        releases,
        strict,
        devices: HashMap::new(),
        last_keyword_opened: None,
        polling: [None, None],
        polling_line: 0,
        regex_elements: 0,
    };
    // A byte-order mark is whitespace to multipath-tools.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in lexer::lines(text) {
        parser.line(line.number, line.bytes);
    }
    parser.finish();
    parser.report
}

impl Parser {
    fn error(&mut self, line: usize, message: String) {
        self.error_for(line, message, &[]);
    }

    /// An error only `releases` would complain about (all when empty).
    fn error_for(&mut self, line: usize, message: String, releases: &[Release]) {
        let releases = releases.iter().map(|release| release.name()).collect();
        self.report.errors.push(Diagnostic {
            line,
            message,
            releases,
        });
    }

    fn warning(&mut self, line: usize, message: String) {
        self.report.warnings.push(Diagnostic {
            line,
            message,
            releases: Vec::new(),
        });
    }

    fn top(&self) -> &Frame {
        self.stack.last().expect("the root frame is never popped")
    }

    fn top_mut(&mut self) -> &mut Frame {
        self.stack
            .last_mut()
            .expect("the root frame is never popped")
    }

    fn line(&mut self, number: usize, bytes: &[u8]) {
        if bytes.len() > lexer::MAX_LINE_BYTES {
            self.error(
                number,
                format!(
                    "line is {} bytes long; multipath-tools reads at most {} bytes of a line \
                     and parses the rest as a new line",
                    bytes.len(),
                    lexer::MAX_LINE_BYTES
                ),
            );
        }
        // multipath-tools stops reading a line at either byte, silently.
        if bytes.contains(&0) {
            self.error(
                number,
                "NUL byte in line (multipath-tools ignores the rest)".into(),
            );
        }
        if bytes.contains(&b'\r') {
            self.error(
                number,
                "carriage return inside a line (multipath-tools ignores the rest)".into(),
            );
        }
        let lexer::LineTokens {
            tokens,
            non_ascii,
            glued_comment,
        } = lexer::tokenize_line(bytes);
        if glued_comment {
            self.error(
                number,
                "a comment ('#' or '!') right after a word cuts it short; put a space \
                 before the comment, or quote the value if the character belongs to it"
                    .into(),
            );
        }
        if non_ascii {
            self.error(
                number,
                "non-ASCII character outside quotes (multipath-tools reads it as a space; \
                 quote the value)"
                    .into(),
            );
        }
        let Some(first) = tokens.first() else {
            return;
        };
        match first {
            Token::Close => {
                self.last_keyword_opened = None;
                self.close(number, &tokens);
            }
            Token::Open => self.open_alone(number),
            Token::Quote => {
                self.last_keyword_opened = None;
                self.error(number, "a keyword cannot be quoted".into());
            }
            Token::Word(keyword) => {
                let keyword = keyword.clone();
                let depth = self.stack.len();
                self.keyword(number, &keyword, &tokens);
                self.last_keyword_opened = Some(self.stack.len() > depth);
            }
        }
    }

    /// A `{` at the start of a line. multipath-tools calls it an invalid
    /// keyword of the block it is in. If the keyword line before it opened
    /// nothing, its braces are followed as a skipped block, so that the
    /// matching `}` does not close the enclosing block (and every line
    /// after it is not reported again).
    fn open_alone(&mut self, number: usize) {
        if self.top().block != Block::Skipped {
            self.error(
                number,
                "'{' must follow its section name on the same line".into(),
            );
        }
        if self.last_keyword_opened == Some(false) {
            self.stack.push(Frame::new(Block::Skipped, "{", number));
        }
        self.last_keyword_opened = None;
    }

    fn close(&mut self, number: usize, tokens: &[Token]) {
        if let Some(extra) = tokens.get(1) {
            self.error(
                number,
                format!("extra data after '}}' starting with {}", extra.describe()),
            );
        }
        if self.stack.len() == 1 {
            self.error(
                number,
                "unbalanced braces: '}' without an open section".into(),
            );
            return;
        }
        let frame = self.stack.pop().expect("checked above");
        self.end_of_block(frame);
    }

    fn end_of_block(&mut self, frame: Frame) {
        match frame.block {
            Block::Known(Section::Device) => {
                let [vendor, product, _] = &frame.device;
                if vendor.is_none() || product.is_none() {
                    let message = "device section without both 'vendor' and 'product': \
                         multipath-tools ignores it (\"missing vendor or product parameter\")"
                        .to_string();
                    if self.strict {
                        self.error(frame.line, message);
                    } else {
                        self.warning(frame.line, message);
                    }
                    return;
                }
                let key = frame.device.clone();
                if let Some(first) = self.devices.get(&key) {
                    let first = *first;
                    let [vendor, product, revision] = &frame.device;
                    self.error(
                        frame.line,
                        format!(
                            "duplicate device section for {}:{}:{} (first on line {first})",
                            shorten(vendor.as_deref().unwrap_or("")),
                            shorten(product.as_deref().unwrap_or("")),
                            shorten(revision.as_deref().unwrap_or("(any revision)"))
                        ),
                    );
                } else {
                    self.devices.insert(key, frame.line);
                }
            }
            Block::Known(Section::Protocol) if !frame.has_id => {
                self.error(frame.line, "protocol section without 'type'".into());
            }
            Block::Known(Section::Multipath) if !frame.has_id => {
                self.error(frame.line, "multipath section without 'wwid'".into());
            }
            _ => {}
        }
    }

    /// Checks that a section keyword is followed by exactly `{`.
    fn check_open(&mut self, number: usize, keyword: &str, tokens: &[Token]) {
        match tokens.get(1) {
            Some(Token::Open) => {
                if let Some(extra) = tokens.get(2) {
                    self.error(
                        number,
                        format!(
                            "extra data after '{keyword} {{' starting with {} \
                             (put each keyword on a line of its own)",
                            extra.describe()
                        ),
                    );
                }
            }
            Some(other) => self.error(
                number,
                format!(
                    "expected '{{' after '{keyword}', found {}",
                    other.describe()
                ),
            ),
            None => self.error(
                number,
                format!("missing '{{' after '{keyword}' (it must be on the same line)"),
            ),
        }
    }

    /// Enforces multipath-tools' "duplicate keyword" rule for one block.
    fn check_unique(&mut self, number: usize, section: Section, keyword: &str) {
        if section.is_multi(keyword) {
            return;
        }
        if let Some(first) = self.top().seen.get(keyword) {
            let first = *first;
            let place = match section {
                Section::Root => "at the top level".to_string(),
                other => format!("in this {} section", other.name()),
            };
            self.error(
                number,
                format!("duplicate keyword '{keyword}' {place} (first on line {first})"),
            );
        } else {
            self.top_mut().seen.insert(keyword.to_string(), number);
        }
    }

    /// Refuses a block's keyword that is not one; follows its braces.
    fn skip_block(&mut self, number: usize, keyword: &str, opens: bool) {
        if opens {
            self.stack.push(Frame::new(Block::Skipped, keyword, number));
        }
    }

    fn keyword(&mut self, number: usize, keyword: &str, tokens: &[Token]) {
        let opens = tokens.get(1) == Some(&Token::Open);
        let section = match self.top().block {
            Block::Skipped => return self.skip_block(number, keyword, opens),
            Block::Known(section) => section,
        };

        if let Some(sub) = section.subsection(keyword) {
            self.check_open(number, keyword, tokens);
            self.check_unique(number, section, keyword);
            if sub == Section::Multipaths {
                self.error(
                    number,
                    "'multipaths' is managed via aliases, do not set it here (use the \
                     per-WWID sections of multipath.cfg)"
                        .into(),
                );
            }
            self.stack
                .push(Frame::new(Block::Known(sub), keyword, number));
            return;
        }

        if section == Section::Root {
            let shown = shorten(keyword);
            let message = if opens {
                let hint = if keyword == "device" {
                    "; a device section belongs inside 'devices { }'"
                } else {
                    ""
                };
                format!(
                    "unknown top-level section '{shown}' (allowed: {}){hint}",
                    TOP_LEVEL.join(", ")
                )
            } else {
                format!(
                    "unknown top-level keyword '{shown}': only sections ({}) may appear \
                     here",
                    TOP_LEVEL.join(", ")
                )
            };
            self.error(number, message);
            return self.skip_block(number, keyword, opens);
        }

        let Some(kind) = section.kind(keyword) else {
            let message = match keywords::newer_release(section, keyword) {
                Some(release) => format!(
                    "'{keyword}' is not supported by multipath-tools {} (added in {release})",
                    release_names(&self.releases)
                ),
                None => format!(
                    "invalid keyword '{}' in the {} section",
                    shorten(keyword),
                    section.name()
                ),
            };
            self.error(number, message);
            return self.skip_block(number, keyword, opens);
        };

        self.check_unique(number, section, keyword);
        let value = match value_of(keyword, tokens) {
            Ok(value) => value,
            Err(message) => {
                self.error(number, message);
                return self.skip_block(number, keyword, opens);
            }
        };
        self.check_value(number, section, keyword, kind, &value);
        self.record(number, section, keyword, value);
    }

    /// The value checks: crashes first (refused for every release), then
    /// what the releases checked for say about keyword and value.
    fn check_value(
        &mut self,
        number: usize,
        section: Section,
        keyword: &str,
        kind: Kind,
        value: &str,
    ) {
        if let Some(crash) = CRASHES.iter().find(|crash| {
            crash.keyword == keyword && crash.section == section && (crash.when)(value)
        }) {
            self.error(
                number,
                format!(
                    "{keyword} {} makes multipath-tools {} {}; refused for every release",
                    quoted(value),
                    release_names(crash.releases),
                    crash.what
                ),
            );
            return;
        }
        for fact in FACTS
            .iter()
            .filter(|fact| keywords::fact_applies(fact, section, keyword, kind, value))
        {
            let refusing: Vec<Release> = self
                .releases
                .iter()
                .copied()
                .filter(|release| fact.change.refused_by(*release))
                .collect();
            if refusing.is_empty() {
                continue;
            }
            let subject = match fact.values {
                None => format!("'{keyword}'"),
                Some(_) => format!("'{keyword} {}'", shorten(value)),
            };
            let names = release_names(&refusing);
            let message = match fact.change {
                Change::Added { upstream, .. } => format!(
                    "{subject} is not supported by multipath-tools {names} (added in {upstream})"
                ),
                Change::Deprecated { instead, .. } => format!(
                    "{subject} is deprecated in multipath-tools {names}, which complain(s) \
                     about it; use {instead} instead"
                ),
                Change::Ignored { .. } => continue,
            };
            let concerns: &[Release] = if refusing == Release::ALL {
                &[]
            } else {
                &refusing
            };
            self.error_for(number, message, concerns);
        }
        if kind == Kind::Regex {
            // glibc's time grows with the expanded size: a text full of
            // patterns each just within the limit would take as long.
            self.regex_elements = self
                .regex_elements
                .saturating_add(regcomp::expanded_size(value.as_bytes()));
            if self.regex_elements > regcomp::MAX_EXPANDED_TOTAL {
                self.error(
                    number,
                    format!(
                        "the regular expressions up to here expand to more than {} elements \
                         together; compiling them would take multipath-tools minutes",
                        regcomp::MAX_EXPANDED_TOTAL
                    ),
                );
                return;
            }
        }
        if let Err(message) = values::check(keyword, kind, value) {
            self.error(number, message);
        }
    }

    /// Remembers what the end-of-block and end-of-text checks need.
    fn record(&mut self, number: usize, section: Section, keyword: &str, value: String) {
        let polling = match (section, keyword) {
            (Section::Defaults, "polling_interval") => Some(0),
            (Section::Defaults, "max_polling_interval") => Some(1),
            _ => None,
        };
        if let Some(index) = polling {
            // What set_uint stores: an invalid value leaves "unset", which
            // for polling_interval reads as UINT_MAX (see CRASHES).
            let trimmed = value.trim_matches(|c: char| c.is_ascii_whitespace());
            let stored = if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                trimmed.parse::<u32>().ok()
            } else {
                None
            };
            self.polling[index] = match (index, stored) {
                (0, None) => Some(u32::MAX),
                (_, stored) => stored.or(self.polling[index]),
            };
            self.polling_line = number;
        }
        let frame = self.top_mut();
        match (section, keyword) {
            (Section::Device, "vendor") => frame.device[0] = Some(value),
            (Section::Device, "product") => frame.device[1] = Some(value),
            (Section::Device, "revision") => frame.device[2] = Some(value),
            (Section::Protocol, "type") | (Section::Multipath, "wwid") => frame.has_id = true,
            _ => {}
        }
    }

    /// The polling intervals as 0.11.1's init_config__ combines them. The
    /// text is one drop-in: where it sets only `max_polling_interval`, the
    /// `polling_interval` comes from our own drop-in (any value the
    /// `polling-interval` knob allows) or the built-in default.
    fn check_polling(&mut self) {
        let [checkint, max] = self.polling;
        if checkint.is_none() && max.is_none() {
            return;
        }
        if checkint.is_some_and(|value| value == 0 || value == u32::MAX) {
            return; // refused as a crash on its own line already
        }
        let candidates: Vec<Option<u32>> = match checkint {
            Some(value) => vec![Some(value)],
            None => {
                let (minimum, maximum) = polling_interval_knob_range();
                std::iter::once(None)
                    .chain((minimum..=maximum).map(Some))
                    .collect()
            }
        };
        for candidate in candidates {
            if let Err(what) = keywords::check_polling_intervals(candidate, max) {
                let with = match (checkint, candidate) {
                    (None, Some(value)) => format!(" with a polling_interval of {value}"),
                    _ => String::new(),
                };
                let message = format!(
                    "polling_interval {} and max_polling_interval {}{with} make multipath-tools \
                     0.11.1 {what}; refused for every release",
                    checkint.map_or("(not set)".to_string(), |value| value.to_string()),
                    max.map_or("(not set)".to_string(), |value| value.to_string()),
                );
                self.error(self.polling_line, message);
                return;
            }
        }
    }

    fn finish(&mut self) {
        while self.stack.len() > 1 {
            let frame = self.stack.pop().expect("checked by the loop");
            let name = if frame.name.is_empty() {
                "section"
            } else {
                &frame.name
            };
            let message = format!(
                "unbalanced braces: '{}' opened here is never closed",
                shorten(name)
            );
            self.error(frame.line, message);
        }
        self.check_polling();
        self.report.errors.sort_by_key(|diagnostic| diagnostic.line);
        self.report
            .warnings
            .sort_by_key(|diagnostic| diagnostic.line);
    }
}

/// The values the `polling-interval` knob (rendered into our own drop-in)
/// allows.
fn polling_interval_knob_range() -> (u32, u32) {
    match crate::schema::knob("polling-interval").map(|knob| &knob.kind) {
        Some(crate::schema::Kind::Integer { minimum, maximum }) => (
            u32::try_from(*minimum).unwrap_or(0),
            u32::try_from(*maximum).unwrap_or(u32::MAX),
        ),
        _ => (1, 1),
    }
}

/// The value of `keyword` from its line's tokens: one word, or one quoted
/// string (`""` is the empty string); anything after it is an error.
fn value_of(keyword: &str, tokens: &[Token]) -> Result<String, String> {
    let extra = |token: &Token| {
        format!(
            "extra data after the value of '{keyword}' starting with {} \
             (quote values with spaces)",
            token.describe()
        )
    };
    match tokens.get(1..).unwrap_or_default() {
        [] => Err(format!("missing value for '{keyword}'")),
        [Token::Word(value), rest @ ..] => match rest.first() {
            Some(token) => Err(extra(token)),
            None => Ok(value.clone()),
        },
        [Token::Quote, Token::Quote, rest @ ..] => match rest.first() {
            Some(token) => Err(extra(token)),
            None => Ok(String::new()),
        },
        [Token::Quote, Token::Word(value), Token::Quote, rest @ ..] => match rest.first() {
            Some(token) => Err(extra(token)),
            None => Ok(value.clone()),
        },
        [Token::Quote, ..] => Err(format!("missing closing quote in the value of '{keyword}'")),
        [token, ..] => Err(format!(
            "invalid value for '{keyword}': {} (a block cannot open here)",
            token.describe()
        )),
    }
}

/// The multipath-tools version each node of a cluster reports (`None`: it
/// reports none), grouped by the release whose tables check for it.
struct ClusterReleases {
    /// Release -> the nodes checked as that release, as they are named in
    /// a message (`n3 (reports 0.10.2)` for a version we have no tables of).
    nodes: Vec<(Release, Vec<String>)>,
}

impl ClusterReleases {
    /// A node reporting a known release is checked for that release; a
    /// node reporting another version, or none while others do, for every
    /// known release. Where no node reports a version, every known release
    /// is checked, for no node in particular.
    fn new(versions: &std::collections::BTreeMap<String, Option<String>>) -> Self {
        let mut nodes: Vec<(Release, Vec<String>)> = Release::ALL
            .into_iter()
            .map(|release| (release, Vec::new()))
            .collect();
        if versions.values().all(Option::is_none) {
            return ClusterReleases { nodes };
        }
        for (node, version) in versions {
            let node = shorten(node);
            match version
                .as_deref()
                .map(|version| (version, Release::parse(version)))
            {
                Some((_, Some(release))) => {
                    if let Some((_, list)) = nodes.iter_mut().find(|(known, _)| *known == release) {
                        list.push(node);
                    }
                }
                Some((version, None)) => {
                    let named = format!("{node} (reports {})", shorten(version));
                    nodes
                        .iter_mut()
                        .for_each(|(_, list)| list.push(named.clone()));
                }
                None => {
                    let named = format!("{node} (reports no version)");
                    nodes
                        .iter_mut()
                        .for_each(|(_, list)| list.push(named.clone()));
                }
            }
        }
        nodes.retain(|(_, list)| !list.is_empty());
        ClusterReleases { nodes }
    }

    fn releases(&self) -> Vec<Release> {
        self.nodes.iter().map(|(release, _)| *release).collect()
    }

    /// Where a finding about `releases` applies, for its message.
    fn describe(&self, releases: &[&str]) -> String {
        let named: Vec<String> = self
            .nodes
            .iter()
            .filter(|(release, list)| releases.contains(&release.name()) && !list.is_empty())
            .map(|(release, list)| format!("nodes with {}: {}", release.name(), list.join(", ")))
            .collect();
        if named.is_empty() {
            "no node reports its multipath-tools version, so every known release is checked"
                .to_string()
        } else {
            named.join("; ")
        }
    }
}

/// The strict check of a text about to be stored in a cluster whose nodes
/// report these multipath-tools versions (node -> version, `None` where a
/// node reports none). `Err` holds one message per error, each naming the
/// line and, for what only some releases refuse, the releases and the
/// nodes that run them.
pub fn check_for_cluster(
    text: &str,
    versions: &std::collections::BTreeMap<String, Option<String>>,
) -> Result<(), Vec<String>> {
    let cluster = ClusterReleases::new(versions);
    match check_strict(text, &cluster.releases()) {
        Ok(()) => Ok(()),
        Err(errors) => Err(errors
            .iter()
            .map(|error| {
                if error.releases.is_empty() {
                    error.to_string()
                } else {
                    format!("{error} ({})", cluster.describe(&error.releases))
                }
            })
            .collect()),
    }
}

/// The keyword tables as plain data: the known releases; section name ->
/// sorted keywords (of any known release); the value kind of each value
/// keyword ([`Kind::describe`]); the facts (what a release added,
/// deprecated or ignores); the values a release crashes on; and the
/// keywords of releases after the newest known one.
pub fn keyword_tables() -> serde_json::Value {
    let mut sections = serde_json::Map::new();
    let mut kinds = serde_json::Map::new();
    for section in Section::ALL {
        let mut names: Vec<&str> = section.keywords().iter().map(|(name, _)| *name).collect();
        let subs: Vec<&str> = [
            "defaults",
            "blacklist",
            "blacklist_exceptions",
            "devices",
            "overrides",
            "multipaths",
            "device",
            "protocol",
            "multipath",
        ]
        .into_iter()
        .filter(|name| section.subsection(name).is_some())
        .collect();
        names.extend(subs);
        names.sort_unstable();
        let key = match section {
            Section::Root => "top-level",
            Section::BlacklistDevice => "blacklist device",
            Section::Device => "devices device",
            Section::Protocol => "overrides protocol",
            Section::Multipath => "multipaths multipath",
            other => other.name(),
        };
        sections.insert(key.to_string(), serde_json::json!(names));
        let section_kinds: serde_json::Map<String, serde_json::Value> = section
            .keywords()
            .iter()
            .map(|(name, kind)| (name.to_string(), serde_json::json!(kind.describe())))
            .collect();
        kinds.insert(key.to_string(), serde_json::Value::Object(section_kinds));
    }
    let newer: Vec<serde_json::Value> = NEWER
        .iter()
        .map(|(name, sections, release)| {
            let sections: Vec<&str> = sections.iter().map(|section| section.name()).collect();
            serde_json::json!({ "keyword": name, "sections": sections, "release": release })
        })
        .collect();
    let facts: Vec<serde_json::Value> = FACTS
        .iter()
        .map(|fact| {
            let (change, first, detail) = match fact.change {
                Change::Added { upstream, first } => ("added", first, upstream),
                Change::Deprecated { first, instead } => ("deprecated", first, instead),
                Change::Ignored { first, until } => {
                    ("ignored", first, until.map_or("", |release| release.name()))
                }
            };
            let refused_by: Vec<&str> = Release::ALL
                .into_iter()
                .filter(|release| fact.change.refused_by(*release))
                .map(Release::name)
                .collect();
            serde_json::json!({
                "keyword": fact.keyword,
                "values": fact.values,
                "change": change,
                "release": first.name(),
                "detail": detail,
                "refused-by": refused_by,
            })
        })
        .collect();
    let crashes: Vec<serde_json::Value> = CRASHES
        .iter()
        .map(|crash| {
            let releases: Vec<&str> = crash
                .releases
                .iter()
                .map(|release| release.name())
                .collect();
            serde_json::json!({
                "keyword": crash.keyword,
                "section": crash.section.name(),
                "releases": releases,
                "what": crash.what,
            })
        })
        .collect();
    let releases: Vec<&str> = Release::ALL.into_iter().map(Release::name).collect();
    serde_json::json!({
        "releases": releases,
        "sections": sections,
        "kinds": kinds,
        "facts": facts,
        "crashes": crashes,
        "newer": newer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        lint(text).errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn series_guard_cases() {
        assert!(check("devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n").is_ok());
        assert_eq!(
            lint("devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n")
                .warnings
                .len(),
            1
        );
        let cases: &[(&str, &str)] = &[
            (
                "multipaths {\n}\n",
                "line 1: 'multipaths' is managed via aliases",
            ),
            ("devices {\n", "line 1: unbalanced braces"),
            (
                "frobnicate {\n}\n",
                "line 1: unknown top-level section 'frobnicate'",
            ),
        ];
        for (text, expected) in cases {
            let got = errors(text);
            assert!(
                got.iter().any(|error| error.starts_with(expected)),
                "{text:?}: {got:?}"
            );
        }
    }

    #[test]
    fn accepted_texts() {
        let cases = [
            "",
            "# only a comment\n",
            "defaults {\n\tpolling_interval 10\n\tno_path_retry queue\n}\n",
            "devices {\n device {\n  vendor \"PURE\"\n  product \"FlashArray\"\n  \
             path_selector \"service-time 0\"\n  hardware_handler \"1 alua\"\n  \
             features \"0\"\n }\n}\n",
            "overrides {\n\tprotocol {\n\t\ttype scsi:iscsi\n\t\tdev_loss_tmo 60\n\t}\n}\n",
            "blacklist {\n\twwid .*\n\tdevice {\n\t\tvendor X\n\t}\n}\n\
             blacklist_exceptions {\n\twwid \"^3600\"\n\tproperty \"(SCSI_IDENT_|ID_WWN)\"\n}\n",
            "defaults {\r\n\tverbosity 2\r\n}\r\n",
            "defaults {\n\tuser_friendly_names no # trailing comment\n}",
            "devices {\n\tdevice {\n\t\tvendor \"a\"\"b\"\n\t\tproduct \"\"\n\t}\n}\n",
        ];
        for text in cases {
            assert_eq!(lint(text).errors, vec![], "{text:?}");
        }
    }

    #[test]
    fn refused_texts() {
        let cases: &[(&str, &str)] = &[
            (
                "defaults {\n\tfrobnicate 1\n}\n",
                "line 2: invalid keyword 'frobnicate'",
            ),
            (
                "defaults {\n\tno_path_retry sometimes\n}\n",
                "line 2: invalid value",
            ),
            (
                "defaults {\n\tpath_selector service-time 0\n}\n",
                "line 2: extra data after the value of 'path_selector'",
            ),
            (
                "defaults {\n\tpolling_interval\n}\n",
                "line 2: missing value",
            ),
            (
                "defaults {\n\tvendor \"x\n}\n",
                "line 2: invalid keyword 'vendor'",
            ),
            (
                "overrides {\n\tprio \"x\n}\n",
                "line 2: missing closing quote",
            ),
            ("}\n", "line 1: unbalanced braces"),
            ("defaults\n{\n}\n", "line 1: missing '{'"),
            (
                "devices {\n\tdevice { vendor X }\n}\n",
                "line 2: extra data after 'device {'",
            ),
            (
                "defaults {\n\tverbosity 2\n\tverbosity 3\n}\n",
                "line 3: duplicate keyword",
            ),
            (
                "defaults {\n\tdetect_pgpolicy yes\n}\n",
                "line 2: 'detect_pgpolicy' is not",
            ),
            (
                "overrides {\n\tprotocol {\n\t\teh_deadline 5\n\t}\n}\n",
                "line 2: protocol",
            ),
            (
                "blacklist {\n\tdevnode \"(sd\"\n}\n",
                "line 2: invalid regular expression",
            ),
            (
                "devices {\n\tdevice {\n\t\tvendor A\n\t\tproduct B\n\t}\n\tdevice {\n\
              \t\tvendor A\n\t\tproduct B\n\t}\n}\n",
                "line 6: duplicate device section",
            ),
            (
                "defaults {\n\tgetuid_callout x\n}\n",
                "line 2: 'getuid_callout' is deprecated",
            ),
            ("defaults {\n\tverbosity 2\x00\n}\n", "line 2: NUL byte"),
            ("uid 0\n", "line 1: unknown top-level keyword"),
        ];
        for (text, expected) in cases {
            let got = errors(text);
            assert!(
                got.iter().any(|error| error.starts_with(expected)),
                "{text:?}: {got:?}"
            );
        }
    }

    #[test]
    fn long_lines() {
        let ok = format!("defaults {{\n\tprio_args \"{}\"\n}}\n", "a".repeat(1010));
        assert_eq!(lint(&ok).errors, vec![]);
        let longest = format!("defaults {{\n\tprio_args \"{}\"\n}}\n", "a".repeat(1011));
        assert!(errors(&longest)[0].starts_with("line 2: line is 1024 bytes long"));
        let long = format!("defaults {{\n\tprio_args \"{}\"\n}}\n", "a".repeat(1020));
        assert!(errors(&long)[0].starts_with("line 2: line is 1033 bytes long"));
    }

    #[test]
    fn normalize_table() {
        let cases = [
            ("text  \n\n", "text\n"),
            ("", ""),
            (" \n\t\n", ""),
            ("a \nb\t\n\n", "a\nb\n"),
            ("a\r\nb\r\n", "a\nb\n"),
            ("no newline", "no newline\n"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "{input:?}");
            assert_eq!(normalize(expected), expected, "idempotent on {expected:?}");
        }
    }

    /// The header lines of a fixture: `# expect:` texts and the releases
    /// of `# bad-for:` (every known release when absent).
    fn fixture_header(text: &str) -> (Vec<&str>, Vec<Release>) {
        let expects = text
            .lines()
            .filter_map(|line| line.strip_prefix("# expect: "))
            .map(str::trim_end)
            .collect();
        let bad_for = text
            .lines()
            .filter_map(|line| line.strip_prefix("# bad-for: "))
            .flat_map(str::split_whitespace)
            .map(|name| Release::parse(name).unwrap_or_else(|| panic!("release {name}")))
            .collect::<Vec<_>>();
        let bad_for = if bad_for.is_empty() {
            Release::ALL.to_vec()
        } else {
            bad_for
        };
        (expects, bad_for)
    }

    /// The shared fixtures (tests/overrides-agree.t runs them against
    /// multipath-tools too): our verdict for each release and for all of
    /// them, and the `# expect:` texts.
    #[test]
    fn fixture_corpus() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/overrides");
        let mut seen = 0;
        for kind in ["good", "bad", "warn"] {
            let dir = format!("{root}/{kind}");
            let mut paths: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|err| panic!("{dir}: {err}"))
                .map(|entry| entry.expect("directory entry").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
                .collect();
            paths.sort();
            for path in paths {
                seen += 1;
                let text = std::fs::read_to_string(&path).expect("fixture is UTF-8");
                let name = path.display();
                let (expects, bad_for) = fixture_header(&text);
                for release in Release::ALL {
                    let report = lint_with(&text, &[release], false);
                    let strict = lint_with(&text, &[release], true);
                    match kind {
                        "good" => {
                            assert_eq!(report, Report::default(), "{name} ({release:?})");
                            assert_eq!(strict, Report::default(), "{name} ({release:?})");
                        }
                        "bad" if bad_for.contains(&release) => {
                            assert!(
                                !report.errors.is_empty(),
                                "{name}: not refused ({release:?})"
                            );
                        }
                        "bad" => {
                            assert_eq!(strict, Report::default(), "{name} ({release:?})");
                        }
                        _ => {
                            assert_eq!(report.errors, vec![], "{name} ({release:?})");
                            assert!(!report.warnings.is_empty(), "{name} ({release:?})");
                            assert!(!strict.errors.is_empty(), "{name}: strict ({release:?})");
                        }
                    }
                }
                if kind == "good" {
                    continue;
                }
                let report = lint(&text);
                let findings: Vec<String> = match kind {
                    "bad" => {
                        assert!(!report.errors.is_empty(), "{name}: not refused");
                        report.errors.iter().map(ToString::to_string).collect()
                    }
                    _ => {
                        assert_eq!(report.errors, vec![], "{name}");
                        report.warnings.iter().map(ToString::to_string).collect()
                    }
                };
                assert!(!expects.is_empty(), "{name}: no '# expect:' line");
                for expect in expects {
                    assert!(
                        findings.iter().any(|finding| finding.contains(expect)),
                        "{name}: nothing says {expect:?}: {findings:?}"
                    );
                }
            }
        }
        assert!(seen >= 30, "only {seen} fixtures");
    }

    #[test]
    fn messages_quote_at_most_80_characters() {
        let huge = "x".repeat(1024 * 1024);
        let texts = [
            format!("defaults {{\n\tno_path_retry \"{huge}\"\n}}\n"),
            format!("defaults {{\n\t{huge} 1\n}}\n"),
            format!("{huge} {{\n}}\n"),
            format!("devices {{\n\tdevice {{\n\t\tvendor \"{huge}\"\n\t\tproduct \"{huge}\"\n\t}}\n\tdevice {{\n\t\tvendor \"{huge}\"\n\t\tproduct \"{huge}\"\n\t}}\n}}\n"),
            format!("blacklist {{\n\twwid \"({huge}\"\n}}\n"),
        ];
        for text in &texts {
            let report = lint(text);
            assert!(!report.errors.is_empty());
            for error in &report.errors {
                assert!(error.message.len() < 600, "{}", &error.message[..600]);
            }
        }
        assert_eq!(shorten(&"é".repeat(100)).chars().count(), QUOTED_MAX + 3);
        assert_eq!(shorten("a\nb"), "a\\nb");
    }

    #[test]
    fn issue_12_overrides_items() {
        let cases: &[(&str, bool, &str)] = &[
            // a device section without product is refused by the strict check
            ("devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n", false, "line 2: device section without both"),
            ("defaults {\n\tgid disk\n}\n", false, "line 2: invalid value for gid: \"disk\""),
            ("defaults {\n\tgid 6\n}\n", true, ""),
            ("\u{feff}defaults {\n\tverbosity 2\n}\n", true, ""),
            ("device {\n\tvendor X\n\tproduct Y\n}\n", false, "a device section belongs inside 'devices { }'"),
            (
                "devices {\n\tdevice {\n\t\tvendor X\n\t\tproduct Y\n\t\tpath_grouping_policy group_by_tpg\n\t}\n}\n",
                false,
                "line 5: 'path_grouping_policy group_by_tpg' is not supported by multipath-tools 0.9.4 (added in 0.9.6)",
            ),
            // checked inside a refused multipaths block
            (
                "multipaths {\n\tmultipath {\n\t\twwid 36\n\t\tfrobnicate 1\n\t}\n}\n",
                false,
                "line 4: invalid keyword 'frobnicate' in the multipath section",
            ),
            ("multipaths {\n\tmultipath {\n\t\talias x\n\t}\n}\n", false, "line 2: multipath section without 'wwid'"),
        ];
        for (text, ok, expected) in cases {
            let strict = check_strict(text, &[]);
            assert_eq!(strict.is_ok(), *ok, "{text:?}: {strict:?}");
            if let Err(errors) = strict {
                let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
                assert!(
                    got.iter().any(|error| error.contains(expected)),
                    "{text:?}: {got:?}"
                );
            }
        }
        // the guard lets a device section without product pass
        assert!(check("devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n").is_ok());
    }

    /// A brace on the next line inside a refused multipaths block: one
    /// finding per real mistake, not one per line after it.
    #[test]
    fn brace_on_next_line_does_not_cascade() {
        let mut text = String::from("multipaths\n{\n");
        for index in 0..40 {
            text.push_str(&format!("\tmultipath\n\t{{\n\t\twwid 36{index}\n\t}}\n"));
        }
        text.push_str("}\ndefaults {\n\tverbosity 2\n}\n");
        let errors = lint(&text).errors;
        assert!(errors.len() <= 2 + 2 * 40 + 1, "{} errors", errors.len());
        assert!(
            !errors
                .iter()
                .any(|error| error.message.contains("unbalanced")),
            "{errors:?}"
        );
        assert!(
            !errors
                .iter()
                .any(|error| error.message.contains("top-level")),
            "{errors:?}"
        );
        // an unknown section with its brace on the next line
        let errors = lint("frobnicate\n{\n\tfoo {\n\t}\n}\ndefaults {\n}\n").errors;
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn releases_and_crashes() {
        let text = "defaults {\n\tdetect_pgpolicy yes\n\tflush_on_last_del yes\n}\n";
        let for_094 = lint_with(text, &[Release::V0_9_4], true).errors;
        assert_eq!(for_094.len(), 1, "{for_094:?}");
        assert_eq!(for_094[0].releases, vec!["0.9.4"]);
        let for_0111 = lint_with(text, &[Release::V0_11_1], true).errors;
        assert_eq!(for_0111.len(), 1, "{for_0111:?}");
        assert!(for_0111[0]
            .message
            .contains("'flush_on_last_del yes' is deprecated"));
        assert_eq!(lint_with(text, &[], true).errors.len(), 2);
        // a crash is refused whatever release is checked
        for release in Release::ALL {
            for text in [
                "defaults {\n\tpolling_interval 0\n}\n",
                "defaults {\n\tpolling_interval -1\n}\n",
                "defaults {\n\tpartition_delimiter /\n}\n",
                "defaults {\n\tmax_polling_interval 4294967295\n}\n",
                "defaults {\n\tpolling_interval 3\n\tmax_polling_interval 2147483648\n}\n",
            ] {
                let errors = lint_with(text, &[release], true).errors;
                assert!(
                    errors
                        .iter()
                        .any(|error| error.message.contains("refused for every release")),
                    "{text:?} {release:?}: {errors:?}"
                );
            }
        }
        for text in [
            "defaults {\n\tpolling_interval 10\n\tmax_polling_interval 60\n}\n",
            "defaults {\n\tmax_polling_interval 65536\n}\n",
        ] {
            assert_eq!(lint(text).errors, vec![], "{text:?}");
        }
    }

    #[test]
    fn regular_expressions_have_a_budget_per_text() {
        // each just over the limit of one pattern, so none reaches regcomp
        let mut text = String::from("blacklist {\n");
        for _ in 0..6 {
            text.push_str("\twwid \"(a{1001}){1000}\"\n");
        }
        text.push_str("}\n");
        let errors = lint(&text).errors;
        let budget: Vec<usize> = errors
            .iter()
            .filter(|error| {
                error
                    .message
                    .contains("expand to more than 4000000 elements together")
            })
            .map(|error| error.line)
            .collect();
        assert_eq!(budget, vec![5, 6, 7], "{errors:?}");
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn polling_interval_arithmetic() {
        use keywords::check_polling_intervals as check;
        assert!(check(Some(5), None).is_ok());
        assert!(check(None, Some(20)).is_ok());
        assert!(check(Some(0), None).is_err());
        assert!(check(Some(0), Some(20)).is_err());
        assert!(check(Some(u32::MAX), None).is_err());
        assert!(check(Some(3), Some(1 << 31)).is_err());
        assert!(check(Some(7), Some(9)).is_ok());
        // below 2^16 every combination is safe
        for max in [1, 2, 3, 17, 1000, 65535, 65536] {
            for checkint in [None, Some(1), Some(2), Some(3), Some(7), Some(3600)] {
                assert!(check(checkint, Some(max)).is_ok(), "{checkint:?} {max}");
            }
        }
    }

    #[test]
    fn cluster_messages_name_release_and_nodes() {
        let text = "defaults {\n\tdetect_pgpolicy yes\n}\n";
        let mut versions = std::collections::BTreeMap::new();
        versions.insert("n2".to_string(), Some("0.11.1-2".to_string()));
        assert_eq!(check_for_cluster(text, &versions), Ok(()));
        versions.insert("n1".to_string(), Some("0.9.4-3+deb12u2".to_string()));
        versions.insert("n3".to_string(), None);
        let errors = check_for_cluster(text, &versions).unwrap_err();
        assert_eq!(
            errors,
            vec![
                "line 2: 'detect_pgpolicy' is not supported by multipath-tools 0.9.4 (added in \
                 0.9.6) (nodes with 0.9.4: n1, n3 (reports no version))"
            ]
        );
        let errors = check_for_cluster(text, &Default::default()).unwrap_err();
        assert!(errors[0].ends_with(
            "(no node reports its multipath-tools version, so every known release is checked)"
        ));
        assert_eq!(Release::parse("v0.11.1"), Some(Release::V0_11_1));
        assert_eq!(Release::parse("0.11.10"), None);
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics(text in any::<String>()) {
                let report = lint(&text);
                let normalized = normalize(&text);
                prop_assert_eq!(normalize(&normalized), normalized.clone());
                for diagnostic in report.errors.iter().chain(report.warnings.iter()) {
                    prop_assert!(diagnostic.line >= 1);
                }
            }

            #[test]
            fn every_entry_point_takes_anything(
                text in any::<String>(),
                strict in any::<bool>(),
                release in 0usize..3,
                versions in proptest::collection::btree_map(
                    "[a-z0-9]{1,4}",
                    proptest::option::of("(0\\.9\\.4|0\\.11\\.1|v?[0-9.]{0,6})(-[a-z0-9+]{0,4})?"),
                    0..4,
                ),
                checkint in proptest::option::of(any::<u32>()),
                max in proptest::option::of(any::<u32>()),
            ) {
                let releases = match release {
                    0 => vec![],
                    1 => vec![Release::V0_9_4],
                    _ => vec![Release::V0_11_1, Release::V0_9_4],
                };
                let report = lint_with(&text, &releases, strict);
                prop_assert_eq!(check_strict(&text, &releases).is_ok(), lint_with(&text, &releases, true).errors.is_empty());
                let _ = check(&text);
                let _ = check_for_cluster(&text, &versions);
                for diagnostic in report.errors.iter().chain(report.warnings.iter()) {
                    prop_assert!(diagnostic.line >= 1);
                }
                let _ = regcomp::check(&text);
                let _ = Release::parse(&text);
                let _ = keywords::check_polling_intervals(checkint, max);
                let _ = shorten(&text);
            }

            #[test]
            fn never_panics_on_syntax_soup(
                text in "([a-z_]{0,12}|[ \t\"{}#!\\n\\r]|\"\"|devices|device|defaults|\
                          overrides|protocol|blacklist|multipaths|multipath|vendor|product|\
                          polling_interval|max_polling_interval|[0-9]{1,10}|\u{feff}){0,60}"
            ) {
                let _ = lint(&text);
                let _ = lint_with(&text, &[Release::V0_11_1], true);
            }
        }
    }
}
