//! Importing a node's hand-made multipath setup into the cluster config.
//!
//! ```text
//! # /etc/multipath.conf                      -> proposal
//! defaults {
//!     user_friendly_names yes                -> defaults: user-friendly-names yes
//!     checker_timeout 30                     -> overrides: defaults { checker_timeout 30 }
//! }
//! multipaths {
//!     multipath {
//!         wwid 3600a098038314b2d4a5d4e6f2f6b4d31
//!         alias vmstore-a                    -> wwid 3600a...31: alias vmstore-a
//!         flush_on_last_del yes              -> report: stays in /etc/multipath.conf
//!     }
//! }
//! devices { device { vendor X product Y } }  -> overrides: devices { ... }
//! ```
//!
//! Every admin who needs the product already runs multipath, set up by hand
//! on each node. This module reads the texts of that setup (the Perl glue
//! reads the files and the live maps) and proposes a cluster config: the
//! WWIDs of `multipaths` entries and of live maps allow-listed in
//! `/etc/multipath/wwids`, their aliases, the per-WWID and default settings
//! the knob schema ([`crate::schema`]) expresses, and the rest of what is
//! valid as the admin's overrides text ([`crate::overrides`]). Whatever
//! cannot be carried over is reported with its file and line, and stays in
//! the node's files ([`Import::remainder`] is that text). Against an
//! existing cluster config the result also lists where this node differs,
//! and [`apply`] merges a proposal (or the chosen parts) into it, refusing
//! conflicts unless told to overwrite. Once the cluster config manages the
//! node, [`conflicts`] names where the node's own files still contradict or
//! repeat it; nothing here ever edits the admin's files.
//!
//! The texts are read with the overrides lexer (multipath-tools' own
//! tokenizing); whatever goes into the overrides text is checked by
//! [`overrides::check_strict`] itself.
//!
//! The import never changes what multipathd does on the node, with one
//! deliberate exception: the managed defaults (`find_multipaths strict`,
//! ...) the node does not set itself; [`Import::changes`] names them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Error};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::maps::ScsiProtocol;
use crate::overrides;
use crate::overrides::lexer;
use crate::overrides::regcomp::Regex;
use crate::perl::lenient;
use crate::schema::{self, SectionType};
use crate::section_config::{self, Config, SectionUpdate};
use crate::wwids;

/// The sections that go into the overrides text as they are.
const CARRIED_SECTIONS: &[&str] = &[
    "devices",
    "blacklist",
    "blacklist_exceptions",
    "overrides",
    "defaults",
];

/// One of the node's multipath.conf texts (`/etc/multipath.conf`, then the
/// `conf.d` files in name order).
#[derive(Clone, Debug, Deserialize)]
pub struct NodeFile {
    pub name: String,
    pub text: String,
}

/// A live map of the node, as the Perl glue sees it.
#[derive(Clone, Debug, Deserialize)]
pub struct LiveMap {
    pub wwid: String,
    /// A local disk (no SAN transport, or holding the system's mounts).
    #[serde(default, deserialize_with = "lenient::perl_bool")]
    pub local: bool,
    #[serde(default, deserialize_with = "lenient::perl_bool")]
    pub blacklisted: bool,
}

/// Everything read from one node.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NodeSetup {
    #[serde(default)]
    pub files: Vec<NodeFile>,
    #[serde(default)]
    pub wwids: Option<String>,
    #[serde(default)]
    pub bindings: Option<String>,
    #[serde(default)]
    pub maps: Vec<LiveMap>,
}

/// The proposed cluster config.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    #[serde(default)]
    pub defaults: BTreeMap<String, Value>,
    #[serde(default)]
    pub wwids: BTreeMap<String, BTreeMap<String, Value>>,
    #[serde(default)]
    pub overrides: String,
}

/// A piece of the node's setup and why it is not carried over.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    pub file: String,
    /// 1-based; 0 when the item is not tied to a line (a live map).
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// Where the node and the cluster config differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// `defaults`, `overrides`, or a WWID.
    pub section: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Value>,
}

/// A managed default the node does not set: importing changes it there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub keyword: String,
    pub value: Value,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Import {
    pub proposal: Proposal,
    /// What stays in the node's files, and why.
    pub report: Vec<Item>,
    pub changes: Vec<Change>,
    pub differences: Vec<Difference>,
    /// Per file, the multipath.conf text of what stays behind: with the
    /// rendered drop-ins of the proposal it configures multipathd as the
    /// node's files did.
    pub remainder: BTreeMap<String, String>,
}

/// An entry that stays in a node file, and the top-level section it is in.
struct Stay {
    file: String,
    section: Option<String>,
    entry: Entry,
}

/// The remainder text of each file: the staying entries, each in its
/// section, sections in the order they first appear.
fn remainder(stays: &[Stay]) -> BTreeMap<String, String> {
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut files: Vec<&str> = stays.iter().map(|stay| stay.file.as_str()).collect();
    files.dedup();
    for file in files {
        let mut text = String::new();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let in_file: Vec<&Stay> = stays.iter().filter(|stay| stay.file == file).collect();
        for stay in &in_file {
            match &stay.section {
                None => stay.entry.render(0, &mut text),
                Some(section) if done.insert(section.as_str()) => {
                    text.push_str(&format!("{section} {{\n"));
                    for member in in_file
                        .iter()
                        .filter(|m| m.section.as_ref() == Some(section))
                    {
                        member.entry.render(1, &mut text);
                    }
                    text.push_str("}\n");
                }
                Some(_) => {}
            }
        }
        texts.entry(file.to_string()).or_default().push_str(&text);
    }
    texts
}

// ---- reading multipath.conf -------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word { text: String, quoted: bool },
    Open,
    Close,
}

/// The tokens of a line as the overrides lexer reads them (as
/// multipath-tools does), a quoted string as one word (`""` inside it a
/// literal quote; an empty or unclosed one too).
fn tokenize(line: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    // inside a string: whether its word came yet
    let mut string: Option<bool> = None;
    for token in lexer::tokenize_line(line).tokens {
        match token {
            lexer::Token::Quote => match string.take() {
                None => string = Some(false),
                Some(false) => tokens.push(Token::Word {
                    text: String::new(),
                    quoted: true,
                }),
                Some(true) => {}
            },
            lexer::Token::Word(text) => {
                let quoted = string.is_some();
                if quoted {
                    string = Some(true);
                }
                tokens.push(Token::Word { text, quoted });
            }
            lexer::Token::Open => tokens.push(Token::Open),
            lexer::Token::Close => tokens.push(Token::Close),
        }
    }
    if string == Some(false) {
        tokens.push(Token::Word {
            text: String::new(),
            quoted: true,
        });
    }
    tokens
}

/// A keyword line or a section of a multipath.conf text.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    line: usize,
    keyword: String,
    /// The value words; a quoted string is one word.
    value: Vec<(String, bool)>,
    children: Option<Vec<Entry>>,
}

impl Entry {
    fn value_text(&self) -> String {
        let words: Vec<&str> = self.value.iter().map(|(text, _)| text.as_str()).collect();
        words.join(" ")
    }

    /// The entry as multipath.conf text, one line per keyword.
    fn render(&self, indent: usize, out: &mut String) {
        let pad = "\t".repeat(indent);
        out.push_str(&pad);
        out.push_str(&self.keyword);
        for (text, quoted) in &self.value {
            if *quoted || text.is_empty() {
                out.push_str(&format!(" \"{}\"", text.replace('"', "\"\"")));
            } else {
                out.push(' ');
                out.push_str(text);
            }
        }
        if let Some(children) = &self.children {
            out.push_str(" {\n");
            for child in children {
                child.render(indent + 1, out);
            }
            out.push_str(&pad);
            out.push('}');
        }
        out.push('\n');
    }
}

/// The entries of a text; stray closing braces and words before one are
/// reported, an unclosed section ends at the end of the text.
fn parse_entries(file: &str, text: &str, report: &mut Vec<Item>) -> Vec<Entry> {
    let mut stack: Vec<Entry> = Vec::new();
    let mut top = Vec::new();
    let push = |stack: &mut Vec<Entry>, top: &mut Vec<Entry>, entry: Entry| match stack.last_mut() {
        Some(parent) => parent.children.get_or_insert_with(Vec::new).push(entry),
        None => top.push(entry),
    };
    for line in lexer::lines(text) {
        let number = line.number;
        let mut words: Vec<(String, bool)> = Vec::new();
        for token in tokenize(line.bytes) {
            match token {
                Token::Word { text, quoted } => words.push((text, quoted)),
                Token::Open => {
                    let mut words = std::mem::take(&mut words).into_iter();
                    let keyword = words.next().map(|(text, _)| text).unwrap_or_default();
                    stack.push(Entry {
                        line: number,
                        keyword,
                        value: words.collect(),
                        children: Some(Vec::new()),
                    });
                }
                Token::Close => {
                    flush_words(&mut words, number, &mut stack, &mut top, push);
                    match stack.pop() {
                        Some(section) => push(&mut stack, &mut top, section),
                        None => report.push(Item {
                            file: file.to_string(),
                            line: number,
                            text: "}".to_string(),
                            reason: "a closing brace without a section".to_string(),
                        }),
                    }
                }
            }
        }
        flush_words(&mut words, number, &mut stack, &mut top, push);
    }
    while let Some(section) = stack.pop() {
        report.push(Item {
            file: file.to_string(),
            line: section.line,
            text: format!("{} {{", section.keyword),
            reason: "the section is not closed; multipath-tools reads it to the end of the file"
                .to_string(),
        });
        push(&mut stack, &mut top, section);
    }
    top
}

