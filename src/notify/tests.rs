use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::status::aggregate::{ExpectedNodes, ListsByLun, NodeValue, Request};
use crate::status::wire::{self, Broadcast, MAX_VALUE_BYTES};
use crate::status::{LunReport, Transport};

const T0: u64 = 1_764_043_200;
const HOUR: u64 = 3600;

const WWID_A: &str = "3600a098038314b2d4a5d4e6f2f6b4d31";
const WWID_B: &str = "36001405f1a2b3c4d5e6f708192a3b4c5";

/// A cell as the matrix shows it: `optimal 4/4`, `degraded 1/4`, ...
fn cell(state: &str, active: u64, total: u64) -> Value {
    json!({ "state": state, "paths-active": active, "paths-total": total })
}

/// A LUN row on three nodes, the cluster state the worst cell.
fn row(wwid: &str, alias: Option<&str>, cells: [Value; 3]) -> Value {
    let rank = |state: &str| State::parse(state).rank();
    let worst = cells
        .iter()
        .map(|cell| cell["state"].as_str().unwrap())
        .max_by_key(|state| rank(state))
        .unwrap()
        .to_string();
    let [a, b, c] = cells;
    let mut row = json!({
        "wwid": wwid,
        "cluster-state": worst,
        "nodes": { "pve1": a, "pve2": b, "pve3": c },
    });
    if let Some(alias) = alias {
        row["alias"] = json!(alias);
    }
    row
}

fn healthy_nodes() -> Value {
    json!({
        "pve1": { "online": 1, "stale": 0, "report-time": T0 },
        "pve2": { "online": 1, "stale": 0, "report-time": T0 },
        "pve3": { "online": 1, "stale": 0, "report-time": T0 },
    })
}

fn matrix(luns: Vec<Value>, nodes: Value) -> Status {
    Status::from_rendered(&json!({ "luns": luns, "nodes": nodes }))
}

/// LUN A on three nodes, pve2's cell as given.
fn lun_a(state: &str, active: u64) -> Status {
    let other = || cell("optimal", 4, 4);
    matrix(
        vec![row(
            WWID_A,
            Some("vmstore-a"),
            [other(), cell(state, active, 4), other()],
        )],
        healthy_nodes(),
    )
}

fn unknown_a() -> Status {
    let unknown = || json!({ "state": "unknown", "reason": "node offline" });
    matrix(
        vec![row(
            WWID_A,
            Some("vmstore-a"),
            [unknown(), unknown(), unknown()],
        )],
        healthy_nodes(),
    )
}

/// Runs passes and keeps the state between them, as the sender does.
struct Sender {
    state: Option<String>,
    settings: Settings,
    sent: Vec<(u64, Severity, Change, String)>,
}

impl Sender {
    fn new() -> Self {
        Sender {
            state: None,
            settings: Settings::default(),
            sent: Vec::new(),
        }
    }

    fn pass(&mut self, matrix: &Status, now: u64) -> Vec<Notification> {
        let pass = pass(self.state.as_deref(), matrix, &self.settings, now);
        assert!(pass.warnings.is_empty(), "{:?}", pass.warnings);
        if pass.changed {
            self.state = Some(pass.state);
        }
        for notification in &pass.notifications {
            let change = notification
                .data
                .luns
                .first()
                .map(|lun| lun.change)
                .or_else(|| notification.data.nodes.first().map(|node| node.change))
                .unwrap();
            self.sent.push((
                now,
                notification.severity,
                change,
                notification.data.title.clone(),
            ));
        }
        pass.notifications
    }

    fn severities(&self) -> Vec<(Severity, Change)> {
        self.sent
            .iter()
            .map(|(_, severity, change, _)| (*severity, *change))
            .collect()
    }
}

