//! Our templates rendered as proxmox-notify renders them: the `handlebars`
//! crate with the escape function of each template type (HTML-escaped in
//! the HTML body, nothing in the subject and text body), a subject's
//! newlines turned into spaces, and the one helper of Proxmox's renderer we
//! use, `duration` (seconds as `proxmox_time::TimeSpan` prints them; `eq`
//! is built into handlebars).

use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext};
use serde_json::{json, Value};

use super::*;

const T0: u64 = 1_764_043_200;

fn template(name: &str) -> String {
    let path = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/{}"), name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// `proxmox_time::TimeSpan`'s display of whole seconds: `1y 2M 3w 4d 5h 6m
/// 7s`, zero units left out, `<0.1s` for nothing.
fn time_span(seconds: u64) -> String {
    let (minutes, seconds) = (seconds / 60, seconds % 60);
    let (hours, minutes) = (minutes / 60, minutes % 60);
    let (days, hours) = (hours / 24, hours % 24);
    let years = (days as f64 / 365.25) as u64;
    let year_days = (days as f64 % 365.25) as u64;
    let months = (year_days as f64 / 30.44) as u64;
    let month_days = (year_days as f64 % 30.44) as u64;
    let (weeks, days) = (month_days / 7, month_days % 7);
    let mut parts: Vec<String> = [
        (years, "y"),
        (months, "M"),
        (weeks, "w"),
        (days, "d"),
        (hours, "h"),
        (minutes, "m"),
        (seconds, "s"),
    ]
    .iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, unit)| format!("{count}{unit}"))
    .collect();
    if parts.is_empty() {
        parts.push("<0.1s".to_string());
    }
    parts.join(" ")
}

fn duration_helper(
    helper: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    // proxmox-notify prints ERROR for a value that is no number
    let seconds = helper.param(0).and_then(|param| match param.value() {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    });
    out.write(&seconds.map_or_else(|| "ERROR".to_string(), time_span))?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Subject,
    Text,
    Html,
}

fn render(kind: Kind, data: &Value) -> String {
    let (file, escape): (&str, fn(&str) -> String) = match kind {
        Kind::Subject => ("multipath-subject.txt.hbs", handlebars::no_escape),
        Kind::Text => ("multipath-body.txt.hbs", handlebars::no_escape),
        Kind::Html => ("multipath-body.html.hbs", handlebars::html_escape),
    };
    let mut handlebars = Handlebars::new();
    handlebars.register_escape_fn(escape);
    handlebars.register_helper("duration", Box::new(duration_helper));
    let rendered = handlebars
        .render_template(&template(file), data)
        .unwrap_or_else(|err| panic!("{file}: {err}"));
    if kind == Kind::Subject {
        rendered.replace('\n', " ")
    } else {
        rendered
    }
}

/// The data PVE::Multipath::Notify hands over: ours plus
/// `PVE::Notify::common_template_data`.
fn full_data(notification: &Notification) -> Value {
    let mut data = serde_json::to_value(&notification.data).unwrap();
    let object = data.as_object_mut().unwrap();
    object.insert("hostname".into(), json!("pve1"));
    object.insert("fqdn".into(), json!("pve1.example.com"));
    object.insert("cluster-name".into(), json!("lab"));
    data
}

fn matrix(rows: Value, nodes: Value) -> Status {
    Status::from_rendered(&json!({ "luns": rows, "nodes": nodes }))
}

fn row(wwid: &str, alias: &str, state: &str, pve2: Value) -> Value {
    json!({
        "wwid": wwid, "alias": alias, "cluster-state": state,
        "nodes": {
            "pve1": { "state": "optimal", "paths-active": 2, "paths-total": 2 },
            "pve2": pve2,
            "pve3": { "state": "optimal", "paths-active": 2, "paths-total": 2 },
        },
    })
}

fn nodes() -> Value {
    json!({
        "pve1": { "online": 1, "report-time": T0 },
        "pve2": { "online": 1, "report-time": T0 },
        "pve3": { "online": 1, "report-time": T0 },
    })
}

const WWID: &str = "3600a098038314b2d4a5d4e6f2f6b4d31";

fn lost_path() -> Value {
    row(
        WWID,
        "vmstore-a",
        "degraded",
        json!({ "state": "degraded", "paths-active": 1, "paths-total": 2,
                "reason": "1 of 2 paths failed" }),
    )
}

fn optimal() -> Value {
    row(
        WWID,
        "vmstore-a",
        "optimal",
        json!({ "state": "optimal", "paths-active": 2, "paths-total": 2 }),
    )
}

/// The notifications of a sequence of matrices, one pass each 10 s.
fn passes(matrices: &[Status]) -> Vec<(u64, Notification)> {
    let settings = Settings::default();
    let mut state: Option<String> = None;
    let mut sent = Vec::new();
    for (index, matrix) in matrices.iter().enumerate() {
        let now = T0 + 10 * index as u64;
        let pass = pass(state.as_deref(), matrix, &settings, now);
        state = Some(pass.state);
        sent.extend(pass.notifications.into_iter().map(|n| (now, n)));
    }
    sent
}

