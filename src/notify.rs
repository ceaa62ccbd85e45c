//! Deciding the multipath notifications from the cluster health matrix.
//!
//! A pass of the sender node reads the cluster's health (the [`Status`] of
//! `/cluster/multipath/status`, aggregated for it, not read back from Perl)
//! and the state it left in pmxcfs after the previous pass:
//!
//! ```text
//! {"v":1,"time":1764043200,"problems":{
//!   "lun:3600a098038314b2d4a5d4e6f2f6b4d31":{"rank":2,"since":1764040000,"sent":1764040000,"reminders":0},
//!   "apply-error:pve2":{"rank":1,"since":1764043190,"sent":1764043190,"reminders":0,"ok-since":1764043200}}}
//! ```
//!
//! and gets back the notifications to send (for `PVE::Notify::notify`) and
//! the state to keep. Why it is shaped like this:
//!
//! - Only changes are told: a problem that appears or gets worse than what
//!   was last told, and its end. A problem that eases but lasts is not news;
//!   the next reminder carries its current condition.
//! - A problem is never forgotten and never floods: reminders follow a
//!   growing schedule (by default 1 h, 6 h, then daily), and an end is only
//!   told once the subject has read healthy for [`RECOVERY_HOLD`] seconds,
//!   so a path flapping faster than that makes one warning, not a pair per
//!   flap.
//! - What the matrix cannot see (`unknown`: its node is offline or not
//!   reporting) keeps its problem as it is: silence is no recovery.
//! - Every change of one pass goes out together, one notification per
//!   severity, so matchers can still route by severity.
//! - The state is kept in pmxcfs, so the next sender (see [`sender`])
//!   continues where the last one stopped: without duplicates, without gaps.
//!   The state is read from a file anyone with root can edit, so a state
//!   that does not parse is reported and treated as empty.

use std::collections::BTreeMap;

use anyhow::{bail, format_err, Error};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::status::aggregate::{Cell, NodeStatus, Row, Status};
use crate::status::State;

/// Seconds a subject must read healthy before its recovery is told.
pub const RECOVERY_HOLD: u64 = 60;

/// At most this many LUNs and nodes are detailed in one notification.
pub const MAX_LISTED: usize = 100;

/// The reminder schedule when the configuration does not set one.
pub const DEFAULT_REMINDERS: &[u64] = &[3600, 6 * 3600, 24 * 3600];

/// The template name, `multipath-{subject,body}.txt.hbs`, `-body.html.hbs`.
pub const TEMPLATE: &str = "multipath";

const STATE_VERSION: u32 = 1;

/// The notification severities of `PVE::Notify`, least severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Notice,
    Warning,
    Error,
}

impl Severity {
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "notice" => Some(Severity::Notice),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Parse a reminder schedule: `1h,6h,1d` (units s, m, h, d), the gaps
/// between reminders, the last one repeating; `none` for no reminders.
pub fn parse_reminders(text: &str) -> Result<Vec<u64>, String> {
    if text == "none" {
        return Ok(Vec::new());
    }
    let gaps = text
        .split(',')
        .map(|item| {
            let unit = item.chars().last();
            let number = &item[..item.len() - unit.map_or(0, char::len_utf8)];
            let factor = match unit {
                Some('s') => 1,
                Some('m') => 60,
                Some('h') => 3600,
                Some('d') => 86400,
                _ => return Err(format!("'{item}' is not a duration like 30m, 6h or 1d")),
            };
            let valid = (1..=4).contains(&number.len())
                && number.bytes().all(|byte| byte.is_ascii_digit())
                && !number.starts_with('0');
            let seconds = if valid {
                number.parse::<u64>().unwrap_or(0) * factor
            } else {
                0
            };
            if seconds == 0 {
                return Err(format!("'{item}' is not a duration like 30m, 6h or 1d"));
            }
            if seconds < 600 {
                return Err(format!("'{item}' is shorter than the minimum of 10m"));
            }
            Ok(seconds)
        })
        .collect::<Result<Vec<u64>, String>>()?;
    if gaps.len() > 8 {
        return Err("more than 8 reminder intervals".to_string());
    }
    Ok(gaps)
}

/// The notification knobs of the `defaults` section.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub enabled: bool,
    pub min_severity: Severity,
    /// Gaps between reminders; the last repeats, empty for none.
    pub reminders: Vec<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            min_severity: Severity::Info,
            reminders: DEFAULT_REMINDERS.to_vec(),
        }
    }
}