#[test]
fn every_lun_transition_has_its_severity() {
    use Change::*;
    use Severity::*;
    // (from pve2's state and active paths, to, what is told right away)
    type Cell = (&'static str, u64);
    type Told = Option<(Severity, Change, &'static str)>;
    let table: &[(Cell, Cell, Told)] = &[
        (("optimal", 4), ("optimal", 4), None),
        (
            ("optimal", 4),
            ("degraded", 2),
            Some((Warning, New, "degraded")),
        ),
        (
            ("optimal", 4),
            ("degraded", 1),
            Some((Warning, New, "lost redundancy")),
        ),
        (
            ("optimal", 4),
            ("missing", 0),
            Some((Error, New, "missing")),
        ),
        (("optimal", 4), ("failed", 0), Some((Error, New, "failed"))),
        (("optimal", 4), ("unknown", 0), None),
        (
            ("degraded", 2),
            ("degraded", 1),
            Some((Warning, Worse, "lost redundancy")),
        ),
        (
            ("degraded", 2),
            ("failed", 0),
            Some((Error, Worse, "failed")),
        ),
        (
            ("degraded", 1),
            ("missing", 0),
            Some((Error, Worse, "missing")),
        ),
        (
            ("missing", 0),
            ("failed", 0),
            Some((Error, Worse, "failed")),
        ),
        // milder but not over: no news, the reminder tells the current state
        (("degraded", 1), ("degraded", 2), None),
        (("failed", 0), ("degraded", 2), None),
        (("failed", 0), ("missing", 0), None),
        // over: told once it held, see recovery_is_told_once_it_held
        (("degraded", 2), ("optimal", 4), None),
        (("failed", 0), ("optimal", 4), None),
        // the matrix cannot see: the problem is kept as it is
        (("failed", 0), ("unknown", 0), None),
    ];
    for ((from, from_active), (to, to_active), expected) in table {
        let mut sender = Sender::new();
        sender.pass(&lun_a(from, *from_active), T0);
        let before = sender.sent.len();
        let notifications = sender.pass(&lun_a(to, *to_active), T0 + 10);
        let told: Vec<_> = notifications
            .iter()
            .map(|n| (n.severity, n.data.luns[0].change, n.data.luns[0].condition))
            .collect();
        let expected: Vec<_> = expected.iter().copied().collect();
        assert_eq!(told, expected, "{from} {from_active} -> {to} {to_active}");
        assert_eq!(sender.sent.len() - before, expected.len());
    }
}

#[test]
fn recovery_is_told_once_it_held() {
    for (problem, active) in [
        ("degraded", 2),
        ("degraded", 1),
        ("missing", 0),
        ("failed", 0),
    ] {
        let mut sender = Sender::new();
        sender.pass(&lun_a(problem, active), T0);
        for step in 1..=10 {
            sender.pass(&lun_a("optimal", 4), T0 + step * 10);
        }
        let recovered = &sender.sent[1..];
        assert_eq!(
            recovered.len(),
            1,
            "{problem}: one recovery, after {RECOVERY_HOLD} s"
        );
        let (when, severity, change, title) = &recovered[0];
        assert_eq!((*severity, *change), (Severity::Info, Change::Recovered));
        assert_eq!(*when, T0 + 10 + RECOVERY_HOLD);
        assert_eq!(title, "LUN vmstore-a recovered");
        // and nothing is kept once it is over
        let kept = NotifyState::parse(sender.state.as_deref().unwrap()).unwrap();
        assert!(kept.problems.is_empty());
    }
}

#[test]
fn unknown_neither_recovers_nor_forgets() {
    let mut sender = Sender::new();
    sender.pass(&lun_a("failed", 0), T0);
    for step in 1..=20 {
        sender.pass(&unknown_a(), T0 + step * 10);
    }
    sender.pass(&lun_a("failed", 0), T0 + 300);
    assert_eq!(sender.severities(), [(Severity::Error, Change::New)]);
}

#[test]
fn flapping_within_one_interval_is_one_warning() {
    let mut sender = Sender::new();
    // a path that drops and returns every 20 s for half an hour
    for step in 0..180 {
        let matrix = if step % 4 < 2 {
            lun_a("degraded", 3)
        } else {
            lun_a("optimal", 4)
        };
        sender.pass(&matrix, T0 + step * 10);
    }
    assert_eq!(sender.severities(), [(Severity::Warning, Change::New)]);
    // then it settles
    for step in 180..200 {
        sender.pass(&lun_a("optimal", 4), T0 + step * 10);
    }
    assert_eq!(
        sender.severities(),
        [
            (Severity::Warning, Change::New),
            (Severity::Info, Change::Recovered)
        ]
    );
}

#[test]
fn flapping_between_problems_tells_only_the_worst() {
    let mut sender = Sender::new();
    for step in 0..60 {
        let matrix = if step % 2 == 0 {
            lun_a("failed", 0)
        } else {
            lun_a("degraded", 2)
        };
        sender.pass(&matrix, T0 + step * 10);
    }
    assert_eq!(sender.severities(), [(Severity::Error, Change::New)]);
}

#[test]
fn reminders_grow_then_repeat_daily() {
    let mut sender = Sender::new();
    sender.pass(&lun_a("degraded", 1), T0);
    let end = T0 + 4 * 24 * HOUR;
    let mut now = T0;
    while now < end {
        now += 60;
        sender.pass(&lun_a("degraded", 1), now);
    }
    let times: Vec<u64> = sender.sent.iter().map(|(when, ..)| when - T0).collect();
    assert_eq!(times, [0, HOUR, 7 * HOUR, 31 * HOUR, 55 * HOUR, 79 * HOUR]);
    assert!(sender.sent[1..]
        .iter()
        .all(
            |(_, severity, change, title)| *severity == Severity::Warning
                && *change == Change::Reminder
                && title == "LUN vmstore-a still lost redundancy"
        ));
}

#[test]
fn a_reminder_tells_the_current_condition() {
    let mut sender = Sender::new();
    sender.pass(&lun_a("failed", 0), T0);
    sender.pass(&lun_a("degraded", 2), T0 + 600);
    let notifications = sender.pass(&lun_a("degraded", 2), T0 + HOUR);
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].severity, Severity::Warning);
    assert_eq!(notifications[0].data.luns[0].condition, "degraded");
    assert_eq!(notifications[0].data.luns[0].since, T0);
    // from then on, failed again is worse than told
    let notifications = sender.pass(&lun_a("failed", 0), T0 + HOUR + 10);
    assert_eq!(notifications[0].severity, Severity::Error);
    assert_eq!(notifications[0].data.luns[0].change, Change::Worse);
}

