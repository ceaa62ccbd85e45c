//! The admin's free-form overrides, checked against the multipath.conf
//! grammar and keyword tables of multipath-tools 0.9.4 (Debian bookworm).
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
//! 0.9.4's parser does ([`lexer`]) and checks every keyword against the
//! section it is in ([`keywords`]) and every value against what its handler
//! accepts ([`values`]). Whatever 0.9.4 would complain about (it never
//! fails, it logs and carries on with a config that differs from the text)
//! is an error here, with the line number, so a typo cannot silently change
//! multipathd's behaviour on every node. On top of that, like the series, a
//! `multipaths` block is refused (it is generated from the `wwid` sections)
//! and so is any top-level section 0.9.4 does not know.
//!
//! One complaint of 0.9.4 is only a warning here: a `device` section
//! without both `vendor` and `product` (0.9.4 drops it). The series' own
//! test accepts `device { vendor X }`, so [`check`] lets it pass and
//! [`lint`] reports it.
//!
//! Deliberate differences from what `multipath -t` says (each refusal
//! below has a fixture in `fixtures/overrides/bad/` with a `# disagree:`
//! line; tests/overrides-agree.t checks that 0.9.4 is indeed silent there):
//!
//! - a `multipaths` block is refused (0.9.4 takes it);
//! - a section name must be followed by `{` on its line: 0.9.4 silently
//!   enters `overrides` and `protocol` blocks after any word;
//! - a carriage return or NUL byte inside a line is refused: 0.9.4 silently
//!   drops the rest of the line;
//! - `features` with `queue_if_no_path` or `retain_attached_hw_handler` is
//!   refused everywhere; `multipath -t` complains only where a device
//!   section merges with a built-in one, multipathd whenever the setting
//!   reaches a map;
//! - a `#` or `!` right after a word is refused: 0.9.4 starts a comment
//!   there, so `prio_args weight#1` silently becomes `weight`;
//! - a non-ASCII character outside quotes is refused: 0.9.4 reads it as a
//!   space, so `vendor Ünï` silently becomes `vendor n`;
//! - `uid`/`gid` names are not looked up (the node reading the file has
//!   its own passwd); a name-shaped word or a number passes;
//! - a line of exactly 1023 bytes plus its newline passes (0.9.4 reads the
//!   newline as an empty line of its own; only its line numbers shift).
//!
//! Keywords that releases after 0.9.4 added ([`NEWER`]) are refused with a
//! message naming the release, rather than 0.9.4's "invalid keyword".

mod keywords;
mod lexer;
mod regex;
mod values;

use std::collections::HashMap;

use serde::Serialize;

pub use keywords::{Kind, Section, NEWER};
use lexer::Token;

/// One finding, tied to a line (1-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub line: usize,
    pub message: String,
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

/// Checks the text; `Err` holds every error, in line order.
pub fn check(text: &str) -> Result<(), Vec<Diagnostic>> {
    let report = lint(text);
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

/// What a block on the stack is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    Known(Section),
    /// A block we refused (unknown or `multipaths`): its contents are not
    /// checked, only its braces are followed.
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
    has_type: bool,
}

impl Frame {
    fn new(block: Block, name: &str, line: usize) -> Self {
        Frame {
            block,
            name: name.to_string(),
            line,
            seen: HashMap::new(),
            device: [None, None, None],
            has_type: false,
        }
    }
}

struct Parser {
    stack: Vec<Frame>,
    report: Report,
    /// (vendor, product, revision) of every complete device section, with
    /// its line: 0.9.4 merges duplicates with a complaint.
    devices: HashMap<[Option<String>; 3], usize>,
}

/// Reads the whole text and reports every finding.
pub fn lint(text: &str) -> Report {
    let mut parser = Parser {
        stack: vec![Frame::new(Block::Known(Section::Root), "", 0)],
        report: Report::default(),
        devices: HashMap::new(),
    };
    for line in lexer::lines(text) {
        parser.line(line.number, line.bytes);
    }
    parser.finish();
    parser.report
}

impl Parser {
    fn error(&mut self, line: usize, message: String) {
        self.report.errors.push(Diagnostic { line, message });
    }