fn knob_text<'a>(defaults: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    defaults.get(name).and_then(Value::as_str)
}

impl Settings {
    /// From the `defaults` section (other keys are ignored; the values were
    /// validated on write, but the file may have been edited since).
    pub fn from_defaults(defaults: &Map<String, Value>) -> Result<Settings, Error> {
        let mut settings = Settings::default();
        if let Some(text) = knob_text(defaults, "notify") {
            settings.enabled = match text {
                "yes" => true,
                "no" => false,
                other => bail!("notify: invalid value '{other}' (yes or no)"),
            };
        }
        if let Some(text) = knob_text(defaults, "notify-severity") {
            settings.min_severity = Severity::parse(text).ok_or_else(|| {
                format_err!(
                    "notify-severity: invalid value '{text}' (info, notice, warning or error)"
                )
            })?;
        }
        if let Some(text) = knob_text(defaults, "notify-reminders") {
            settings.reminders =
                parse_reminders(text).map_err(|err| format_err!("notify-reminders: {err}"))?;
        }
        Ok(settings)
    }

    /// The gap before the reminder after `sent` earlier ones.
    fn reminder_gap(&self, sent: u32) -> Option<u64> {
        let last = self.reminders.last()?;
        Some(*self.reminders.get(sent as usize).unwrap_or(last))
    }
}

/// The node that sends for the whole cluster: the online member with the
/// lowest name, and only while the cluster is quorate (without quorum the
/// state in pmxcfs cannot be written, and a partition must not send twice).
pub fn sender(members: &BTreeMap<String, bool>, quorate: bool) -> Option<&str> {
    if !quorate {
        return None;
    }
    members
        .iter()
        .find(|(_, online)| **online)
        .map(|(node, _)| node.as_str())
}

// --- what a subject reads as in one pass ---

/// How bad a LUN is, worst last. Lost redundancy: some node is down to its
/// last active path, one more failure away from losing the LUN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    Optimal,
    Degraded,
    LostRedundancy,
    Missing,
    Failed,
}

impl Condition {
    fn rank(self) -> u8 {
        self as u8
    }

    fn from_rank(rank: u8) -> Condition {
        match rank {
            0 => Condition::Optimal,
            1 => Condition::Degraded,
            2 => Condition::LostRedundancy,
            3 => Condition::Missing,
            _ => Condition::Failed,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Condition::Optimal => "optimal",
            Condition::Degraded => "degraded",
            Condition::LostRedundancy => "lost redundancy",
            Condition::Missing => "missing",
            Condition::Failed => "failed",
        }
    }

    fn severity(self) -> Severity {
        match self {
            Condition::Optimal => Severity::Info,
            Condition::Degraded | Condition::LostRedundancy => Severity::Warning,
            Condition::Missing | Condition::Failed => Severity::Error,
        }
    }
}

/// What the matrix says about one subject in this pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    Healthy,
    /// A problem of this rank (for LUNs a [`Condition`]).
    Problem(u8),
    /// The matrix cannot tell; keep what is known.
    Unknown,
}

/// The nodes that have published nothing yet (just booted, pvestatd not
/// yet through its first pass), in node order.
fn silent_nodes(status: &Status) -> Vec<&str> {
    status
        .nodes
        .iter()
        .filter(|(_, node)| node.report_time.is_none())
        .map(|(name, _)| name)
        .collect()
}