#[test]
fn worse_restarts_the_reminder_schedule() {
    let mut sender = Sender::new();
    sender.pass(&lun_a("degraded", 2), T0);
    sender.pass(&lun_a("failed", 0), T0 + 1800);
    sender.pass(&lun_a("failed", 0), T0 + HOUR);
    assert_eq!(sender.sent.len(), 2, "no reminder 1 h after the first");
    sender.pass(&lun_a("failed", 0), T0 + 1800 + HOUR);
    assert_eq!(sender.sent.len(), 3);
    assert_eq!(sender.sent[2].2, Change::Reminder);
}

#[test]
fn no_reminders_when_the_schedule_is_none() {
    let mut sender = Sender::new();
    sender.settings.reminders = parse_reminders("none").unwrap();
    for step in 0..100 {
        sender.pass(&lun_a("failed", 0), T0 + step * HOUR);
    }
    assert_eq!(sender.sent.len(), 1);
}

fn node_matrix(nodes: Value) -> Status {
    matrix(
        vec![row(
            WWID_A,
            None,
            [
                cell("optimal", 2, 2),
                cell("optimal", 2, 2),
                cell("optimal", 2, 2),
            ],
        )],
        nodes,
    )
}

#[test]
fn node_problems_appear_and_clear() {
    use Change::*;
    use Severity::*;
    let ok = json!({ "online": 1, "stale": 0 });
    let apply_error =
        json!({ "online": 1, "stale": 0, "apply-error": "multipathd reconfigure failed" });
    let stale = json!({ "online": 1, "stale": 1, "error": "report is 95 s old" });
    let offline_stale = json!({ "online": 0, "stale": 1 });
    type Told = [(Severity, Change)];
    let table: &[(&Value, &Value, &Told)] = &[
        (&ok, &apply_error, &[(Warning, New)]),
        (&apply_error, &ok, &[(Info, Recovered)]),
        (&ok, &stale, &[(Warning, New)]),
        (&stale, &ok, &[(Info, Recovered)]),
        // an offline node is stale by nature: not news of ours
        (&ok, &offline_stale, &[]),
        (&apply_error, &offline_stale, &[]),
    ];
    for (from, to, expected) in table {
        let mut sender = Sender::new();
        let nodes = |pve2: &Value| json!({ "pve1": ok, "pve2": pve2, "pve3": ok });
        sender.pass(&node_matrix(nodes(from)), T0);
        let before = sender.sent.len();
        for step in 1..=7 {
            sender.pass(&node_matrix(nodes(to)), T0 + step * 10);
        }
        assert_eq!(&sender.severities()[before..], *expected, "{from} -> {to}");
    }
}