    fn warning(&mut self, line: usize, message: String) {
        self.report.warnings.push(Diagnostic { line, message });
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
            Token::Close => self.close(number, &tokens),
            Token::Open => self.error(
                number,
                "'{' must follow its section name on the same line".into(),
            ),
            Token::Quote => self.error(number, "a keyword cannot be quoted".into()),
            Token::Word(keyword) => {
                let keyword = keyword.clone();
                self.keyword(number, &keyword, &tokens);
            }
        }
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
                    self.warning(
                        frame.line,
                        "device section without both 'vendor' and 'product': \
                         multipath-tools ignores it"
                            .into(),
                    );
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
                            vendor.as_deref().unwrap_or(""),
                            product.as_deref().unwrap_or(""),
                            revision.as_deref().unwrap_or("(any revision)")
                        ),
                    );
                } else {
                    self.devices.insert(key, frame.line);
                }
            }
            Block::Known(Section::Protocol) if !frame.has_type => {
                self.error(frame.line, "protocol section without 'type'".into());
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

    /// Enforces 0.9.4's "duplicate keyword" rule for one block.
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

    fn keyword(&mut self, number: usize, keyword: &str, tokens: &[Token]) {
        let opens = tokens.get(1) == Some(&Token::Open);
        let section = match self.top().block {
            Block::Skipped => {
                if opens {
                    self.stack.push(Frame::new(Block::Skipped, keyword, number));
                }
                return;
            }
            Block::Known(section) => section,
        };

        if let Some(sub) = section.subsection(keyword) {
            self.check_open(number, keyword, tokens);
            self.check_unique(number, section, keyword);
            let block = if sub == Section::Multipaths {
                self.error(
                    number,
                    "'multipaths' is managed via aliases, do not set it here (use the \
                     per-WWID sections of multipath.cfg)"
                        .into(),
                );
                Block::Skipped
            } else {
                Block::Known(sub)
            };
            self.stack.push(Frame::new(block, keyword, number));
            return;
        }

        if section == Section::Root {
            let message = if opens {
                format!(
                    "unknown top-level section '{keyword}' (allowed: {})",
                    TOP_LEVEL.join(", ")
                )
            } else {
                format!(
                    "unknown top-level keyword '{keyword}': only sections ({}) may appear \
                     here",
                    TOP_LEVEL.join(", ")
                )
            };
            self.error(number, message);
            if opens {
                self.stack.push(Frame::new(Block::Skipped, keyword, number));
            }
            return;
        }

        let Some(kind) = section.kind(keyword) else {
            let message = match keywords::newer_release(section, keyword) {
                Some(release) => format!(
                    "'{keyword}' is not supported by multipath-tools 0.9.4 (added in \
                     {release})"
                ),
                None => format!(
                    "invalid keyword '{keyword}' in the {} section",
                    section.name()
                ),
            };
            self.error(number, message);
            if opens {
                self.stack.push(Frame::new(Block::Skipped, keyword, number));
            }
            return;
        };

        self.check_unique(number, section, keyword);
        let value = match value_of(keyword, tokens) {
            Ok(value) => value,
            Err(message) => {
                self.error(number, message);
                if opens {
                    self.stack.push(Frame::new(Block::Skipped, keyword, number));
                }
                return;
            }
        };
        match kind {
            Kind::Deprecated | Kind::DeprecatedPath => self.error(
                number,
                format!("'{keyword}' is deprecated; multipath-tools 0.9.4 complains about it"),
            ),
            _ => {}
        }
        if let Err(message) = values::check(keyword, kind, &value) {
            self.error(number, message);
        }
        self.record(section, keyword, value);
    }

    /// Remembers what the end-of-block checks need.
    fn record(&mut self, section: Section, keyword: &str, value: String) {
        let frame = self.top_mut();
        match (section, keyword) {
            (Section::Device, "vendor") => frame.device[0] = Some(value),
            (Section::Device, "product") => frame.device[1] = Some(value),
            (Section::Device, "revision") => frame.device[2] = Some(value),
            (Section::Protocol, "type") => frame.has_type = true,
            _ => {}
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
            let message = format!("unbalanced braces: '{name}' opened here is never closed");
            self.error(frame.line, message);
        }
        self.report.errors.sort_by_key(|diagnostic| diagnostic.line);
        self.report
            .warnings
            .sort_by_key(|diagnostic| diagnostic.line);
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

/// The keyword tables as plain data: section name -> sorted keywords, the
/// value kind of each value keyword ([`Kind::describe`]), and the newer
/// keywords with their release.
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
    serde_json::json!({ "sections": sections, "kinds": kinds, "newer": newer })
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

    /// The shared corpus (tests/overrides-agree.t runs it against
    /// multipath-tools too): our verdict and the `# expect:` texts.
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
                let report = lint(&text);
                let name = path.display();
                let findings: Vec<String> = match kind {
                    "good" => {
                        assert_eq!(report, Report::default(), "{name}");
                        continue;
                    }
                    "bad" => {
                        assert!(!report.errors.is_empty(), "{name}: not refused");
                        report.errors.iter().map(ToString::to_string).collect()
                    }
                    _ => {
                        assert_eq!(report.errors, vec![], "{name}");
                        report.warnings.iter().map(ToString::to_string).collect()
                    }
                };
                let expects: Vec<&str> = text
                    .lines()
                    .filter_map(|line| line.strip_prefix("# expect: "))
                    .collect();
                assert!(!expects.is_empty(), "{name}: no '# expect:' line");
                for expect in expects {
                    assert!(
                        findings
                            .iter()
                            .any(|finding| finding.contains(expect.trim_end())),
                        "{name}: nothing says {expect:?}: {findings:?}"
                    );
                }
            }
        }
        assert!(seen >= 30, "only {seen} fixtures");
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
            fn never_panics_on_syntax_soup(
                text in "([a-z_]{0,12}|[ \t\"{}#!\\n\\r]|\"\"|devices|device|defaults|\
                          overrides|protocol|blacklist|multipaths|vendor|product){0,60}"
            ) {
                let _ = lint(&text);
            }
        }
    }
}