/// A LUN's condition from its cells. The cells of a silent node (see
/// [`silent_nodes`]) read `missing` in the matrix; for telling they read
/// unknown, or every cluster start would report all LUNs missing.
fn lun_condition(row: &Row, silent: &[&str]) -> Option<Condition> {
    let all = row.nodes.iter().len();
    let cells: Vec<&Cell> = row
        .nodes
        .iter()
        .filter(|(node, _)| silent.binary_search(node).is_err())
        .map(|(_, cell)| cell)
        .collect();
    let cluster_state = if cells.len() == all {
        row.cluster_state
    } else {
        State::roll_up(cells.iter().map(|cell| cell.state))
    };
    Some(match cluster_state {
        State::Unknown => return None,
        State::Optimal => Condition::Optimal,
        State::Missing => Condition::Missing,
        State::Failed => Condition::Failed,
        State::Degraded => {
            let last_path = cells.iter().any(|cell| {
                cell.state == State::Degraded
                    && cell.paths_active.unwrap_or(0) <= 1
                    && cell.paths_total.max(cell.paths_expected).unwrap_or(0) > 1
            });
            if last_path {
                Condition::LostRedundancy
            } else {
                Condition::Degraded
            }
        }
    })
}

fn lun_reading(row: &Row, silent: &[&str]) -> Reading {
    match lun_condition(row, silent) {
        None => Reading::Unknown,
        Some(Condition::Optimal) => Reading::Healthy,
        Some(condition) => Reading::Problem(condition.rank()),
    }
}

/// The node problems told about; each is a subject of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NodeProblem {
    ApplyError,
    Stale,
}

impl NodeProblem {
    const ALL: [NodeProblem; 2] = [NodeProblem::ApplyError, NodeProblem::Stale];

    fn key(self) -> &'static str {
        match self {
            NodeProblem::ApplyError => "apply-error",
            NodeProblem::Stale => "stale",
        }
    }

    fn text(self) -> &'static str {
        match self {
            NodeProblem::ApplyError => "multipath configuration not applied",
            NodeProblem::Stale => "multipath report out of date",
        }
    }

    /// An offline node is the cluster's news, not ours: unknown.
    fn reading(self, row: &NodeStatus) -> Reading {
        let present = match self {
            _ if !row.online => return Reading::Unknown,
            NodeProblem::ApplyError => row.apply_error.is_some(),
            NodeProblem::Stale => row.stale,
        };
        if present {
            Reading::Problem(1)
        } else {
            Reading::Healthy
        }
    }

    fn detail(self, row: &NodeStatus) -> Option<&str> {
        match self {
            NodeProblem::ApplyError => row.apply_error.as_deref(),
            NodeProblem::Stale => row.error.as_deref(),
        }
    }
}

/// A subject key of the state: `lun:<wwid>` or `<problem>:<node>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    Lun(String),
    Node(NodeProblem, String),
}

impl Subject {
    fn key(&self) -> String {
        match self {
            Subject::Lun(wwid) => format!("lun:{wwid}"),
            Subject::Node(problem, node) => format!("{}:{node}", problem.key()),
        }
    }
}

// --- the kept state ---

/// A problem that was told and has not been told over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The rank last told (a worse reading is news, a milder one not).
    pub rank: u8,
    /// When it was first told.
    pub since: u64,
    /// When it was last told (first or reminder).
    pub sent: u64,
    /// Reminders told since the last change.
    pub reminders: u32,
    /// Since when it reads healthy, while the recovery is held.
    #[serde(rename = "ok-since", default, skip_serializing_if = "Option::is_none")]
    pub ok_since: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyState {
    #[serde(rename = "v")]
    pub version: u32,
    /// The pass that wrote it.
    pub time: u64,
    pub problems: BTreeMap<String, Problem>,
}

impl NotifyState {
    /// Parse the kept state; `Err` says why it cannot be used.
    pub fn parse(text: &str) -> Result<NotifyState, String> {
        let state: NotifyState =
            serde_json::from_str(text).map_err(|err| format!("unreadable state: {err}"))?;
        if state.version != STATE_VERSION {
            return Err(format!(
                "state version {} is not {STATE_VERSION}",
                state.version
            ));
        }
        Ok(state)
    }
}

/// What happened to a subject in this pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// A new problem.
    New,
    /// Worse than told.
    Worse,
    Reminder,
    Recovered,
}