#[test]
fn node_problem_data_names_the_node_and_error() {
    let nodes = json!({
        "pve1": { "online": 1 },
        "pve2": { "online": 1, "apply-error": "multipathd reconfigure failed" },
    });
    let pass = pass(None, &node_matrix(nodes), &Settings::default(), T0);
    let [notification] = &pass.notifications[..] else {
        panic!("{:?}", pass.notifications);
    };
    assert_eq!(notification.data.title, "1 node problem");
    assert_eq!(notification.fields["nodes"], "pve2");
    assert!(!notification.fields.contains_key("wwids"));
    let node = &notification.data.nodes[0];
    assert_eq!(node.problem, "multipath configuration not applied");
    assert_eq!(
        node.detail.as_deref(),
        Some("multipathd reconfigure failed")
    );
}

#[test]
fn one_pass_is_one_notification_per_severity() {
    let optimal = || cell("optimal", 2, 2);
    let before = matrix(
        vec![
            row(
                WWID_A,
                Some("vmstore-a"),
                [cell("degraded", 1, 2), optimal(), optimal()],
            ),
            row(WWID_B, None, [optimal(), optimal(), optimal()]),
        ],
        healthy_nodes(),
    );
    let after = matrix(
        vec![
            row(WWID_A, Some("vmstore-a"), [optimal(), optimal(), optimal()]),
            row(
                WWID_B,
                None,
                [cell("failed", 0, 2), cell("failed", 0, 2), optimal()],
            ),
        ],
        healthy_nodes(),
    );
    let mut sender = Sender::new();
    sender.pass(&before, T0);
    sender.pass(&after, T0 + 10);
    let notifications = sender.pass(&after, T0 + 10 + RECOVERY_HOLD);
    let summary: Vec<_> = sender
        .sent
        .iter()
        .map(|(when, severity, _, title)| (when - T0, *severity, title.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, Severity::Warning, "LUN vmstore-a lost redundancy"),
            (10, Severity::Error, &*format!("LUN {WWID_B} failed")),
            (
                10 + RECOVERY_HOLD,
                Severity::Info,
                "LUN vmstore-a recovered"
            ),
        ]
    );
    assert_eq!(notifications[0].fields["cluster-state"], "optimal");
}

