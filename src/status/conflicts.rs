//! A node's coexistence conflicts as it broadcasts them, next to its health.
//!
//! ```text
//! pmc1 2 1
//! /etc/multipath.conf line 9: alias 'db' for WWID 3600a0980383... differs from the cluster's 'vmdata'
//! /etc/multipath.conf line 3: blacklist wwid '^3600a' hides the allow-listed WWID 3600a0980383...
//! ```
//!
//! The header says the format, how many messages follow and how many were
//! left out; then one message per line, percent-escaped as the health
//! value's apply error (plain ASCII, no line breaks). The Generator finds
//! the conflicts (see [`crate::import::conflicts`]); the node pass publishes
//! them under [`KV_KEY`], so nodes that do not know the key (older
//! versions) read their health values as before, and a node that publishes
//! none has not reported any: the matrix leaves its `conflicts` out.
//!
//! At most [`MAX_MESSAGES`] messages of at most [`MAX_MESSAGE_BYTES`] each
//! (escaped) are published, far below the KV limit; the rest is counted.

use anyhow::{bail, format_err, Error};

use super::wire::{self, excerpt};

/// The KV key of a node's conflicts.
pub const KV_KEY: &str = "multipath-conflicts";
/// The format tag of this version.
pub const TAG: &str = "pmc1";
/// More messages than this are counted, not published.
pub const MAX_MESSAGES: usize = 32;
/// A message longer than this (escaped) is cut.
pub const MAX_MESSAGE_BYTES: usize = 512;

/// What a node published: its messages and how many it left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conflicts {
    pub messages: Vec<String>,
    pub left_out: u64,
}

impl Conflicts {
    /// The messages as the matrix shows them: the left-out ones as a last
    /// message.
    pub fn into_messages(self) -> Vec<String> {
        let mut messages = self.messages;
        if self.left_out > 0 {
            messages.push(format!(
                "{} more conflict(s) not broadcast; the node's import view lists all",
                self.left_out
            ));
        }
        messages
    }
}

fn escaped_line(message: &str) -> String {
    let mut line = String::new();
    wire::escape_within(&mut line, message, MAX_MESSAGE_BYTES);
    line
}

/// A peer's message as the matrix shows it: control characters escaped
/// (`\n`), at most [`MAX_MESSAGE_BYTES`] characters.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(MAX_MESSAGE_BYTES) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The value to publish for `messages` (empty ones are skipped).
pub fn encode(messages: &[String]) -> String {
    let messages: Vec<&String> = messages.iter().filter(|text| !text.is_empty()).collect();
    let kept = messages.len().min(MAX_MESSAGES);
    let mut value = format!("{TAG} {kept} {}\n", messages.len() - kept);
    for message in &messages[..kept] {
        value.push_str(&escaped_line(message));
        value.push('\n');
    }
    value
}