fn flush_words(
    words: &mut Vec<(String, bool)>,
    line: usize,
    stack: &mut Vec<Entry>,
    top: &mut Vec<Entry>,
    push: impl Fn(&mut Vec<Entry>, &mut Vec<Entry>, Entry),
) {
    if words.is_empty() {
        return;
    }
    let mut iter = std::mem::take(words).into_iter();
    let keyword = iter.next().map(|(text, _)| text).unwrap_or_default();
    push(
        stack,
        top,
        Entry {
            line,
            keyword,
            value: iter.collect(),
            children: None,
        },
    );
}

// ---- the proposal -------------------------------------------------------------

fn item(file: &str, entry: &Entry, reason: impl Into<String>) -> Item {
    let mut text = String::new();
    entry.render(0, &mut text);
    let first = text.lines().next().unwrap_or_default().to_string();
    Item {
        file: file.to_string(),
        line: entry.line,
        text: overrides::shorten(&first),
        reason: reason.into(),
    }
}

/// The knob for a multipath.conf keyword of a section, with its checked
/// value, when the schema can express it.
fn knob_value(section: SectionType, entry: &Entry) -> Option<(String, Value)> {
    if entry.children.is_some() {
        return None;
    }
    let name = entry.keyword.replace('_', "-");
    let knob = schema::settable(section, &name).filter(|knob| knob.rendered)?;
    let value = schema::check_value(knob, &Value::from(entry.value_text())).ok()?;
    Some((name, value))
}

// ---- the blacklist, as multipath-tools judges it ----------------------------

/// A blacklist pattern as `store_ble` keeps it: a leading `!` inverts it,
/// `\!` stands for a literal `!`; `None` when glibc refuses the pattern
/// (multipath-tools drops such an entry).
struct Pattern {
    text: String,
    regex: Option<Regex>,
    invert: bool,
}

impl Pattern {
    fn new(text: String) -> Pattern {
        let (body, invert) = match text.strip_prefix('!') {
            Some(body) => (body, true),
            None => (
                text.strip_prefix('\\')
                    .filter(|body| body.starts_with('!'))
                    .unwrap_or(&text),
                false,
            ),
        };
        Pattern {
            regex: Regex::new(body).ok(),
            invert,
            text,
        }
    }

    /// `match_reglist`'s test of one entry.
    fn matches(&self, text: &str) -> bool {
        self.regex
            .as_ref()
            .is_some_and(|regex| regex.is_match(text) != self.invert)
    }
}

/// What a blacklist or exception entry tests.
enum Test {
    Wwid(Pattern),
    Devnode(Pattern),
    /// `vendor` and `product` of a `device` section; an absent one matches
    /// any.
    Device {
        vendor: Option<Pattern>,
        product: Option<Pattern>,
    },
    /// The name of one of the path's udev properties.
    Property(Pattern),
    /// The path's protocol, as `multipathd show paths format %P` prints it.
    Protocol(Pattern),
}

/// One `wwid`, `devnode`, `device`, `property` or `protocol` entry of a
/// `blacklist` or `blacklist_exceptions` section, with where it is.
struct Rule {
    file: String,
    line: usize,
    test: Test,
}

impl Rule {
    fn matches_device(&self, device: &BlockDevice) -> bool {
        let Test::Device { vendor, product } = &self.test else {
            return false;
        };
        let (Some(device_vendor), Some(device_product)) = (&device.vendor, &device.product) else {
            return false;
        };
        (vendor.is_some() || product.is_some())
            && vendor.as_ref().is_none_or(|p| p.matches(device_vendor))
            && product.as_ref().is_none_or(|p| p.matches(device_product))
    }

    fn describe(&self) -> String {
        let quoted = |pattern: &Pattern| format!("'{}'", overrides::shorten(&pattern.text));
        match &self.test {
            Test::Wwid(pattern) => format!("blacklist wwid {}", quoted(pattern)),
            Test::Devnode(pattern) => format!("blacklist devnode {}", quoted(pattern)),
            Test::Property(pattern) => format!("blacklist property {}", quoted(pattern)),
            Test::Protocol(pattern) => format!("blacklist protocol {}", quoted(pattern)),
            Test::Device { vendor, product } => {
                let parts: Vec<String> = [("vendor", vendor), ("product", product)]
                    .into_iter()
                    .filter_map(|(name, pattern)| {
                        Some(format!("{name} {}", quoted(pattern.as_ref()?)))
                    })
                    .collect();
                format!("blacklist device ({})", parts.join(" "))
            }
        }
    }
}

/// The entries of every `blacklist` and `blacklist_exceptions` section, in
/// the order multipath-tools reads the files (the first matching entry is
/// the one that counts).
#[derive(Default)]
struct Blacklist {
    blacklist: Vec<Rule>,
    exceptions: Vec<Rule>,
}

/// The property exception multipath-tools always adds to the node's
/// (`setup_default_blist`, 0.9.4 and 0.11.1 alike).
const DEFAULT_PROPERTY_EXCEPTION: &str = "(SCSI_IDENT_|ID_WWN)";

/// A block device of the node: its kernel name, the WWID multipath-tools
/// reads for it, its SCSI vendor and model, the names of its udev
/// properties and where it hangs in sysfs, as the Perl glue gathers them
/// (sysfs, the udev database).
#[derive(Clone, Debug, Deserialize)]
pub struct BlockDevice {
    pub dev: String,
    pub wwid: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    /// The names of its udev properties (the udev database's and the
    /// kernel's); not known: `property` entries are not judged.
    #[serde(default)]
    pub properties: Option<Vec<String>>,
    /// The target of `/sys/block/<dev>`; not known: `protocol` entries are
    /// not judged.
    #[serde(default)]
    pub sysfs_path: Option<String>,
    /// An NVMe namespace's controller `transport` attribute (`tcp`, `fc`,
    /// `rdma`, `pcie`, `loop`).
    #[serde(default)]
    pub nvme_transport: Option<String>,
}

impl BlockDevice {
    /// The udev property multipath-tools reads the WWID from
    /// (`uid_attribute`), by default; a node's own `uid_attribute` or
    /// `uid_attrs` settings are not taken into account.
    fn uid_attribute(&self) -> &'static str {
        if self.dev.starts_with("nvme") {
            "ID_WWN"
        } else if self.dev.starts_with("dasd") {
            "ID_UID"
        } else {
            "ID_SERIAL"
        }
    }

    /// The path's protocol as `snprint_path_protocol` names it, from where
    /// the device hangs in sysfs, in the order `sysfs_get_tgt_nodename`
    /// looks (SAS, USB, FC, iSCSI, ATA); `None` when that is not known.
    fn protocol(&self) -> Option<String> {
        let sysfs_path = self.sysfs_path.as_deref()?;
        let dev = self.dev.as_str();
        if dev.starts_with("sd") {
            let protocol =
                ScsiProtocol::from_sysfs_link(sysfs_path).map_or("unspec", ScsiProtocol::name);
            return Some(format!("scsi:{protocol}"));
        }
        if dev.starts_with("nvme") {
            const KNOWN: [&str; 6] = ["pcie", "rdma", "fc", "tcp", "loop", "apple-nvme"];
            let transport = self.nvme_transport.as_deref().map(str::trim);
            let transport = transport.filter(|transport| KNOWN.contains(transport));
            return Some(format!("nvme:{}", transport.unwrap_or("unspec")));
        }
        let protocol = if dev.starts_with("dasd") {
            "ccw"
        } else if dev.starts_with("cciss") {
            "cciss"
        } else {
            "undef"
        };
        Some(protocol.to_string())
    }
}

/// What one filter makes of a path.
enum Filtered<'a> {
    Excepted,
    Hidden(&'a Rule),
    Passed,
}

/// How `filter_path` judges a path.
enum PathVerdict<'a> {
    Visible,
    /// By the first entry that hides it.
    Hidden(&'a Rule),
    /// By none of the node's entries: none of its udev properties is
    /// excepted (with multipath-tools' own exception), although it has the
    /// one its WWID comes from ("blacklisted, udev property missing").
    PropertyMissing,
}