/// One subject through one pass: the problem to keep and what to tell.
fn step(
    known: Option<&Problem>,
    reading: Reading,
    now: u64,
    settings: &Settings,
) -> (Option<Problem>, Option<Change>) {
    let fresh = |rank| Problem {
        rank,
        since: now,
        sent: now,
        reminders: 0,
        ok_since: None,
    };
    let Some(known) = known else {
        return match reading {
            Reading::Problem(rank) => (Some(fresh(rank)), Some(Change::New)),
            Reading::Healthy | Reading::Unknown => (None, None),
        };
    };
    match reading {
        Reading::Unknown => (Some(known.clone()), None),
        Reading::Healthy => {
            let ok_since = known.ok_since.unwrap_or(now).min(now);
            if now - ok_since >= RECOVERY_HOLD {
                return (None, Some(Change::Recovered));
            }
            let held = Problem {
                ok_since: Some(ok_since),
                ..known.clone()
            };
            (Some(held), None)
        }
        Reading::Problem(rank) if rank > known.rank => (
            Some(Problem {
                since: known.since,
                ..fresh(rank)
            }),
            Some(Change::Worse),
        ),
        Reading::Problem(rank) => {
            let due = settings
                .reminder_gap(known.reminders)
                .is_some_and(|gap| now >= known.sent.saturating_add(gap));
            if due {
                let reminded = Problem {
                    rank,
                    sent: now,
                    reminders: known.reminders.saturating_add(1),
                    ok_since: None,
                    ..known.clone()
                };
                (Some(reminded), Some(Change::Reminder))
            } else {
                let ongoing = Problem {
                    ok_since: None,
                    ..known.clone()
                };
                (Some(ongoing), None)
            }
        }
    }
}

// --- the notifications ---

#[derive(Debug, Serialize)]
pub struct CellData {
    pub node: String,
    pub state: &'static str,
    /// `active/total` paths, with the expectation when it is higher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LunData {
    pub wwid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The alias, else the WWID.
    pub name: String,
    pub change: Change,
    /// What it is now: `lost redundancy`, `failed`, ... or `optimal`.
    pub condition: &'static str,
    #[serde(rename = "cluster-state")]
    pub cluster_state: &'static str,
    /// When the problem was first told (unix seconds).
    pub since: u64,
    /// For how long, in seconds.
    pub duration: u64,
    pub cells: Vec<CellData>,
}

#[derive(Debug, Serialize)]
pub struct NodeData {
    pub node: String,
    pub change: Change,
    pub problem: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub since: u64,
    pub duration: u64,
}

/// The template data (the sender adds `PVE::Notify::common_template_data`).
#[derive(Debug, Serialize)]
pub struct TemplateData {
    pub title: String,
    /// Every change of this notification is a reminder.
    pub reminder: bool,
    pub luns: Vec<LunData>,
    pub nodes: Vec<NodeData>,
    /// LUNs and node problems of this notification left out of the lists.
    #[serde(rename = "more-luns")]
    pub more_luns: usize,
    #[serde(rename = "more-nodes")]
    pub more_nodes: usize,
}

#[derive(Debug, Serialize)]
pub struct Notification {
    pub severity: Severity,
    pub template: &'static str,
    pub data: TemplateData,
    /// Metadata for the admin's matchers; all values are strings.
    pub fields: BTreeMap<&'static str, String>,
}

/// The result of one pass.
#[derive(Debug, Serialize)]
pub struct Pass {
    pub notifications: Vec<Notification>,
    /// The state to keep (JSON text) and whether it differs from the one
    /// read (so an unchanged state costs no pmxcfs write).
    pub state: String,
    pub changed: bool,
    /// Why the kept state could not be used (the pass starts afresh).
    pub warnings: Vec<String>,
}

#[derive(Clone)]
struct Event<'a> {
    subject: Subject,
    change: Change,
    severity: Severity,
    problem: Problem,
    /// The condition told (for a recovery, the one that ended).
    rank: u8,
    lun: Option<&'a Row>,
    node: Option<&'a NodeStatus>,
}

/// Longest peer-sent text (a reason, an apply error) told.
const MAX_TEXT: usize = 300;

/// A peer-sent text as one line of at most [`MAX_TEXT`] characters: a
/// newline in another node's apply error must not forge lines of the mail.
fn one_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT + 1)
        .collect();
    if line.chars().count() > MAX_TEXT {
        line = line.chars().take(MAX_TEXT - 3).collect::<String>() + "...";
    }
    line
}