#[test]
fn many_luns_of_one_pass_make_one_notification() {
    let wwids: Vec<String> = (0..1000).map(|n| format!("36001405{n:024x}")).collect();
    let build = |state: &str| {
        matrix(
            wwids
                .iter()
                .map(|wwid| {
                    row(
                        wwid,
                        None,
                        [cell(state, 1, 2), cell(state, 1, 2), cell("optimal", 2, 2)],
                    )
                })
                .collect(),
            healthy_nodes(),
        )
    };
    let mut sender = Sender::new();
    assert!(sender.pass(&build("optimal"), T0).is_empty());
    let notifications = sender.pass(&build("degraded"), T0 + 10);
    let [notification] = &notifications[..] else {
        panic!("{} notifications", notifications.len());
    };
    assert_eq!(notification.severity, Severity::Warning);
    assert_eq!(notification.data.title, "1000 LUNs degraded");
    assert_eq!(notification.data.luns.len(), MAX_LISTED);
    assert_eq!(notification.data.more_luns, 1000 - MAX_LISTED);
    assert_eq!(notification.fields["wwids"].split(',').count(), 1000);
    assert_eq!(notification.fields["cluster-state"], "degraded");
    let lun = &notification.data.luns[0];
    assert_eq!(lun.cells.len(), 3);
    assert_eq!(lun.cells[0].paths.as_deref(), Some("1/2"));
    // the state of 1000 problems stays well below pmxcfs' file size limit
    assert!(sender.state.as_ref().unwrap().len() < 150 * 1000);

    // and they all come back together
    sender.pass(&build("optimal"), T0 + 20);
    let notifications = sender.pass(&build("optimal"), T0 + 20 + RECOVERY_HOLD);
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].data.title, "1000 LUNs recovered");
}

#[test]
fn a_new_sender_continues_without_duplicates_or_gaps() {
    // pve1 sends, stores its state, and goes away; pve2 reads the same
    // state from pmxcfs and carries on
    let mut members: BTreeMap<String, bool> = ["pve1", "pve2", "pve3"]
        .map(|node| (node.to_string(), true))
        .into();
    assert_eq!(sender(&members, true), Some("pve1"));

    let mut first = Sender::new();
    first.pass(&lun_a("degraded", 1), T0);
    first.pass(&lun_a("degraded", 1), T0 + 10);
    assert_eq!(first.sent.len(), 1);

    members.insert("pve1".into(), false);
    assert_eq!(sender(&members, true), Some("pve2"));
    let mut second = Sender::new();
    second.state = first.state.clone();
    // the same problem: not told again
    for step in 2..300 {
        second.pass(&lun_a("degraded", 1), T0 + step * 10);
    }
    assert!(second.sent.is_empty(), "{:?}", second.sent);
    // its reminder comes when it was due, not later, not twice
    second.pass(&lun_a("degraded", 1), T0 + HOUR);
    assert_eq!(second.severities(), [(Severity::Warning, Change::Reminder)]);
    // a recovery held across the switch completes on time
    let mut third = Sender::new();
    second.pass(&lun_a("optimal", 4), T0 + HOUR + 10);
    third.state = second.state.clone();
    third.pass(&lun_a("optimal", 4), T0 + HOUR + 10 + RECOVERY_HOLD);
    assert_eq!(third.severities(), [(Severity::Info, Change::Recovered)]);
}