impl Blacklist {
    fn read(files: &[(String, Vec<Entry>)]) -> Blacklist {
        let mut lists = Blacklist::default();
        for (file, entries) in files {
            for section in entries {
                let list = match section.keyword.as_str() {
                    "blacklist" => &mut lists.blacklist,
                    "blacklist_exceptions" => &mut lists.exceptions,
                    _ => continue,
                };
                for entry in section.children.iter().flatten() {
                    let test = match (entry.keyword.as_str(), &entry.children) {
                        ("wwid", None) => Test::Wwid(Pattern::new(entry.value_text())),
                        ("devnode", None) => Test::Devnode(Pattern::new(entry.value_text())),
                        ("property", None) => Test::Property(Pattern::new(entry.value_text())),
                        ("protocol", None) => Test::Protocol(Pattern::new(entry.value_text())),
                        ("device", Some(children)) => {
                            // the last of a repeated keyword counts
                            let find = |name: &str| {
                                children
                                    .iter()
                                    .rfind(|child| {
                                        child.keyword == name && child.children.is_none()
                                    })
                                    .map(|child| Pattern::new(child.value_text()))
                            };
                            Test::Device {
                                vendor: find("vendor"),
                                product: find("product"),
                            }
                        }
                        _ => continue,
                    };
                    list.push(Rule {
                        file: file.clone(),
                        line: entry.line,
                        test,
                    });
                }
            }
        }
        lists
    }

    /// `filter_wwid`: the blacklist entry hiding `wwid`, unless excepted.
    fn wwid_rule(&self, wwid: &str) -> Option<&Rule> {
        let is = |rule: &&Rule| matches!(&rule.test, Test::Wwid(pattern) if pattern.matches(wwid));
        if self.exceptions.iter().any(|rule| is(&rule)) {
            return None;
        }
        self.blacklist.iter().find(is)
    }

    /// One filter of `filter_path`: an exception the test matches ends
    /// it, else the first entry it matches hides the path.
    fn filter(&self, test: impl Fn(&Rule) -> bool) -> Filtered<'_> {
        if self.exceptions.iter().any(&test) {
            return Filtered::Excepted;
        }
        match self.blacklist.iter().find(|rule| test(rule)) {
            Some(rule) => Filtered::Hidden(rule),
            None => Filtered::Passed,
        }
    }

    /// `filter_path` but for the WWID: `filter_property`, `filter_devnode`,
    /// `filter_device`, `filter_protocol`, in this order; the first entry
    /// hiding the path counts, an exception only ends its own filter.
    fn path_verdict(&self, device: &BlockDevice) -> PathVerdict<'_> {
        if let Some(verdict) = self.property_verdict(device) {
            return verdict;
        }
        let protocol = device.protocol();
        let by_devnode = |rule: &Rule| match &rule.test {
            Test::Devnode(pattern) => pattern.matches(&device.dev),
            _ => false,
        };
        let by_device = |rule: &Rule| rule.matches_device(device);
        let by_protocol = |rule: &Rule| match (&rule.test, &protocol) {
            (Test::Protocol(pattern), Some(protocol)) => pattern.matches(protocol),
            _ => false,
        };
        let filters: [&dyn Fn(&Rule) -> bool; 3] = [&by_devnode, &by_device, &by_protocol];
        for test in filters {
            if let Filtered::Hidden(rule) = self.filter(test) {
                return PathVerdict::Hidden(rule);
            }
        }
        PathVerdict::Visible
    }

    /// `filter_property`: the udev properties in name order (as libudev
    /// lists them), the first one matching an exception or an entry
    /// decides; a path none of whose properties matches either is hidden
    /// when it has its `uid_attribute`. `None`: nothing decided.
    fn property_verdict(&self, device: &BlockDevice) -> Option<PathVerdict<'_>> {
        let names: BTreeSet<&str> = device
            .properties
            .as_ref()?
            .iter()
            .map(String::as_str)
            .collect();
        let default_exception = Pattern::new(DEFAULT_PROPERTY_EXCEPTION.to_string());
        for &name in &names {
            if default_exception.matches(name) {
                return None;
            }
            let by_property = |rule: &Rule| match &rule.test {
                Test::Property(pattern) => pattern.matches(name),
                _ => false,
            };
            match self.filter(by_property) {
                Filtered::Excepted => return None,
                Filtered::Hidden(rule) => return Some(PathVerdict::Hidden(rule)),
                Filtered::Passed => {}
            }
        }
        names
            .contains(device.uid_attribute())
            .then_some(PathVerdict::PropertyMissing)
    }

    fn hides(&self, wwid: &str) -> bool {
        self.wwid_rule(wwid).is_some()
    }
}

/// Where a node's own blacklist entries hide allow-listed WWIDs (the
/// entries of the managed files count, but are never named): one message
/// per entry and WWID. A WWID is judged by its `wwid` entries, each of its
/// known paths by `property`, `devnode`, `device` and `protocol` entries. A
/// path hidden for want of an excepted udev property is no conflict of the
/// node's files (multipath-tools' own exception decides), and not named.
fn blacklist_conflicts(
    lists: &Blacklist,
    wwids: &BTreeSet<&str>,
    devices: &[BlockDevice],
    found: &mut Vec<String>,
) {
    // (entry, WWID) -> hidden paths, in the order of the entries
    let mut hidden: BTreeMap<(usize, &str), Vec<&str>> = BTreeMap::new();
    let index = |rule: &Rule| {
        lists
            .blacklist
            .iter()
            .position(|other| std::ptr::eq(other, rule))
            .unwrap_or(usize::MAX)
    };
    for &wwid in wwids {
        let mut visible = 0;
        for device in devices.iter().filter(|device| device.wwid == wwid) {
            match lists.path_verdict(device) {
                PathVerdict::Hidden(rule) => hidden
                    .entry((index(rule), wwid))
                    .or_default()
                    .push(&device.dev),
                PathVerdict::PropertyMissing => {}
                PathVerdict::Visible => visible += 1,
            }
        }
        let known = devices.iter().any(|device| device.wwid == wwid);
        if visible > 0 || !known {
            if let Some(rule) = lists.wwid_rule(wwid) {
                hidden.entry((index(rule), wwid)).or_default();
            }
        }
    }
    for ((rule, wwid), devs) in hidden {
        let rule = &lists.blacklist[rule];
        if is_ours(&rule.file) {
            continue;
        }
        let what = match devs.len() {
            0 => format!("the allow-listed WWID {wwid}"),
            1 => format!("path {} of the allow-listed WWID {wwid}", devs[0]),
            _ => format!("paths {} of the allow-listed WWID {wwid}", devs.join(", ")),
        };
        found.push(format!(
            "{} line {}: {} hides {what}",
            rule.file,
            rule.line,
            rule.describe()
        ));
    }
}

/// The overrides text of the carried entries, each checked on its own and
/// then all together; whatever the checker refuses is reported.
fn overrides_text(
    carried: Vec<(String, String, Entry)>,
    report: &mut Vec<Item>,
    stays: &mut Vec<Stay>,
) -> String {
    let mut kept: Vec<(String, String, Entry)> = Vec::new();
    for (file, section, entry) in carried {
        let mut text = format!("{section} {{\n");
        entry.render(1, &mut text);
        text.push_str("}\n");
        match overrides::check_strict(&text, &[]) {
            Ok(()) => kept.push((file, section, entry)),
            Err(errors) => {
                let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
                report.push(item(
                    &file,
                    &entry,
                    format!("not valid as overrides: {}", messages.join("; ")),
                ));
                stays.push(Stay {
                    file,
                    section: Some(section),
                    entry,
                });
            }
        }
    }
    // Checks across entries (the polling intervals) can still refuse the
    // whole text: drop the entries on the lines named, until it passes.
    for _ in 0..16 {
        let (text, owners) = assemble(&kept);
        let errors = match overrides::check_strict(&text, &[]) {
            Ok(()) => return text,
            Err(errors) => errors,
        };
        let mut drop = BTreeSet::new();
        for error in &errors {
            match owners.get(error.line.saturating_sub(1)).copied().flatten() {
                Some(index) => {
                    if drop.insert(index) {
                        let (file, _, entry) = &kept[index];
                        report.push(item(
                            file,
                            entry,
                            format!("not valid as overrides: {}", error.message),
                        ));
                    }
                }
                None => drop.extend(0..kept.len()),
            }
        }
        let (dropped, rest): (Vec<_>, Vec<_>) = kept
            .into_iter()
            .enumerate()
            .partition(|(index, _)| drop.contains(index));
        stays.extend(dropped.into_iter().map(|(_, (file, section, entry))| Stay {
            file,
            section: Some(section),
            entry,
        }));
        kept = rest.into_iter().map(|(_, kept)| kept).collect();
    }
    String::new()
}