fn paths_text(cell: &Cell) -> Option<String> {
    let active = cell.paths_active?;
    let total = cell.paths_total.unwrap_or(active);
    Some(match cell.paths_expected {
        Some(expected) if expected > total => format!("{active}/{total} of {expected}"),
        _ => format!("{active}/{total}"),
    })
}

fn lun_data(event: &Event, wwid: &str, now: u64) -> LunData {
    let row = event.lun;
    let alias = row.and_then(|row| row.alias.as_deref()).map(str::to_string);
    let condition = match event.change {
        Change::Recovered => Condition::Optimal,
        _ => Condition::from_rank(event.rank),
    };
    LunData {
        wwid: wwid.to_string(),
        name: alias.clone().unwrap_or_else(|| wwid.to_string()),
        alias,
        change: event.change,
        condition: condition.text(),
        cluster_state: row.map_or(State::Unknown, |row| row.cluster_state).as_str(),
        since: event.problem.since,
        duration: now.saturating_sub(event.problem.since),
        cells: row
            .map(|row| {
                row.nodes
                    .iter()
                    .map(|(node, cell)| CellData {
                        node: node.to_string(),
                        state: cell.state.as_str(),
                        paths: paths_text(cell),
                        reason: cell.reason.as_deref().map(one_line),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn node_data(event: &Event, problem: NodeProblem, node: &str, now: u64) -> NodeData {
    NodeData {
        node: node.to_string(),
        change: event.change,
        problem: problem.text(),
        detail: match event.change {
            Change::Recovered => None,
            _ => event.node.and_then(|row| problem.detail(row)).map(one_line),
        },
        since: event.problem.since,
        duration: now.saturating_sub(event.problem.since),
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// A one-line summary for the subject line.
fn title(luns: &[&Event], nodes: &[&Event], severity: Severity, reminder: bool) -> String {
    let still = if reminder { "still " } else { "" };
    let mut parts = Vec::new();
    match luns {
        [] => {}
        [only] => {
            let name = match (&only.subject, only.lun.and_then(|row| row.alias.as_deref())) {
                (_, Some(alias)) => alias.to_string(),
                (Subject::Lun(wwid), None) => wwid.clone(),
                (Subject::Node(..), None) => String::new(),
            };
            let what = match only.change {
                Change::Recovered => "recovered",
                _ => Condition::from_rank(only.rank).text(),
            };
            parts.push(format!("LUN {name} {still}{what}"));
        }
        _ => {
            let what = match severity {
                Severity::Info | Severity::Notice => "recovered",
                Severity::Warning => "degraded",
                Severity::Error => "failed or missing",
            };
            parts.push(format!(
                "{} {still}{what}",
                plural(luns.len(), "LUN", "LUNs")
            ));
        }
    }
    if !nodes.is_empty() {
        let count = plural(nodes.len(), "node problem", "node problems");
        parts.push(match severity {
            Severity::Info | Severity::Notice => format!("{count} cleared"),
            _ if reminder => format!("{count} persisting"),
            _ => count,
        });
    }
    parts.join(", ")
}

fn notification(events: &[Event], severity: Severity, now: u64) -> Notification {
    let luns: Vec<&Event> = events
        .iter()
        .filter(|event| matches!(event.subject, Subject::Lun(_)))
        .collect();
    let nodes: Vec<&Event> = events
        .iter()
        .filter(|event| matches!(event.subject, Subject::Node(..)))
        .collect();
    let reminder = events.iter().all(|event| event.change == Change::Reminder);

    let mut fields = BTreeMap::new();
    fields.insert("type", "multipath".to_string());
    fields.insert("severity", severity.as_str().to_string());
    let worst = luns
        .iter()
        .filter_map(|event| event.lun)
        .map(|row| row.cluster_state)
        .max_by_key(|state| state.rank());
    if let Some(state) = worst {
        fields.insert("cluster-state", state.as_str().to_string());
    }
    let wwids: Vec<&str> = luns
        .iter()
        .filter_map(|event| match &event.subject {
            Subject::Lun(wwid) => Some(wwid.as_str()),
            Subject::Node(..) => None,
        })
        .collect();
    if !wwids.is_empty() {
        fields.insert("wwids", wwids.join(","));
    }
    let node_names: Vec<&str> = nodes
        .iter()
        .filter_map(|event| match &event.subject {
            Subject::Node(_, node) => Some(node.as_str()),
            Subject::Lun(_) => None,
        })
        .collect();
    if !node_names.is_empty() {
        let mut node_names = node_names;
        node_names.dedup();
        fields.insert("nodes", node_names.join(","));
    }

    let data = TemplateData {
        title: title(&luns, &nodes, severity, reminder),
        reminder,
        luns: luns
            .iter()
            .take(MAX_LISTED)
            .filter_map(|event| match &event.subject {
                Subject::Lun(wwid) => Some(lun_data(event, wwid, now)),
                Subject::Node(..) => None,
            })
            .collect(),
        nodes: nodes
            .iter()
            .take(MAX_LISTED)
            .filter_map(|event| match &event.subject {
                Subject::Node(problem, node) => Some(node_data(event, *problem, node, now)),
                Subject::Lun(_) => None,
            })
            .collect(),
        more_luns: luns.len().saturating_sub(MAX_LISTED),
        more_nodes: nodes.len().saturating_sub(MAX_LISTED),
    };
    Notification {
        severity,
        template: TEMPLATE,
        data,
        fields,
    }
}

/// One pass: the kept state (`None`: nothing kept yet), the cluster's
/// health now, the settings, and the time.
pub fn pass(previous: Option<&str>, status: &Status, settings: &Settings, now: u64) -> Pass {
    let mut warnings = Vec::new();
    let known = match previous.map(NotifyState::parse) {
        None => NotifyState::default(),
        Some(Ok(state)) => state,
        Some(Err(err)) => {
            warnings.push(format!("{err}; starting afresh"));
            NotifyState::default()
        }
    };
    let mut next = NotifyState {
        version: STATE_VERSION,
        time: now,
        problems: BTreeMap::new(),
    };
    let mut events = Vec::new();

    if settings.enabled {
        let mut readings: BTreeMap<Subject, (Reading, Option<&Row>, Option<&NodeStatus>)> =
            BTreeMap::new();
        let silent = silent_nodes(status);
        for row in &status.luns {
            readings.insert(
                Subject::Lun(row.wwid.to_string()),
                (lun_reading(row, &silent), Some(row), None),
            );
        }
        for (node, row) in status.nodes.iter() {
            for problem in NodeProblem::ALL {
                let subject = Subject::Node(problem, node.to_string());
                readings.insert(subject, (problem.reading(row), None, Some(row)));
            }
        }
        // a subject the matrix no longer has (a LUN taken out of the
        // configuration, a node that left the cluster) is dropped untold
        for (subject, (reading, lun, node)) in readings {
            let key = subject.key();
            let (kept, change) = step(known.problems.get(&key), reading, now, settings);
            // a change has a problem: the kept one, or for a recovery the
            // one that ended
            let told = kept.as_ref().or_else(|| known.problems.get(&key));
            if let (Some(change), Some(told)) = (change, told.cloned()) {
                let severity = match (&subject, change) {
                    (_, Change::Recovered) => Severity::Info,
                    (Subject::Lun(_), _) => Condition::from_rank(told.rank).severity(),
                    (Subject::Node(..), _) => Severity::Warning,
                };
                events.push(Event {
                    subject,
                    change,
                    severity,
                    rank: told.rank,
                    problem: told,
                    lun,
                    node,
                });
            }
            if let Some(kept) = kept {
                next.problems.insert(key, kept);
            }
        }
    }

    let mut notifications = Vec::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        let group: Vec<Event> = events
            .iter()
            .filter(|event| event.severity == severity)
            .cloned()
            .collect();
        if !group.is_empty() && severity >= settings.min_severity {
            notifications.push(notification(&group, severity, now));
        }
    }

    // the pass time alone is no change worth a pmxcfs write
    let changed = known.problems != next.problems || known.version != STATE_VERSION;
    if !changed {
        next.time = known.time;
    }
    let state = serde_json::to_string(&next).unwrap_or_default();
    Pass {
        notifications,
        state,
        changed,
        warnings,
    }
}

#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod tests;