/// Decode a peer's value, checking everything; a newer peer's longer list
/// is cut to [`MAX_MESSAGES`], the rest counted.
pub fn decode(value: &str) -> Result<Conflicts, Error> {
    if value.len() > wire::MAX_VALUE_BYTES + 1 {
        bail!("value of {} bytes exceeds the 32 KiB KV limit", value.len());
    }
    if let Some(at) = value.bytes().position(|byte| !byte.is_ascii()) {
        bail!("non-ASCII byte at offset {at}");
    }
    let mut lines = value.strip_suffix('\n').unwrap_or(value).split('\n');
    let head = lines.next().unwrap_or_default();
    let fields: Vec<&str> = head.splitn(4, ' ').collect();
    let (count, left_out) = match fields[..] {
        [TAG, count, left_out] => (count, left_out),
        [tag, ..] if tag.starts_with("pmc") && tag != TAG => {
            bail!("unsupported conflicts version '{}'", excerpt(tag))
        }
        _ => bail!("line 1: bad header '{}'", excerpt(head)),
    };
    let count: usize = count
        .parse()
        .map_err(|_| format_err!("line 1: bad message count '{}'", excerpt(count)))?;
    let mut left_out: u64 = left_out
        .parse()
        .map_err(|_| format_err!("line 1: bad left-out count '{}'", excerpt(left_out)))?;
    let mut messages = Vec::new();
    let mut read = 0;
    for (index, line) in lines.enumerate() {
        read += 1;
        if index >= count {
            bail!("line {}: more messages than the header counts", index + 2);
        }
        if messages.len() == MAX_MESSAGES {
            left_out = left_out.saturating_add(1);
            continue;
        }
        let text = wire::unescape(line).map_err(|err| format_err!("line {}: {err}", index + 2))?;
        messages.push(shown(&text));
    }
    if read < count {
        bail!("value ends early: the header counts {count} messages");
    }
    Ok(Conflicts { messages, left_out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|text| text.to_string()).collect()
    }

    #[test]
    fn messages_round_trip_escaped() {
        let messages = strings(&[
            "/etc/multipath.conf line 9: alias 'db' for WWID 36001 differs from the cluster's 'vm'",
            "50% of it\nwith a line break and a Unicode \u{e9}",
            "",
        ]);
        let value = encode(&messages);
        assert!(value.starts_with("pmc1 2 0\n"), "{value}");
        assert!(value.is_ascii());
        assert_eq!(value.lines().count(), 3, "one line per message: {value}");
        let decoded = decode(&value).unwrap();
        assert_eq!(decoded.messages[0], messages[0]);
        // a line break is shown escaped, as in every message quoting input
        assert_eq!(
            decoded.messages[1],
            "50% of it\\nwith a line break and a Unicode \u{e9}"
        );
        assert_eq!(decoded.messages.len(), 2);
        assert_eq!(decoded.left_out, 0);
    }

    #[test]
    fn no_conflicts_is_a_report_of_none() {
        let value = encode(&[]);
        assert_eq!(value, "pmc1 0 0\n");
        assert_eq!(decode(&value).unwrap(), Conflicts::default());
        assert!(decode(&value).unwrap().into_messages().is_empty());
    }

    #[test]
    fn count_and_length_are_bounded_and_the_rest_is_counted() {
        let many: Vec<String> = (0..100)
            .map(|n| format!("{n}: {}", "x".repeat(5000)))
            .collect();
        let value = encode(&many);
        assert!(value.len() < wire::MAX_VALUE_BYTES);
        let decoded = decode(&value).unwrap();
        assert_eq!(decoded.messages.len(), MAX_MESSAGES);
        assert_eq!(decoded.left_out, 68);
        assert!(decoded.messages[0].starts_with("0: xxx"));
        let shown = decoded.into_messages();
        assert_eq!(shown.len(), MAX_MESSAGES + 1);
        assert!(shown[MAX_MESSAGES].starts_with("68 more conflict(s)"));

        // a cut never splits an escape
        let escapes = encode(&["%".repeat(1000)]);
        let line = escapes.lines().nth(1).unwrap();
        assert!(
            line.len() <= MAX_MESSAGE_BYTES && line.ends_with("%25..."),
            "{line}"
        );
        assert!(decode(&escapes).is_ok());
    }

    #[test]
    fn a_longer_list_of_a_newer_peer_is_cut_and_counted() {
        let mut value = String::from("pmc1 40 2\n");
        for n in 0..40 {
            value.push_str(&format!("message {n}\n"));
        }
        let decoded = decode(&value).unwrap();
        assert_eq!(decoded.messages.len(), MAX_MESSAGES);
        assert_eq!(decoded.left_out, 10);
    }

    #[test]
    fn damaged_values_are_refused_naming_the_line() {
        let cases = [
            ("", "bad header"),
            ("pmp2 1 1/1 0 -\nend 0\n", "bad header"),
            ("pmc9 0 0\n", "unsupported conflicts version 'pmc9'"),
            ("pmc1 x 0\n", "bad message count"),
            ("pmc1 1 -1\na\n", "bad left-out count"),
            ("pmc1 2 0\na\n", "ends early"),
            ("pmc1 1 0\na\nb\n", "line 3: more messages"),
            ("pmc1 1 0\nbad %zz\n", "line 2: bad escape"),
            ("pmc1 1 0\n\u{e9}\n", "non-ASCII byte"),
        ];
        for (value, expected) in cases {
            let err = decode(value).unwrap_err().to_string();
            assert!(err.contains(expected), "{value:?}: {err}");
        }
        let huge = format!("pmc1 1 0\n{}\n", "a".repeat(40_000));
        assert!(decode(&huge).unwrap_err().to_string().contains("KV limit"));
    }
}