#[test]
fn the_sender_is_the_lowest_online_node_with_quorum() {
    let members = |list: &[(&str, bool)]| -> BTreeMap<String, bool> {
        list.iter()
            .map(|(node, up)| (node.to_string(), *up))
            .collect()
    };
    type Members = [(&'static str, bool)];
    let table: &[(&Members, bool, Option<&str>)] = &[
        (
            &[("pve2", true), ("pve1", true), ("pve3", true)],
            true,
            Some("pve1"),
        ),
        (
            &[("pve1", false), ("pve2", true), ("pve3", true)],
            true,
            Some("pve2"),
        ),
        (&[("pve1", true), ("pve2", true)], false, None),
        (&[("pve1", false)], true, None),
        (&[], true, None),
        // names compare as bytes, as Perl's sort does
        (&[("node10", true), ("node9", true)], true, Some("node10")),
    ];
    for (list, quorate, expected) in table {
        assert_eq!(sender(&members(list), *quorate), *expected, "{list:?}");
    }
}

#[test]
fn a_removed_lun_is_dropped_untold() {
    let mut sender = Sender::new();
    sender.pass(&lun_a("failed", 0), T0);
    sender.pass(&matrix(vec![], healthy_nodes()), T0 + 10);
    sender.pass(
        &matrix(vec![], healthy_nodes()),
        T0 + 10 + 2 * RECOVERY_HOLD,
    );
    assert_eq!(sender.sent.len(), 1);
    let kept = NotifyState::parse(sender.state.as_deref().unwrap()).unwrap();
    assert!(kept.problems.is_empty());
}

#[test]
fn below_the_minimum_severity_is_tracked_but_not_sent() {
    let mut sender = Sender::new();
    sender.settings.min_severity = Severity::Error;
    sender.pass(&lun_a("degraded", 2), T0);
    assert!(sender.sent.is_empty());
    sender.pass(&lun_a("failed", 0), T0 + 10);
    sender.pass(&lun_a("optimal", 4), T0 + 20);
    sender.pass(&lun_a("optimal", 4), T0 + 20 + RECOVERY_HOLD);
    assert_eq!(sender.severities(), [(Severity::Error, Change::Worse)]);
}

#[test]
fn disabled_sends_nothing_and_forgets() {
    let mut sender = Sender::new();
    sender.pass(&lun_a("failed", 0), T0);
    sender.settings.enabled = false;
    sender.pass(&lun_a("failed", 0), T0 + 10);
    sender.pass(&lun_a("optimal", 4), T0 + 20 + RECOVERY_HOLD);
    assert_eq!(sender.sent.len(), 1);
    let kept = NotifyState::parse(sender.state.as_deref().unwrap()).unwrap();
    assert!(kept.problems.is_empty());
}

#[test]
fn an_unchanged_pass_needs_no_write() {
    let settings = Settings::default();
    let first = pass(None, &lun_a("degraded", 2), &settings, T0);
    assert!(first.changed);
    let second = pass(
        Some(&first.state),
        &lun_a("degraded", 2),
        &settings,
        T0 + 10,
    );
    assert!(!second.changed);
    assert_eq!(second.state, first.state);
    // a held recovery is a change: the next sender must see it
    let third = pass(Some(&first.state), &lun_a("optimal", 4), &settings, T0 + 20);
    assert!(third.changed);
}

#[test]
fn a_broken_state_is_reported_and_ignored() {
    let settings = Settings::default();
    for (text, why) in [
        ("", "unreadable state"),
        ("{\"v\":1", "unreadable state"),
        ("[]", "unreadable state"),
        (
            "{\"v\":2,\"time\":0,\"problems\":{}}",
            "state version 2 is not 1",
        ),
        (
            "{\"v\":1,\"time\":0,\"problems\":{\"lun:x\":{\"rank\":\"bad\"}}}",
            "unreadable state",
        ),
    ] {
        let pass = pass(Some(text), &lun_a("degraded", 2), &settings, T0);
        assert_eq!(pass.warnings.len(), 1, "{text}");
        assert!(
            pass.warnings[0].starts_with(why),
            "{text}: {:?}",
            pass.warnings
        );
        assert_eq!(pass.notifications.len(), 1);
        assert!(pass.changed);
    }
}

#[test]
fn a_state_from_the_future_does_not_stall() {
    // a sender whose clock ran ahead wrote the state
    let settings = Settings::default();
    let ahead = pass(None, &lun_a("degraded", 2), &settings, T0 + 10 * HOUR);
    let held = pass(Some(&ahead.state), &lun_a("optimal", 4), &settings, T0);
    let later = pass(
        Some(&held.state),
        &lun_a("optimal", 4),
        &settings,
        T0 + RECOVERY_HOLD,
    );
    assert_eq!(later.notifications.len(), 1);
    assert_eq!(later.notifications[0].data.luns[0].duration, 0);
}

#[test]
fn matcher_fields_name_type_severity_state_and_wwids() {
    let pass = pass(None, &lun_a("failed", 0), &Settings::default(), T0);
    let fields = &pass.notifications[0].fields;
    let expected: BTreeMap<&str, String> = [
        ("type", "multipath"),
        ("severity", "error"),
        ("cluster-state", "failed"),
        ("wwids", WWID_A),
    ]
    .map(|(key, value)| (key, value.to_string()))
    .into();
    assert_eq!(*fields, expected);
}

/// A node's broadcast of LUN A through the real wire format.
fn published(active: u64, total: u64) -> NodeValue {
    let report = LunReport {
        state: if active < total {
            State::Degraded
        } else {
            State::Optimal
        },
        paths_active: active,
        paths_total: total,
        paths_expected: None,
        transport: Some(Transport::Iscsi),
        size: Some(1 << 40),
        queueing: false,
    };
    let sent = Broadcast {
        time: T0,
        apply_error: None,
        tools_version: None,
        luns: BTreeMap::from([(WWID_A.to_string(), report)]),
    };
    NodeValue::from_parts(wire::encode(&sent, MAX_VALUE_BYTES).unwrap().values).unwrap()
}

#[test]
fn a_pass_decides_from_the_aggregation_itself() {
    // pve2 is down to its last path; pve3 is online but has published
    // nothing yet, so its cell reads missing and is not told
    let request = Request {
        allow_list: vec![WWID_A.to_string()],
        aliases: BTreeMap::from([(WWID_A.to_string(), "vmstore-a".to_string())]),
        used_by: BTreeMap::new(),
        kv: BTreeMap::from([
            ("pve1".to_string(), published(2, 2)),
            ("pve2".to_string(), published(1, 2)),
        ]),
        conflicts: BTreeMap::new(),
        online: ["pve1", "pve2", "pve3"]
            .map(|node| (node.to_string(), true))
            .into(),
        expected: ExpectedNodes::PerLun {
            by_lun: ListsByLun::default(),
            default: vec!["pve1".into(), "pve2".into(), "pve3".into()],
        },
        paths_expected: BTreeMap::new(),
        now: Some(T0 + 5),
        interval: 10,
    };
    let status = request.aggregate();
    assert_eq!(status.luns[0].cluster_state, State::Missing);
    let pass = pass(None, &status, &Settings::default(), T0 + 5);
    let titles: Vec<(Severity, &str)> = pass
        .notifications
        .iter()
        .map(|notification| (notification.severity, notification.data.title.as_str()))
        .collect();
    assert_eq!(
        titles,
        [(Severity::Warning, "LUN vmstore-a lost redundancy")]
    );
    let cells = &pass.notifications[0].data.luns[0].cells;
    let pve2 = cells.iter().find(|cell| cell.node == "pve2").unwrap();
    assert_eq!(
        (pve2.paths.as_deref(), pve2.reason.as_deref()),
        (Some("1/2"), Some("1 of 2 paths failed"))
    );
}

#[test]
fn settings_come_from_the_defaults_section() {
    let parse = |value: Value| Settings::from_defaults(value.as_object().unwrap());
    assert_eq!(parse(json!({})).unwrap(), Settings::default());
    assert_eq!(
        parse(json!({
            "notify": "no", "notify-severity": "warning", "notify-reminders": "30m,2h",
            "polling-interval": 5,
        }))
        .unwrap(),
        Settings {
            enabled: false,
            min_severity: Severity::Warning,
            reminders: vec![1800, 7200],
        }
    );
    for (value, message) in [
        (
            json!({ "notify": "maybe" }),
            "notify: invalid value 'maybe' (yes or no)",
        ),
        (
            json!({ "notify-severity": "loud" }),
            "notify-severity: invalid value 'loud' (info, notice, warning or error)",
        ),
        (
            json!({ "notify-reminders": "1h,5m" }),
            "notify-reminders: '5m' is shorter than the minimum of 10m",
        ),
    ] {
        assert_eq!(parse(value).unwrap_err().to_string(), message);
    }
}

#[test]
fn reminder_schedules_parse_or_name_the_bad_item() {
    let table: &[(&str, Result<Vec<u64>, &str>)] = &[
        ("1h,6h,1d", Ok(vec![3600, 21600, 86400])),
        ("10m", Ok(vec![600])),
        ("none", Ok(vec![])),
        ("2d,7d", Ok(vec![172800, 604800])),
        ("", Err("'' is not a duration like 30m, 6h or 1d")),
        ("1h,", Err("'' is not a duration like 30m, 6h or 1d")),
        ("1w", Err("'1w' is not a duration like 30m, 6h or 1d")),
        ("01h", Err("'01h' is not a duration like 30m, 6h or 1d")),
        ("0h", Err("'0h' is not a duration like 30m, 6h or 1d")),
        ("h", Err("'h' is not a duration like 30m, 6h or 1d")),
        (
            "99999d",
            Err("'99999d' is not a duration like 30m, 6h or 1d"),
        ),
        ("1h 6h", Err("'1h 6h' is not a duration like 30m, 6h or 1d")),
        (
            "1h,6h,1d,1d,1d,1d,1d,1d,1d",
            Err("more than 8 reminder intervals"),
        ),
        ("ä", Err("'ä' is not a duration like 30m, 6h or 1d")),
    ];
    for (text, expected) in table {
        let expected = expected.clone().map_err(str::to_string);
        assert_eq!(parse_reminders(text), expected, "{text}");
    }
}

#[test]
fn peer_texts_are_told_as_one_short_line() {
    let nodes = json!({
        "pve1": { "online": 1 },
        "pve2": { "online": 1, "apply-error": "failed\nSubject: forged\r\n\tline" },
        "pve3": { "online": 1, "apply-error": "x".repeat(5000) },
    });
    let pass = pass(None, &node_matrix(nodes), &Settings::default(), T0);
    let details: Vec<&str> = pass.notifications[0]
        .data
        .nodes
        .iter()
        .map(|node| node.detail.as_deref().unwrap())
        .collect();
    assert_eq!(details[0], "failed Subject: forged   line");
    assert_eq!(details[1].chars().count(), 300);
    assert!(details[1].ends_with("xx..."));
}

#[test]
fn a_node_that_published_nothing_yet_makes_no_missing_luns() {
    // the first pass after a cluster start: pve2 and pve3 not through
    // their first broadcast, their cells read missing in the matrix
    let silent = json!({ "state": "missing", "reason": "node publishes no multipath summary" });
    let nodes = json!({
        "pve1": { "online": 1, "report-time": T0 },
        "pve2": { "online": 1 },
        "pve3": { "online": 1 },
    });
    let first = matrix(
        vec![row(
            WWID_A,
            Some("vmstore-a"),
            [cell("optimal", 2, 2), silent.clone(), silent],
        )],
        nodes,
    );
    let mut sender = Sender::new();
    sender.pass(&first, T0);
    assert!(sender.sent.is_empty(), "{:?}", sender.sent);
    // then they report, one with a lost path: that is the news
    sender.pass(&lun_a("degraded", 1), T0 + 10);
    assert_eq!(sender.severities(), [(Severity::Warning, Change::New)]);
    // a node that reports and lacks the LUN is missing, as before
    let missing = matrix(
        vec![row(
            WWID_A,
            None,
            [
                cell("optimal", 2, 2),
                cell("missing", 0, 0),
                cell("optimal", 2, 2),
            ],
        )],
        healthy_nodes(),
    );
    sender.pass(&missing, T0 + 20);
    assert_eq!(sender.sent.last().unwrap().1, Severity::Error);
}

proptest::proptest! {
    #[test]
    fn any_kept_state_and_reminder_text_is_read_without_panic(
        state in "\\PC{0,300}",
        reminders in "[0-9a-z, ]{0,20}",
    ) {
        let _ = parse_reminders(&reminders);
        let _ = pass(Some(&state), &Status::from_rendered(&json!({})), &Settings::default(), 1_764_043_200);
    }
}