/// The text and, per output line, which kept entry it comes from.
fn assemble(kept: &[(String, String, Entry)]) -> (String, Vec<Option<usize>>) {
    let mut text = String::new();
    let mut owners = Vec::new();
    for section in CARRIED_SECTIONS {
        let members: Vec<usize> = (0..kept.len()).filter(|&i| kept[i].1 == *section).collect();
        if members.is_empty() {
            continue;
        }
        text.push_str(&format!("{section} {{\n"));
        owners.push(None);
        for index in members {
            let mut entry_text = String::new();
            kept[index].2.render(1, &mut entry_text);
            owners.extend(entry_text.lines().map(|_| Some(index)));
            text.push_str(&entry_text);
        }
        text.push_str("}\n");
        owners.push(None);
    }
    (text, owners)
}

fn parse_bindings(text: &str) -> BTreeMap<String, String> {
    let mut by_wwid = BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        if let (Some(alias), Some(wwid), None) = (words.next(), words.next(), words.next()) {
            by_wwid
                .entry(wwid.to_string())
                .or_insert_with(|| alias.to_string());
        }
    }
    by_wwid
}

/// Reads a node's setup and proposes a cluster config. `use_bindings`
/// takes the node-local names of `/etc/multipath/bindings` as aliases where
/// `multipaths` gives none.
pub fn propose(setup: &NodeSetup, use_bindings: bool) -> Result<Import, Error> {
    let mut import = Import::default();
    let report = &mut import.report;

    let files: Vec<(String, Vec<Entry>)> = setup
        .files
        .iter()
        .filter(|file| !is_ours(&file.name))
        .map(|file| {
            (
                file.name.clone(),
                parse_entries(&file.name, &file.text, report),
            )
        })
        .collect();
    let hidden = Blacklist::read(&files);
    let listed = wwids::parse(setup.wwids.as_deref().unwrap_or_default())?.listed;
    let listed: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    let excluded: BTreeMap<&str, &str> = setup
        .maps
        .iter()
        .filter_map(|map| {
            if map.local {
                Some((map.wwid.as_str(), "a local disk of this node"))
            } else if map.blacklisted {
                Some((map.wwid.as_str(), "blacklisted on this node"))
            } else {
                None
            }
        })
        .collect();

    let mut stays = Vec::new();
    let mut defaults: BTreeMap<String, (String, Entry)> = BTreeMap::new();
    let mut carried = Vec::new();
    for (file, entries) in &files {
        for section in entries {
            let Some(children) = &section.children else {
                report.push(item(file, section, "a keyword outside any section"));
                stays.push(Stay {
                    file: file.clone(),
                    section: None,
                    entry: section.clone(),
                });
                continue;
            };
            match section.keyword.as_str() {
                "multipaths" => {
                    for entry in children {
                        import_multipath(
                            file,
                            entry,
                            &hidden,
                            &excluded,
                            &mut import.proposal,
                            report,
                            &mut stays,
                        );
                    }
                }
                "defaults" => {
                    for entry in children {
                        defaults.insert(entry.keyword.clone(), (file.clone(), entry.clone()));
                    }
                }
                name if CARRIED_SECTIONS.contains(&name) => {
                    for entry in children {
                        carried.push((file.clone(), name.to_string(), entry.clone()));
                    }
                }
                name => {
                    report.push(item(
                        file,
                        section,
                        format!(
                            "unknown section '{}': multipath-tools ignores it",
                            overrides::shorten(name)
                        ),
                    ));
                    stays.push(Stay {
                        file: file.clone(),
                        section: None,
                        entry: section.clone(),
                    });
                }
            }
        }
    }
    // A defaults keyword set again later wins in multipath-tools, so only
    // the last one of each keyword is carried over.
    for (_, (file, entry)) in defaults {
        match knob_value(SectionType::Defaults, &entry) {
            Some((name, value)) => {
                import.proposal.defaults.insert(name, value);
            }
            None => carried.push((file, "defaults".to_string(), entry)),
        }
    }
    import.proposal.overrides = overrides_text(carried, report, &mut stays);

    for map in &setup.maps {
        let wwid = map.wwid.as_str();
        if import.proposal.wwids.contains_key(wwid) {
            continue;
        }
        let reason = if let Some(why) = excluded.get(wwid) {
            format!("live map: {why}, not proposed")
        } else if !listed.contains(wwid) {
            "live map not allow-listed in /etc/multipath/wwids, not proposed".to_string()
        } else if hidden.hides(wwid) {
            "live map hidden by a blacklist wwid entry, not proposed".to_string()
        } else if !schema::is_wwid(wwid) {
            "live map with a WWID the cluster config cannot hold".to_string()
        } else {
            import
                .proposal
                .wwids
                .insert(wwid.to_string(), BTreeMap::new());
            continue;
        };
        report.push(Item {
            file: "multipathd".to_string(),
            line: 0,
            text: wwid.to_string(),
            reason,
        });
    }

    let bindings = parse_bindings(setup.bindings.as_deref().unwrap_or_default());
    let mut taken: BTreeSet<String> = import
        .proposal
        .wwids
        .values()
        .filter_map(|props| {
            props
                .get("alias")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    for (wwid, props) in import.proposal.wwids.iter_mut() {
        let Some(name) = bindings.get(wwid) else {
            continue;
        };
        if props.contains_key("alias") {
            continue;
        }
        let text = format!("{name} {wwid}");
        let reason = if !use_bindings {
            "a node-local user_friendly_names name, taken only when asked (use-bindings)"
        } else if !schema::is_alias(name) || taken.contains(name) {
            "not usable as an alias (invalid or already taken)"
        } else {
            props.insert("alias".to_string(), Value::from(name.as_str()));
            taken.insert(name.clone());
            continue;
        };
        import.report.push(Item {
            file: "/etc/multipath/bindings".to_string(),
            line: 0,
            text,
            reason: reason.to_string(),
        });
    }

    for (name, value) in schema::managed_defaults() {
        if !import.proposal.defaults.contains_key(&name)
            && !overrides_sets_default(&import.proposal.overrides, &name)
        {
            let keyword = schema::knob(&name)
                .map(|knob| knob.keyword())
                .unwrap_or(name);
            import.changes.push(Change { keyword, value });
        }
    }
    import.remainder = remainder(&stays);
    Ok(import)
}

/// Whether the overrides text sets this defaults knob (a value the schema
/// does not take, as `find_multipaths on`).
fn overrides_sets_default(text: &str, name: &str) -> bool {
    let keyword = name.replace('-', "_");
    let mut report = Vec::new();
    parse_entries("", text, &mut report)
        .iter()
        .filter(|section| section.keyword == "defaults")
        .flat_map(|section| section.children.iter().flatten())
        .any(|entry| entry.keyword == keyword)
}

/// `pve-*.conf` in `conf.d` are rendered by us.
fn is_ours(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.starts_with("pve-") && base.ends_with(".conf")
}

fn import_multipath(
    file: &str,
    entry: &Entry,
    hidden: &Blacklist,
    excluded: &BTreeMap<&str, &str>,
    proposal: &mut Proposal,
    report: &mut Vec<Item>,
    stays: &mut Vec<Stay>,
) {
    let mut stay = |entry: Entry| {
        stays.push(Stay {
            file: file.to_string(),
            section: Some("multipaths".to_string()),
            entry,
        })
    };
    let Some(children) = entry
        .children
        .as_ref()
        .filter(|_| entry.keyword == "multipath")
    else {
        report.push(item(
            file,
            entry,
            "not a multipath entry: multipath-tools ignores it",
        ));
        stay(entry.clone());
        return;
    };
    let Some(wwid) = children
        .iter()
        .rev()
        .find(|child| child.keyword == "wwid" && child.children.is_none())
        .map(Entry::value_text)
    else {
        report.push(item(
            file,
            entry,
            "a multipath entry without wwid: multipath-tools ignores it",
        ));
        stay(entry.clone());
        return;
    };
    let refusal = if let Some(why) = excluded.get(wwid.as_str()) {
        Some(format!("{why}, not proposed"))
    } else if hidden.hides(&wwid) {
        Some("hidden by a blacklist wwid entry, not proposed".to_string())
    } else if !schema::is_wwid(&wwid) {
        Some("a WWID the cluster config cannot hold".to_string())
    } else {
        None
    };
    if let Some(reason) = refusal {
        report.push(item(file, entry, format!("WWID {wwid}: {reason}")));
        stay(entry.clone());
        return;
    }
    let taken: BTreeSet<String> = proposal
        .wwids
        .iter()
        .filter(|(other, _)| **other != wwid)
        .filter_map(|(_, props)| {
            props
                .get("alias")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let props = proposal.wwids.entry(wwid.clone()).or_default();
    let mut left: Vec<Entry> = Vec::new();
    for child in children.iter().filter(|child| child.keyword != "wwid") {
        match knob_value(SectionType::Wwid, child) {
            Some((name, value))
                if name != "alias" || !taken.contains(value.as_str().unwrap_or_default()) =>
            {
                props.insert(name, value);
            }
            Some(_) => {
                report.push(item(
                    file,
                    child,
                    format!("WWID {wwid}: the alias is already used by another WWID"),
                ));
                left.push(child.clone());
            }
            None => {
                report.push(item(
                    file,
                    child,
                    format!(
                        "WWID {wwid}: no knob of the cluster config takes this (a multipaths \
                         entry stays in the node's files)"
                    ),
                ));
                left.push(child.clone());
            }
        }
    }
    if !left.is_empty() {
        let wwid_line = children.iter().rev().find(|child| child.keyword == "wwid");
        let mut rest = entry.clone();
        rest.children = Some(wwid_line.into_iter().cloned().chain(left).collect());
        stay(rest);
    }
}

// ---- against the cluster config ---------------------------------------------

/// Where the node's own files contradict the cluster config, one message
/// per finding, naming the file and line: a `multipaths` entry of a managed
/// WWID with another alias or setting, or duplicating the entry we render;
/// a `defaults` keyword the managed drop-in overrides with another value,
/// or sets to the same (redundant after an import); a blacklist `wwid`
/// entry hiding an allow-listed WWID, or a `devnode` or `device` entry
/// hiding paths of one (of `devices`), judged with glibc's regexec and the
/// exceptions as multipath-tools judges them. The managed `pve-*.conf`
/// files are never named (their exceptions count).
pub fn conflicts(files: &[NodeFile], config: &Config, devices: &[BlockDevice]) -> Vec<String> {
    let mut found = Vec::new();
    if config.ids.is_empty() {
        return found;
    }
    let rendered = crate::render::wwid_opts(config);
    let defaults = crate::render::effective_defaults(config);
    let mut ignored = Vec::new();
    let all: Vec<(String, Vec<Entry>)> = files
        .iter()
        .map(|file| {
            (
                file.name.clone(),
                parse_entries(&file.name, &file.text, &mut ignored),
            )
        })
        .collect();
    let mut hidden = Vec::new();
    let wwids: BTreeSet<&str> = rendered.keys().map(String::as_str).collect();
    blacklist_conflicts(&Blacklist::read(&all), &wwids, devices, &mut hidden);
    // each file's findings in line order, the blacklist's with the rest
    let mut hidden = hidden.into_iter().peekable();
    let parsed = all.iter().filter(|(name, _)| !is_ours(name));
    for (file, entries) in parsed {
        for section in entries {
            let children = section.children.iter().flatten();
            match section.keyword.as_str() {
                "defaults" => {
                    for entry in children {
                        let Some((name, value)) = knob_value(SectionType::Defaults, entry) else {
                            continue;
                        };
                        match defaults.get(&name) {
                            Some(ours) if *ours != value => found.push(format!(
                                "{file} line {}: {} '{}' is overridden by the cluster's '{}'",
                                entry.line,
                                entry.keyword,
                                text_of(&value),
                                text_of(ours)
                            )),
                            Some(_) => found.push(format!(
                                "{file} line {}: {} '{}' is redundant: the cluster config \
                                 renders the same",
                                entry.line,
                                entry.keyword,
                                text_of(&value)
                            )),
                            None => {}
                        }
                    }
                }
                "blacklist" => {
                    let prefix = format!("{file} line ");
                    while let Some(message) = hidden.next_if(|message| message.starts_with(&prefix))
                    {
                        found.push(message);
                    }
                }
                "multipaths" => {
                    for entry in children.filter(|entry| entry.keyword == "multipath") {
                        multipath_conflicts(file, entry, &rendered, &mut found);
                    }
                }
                _ => {}
            }
        }
    }
    found.extend(hidden);
    found
}

fn multipath_conflicts(
    file: &str,
    entry: &Entry,
    rendered: &BTreeMap<String, BTreeMap<String, Value>>,
    found: &mut Vec<String>,
) {
    let children = entry.children.iter().flatten();
    let Some(wwid) = children
        .clone()
        .rfind(|child| child.keyword == "wwid")
        .map(Entry::value_text)
    else {
        return;
    };
    let Some(ours) = rendered.get(&wwid) else {
        return;
    };
    let mut differs = false;
    for child in children.filter(|child| child.keyword != "wwid") {
        let name = child.keyword.replace('_', "-");
        let theirs = knob_value(SectionType::Wwid, child)
            .map(|(_, value)| value)
            .unwrap_or_else(|| Value::from(child.value_text()));
        match ours.get(&name) {
            Some(value) if *value != theirs => {
                differs = true;
                found.push(format!(
                    "{file} line {}: {} '{}' for WWID {wwid} differs from the cluster's '{}'",
                    child.line,
                    child.keyword,
                    text_of(&theirs),
                    text_of(value)
                ));
            }
            _ => {}
        }
    }
    let renders = ours
        .keys()
        .any(|key| schema::knob(key).is_some_and(|knob| knob.rendered));
    if renders && !differs {
        found.push(format!(
            "{file} line {}: the multipaths entry for WWID {wwid} duplicates the one rendered \
             into {}",
            entry.line,
            crate::render::ALIASES_FILE
        ));
    }
}

/// Where the proposal differs from the cluster config.
pub fn differences(proposal: &Proposal, config: &Config, overrides_text: &str) -> Vec<Difference> {
    let mut found = Vec::new();
    let mut compare = |section: &str, key: &str, node: Option<&Value>, cluster: Option<&Value>| {
        if node != cluster {
            found.push(Difference {
                section: section.to_string(),
                key: key.to_string(),
                node: node.cloned(),
                cluster: cluster.cloned(),
            });
        }
    };
    if !config.ids.is_empty() {
        let cluster_defaults = crate::render::effective_defaults(config);
        for (key, value) in &proposal.defaults {
            compare("defaults", key, Some(value), cluster_defaults.get(key));
        }
    }
    for (wwid, props) in &proposal.wwids {
        let Some(section) = config.ids.get(wwid) else {
            continue;
        };
        let keys: BTreeSet<&String> = props.keys().chain(section.props.keys()).collect();
        for key in keys {
            if schema::knob(key).is_some_and(|knob| !knob.rendered) {
                continue;
            }
            compare(wwid, key, props.get(key), section.props.get(key));
        }
    }
    let node = overrides::normalize(&proposal.overrides);
    let cluster = overrides::normalize(overrides_text);
    if !node.is_empty() && !cluster.is_empty() && node != cluster {
        compare(
            "overrides",
            "text",
            Some(&Value::from(node)),
            Some(&Value::from(cluster)),
        );
    }
    found
}

/// Which parts of a proposal to apply; `None` takes all of that part.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Parts {
    #[serde(default)]
    pub wwids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "perl_truth")]
    pub defaults: Option<bool>,
    #[serde(default, deserialize_with = "perl_truth")]
    pub overrides: Option<bool>,
}

fn perl_truth<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    lenient::perl_bool(deserializer).map(Some)
}