#[test]
fn a_lost_path_renders_subject_text_and_html() {
    let sent = passes(&[matrix(json!([lost_path()]), nodes())]);
    let data = full_data(&sent[0].1);
    assert_eq!(
        render(Kind::Subject, &data),
        "Multipath on cluster lab: LUN vmstore-a lost redundancy "
    );
    assert_eq!(
        render(Kind::Text, &data),
        "LUN vmstore-a lost redundancy.

LUN vmstore-a (3600a098038314b2d4a5d4e6f2f6b4d31)
  lost redundancy, cluster state degraded
  pve1: optimal, 2/2 paths
  pve2: degraded, 1/2 paths (1 of 2 paths failed)
  pve3: optimal, 2/2 paths

Sent by pve1 for the cluster; the status of all LUNs is under
Datacenter > Multipath.
"
    );
    let html = render(Kind::Html, &data);
    assert!(html.contains("<td style=\"border: 1px solid;border-collapse: collapse;\">pve2</td>"));
    assert!(html.contains(">1/2</td>"));
    assert!(html.contains(">1 of 2 paths failed</td>"));
    assert!(
        !html.contains("Nodes</h1>"),
        "no node table without node problems"
    );
}

#[test]
fn recovery_and_reminder_read_as_such() {
    let mut matrices = vec![matrix(json!([lost_path()]), nodes())];
    matrices.extend((0..400).map(|_| matrix(json!([lost_path()]), nodes())));
    matrices.extend((0..8).map(|_| matrix(json!([optimal()]), nodes())));
    let sent = passes(&matrices);
    let titles: Vec<String> = sent
        .iter()
        .map(|(_, n)| render(Kind::Subject, &full_data(n)))
        .collect();
    assert_eq!(
        titles,
        [
            "Multipath on cluster lab: LUN vmstore-a lost redundancy ",
            "Multipath on cluster lab: LUN vmstore-a still lost redundancy ",
            "Multipath on cluster lab: LUN vmstore-a recovered ",
        ]
    );
    let reminder = render(Kind::Text, &full_data(&sent[1].1));
    assert!(reminder.starts_with("Reminder: LUN vmstore-a still lost redundancy.\n"));
    assert!(reminder.contains("  lost redundancy for 1h, cluster state degraded\n"));
    let recovered = render(Kind::Text, &full_data(&sent[2].1));
    assert!(
        recovered.contains("  recovered after 1h 7m 50s, optimal on every node\n"),
        "{recovered}"
    );
}

#[test]
fn values_from_peers_are_escaped_in_html_only() {
    let evil = row(
        WWID,
        "vmstore-a",
        "failed",
        json!({ "state": "failed", "paths-active": 0, "paths-total": 2,
                "reason": "<script>alert('x')</script> & co" }),
    );
    let sent = passes(&[matrix(json!([evil]), nodes())]);
    let data = full_data(&sent[0].1);
    let html = render(Kind::Html, &data);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co"));
    assert!(render(Kind::Text, &data).contains("(<script>alert('x')</script> & co)"));
}

#[test]
fn node_problems_render_with_their_detail() {
    let sick = json!({
        "pve1": { "online": 1 },
        "pve2": { "online": 1, "apply-error": "multipathd reconfigure failed: exit code 1" },
        "pve3": { "online": 1, "stale": 1, "error": "report is 95 s old" },
    });
    let sent = passes(&[matrix(json!([optimal()]), sick)]);
    let data = full_data(&sent[0].1);
    assert_eq!(
        render(Kind::Subject, &data),
        "Multipath on cluster lab: 2 node problems "
    );
    assert_eq!(
        render(Kind::Text, &data),
        "2 node problems.

Node pve2: multipath configuration not applied
  multipathd reconfigure failed: exit code 1

Node pve3: multipath report out of date
  report is 95 s old

Sent by pve1 for the cluster; the status of all LUNs is under
Datacenter > Multipath.
"
    );
    let html = render(Kind::Html, &data);
    assert!(html.contains(">multipathd reconfigure failed: exit code 1</td>"));
    assert!(!html.contains("LUNs</h1>"), "no LUN table without LUNs");
}

#[test]
fn many_luns_are_listed_up_to_the_limit() {
    let rows: Vec<Value> = (0..250)
        .map(|n| {
            row(
                &format!("36001405{n:024x}"),
                &format!("lun{n}"),
                "failed",
                json!({ "state": "failed", "paths-active": 0, "paths-total": 2 }),
            )
        })
        .collect();
    let sent = passes(&[matrix(Value::Array(rows), nodes())]);
    let data = full_data(&sent[0].1);
    assert_eq!(
        render(Kind::Subject, &data),
        "Multipath on cluster lab: 250 LUNs failed or missing "
    );
    let text = render(Kind::Text, &data);
    assert_eq!(text.matches("\nLUN lun").count(), MAX_LISTED);
    assert!(text.contains("\n... and 150 more LUNs, see Datacenter > Multipath.\n"));
    let html = render(Kind::Html, &data);
    assert_eq!(html.matches("<tr>").count(), 1 + 3 * MAX_LISTED);
}

#[test]
fn without_a_cluster_name_the_subject_names_the_host() {
    let sent = passes(&[matrix(json!([lost_path()]), nodes())]);
    let mut data = full_data(&sent[0].1);
    data.as_object_mut().unwrap().remove("cluster-name");
    assert_eq!(
        render(Kind::Subject, &data),
        "Multipath on pve1.example.com: LUN vmstore-a lost redundancy "
    );
}

#[test]
fn durations_print_as_proxmox_time_does() {
    let table = [
        (0, "<0.1s"),
        (59, "59s"),
        (60, "1m"),
        (3600, "1h"),
        (4090, "1h 8m 10s"),
        (86400, "1d"),
        (8 * 86400 + 3, "1w 1d 3s"),
        (32 * 86400 + 3, "1M 1d 3s"),
    ];
    for (seconds, text) in table {
        assert_eq!(time_span(seconds), text, "{seconds}");
    }
}