/// The cluster config and overrides text with the chosen parts of the
/// proposal merged in. A value that differs from an existing one, or an
/// overrides text where another one is stored, is a conflict: all of them
/// are refused together unless `overwrite`.
pub fn apply(
    config: &Config,
    overrides_text: &str,
    proposal: &Proposal,
    parts: &Parts,
    overwrite: bool,
    digest: Option<&str>,
) -> Result<(Config, String), Error> {
    section_config::assert_if_modified(digest, &config.digest)?;
    let mut conflicts = Vec::new();
    let mut updated = config.clone();
    let mut sections: Vec<(SectionType, String, &BTreeMap<String, Value>)> = Vec::new();
    if parts.defaults.unwrap_or(true) && !proposal.defaults.is_empty() {
        sections.push((
            SectionType::Defaults,
            "defaults".to_string(),
            &proposal.defaults,
        ));
    }
    if let Some(chosen) = &parts.wwids {
        if let Some(unknown) = chosen
            .iter()
            .find(|wwid| !proposal.wwids.contains_key(*wwid))
        {
            bail!("WWID {unknown} is not part of the proposal\n");
        }
    }
    for (wwid, props) in &proposal.wwids {
        if parts
            .wwids
            .as_ref()
            .is_none_or(|chosen| chosen.contains(wwid))
        {
            sections.push((SectionType::Wwid, wwid.clone(), props));
        }
    }
    for (section_type, id, props) in sections {
        let mut set = Map::new();
        for (key, value) in props {
            let existing = config
                .ids
                .get(&id)
                .and_then(|section| section.props.get(key));
            match existing {
                Some(existing) if existing != value && !overwrite => conflicts.push(format!(
                    "{id}: {key} is '{}' in the cluster config, '{}' on the node",
                    text_of(existing),
                    text_of(value)
                )),
                Some(existing) if existing == value => {}
                _ => {
                    set.insert(key.clone(), value.clone());
                }
            }
        }
        if set.is_empty() && config.ids.contains_key(&id) {
            continue;
        }
        if let Err(err) = section_config::update(
            &mut updated,
            &SectionUpdate {
                section_type,
                id: &id,
                set: &set,
                delete: &[],
                digest: None,
            },
        ) {
            conflicts.push(format!("{id}: {err}"));
        }
    }

    let mut overrides_out = overrides::normalize(overrides_text);
    let proposed = overrides::normalize(&proposal.overrides);
    if parts.overrides.unwrap_or(true) && !proposed.is_empty() && proposed != overrides_out {
        if overrides_out.is_empty() || overwrite {
            overrides_out = proposed;
        } else {
            conflicts.push(
                "overrides: the cluster already has an overrides text that differs from the \
                 node's"
                    .to_string(),
            );
        }
    }
    if !conflicts.is_empty() {
        bail!(
            "import conflicts with the cluster config (use 'overwrite' to replace):\n{}\n",
            conflicts.join("\n")
        );
    }
    Ok((updated, overrides_out))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WWID_A: &str = "3600a098038314b2d4a5d4e6f2f6b4d31";
    const WWID_B: &str = "3600a098038314b2d4a5d4e6f2f6b4d32";
    const WWID_BOOT: &str = "3500003979840f2c1";

    fn setup(conf: &str) -> NodeSetup {
        NodeSetup {
            files: vec![NodeFile {
                name: "/etc/multipath.conf".into(),
                text: conf.into(),
            }],
            wwids: Some(format!(
                "# Valid WWIDs:\n/{WWID_A}/\n/{WWID_B}/\n/{WWID_BOOT}/\n"
            )),
            bindings: Some(format!("# bindings\nmpatha {WWID_A}\nmpathb {WWID_B}\n")),
            maps: vec![
                LiveMap {
                    wwid: WWID_A.into(),
                    local: false,
                    blacklisted: false,
                },
                LiveMap {
                    wwid: WWID_B.into(),
                    local: false,
                    blacklisted: false,
                },
                LiveMap {
                    wwid: WWID_BOOT.into(),
                    local: true,
                    blacklisted: false,
                },
            ],
        }
    }

    const HOST: &str = "defaults {\n\
        \tuser_friendly_names yes\n\
        \tfind_multipaths yes\n\
        \tchecker_timeout 30\n\
        }\n\
        blacklist {\n\tdevnode \"^sd[a]$\"\n}\n\
        devices {\n\tdevice {\n\t\tvendor \"NETAPP\"\n\t\tproduct \"LUN.*\"\n\t\tno_path_retry queue\n\t}\n}\n\
        multipaths {\n\tmultipath {\n\t\twwid 3600a098038314b2d4a5d4e6f2f6b4d31\n\
        \t\talias vmstore-a\n\t\tno_path_retry 18\n\t\tflush_on_last_del yes\n\t}\n}\n";

    #[test]
    fn a_host_config_becomes_knobs_overrides_and_a_report() {
        let import = propose(&setup(HOST), false).unwrap();
        let proposal = &import.proposal;
        assert_eq!(
            proposal.defaults,
            BTreeMap::from([
                ("find-multipaths".to_string(), json!("yes")),
                ("user-friendly-names".to_string(), json!("yes")),
            ])
        );
        assert_eq!(
            proposal.wwids[WWID_A],
            BTreeMap::from([
                ("alias".to_string(), json!("vmstore-a")),
                ("no-path-retry".to_string(), json!("18")),
            ])
        );
        assert_eq!(
            proposal.wwids[WWID_B],
            BTreeMap::new(),
            "allow-listed live map"
        );
        assert!(
            !proposal.wwids.contains_key(WWID_BOOT),
            "never the boot disk"
        );
        assert_eq!(
            proposal.overrides,
            "devices {\n\tdevice {\n\t\tvendor \"NETAPP\"\n\t\tproduct \"LUN.*\"\n\t\tno_path_retry queue\n\t}\n}\n\
             blacklist {\n\tdevnode \"^sd[a]$\"\n}\n\
             defaults {\n\tchecker_timeout 30\n}\n"
        );
        overrides::check_strict(&proposal.overrides, &[]).unwrap();
        let reported: Vec<(&str, usize, &str)> = import
            .report
            .iter()
            .map(|item| (item.file.as_str(), item.line, item.text.as_str()))
            .collect();
        assert_eq!(
            reported,
            vec![
                ("/etc/multipath.conf", 21, "flush_on_last_del yes"),
                ("multipathd", 0, WWID_BOOT),
                ("/etc/multipath/bindings", 0, &*format!("mpathb {WWID_B}")),
            ]
        );
        assert_eq!(
            import.remainder["/etc/multipath.conf"],
            format!(
                "multipaths {{\n\tmultipath {{\n\t\twwid {WWID_A}\n\t\tflush_on_last_del yes\n\t}}\n}}\n"
            )
        );
        assert!(import.report[1].reason.contains("local disk"));
        assert!(import.report[2].reason.contains("use-bindings"));
        assert_eq!(
            import.changes,
            vec![Change {
                keyword: "polling_interval".into(),
                value: json!(5)
            }]
        );
    }

    #[test]
    fn bindings_names_only_when_asked() {
        let import = propose(&setup(HOST), true).unwrap();
        assert_eq!(import.proposal.wwids[WWID_B]["alias"], json!("mpathb"));
        assert_eq!(import.proposal.wwids[WWID_A]["alias"], json!("vmstore-a"));
    }

    #[test]
    fn excluded_wwids_are_reported() {
        let cases: &[(&str, &str)] = &[
            (
                "blacklist {\n\twwid 3600a098038314b2d4a5d4e6f2f6b4d32\n}\n",
                "blacklist",
            ),
            (
                "blacklist {\n\twwid \"^3600a098038314b2d4a5d4e6f2f6b4d32$\"\n}\n",
                "blacklist",
            ),
            ("blacklist {\n\twwid .*\n}\n", "blacklist"),
        ];
        for (conf, reason) in cases {
            let import = propose(&setup(conf), false).unwrap();
            assert!(!import.proposal.wwids.contains_key(WWID_B), "{conf}");
            assert!(
                import
                    .report
                    .iter()
                    .any(|i| i.text == WWID_B && i.reason.contains(reason)),
                "{conf}: {:?}",
                import.report
            );
        }
        let excepted = "blacklist {\n\twwid .*\n}\nblacklist_exceptions {\n\twwid ^3600a0980\n}\n";
        let import = propose(&setup(excepted), false).unwrap();
        assert!(import.proposal.wwids.contains_key(WWID_B));

        let mut unlisted = setup("");
        unlisted.wwids = Some(String::new());
        let import = propose(&unlisted, false).unwrap();
        assert!(import.proposal.wwids.is_empty());
        assert!(import
            .report
            .iter()
            .all(|i| i.reason.contains("not allow-listed") || i.reason.contains("local disk")));
    }

    #[test]
    fn what_overrides_refuse_stays_behind_with_its_line() {
        let conf = "defaults {\n\tpolling_interval 10\n\tno_such_keyword 1\n}\n\
                    devices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n\
                    frobnicate {\n}\n\
                    stray 1\n";
        let import = propose(&setup(conf), false).unwrap();
        assert_eq!(import.proposal.defaults["polling-interval"], json!(10));
        assert_eq!(import.proposal.overrides, "");
        let lines: Vec<usize> = import
            .report
            .iter()
            .filter(|i| i.file == "/etc/multipath.conf")
            .map(|i| i.line)
            .collect();
        assert_eq!(lines, vec![10, 12, 6, 3], "{:?}", import.report);
        assert_eq!(
            import.remainder["/etc/multipath.conf"],
            "frobnicate {\n}\nstray 1\ndevices {\n\tdevice {\n\t\tvendor X\n\t}\n}\n\
             defaults {\n\tno_such_keyword 1\n}\n"
        );
    }

    #[test]
    fn later_files_win_and_ours_are_skipped() {
        let mut node = setup("defaults {\n\tno_path_retry fail\n}\n");
        node.files.push(NodeFile {
            name: "/etc/multipath/conf.d/local.conf".into(),
            text: "defaults {\n\tno_path_retry queue\n}\n".into(),
        });
        node.files.push(NodeFile {
            name: "/etc/multipath/conf.d/pve-defaults.conf".into(),
            text: "defaults {\n\tno_path_retry 5\n}\n".into(),
        });
        let import = propose(&node, false).unwrap();
        assert_eq!(import.proposal.defaults["no-path-retry"], json!("queue"));
    }

    #[test]
    fn multipaths_oddities() {
        let conf = "multipaths {\n\tmultipath {\n\t\talias x\n\t}\n\
                    \tmultipath {\n\t\twwid 3600a098038314b2d4a5d4e6f2f6b4d32\n\t\talias bad#x\n\t}\n\
                    \tmultipath {\n\t\twwid 3600a098038314b2d4a5d4e6f2f6b4d31\n\t\talias bad\n\t}\n}\n";
        let import = propose(&setup(conf), false).unwrap();
        assert_eq!(import.proposal.wwids[WWID_B]["alias"], json!("bad"));
        assert!(!import.proposal.wwids[WWID_A].contains_key("alias"));
        let reasons: Vec<&str> = import.report.iter().map(|i| i.reason.as_str()).collect();
        assert!(reasons[0].contains("without wwid"), "{reasons:?}");
        assert!(reasons[1].contains("already used"), "{reasons:?}");
    }

    #[test]
    fn tokens_round_trip_through_render() {
        for line in [
            "vendor \"a\"\"b\"",
            "path_selector \"service-time 0\"",
            "devnode .*",
            "x \"\"",
        ] {
            let mut report = Vec::new();
            let entries = parse_entries("f", line, &mut report);
            let mut text = String::new();
            entries[0].render(0, &mut text);
            assert_eq!(text, format!("{line}\n"));
            assert!(report.is_empty());
        }
        assert_eq!(
            tokenize(b"a b#c { } \"q # r\" ! x"),
            vec![
                Token::Word {
                    text: "a".into(),
                    quoted: false
                },
                Token::Word {
                    text: "b".into(),
                    quoted: false
                },
            ]
        );
    }

    #[test]
    fn strings_read_as_one_quoted_word_through_the_overrides_lexer() {
        let word = |text: &str, quoted| Token::Word {
            text: text.into(),
            quoted,
        };
        let cases: &[(&[u8], Vec<Token>)] = &[
            (b"x \"\"", vec![word("x", false), word("", true)]),
            (b"x \"", vec![word("x", false), word("", true)]),
            (
                b"vendor \"open",
                vec![word("vendor", false), word("open", true)],
            ),
            (b"v \"a\"\"b\"", vec![word("v", false), word("a\"b", true)]),
            (
                b"a\"b\"c",
                vec![word("a", false), word("b", true), word("c", false)],
            ),
            // isspace() in multipath-tools: a vertical tab separates
            (b"a\x0bb", vec![word("a", false), word("b", false)]),
            (b"d{ }", vec![word("d", false), Token::Open, Token::Close]),
        ];
        for (line, expected) in cases {
            assert_eq!(
                &tokenize(line),
                expected,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn conflicts_with_the_cluster_config_are_named_once() {
        let cluster = config(&format!(
            "defaults: defaults\n\tno-path-retry queue\n\n\
             wwid: {WWID_A}\n\talias vmstore-a\n\n\
             wwid: {WWID_B}\n\talias vmstore-b\n\tno-path-retry 18\n\n"
        ));
        let node = |text: &str| {
            vec![
                NodeFile {
                    name: "/etc/multipath.conf".into(),
                    text: text.into(),
                },
                NodeFile {
                    name: "/etc/multipath/conf.d/pve-aliases.conf".into(),
                    text: format!("multipaths {{\nmultipath {{\nwwid {WWID_A}\nalias x\n}}\n}}\n"),
                },
            ]
        };
        let cases: Vec<(String, Vec<String>)> = vec![
            (String::new(), vec![]),
            (
                format!("multipaths {{\n\tmultipath {{\n\t\twwid {WWID_A}\n\t\talias old-a\n\t}}\n}}\n"),
                vec![format!(
                    "/etc/multipath.conf line 4: alias 'old-a' for WWID {WWID_A} differs from the cluster's 'vmstore-a'"
                )],
            ),
            (
                format!("multipaths {{\n\tmultipath {{\n\t\twwid {WWID_B}\n\t\tno_path_retry 5\n\t\tflush_on_last_del yes\n\t}}\n}}\n"),
                vec![format!(
                    "/etc/multipath.conf line 4: no_path_retry '5' for WWID {WWID_B} differs from the cluster's '18'"
                )],
            ),
            (
                format!("multipaths {{\n\tmultipath {{\n\t\twwid {WWID_A}\n\t\talias vmstore-a\n\t}}\n}}\n"),
                vec![format!(
                    "/etc/multipath.conf line 2: the multipaths entry for WWID {WWID_A} duplicates the one rendered into pve-aliases.conf"
                )],
            ),
            (
                format!("blacklist {{\n\twwid {WWID_B}\n\twwid \"^36ff\"\n}}\n"),
                vec![format!(
                    "/etc/multipath.conf line 2: blacklist wwid '{WWID_B}' hides the allow-listed WWID {WWID_B}"
                )],
            ),
            (
                format!("blacklist {{\n\twwid .*\n}}\nblacklist_exceptions {{\n\twwid {WWID_A}\n}}\n"),
                vec![format!(
                    "/etc/multipath.conf line 2: blacklist wwid '.*' hides the allow-listed WWID {WWID_B}"
                )],
            ),
            (
                "defaults {\n\tno_path_retry fail\n\tfind_multipaths strict\n\tuser_friendly_names yes\n}\n".to_string(),
                vec![
                    "/etc/multipath.conf line 2: no_path_retry 'fail' is overridden by the cluster's 'queue'".to_string(),
                    "/etc/multipath.conf line 3: find_multipaths 'strict' is redundant: the cluster config renders the same".to_string(),
                    "/etc/multipath.conf line 4: user_friendly_names 'yes' is overridden by the cluster's 'no'".to_string(),
                ],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(conflicts(&node(&text), &cluster, &[]), expected, "{text}");
        }
        assert!(conflicts(
            &node("defaults {\n\tno_path_retry fail\n}\n"),
            &config(""),
            &[]
        )
        .is_empty());
    }

    /// fixtures/import-conflicts: one node file per kind of conflict
    /// (`NAME.conf`, as /etc/multipath.conf) against one cluster config and
    /// the node's block devices; `NAME.expected` lists the messages, each
    /// once.
    #[test]
    fn each_kind_of_conflict_is_reported_once_with_a_clear_message() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/import-conflicts");
        let read = |name: &str| {
            std::fs::read_to_string(format!("{dir}/{name}"))
                .unwrap_or_else(|err| panic!("{name}: {err}"))
        };
        let cluster = config(&read("cluster.cfg"));
        let devices: Vec<BlockDevice> = serde_json::from_str(&read("devices.json")).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter_map(|name| Some(name.strip_suffix(".conf")?.to_string()))
            .collect();
        names.sort();
        assert!(names.len() >= 18, "{names:?}");
        for name in names {
            let files = [NodeFile {
                name: "/etc/multipath.conf".into(),
                text: read(&format!("{name}.conf")),
            }];
            let found = conflicts(&files, &cluster, &devices);
            let expected = read(&format!("{name}.expected"));
            let expected: Vec<&str> = expected.lines().collect();
            assert_eq!(found, expected, "{name}");
            let unique: BTreeSet<&String> = found.iter().collect();
            assert_eq!(unique.len(), found.len(), "{name}: reported once");
        }
    }

    fn config(raw: &str) -> Config {
        section_config::parse("multipath.cfg", raw)
    }

    fn block_device(
        dev: &str,
        sysfs_path: Option<&str>,
        nvme_transport: Option<&str>,
    ) -> BlockDevice {
        BlockDevice {
            dev: dev.into(),
            wwid: WWID_A.into(),
            vendor: None,
            product: None,
            properties: None,
            sysfs_path: sysfs_path.map(Into::into),
            nvme_transport: nvme_transport.map(Into::into),
        }
    }

    #[test]
    fn the_protocol_is_named_as_multipathd_prints_it() {
        let scsi = |path: &str| {
            format!("../devices/pci0000:00/0000:00:03.0/{path}/target1:0:0/1:0:0:0/block/sdb")
        };
        let cases = [
            (
                block_device("sdb", Some(&scsi("host1/rport-1:0-2")), None),
                Some("scsi:fcp"),
            ),
            (
                block_device("sdb", Some(&scsi("host3/session1")), None),
                Some("scsi:iscsi"),
            ),
            (
                block_device("sdb", Some(&scsi("host5/port-5:0/end_device-5:0")), None),
                Some("scsi:sas"),
            ),
            (
                block_device("sdb", Some(&scsi("usb2/2-1/2-1:1.0/host6")), None),
                Some("scsi:usb"),
            ),
            (
                block_device("sdb", Some(&scsi("ata1/host0")), None),
                Some("scsi:ata"),
            ),
            (
                block_device("sdb", Some(&scsi("virtio2/host2")), None),
                Some("scsi:unspec"),
            ),
            // a component that only starts like one is none
            (
                block_device("sdb", Some(&scsi("sessions/host2")), None),
                Some("scsi:unspec"),
            ),
            (
                block_device(
                    "nvme0n1",
                    Some("../devices/virtual/nvme-fabrics/ctl/nvme0/nvme0n1"),
                    Some("tcp\n"),
                ),
                Some("nvme:tcp"),
            ),
            (
                block_device(
                    "nvme1n1",
                    Some("../devices/pci0000:00/0000:00:1d.0/nvme/nvme1/nvme1n1"),
                    Some("pcie"),
                ),
                Some("nvme:pcie"),
            ),
            (
                block_device("nvme1n1", Some("../devices/x/nvme1/nvme1n1"), Some("ib")),
                Some("nvme:unspec"),
            ),
            (
                block_device("nvme1n1", Some("../devices/x/nvme1/nvme1n1"), None),
                Some("nvme:unspec"),
            ),
            (
                block_device(
                    "dasda",
                    Some("../devices/css0/0.0.0000/0.0.0100/block/dasda"),
                    None,
                ),
                Some("ccw"),
            ),
            (
                block_device("cciss!c0d0", Some("../devices/x/block/cciss!c0d0"), None),
                Some("cciss"),
            ),
            (
                block_device("vda", Some("../devices/pci0000:00/virtio1/block/vda"), None),
                Some("undef"),
            ),
            (block_device("sdb", None, None), None),
        ];
        for (device, expected) in cases {
            assert_eq!(device.protocol().as_deref(), expected, "{device:?}");
        }
    }

    /// `filter_property`: the first property (in name order) that an
    /// exception or an entry matches decides; none matching hides the path
    /// when it has its `uid_attribute`, which is no conflict of the files.
    #[test]
    fn udev_properties_are_judged_in_name_order_with_the_builtin_exception() {
        let cluster = config(&format!("wwid: {WWID_A}\n\talias a\n"));
        let conflicts_with = |conf: &str, properties: &[&str]| {
            let mut device = block_device("sdb", None, None);
            device.properties = Some(properties.iter().map(|name| name.to_string()).collect());
            let files = [NodeFile {
                name: "/etc/multipath.conf".into(),
                text: conf.into(),
            }];
            conflicts(&files, &cluster, &[device])
        };
        let wwid_entry = format!("blacklist {{\n\twwid {WWID_A}\n}}\n");
        let hidden_by_wwid = vec![format!(
            "/etc/multipath.conf line 2: blacklist wwid '{WWID_A}' hides the allow-listed WWID {WWID_A}"
        )];
        let hidden_by_property = |entry: &str| {
            vec![format!(
                "/etc/multipath.conf line 2: blacklist property '{entry}' hides path sdb of the allow-listed WWID {WWID_A}"
            )]
        };
        // ID_WWN is excepted by multipath-tools itself: the path is let
        // through to the wwid entry
        assert_eq!(
            conflicts_with(&wwid_entry, &["ID_SERIAL", "ID_WWN"]),
            hidden_by_wwid
        );
        // without an excepted property the path is out before its WWID is
        // judged ("udev property missing"), by no entry of the file
        assert_eq!(
            conflicts_with(&wwid_entry, &["ID_SERIAL", "ID_VENDOR"]),
            Vec::<String>::new()
        );
        // ... unless it lacks its uid_attribute too
        assert_eq!(conflicts_with(&wwid_entry, &["ID_VENDOR"]), hidden_by_wwid);
        // ... or the node excepts one of its properties
        assert_eq!(
            conflicts_with(
                &format!("{wwid_entry}blacklist_exceptions {{\n\tproperty ID_VENDOR\n}}\n"),
                &["ID_SERIAL", "ID_VENDOR"]
            ),
            hidden_by_wwid
        );
        // the first name matching either list decides, both ways
        assert_eq!(
            conflicts_with(
                "blacklist {\n\tproperty ID_BUS\n}\n",
                &["ID_BUS", "ID_SERIAL", "ID_WWN"]
            ),
            hidden_by_property("ID_BUS")
        );
        assert_eq!(
            conflicts_with(
                "blacklist {\n\tproperty ID_VENDOR\n}\n",
                &["ID_SERIAL", "ID_VENDOR", "ID_WWN"]
            ),
            hidden_by_property("ID_VENDOR")
        );
        assert_eq!(
            conflicts_with(
                "blacklist {\n\tproperty ID_WWN\n}\n",
                &["ID_SERIAL", "ID_WWN"]
            ),
            Vec::<String>::new()
        );
        // the order is the names', not the list's
        assert_eq!(
            conflicts_with(
                "blacklist {\n\tproperty ID_VENDOR\n}\n",
                &["ID_WWN", "ID_VENDOR", "ID_SERIAL"]
            ),
            hidden_by_property("ID_VENDOR")
        );
        // an inverted entry hides by the first name it does not match
        assert_eq!(
            conflicts_with(
                "blacklist {\n\tproperty \"!^ID_\"\n}\n",
                &["DEVNAME", "ID_SERIAL", "ID_WWN"]
            ),
            hidden_by_property("!^ID_")
        );
    }

    #[test]
    fn properties_not_read_are_not_judged() {
        let cluster = config(&format!("wwid: {WWID_A}\n\talias a\n"));
        let files = [NodeFile {
            name: "/etc/multipath.conf".into(),
            text: format!("blacklist {{\n\tproperty .\n\tprotocol .\n\twwid {WWID_A}\n}}\n"),
        }];
        assert_eq!(
            conflicts(&files, &cluster, &[block_device("sdb", None, None)]),
            vec![format!(
                "/etc/multipath.conf line 4: blacklist wwid '{WWID_A}' hides the allow-listed WWID {WWID_A}"
            )]
        );
    }

    #[test]
    fn a_second_node_shows_its_differences() {
        let cluster = config(&format!(
            "defaults: defaults\n\tuser-friendly-names no\n\n\
             wwid: {WWID_A}\n\talias vmstore-old\n\tno-path-retry 18\n\n"
        ));
        let import = propose(&setup(HOST), false).unwrap();
        let found = differences(&import.proposal, &cluster, "devices {\n}\n");
        let keys: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.section.as_str(), d.key.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("defaults", "find-multipaths"),
                ("defaults", "user-friendly-names"),
                (WWID_A, "alias"),
                ("overrides", "text"),
            ]
        );
        assert_eq!(found[2].cluster, Some(json!("vmstore-old")));
        assert_eq!(found[2].node, Some(json!("vmstore-a")));
        assert!(differences(&import.proposal, &config(""), "").is_empty());
    }

    #[test]
    fn apply_merges_and_refuses_conflicts() {
        let import = propose(&setup(HOST), false).unwrap();
        let empty = config("");
        let (merged, text) =
            apply(&empty, "", &import.proposal, &Parts::default(), false, None).unwrap();
        let written = section_config::write(&merged).unwrap();
        assert!(
            written.contains(&format!("wwid: {WWID_A}\n\talias vmstore-a\n")),
            "{written}"
        );
        assert!(written.contains(&format!("wwid: {WWID_B}\n")));
        assert_eq!(text, import.proposal.overrides);

        // applying the same proposal again changes nothing
        let again = apply(
            &merged,
            &text,
            &import.proposal,
            &Parts::default(),
            false,
            None,
        )
        .unwrap();
        assert_eq!(section_config::write(&again.0).unwrap(), written);

        let cluster = config(&format!("wwid: {WWID_A}\n\talias other\n\n"));
        let err = apply(
            &cluster,
            "blacklist {\n}\n",
            &import.proposal,
            &Parts::default(),
            false,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!(
                "{WWID_A}: alias is 'other' in the cluster config, 'vmstore-a' on the node"
            )),
            "{err}"
        );
        assert!(err.contains("overrides:"), "{err}");
        let (merged, text) = apply(
            &cluster,
            "blacklist {\n}\n",
            &import.proposal,
            &Parts::default(),
            true,
            None,
        )
        .unwrap();
        assert_eq!(merged.ids[WWID_A].props["alias"], json!("vmstore-a"));
        assert_eq!(text, import.proposal.overrides);

        let only_b = Parts {
            wwids: Some(vec![WWID_B.into()]),
            defaults: Some(false),
            overrides: Some(false),
        };
        let (merged, text) = apply(&cluster, "", &import.proposal, &only_b, false, None).unwrap();
        assert_eq!(merged.ids.len(), 2);
        assert_eq!(text, "");

        let alias_taken = config(&format!("wwid: {WWID_B}\n\talias vmstore-a\n\n"));
        let err = apply(
            &alias_taken,
            "",
            &import.proposal,
            &Parts::default(),
            true,
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("already used"), "{err}");

        let err = apply(
            &empty,
            "",
            &import.proposal,
            &Parts::default(),
            false,
            Some("x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("modified"), "{err}");
        let unknown = Parts {
            wwids: Some(vec!["36ff".into()]),
            ..Parts::default()
        };
        assert!(apply(&empty, "", &import.proposal, &unknown, false, None).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn any_node_files_propose_and_compare_without_panic(
            conf in "((defaults|devices|device|blacklist|multipaths|multipath|wwid|alias|vendor|product|[a-z_]{1,12}|\"[^\"\n]{0,8}\"|[{}#!]|3600a[0-9a-f]{0,6})[ \t\n]{1,2}){0,40}",
            wwids in "(/?3600a[0-9a-f]{0,6}/?\n){0,4}",
            bindings in "(mpath[a-z] 3600a[0-9a-f]{0,6}\n){0,3}",
        ) {
            let files = vec![NodeFile { name: "/etc/multipath.conf".into(), text: conf }];
            let setup = NodeSetup {
                files: files.clone(),
                wwids: Some(wwids),
                bindings: Some(bindings),
                maps: Vec::new(),
            };
            let _ = propose(&setup, true);
            let _ = conflicts(&files, &Config::default(), &[]);
        }
    }
}
