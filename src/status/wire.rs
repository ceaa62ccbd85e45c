//! The broadcast value: a node's per-WWID health, compact and versioned.
//!
//! ```text
//! pmp2 1764043200 1/1 0 0.11.1
//! !multipathd reload failed: exit code 1
//! 0hDW0K1QZ3qUBqjQQNY7V6rU O4i G000000
//! Vj71 D2/2/4i =
//! 4je9W3WmC5D5FqOmHN9w6F F0/2nq W00000
//! end 3
//! ```
//!
//! Line 1 is the header: format `pmp2`, the report time (unix seconds),
//! `part/parts`, how many LUNs were left out (`0` normally: because even
//! `parts` values could not hold them, or because this format cannot carry
//! them, see [`carries`]) and the node's multipath-tools version (`-` when
//! unknown). `pmp1`, the previous version, is the same without the version
//! field; it is still read. An optional `!` line (part 1 only)
//! is the node's last config-apply error (`%`, control and non-ASCII bytes
//! percent-escaped, so the value is plain ASCII). Then one line per LUN,
//! sorted by WWID:
//!
//! - the WWID, front-coded: one digit (see [`DIGITS`]) for how many leading
//!   characters it shares with the previous line's WWID, a mode character
//!   and the rest. Mode `x`: the rest verbatim, percent-escaped. Modes
//!   `h`/`i`/`j`: the rest was lowercase hex, packed as two digits per three
//!   hex characters followed by 0/1/2 single-digit hex characters. Real
//!   WWIDs are hex (`3` + NAA id), so 33 characters take about 23.
//! - the state (`O`ptimal, `D`egraded, `F`ailed; any other letter reads as
//!   unknown), the path counts `active/total/expected` (`n` alone is
//!   `n/n/n`; `a/t` means expected = total; an empty expected is none), the
//!   transport (`n`one, `i`SCSI, `f`c, `s`as) and `q` when I/O is queued.
//! - optionally the size in bytes in [`DIGITS`] (most significant first),
//!   or `=` for "same as the line before".
//!
//! The last line, `end N`, counts the LUN lines: a cut-off value is refused
//! instead of read with a shortened last field.
//!
//! About 30 bytes per LUN, so 1,000 LUNs with 4 paths each fit in one
//! 32 KiB value (pmxcfs refuses values of 32 KiB and more). A node with
//! more LUNs publishes several values, each a complete part; past
//! [`MAX_PARTS`] parts the healthiest LUNs are left out and the header
//! says how many, so receivers show them `unknown`, never `missing`.

use std::collections::BTreeMap;

use anyhow::{bail, format_err, Error};

use sha1::Digest;

use super::{LunReport, State, Transport};
use crate::schema;

/// The format tag of this version.
pub const TAG: &str = "pmp2";
/// pmxcfs refuses a KV value of 32 KiB or more.
pub const MAX_VALUE_BYTES: usize = 32 * 1024 - 1;
/// More parts than this are not published; the rest is left out, counted.
pub const MAX_PARTS: usize = 16;
/// The KV key of part 1; part N is published as `multipath-N`.
pub const KV_KEY: &str = "multipath";
/// An apply error longer than this (escaped) is cut.
const MAX_ERROR_BYTES: usize = 1024;
/// Counts above this are nonsense from a broken peer (and not published).
pub const MAX_PATHS: u64 = 4096;
/// A multipath-tools version longer than this is not published.
const MAX_VERSION_BYTES: usize = 32;

/// The KV key of a part (1-based).
pub fn kv_key(part: usize) -> String {
    if part == 1 {
        KV_KEY.to_string()
    } else {
        format!("{KV_KEY}-{part}")
    }
}

pub use crate::text::excerpt;

/// Whether this format carries a LUN: the same rule the decoder applies to
/// a peer's value, so a node never publishes what its peers refuse.
pub fn carries(wwid: &str, report: &LunReport) -> bool {
    schema::is_wwid(wwid)
        && report.paths_total <= MAX_PATHS
        && report.paths_active <= report.paths_total
        && report
            .paths_expected
            .is_none_or(|expected| expected <= MAX_PATHS)
}

/// A version as `multipath -V` or dpkg print it (`0.11.1`, `0.9.4-3+deb12u1`).
pub fn is_tools_version(text: &str) -> bool {
    (1..=MAX_VERSION_BYTES).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_digit())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".+~:-_".contains(&byte))
}

/// The 64 digits of the compact numbers, in value order.
pub const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// The value of each byte as one of [`DIGITS`]; [`NO_DIGIT`] for the rest.
const DIGIT_VALUES: [u8; 256] = {
    let mut values = [NO_DIGIT; 256];
    let mut index = 0;
    while index < DIGITS.len() {
        values[DIGITS[index] as usize] = index as u8;
        index += 1;
    }
    values
};
const NO_DIGIT: u8 = u8::MAX;

fn digit_value(byte: u8) -> Option<u64> {
    match DIGIT_VALUES[byte as usize] {
        NO_DIGIT => None,
        value => Some(value as u64),
    }
}

fn push_number(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 11];
    let mut len = 0;
    loop {
        digits[len] = DIGITS[(value % 64) as usize];
        len += 1;
        value /= 64;
        if value == 0 {
            break;
        }
    }
    out.extend(digits[..len].iter().rev().map(|&digit| digit as char));
}

fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 11 {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, byte| {
        acc.checked_mul(64)?.checked_add(digit_value(byte)?)
    })
}

fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b':' | b'-' | b'_')
}

pub(super) fn escape_into(out: &mut String, text: &str, keep_space: bool) {
    for byte in text.bytes() {
        if is_plain(byte)
            || (keep_space && (byte.is_ascii_graphic() || byte == b' ') && byte != b'%')
        {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// `text` escaped onto `line`, cut with "..." where `line` would pass `max`
/// bytes; never inside an escape (the escaped text is ASCII).
pub(super) fn escape_within(line: &mut String, text: &str, max: usize) {
    escape_into(line, text, true);
    if line.len() > max {
        let mut cut = max - 3;
        while line[..cut].rfind('%').is_some_and(|at| at + 3 > cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str("...");
    }
}

pub(super) fn unescape(text: &str) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format_err!("bad escape at '{}'", excerpt(&text[index..])))?;
            out.push(hex);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex_value(byte: u8) -> u64 {
    match byte {
        b'0'..=b'9' => (byte - b'0') as u64,
        _ => (byte - b'a' + 10) as u64,
    }
}

fn push_wwid(out: &mut String, wwid: &str, previous: &str) {
    let shared = wwid
        .bytes()
        .zip(previous.bytes())
        .take_while(|(a, b)| a == b)
        .count()
        .min(63);
    // never split a multi-byte character (only possible in escaped mode)
    let shared = (0..=shared)
        .rev()
        .find(|&n| wwid.is_char_boundary(n))
        .unwrap_or(0);
    out.push(DIGITS[shared] as char);
    let rest = &wwid[shared..];
    if rest.is_empty() || !is_lower_hex(rest) {
        out.push('x');
        escape_into(out, rest, false);
        return;
    }
    let bytes = rest.as_bytes();
    let whole = bytes.len() / 3 * 3;
    out.push(match bytes.len() - whole {
        0 => 'h',
        1 => 'i',
        _ => 'j',
    });
    for chunk in bytes[..whole].chunks(3) {
        let value = chunk
            .iter()
            .fold(0, |acc, &byte| acc * 16 + hex_value(byte));
        out.push(DIGITS[(value / 64) as usize] as char);
        out.push(DIGITS[(value % 64) as usize] as char);
    }
    for &byte in &bytes[whole..] {
        out.push(DIGITS[hex_value(byte) as usize] as char);
    }
}

/// Read a WWID field over `wwid`, the previous line's WWID (empty before
/// the first line): front coding keeps the characters they share where they
/// are. Each WWID must sort after the one before. The value is ASCII
/// (checked before its lines are read).
fn parse_wwid(field: &str, wwid: &mut String) -> Result<(), Error> {
    let bytes = field.as_bytes();
    if bytes.len() < 2 {
        bail!("bad WWID field '{}'", excerpt(field));
    }
    let shared = digit_value(bytes[0]).ok_or_else(|| format_err!("bad WWID prefix length"))?;
    let shared = shared as usize;
    if shared > wwid.len() {
        bail!("WWID shares {shared} characters with a shorter one");
    }
    let singles = match bytes[1] {
        b'x' => {
            replace_rest(wwid, shared, &unescape(&field[2..])?)?;
            if !schema::is_wwid(wwid) {
                bail!("bad WWID '{}'", excerpt(wwid));
            }
            return Ok(());
        }
        b'h' => 0,
        b'i' => 1,
        b'j' => 2,
        other => bail!("unknown WWID mode '{}'", other as char),
    };
    let rest = &bytes[2..];
    if rest.len() < singles || (rest.len() - singles) % 2 != 0 {
        bail!("packed WWID has a bad length");
    }
    let (pairs, tail) = rest.split_at(rest.len() - singles);
    let unpacked = pairs.len() / 2 * 3 + singles;
    // the shared characters are a WWID's (checked when it was read) and the
    // rest is lowercase hex: only the length can make it no WWID
    let len = shared + unpacked;
    if !(1..=schema::WWID_MAX_LENGTH).contains(&len) {
        bail!("bad WWID of {len} characters");
    }
    // unpacked in a local buffer: pushing each character onto the string
    // is much slower; aligned, so that checking it is UTF-8 goes a word at
    // a time
    #[repr(align(8))]
    struct Buffer([u8; schema::WWID_MAX_LENGTH]);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buffer = Buffer([0; schema::WWID_MAX_LENGTH]);
    let text = &mut buffer.0;
    let (text_pairs, text_singles) = text[..unpacked].split_at_mut(unpacked - singles);
    for (out, pair) in text_pairs.chunks_exact_mut(3).zip(pairs.chunks_exact(2)) {
        let (high, low) = (
            DIGIT_VALUES[pair[0] as usize],
            DIGIT_VALUES[pair[1] as usize],
        );
        // NO_DIGIT is the only value past 63
        if (high | low) > 63 {
            bail!("bad digit in packed WWID");
        }
        let value = (usize::from(high) << 6) | usize::from(low);
        out.copy_from_slice(&[HEX[value >> 8], HEX[(value >> 4) & 15], HEX[value & 15]]);
    }
    for (out, &digit) in text_singles.iter_mut().zip(tail) {
        match DIGIT_VALUES[digit as usize] {
            value if value < 16 => *out = HEX[value as usize],
            _ => bail!("bad digit in packed WWID"),
        }
    }
    replace_rest(wwid, shared, std::str::from_utf8(&text[..unpacked])?)?;
    debug_assert!(schema::is_wwid(wwid), "{wwid}");
    Ok(())
}

/// Put `rest` after the first `shared` characters of `wwid`, the WWID
/// before (if any), which the new one must sort after.
fn replace_rest(wwid: &mut String, shared: usize, rest: &str) -> Result<(), Error> {
    if !wwid.is_empty() && rest <= &wwid[shared..] {
        bail!("WWIDs out of order or repeated");
    }
    wwid.truncate(shared);
    wwid.push_str(rest);
    Ok(())
}

fn push_report(out: &mut String, report: &LunReport) {
    out.push(match report.state {
        State::Optimal => 'O',
        State::Degraded => 'D',
        State::Failed => 'F',
        State::Missing => 'M',
        State::Unknown => 'U',
    });
    let (active, total) = (report.paths_active, report.paths_total);
    match report.paths_expected {
        Some(expected) if active == total && total == expected => out.push_str(&active.to_string()),
        Some(expected) if expected == total => out.push_str(&format!("{active}/{total}")),
        Some(expected) => out.push_str(&format!("{active}/{total}/{expected}")),
        None => out.push_str(&format!("{active}/{total}/")),
    }
    out.push(match report.transport {
        None => 'n',
        Some(Transport::Iscsi) => 'i',
        Some(Transport::Fc) => 'f',
        Some(Transport::Sas) => 's',
    });
    if report.queueing {
        out.push('q');
    }
}

/// A path count: the digits the caller split off.
fn parse_count(digits: &[u8]) -> Result<u64, Error> {
    let count = digits
        .iter()
        .try_fold(0u64, |count, &digit| {
            count.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })
        .filter(|_| !digits.is_empty())
        .ok_or_else(|| {
            format_err!(
                "bad path count '{}'",
                excerpt(&String::from_utf8_lossy(digits))
            )
        })?;
    if count > MAX_PATHS {
        bail!("path count {count} out of range");
    }
    Ok(count)
}

fn parse_report(field: &str) -> Result<LunReport, Error> {
    let bytes = field.as_bytes();
    let state = match bytes.first() {
        Some(b'O') => State::Optimal,
        Some(b'D') => State::Degraded,
        Some(b'F') => State::Failed,
        // a state this version does not know is clamped, not refused
        Some(letter) if letter.is_ascii_alphabetic() => State::Unknown,
        _ => bail!("bad state in '{}'", excerpt(field)),
    };
    let rest = &bytes[1..];
    let counts_end = rest
        .iter()
        .position(|byte| !(byte.is_ascii_digit() || *byte == b'/'))
        .ok_or_else(|| format_err!("no transport in '{}'", excerpt(field)))?;
    let (counts, flags) = rest.split_at(counts_end);
    // at most three counts; no list is built for this on every line
    let mut split = counts.split(|&byte| byte == b'/');
    let counts = [split.next(), split.next(), split.next(), split.next()];
    let (active, total, expected) = match counts {
        [Some(all), None, ..] => {
            let all = parse_count(all)?;
            (all, all, Some(all))
        }
        [Some(active), Some(total), None, _] => {
            let total = parse_count(total)?;
            (parse_count(active)?, total, Some(total))
        }
        [Some(active), Some(total), Some(b""), None] => {
            (parse_count(active)?, parse_count(total)?, None)
        }
        [Some(active), Some(total), Some(expected), None] => (
            parse_count(active)?,
            parse_count(total)?,
            Some(parse_count(expected)?),
        ),
        _ => bail!("bad path counts in '{}'", excerpt(field)),
    };
    if active > total {
        bail!("{active} of {total} paths active");
    }
    let transport = match flags[0] {
        b'n' => None,
        b'i' => Some(Transport::Iscsi),
        b'f' => Some(Transport::Fc),
        b's' => Some(Transport::Sas),
        _ => bail!("bad transport in '{}'", excerpt(field)),
    };
    // everything before the flags is ASCII: a character boundary
    let queueing = match &field[field.len() - flags.len() + 1..] {
        "" => false,
        "q" => true,
        other => bail!("unknown flags '{}'", excerpt(other)),
    };
    Ok(LunReport {
        state,
        paths_active: active,
        paths_total: total,
        paths_expected: expected,
        transport,
        size: None,
        queueing,
    })
}

/// The fields of a LUN line: a WWID, a report and optionally a size.
type Fields<'v> = (&'v str, &'v str, Option<&'v str>);

/// Where `needle` first is in `haystack`, eight bytes a step: for lines of
/// some 30 bytes, faster than a byte loop and than memchr's setup.
fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES << 7;
    let mut chunks = haystack.chunks_exact(8);
    for (index, chunk) in (&mut chunks).enumerate() {
        let word =
            u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ (ONES * u64::from(needle));
        // the high bit of each zero byte (a needle) is set, and maybe of
        // bytes after one (a borrow): the lowest set bit is the first needle
        let zeros = word.wrapping_sub(ONES) & !word & HIGH_BITS;
        if zeros != 0 {
            return Some(index * 8 + zeros.trailing_zeros() as usize / 8);
        }
    }
    let done = haystack.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|&byte| byte == needle)
        .map(|index| done + index)
}

/// The two or three space-separated fields of a LUN line (`None` for
/// another count: the line is refused).
fn split_fields(line: &str) -> Option<Fields<'_>> {
    let space = |text: &str| find_byte(text.as_bytes(), b' ');
    let first = space(line)?;
    let (wwid, rest) = (&line[..first], &line[first + 1..]);
    let Some(second) = space(rest) else {
        return Some((wwid, rest, None));
    };
    let (report, size) = (&rest[..second], &rest[second + 1..]);
    space(size).is_none().then_some((wwid, report, Some(size)))
}

/// The lines of a value as `split('\n')` yields them.
fn lines(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let text = rest?;
        let end = find_byte(text.as_bytes(), b'\n');
        rest = end.map(|end| &text[end + 1..]);
        Some(&text[..end.unwrap_or(text.len())])
    })
}

/// What a node publishes: its LUNs, report time and last apply error.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Broadcast {
    pub time: u64,
    pub apply_error: Option<String>,
    /// The node's multipath-tools version; left out unless
    /// [`is_tools_version`].
    pub tools_version: Option<String>,
    pub luns: BTreeMap<String, LunReport>,
}

fn header(time: u64, part: usize, parts: usize, dropped: usize, tools: &str) -> String {
    format!("{TAG} {time} {part}/{parts} {dropped} {tools}\n")
}

/// The values to publish and what identifies their content.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub values: Vec<String>,
    /// Equal for two encodings that differ at most in the report time:
    /// "nothing changed since the last broadcast".
    pub content_key: String,
}

fn error_line(apply_error: Option<&str>) -> String {
    let Some(text) = apply_error.filter(|text| !text.is_empty()) else {
        return String::new();
    };
    let mut line = String::from("!");
    escape_within(&mut line, text, MAX_ERROR_BYTES);
    line.push('\n');
    line
}

fn push_line(
    out: &mut String,
    wwid: &str,
    report: &LunReport,
    previous: Option<(&str, Option<u64>)>,
) {
    push_wwid(out, wwid, previous.map_or("", |(wwid, _)| wwid));
    out.push(' ');
    push_report(out, report);
    if let Some(size) = report.size {
        out.push(' ');
        if previous.is_some_and(|(_, previous)| previous == Some(size)) {
            out.push('=');
        } else {
            push_number(out, size);
        }
    }
    out.push('\n');
}

/// The longest a line can get without front coding.
fn line_bound(wwid: &str, report: &LunReport) -> usize {
    let mut line = String::new();
    push_line(&mut line, wwid, report, None);
    line.len()
}

/// Encode into one or more values of at most `max_bytes` each. LUNs the
/// format cannot carry (see [`carries`]) are left out and counted.
pub fn encode(broadcast: &Broadcast, max_bytes: usize) -> Result<Encoded, Error> {
    let error_line = error_line(broadcast.apply_error.as_deref());
    let tools = broadcast
        .tools_version
        .as_deref()
        .filter(|version| is_tools_version(version))
        .unwrap_or("-");
    let all: Vec<(&String, &LunReport)> = broadcast
        .luns
        .iter()
        .filter(|(wwid, report)| carries(wwid, report))
        .collect();
    let unfit = broadcast.luns.len() - all.len();
    // header and trailer, at their longest
    let header_bound = header(
        broadcast.time,
        MAX_PARTS,
        MAX_PARTS,
        broadcast.luns.len(),
        tools,
    )
    .len()
        + format!("end {}\n", broadcast.luns.len()).len();
    let widest = all
        .iter()
        .map(|(wwid, report)| line_bound(wwid, report))
        .max()
        .unwrap_or(0);
    if max_bytes < header_bound + error_line.len() + widest {
        bail!("a broadcast value of {max_bytes} bytes cannot hold even one LUN");
    }

    let pack = |chosen: &[(&String, &LunReport)]| {
        let mut bodies = vec![error_line.clone()];
        let mut previous: Option<(&str, Option<u64>)> = None;
        let mut line = String::new();
        for &(wwid, report) in chosen {
            line.clear();
            push_line(&mut line, wwid, report, previous);
            let body = bodies.last_mut().expect("bodies is never empty");
            if header_bound + body.len() + line.len() > max_bytes {
                // a new part starts without front coding
                line.clear();
                push_line(&mut line, wwid, report, None);
                bodies.push(String::new());
            }
            bodies.last_mut().expect("just pushed").push_str(&line);
            previous = Some((wwid, report.size));
        }
        bodies
    };

    let mut bodies = pack(&all);
    let mut dropped = unfit;
    if bodies.len() > MAX_PARTS {
        // leave out the healthiest LUNs: find the most of the worst that fit
        let mut by_severity = all.clone();
        by_severity.sort_by(|a, b| b.1.state.rank().cmp(&a.1.state.rank()).then(a.0.cmp(b.0)));
        let subset = |count: usize| {
            let mut chosen = by_severity[..count].to_vec();
            chosen.sort_by(|a, b| a.0.cmp(b.0));
            chosen
        };
        let (mut fits, mut too_many) = (0, by_severity.len());
        while too_many - fits > 1 {
            let middle = (fits + too_many) / 2;
            if pack(&subset(middle)).len() <= MAX_PARTS {
                fits = middle;
            } else {
                too_many = middle;
            }
        }
        bodies = pack(&subset(fits));
        dropped += all.len() - fits;
    }
    let parts = bodies.len();
    if parts > MAX_PARTS {
        bail!("broadcast needs {parts} parts, more than {MAX_PARTS}");
    }
    let mut key = sha1::Sha1::new();
    let values = bodies
        .into_iter()
        .enumerate()
        .map(|(index, body)| {
            let count = body.lines().filter(|line| !line.starts_with('!')).count();
            let header = header(broadcast.time, index + 1, parts, dropped, tools);
            let trailer = format!("end {count}\n");
            // everything but the report time
            key.update(
                header
                    .split_once(' ')
                    .map_or("", |(_, rest)| rest)
                    .split_once(' ')
                    .map_or("", |(_, rest)| rest),
            );
            key.update(&body);
            key.update(&trailer);
            format!("{header}{body}{trailer}")
        })
        .collect();
    let content_key = crate::text::hex(&key.finalize());
    Ok(Encoded {
        values,
        content_key,
    })
}

/// The header of a value: what a reader needs before the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub version: u32,
    pub time: u64,
    pub part: usize,
    pub parts: usize,
    pub dropped: u64,
    pub tools_version: Option<String>,
}

/// Read the header line of a value (`parts` is at most [`MAX_PARTS`]).
pub fn decode_header(value: &str) -> Result<Header, Error> {
    let head = value.split('\n').next().unwrap_or_default();
    let mut fields = head.split(' ');
    let tag = fields.next().unwrap_or_default();
    let version = match tag.strip_prefix("pmp") {
        Some("1") => 1,
        Some("2") => 2,
        Some(other) => bail!("unsupported summary version '{}'", excerpt(other)),
        None if head.starts_with('{') => bail!("series JSON summary (no report time)"),
        None => bail!("not a multipath summary (no 'pmp' header)"),
    };
    let fields: Vec<&str> = fields.take(6).collect();
    let (time, part, dropped, tools) = match (version, &fields[..]) {
        (1, [time, part, dropped]) => (time, part, dropped, None),
        (2, [time, part, dropped, tools]) => (time, part, dropped, Some(*tools)),
        _ => bail!(
            "line 1: header of pmp{version} needs {} fields, has {}",
            version + 3,
            fields.len() + 1
        ),
    };
    let time: u64 = time
        .parse()
        .map_err(|_| format_err!("line 1: bad report time '{}'", excerpt(time)))?;
    let (part, parts) = part
        .split_once('/')
        .and_then(|(part, parts)| Some((part.parse::<usize>().ok()?, parts.parse::<usize>().ok()?)))
        .filter(|&(part, parts)| part >= 1 && part <= parts && parts <= MAX_PARTS)
        .ok_or_else(|| format_err!("line 1: bad part '{}'", excerpt(part)))?;
    let dropped: u64 = dropped
        .parse()
        .map_err(|_| format_err!("line 1: bad dropped count '{}'", excerpt(dropped)))?;
    let tools_version = match tools {
        None | Some("-") => None,
        Some(version) if is_tools_version(version) => Some(version.to_string()),
        Some(version) => bail!("line 1: bad multipath-tools version '{}'", excerpt(version)),
    };
    Ok(Header {
        version,
        time,
        part,
        parts,
        dropped,
        tools_version,
    })
}

/// One decoded value (one part): its header, the apply error and the LUNs.
/// It reads as its header (`part.time`).
#[derive(Clone, Debug, PartialEq)]
pub struct Part<W = String> {
    pub header: Header,
    pub apply_error: Option<String>,
    /// Sorted by WWID, unique.
    pub luns: Vec<(W, LunReport)>,
}

impl<W> std::ops::Deref for Part<W> {
    type Target = Header;
    fn deref(&self) -> &Header {
        &self.header
    }
}

/// How many LUN lines a value says it has (its end line), as far as it
/// can hold them: room to reserve, never trusted beyond that.
fn lines_announced(value: &str) -> usize {
    let count = value
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .and_then(|line| line.strip_prefix("end "))
        .and_then(|count| count.parse::<usize>().ok())
        .unwrap_or(0);
    // the shortest line, `0xw O1n`, takes 8 bytes
    count.min(value.len() / 8)
}

/// Decode one value, checking everything: it comes from another node.
pub fn decode(value: &str) -> Result<Part, Error> {
    decode_with(value, &mut str::to_owned)
}

/// [`decode`], each WWID kept as `keep` makes it: a caller decoding many
/// values may share one copy of each WWID among them.
pub fn decode_with<W: Clone + std::ops::Deref<Target = str>>(
    value: &str,
    keep: &mut impl FnMut(&str) -> W,
) -> Result<Part<W>, Error> {
    Decoder::default().decode(value, keep)
}

/// Decodes values one after another, reusing what the last one read.
///
/// The nodes of a cluster see the same LUNs, so their values are mostly
/// the same lines. A line reads as a WWID and a report from its own text,
/// the WWID before it (front coding) and the size before it (`=`): a line
/// equal to one of the last value, after the same WWID and size, reads as
/// that one did and is not read again: 64 nodes with the same 1,000 LUNs
/// are decoded with a third of the work.
pub struct Decoder<'v, W> {
    /// The last value's LUN lines: the text and what it read as.
    lines: Vec<(&'v str, W, LunReport)>,
}

impl<W> Default for Decoder<'_, W> {
    fn default() -> Self {
        Decoder { lines: Vec::new() }
    }
}

impl<'v, W: Clone + std::ops::Deref<Target = str>> Decoder<'v, W> {
    /// Decode one value, checking everything: it comes from another node.
    pub fn decode(
        &mut self,
        value: &'v str,
        keep: &mut impl FnMut(&str) -> W,
    ) -> Result<Part<W>, Error> {
        if value.len() > MAX_VALUE_BYTES + 1 {
            bail!("value of {} bytes exceeds the 32 KiB KV limit", value.len());
        }
        // what this format writes is plain ASCII; anything else is damage
        if !value.is_ascii() {
            let at = value.bytes().position(|byte| !byte.is_ascii());
            bail!("non-ASCII byte at offset {}", at.unwrap_or_default());
        }
        let header = decode_header(value)?;
        let announced = lines_announced(value);
        let mut decoded = Part {
            header,
            apply_error: None,
            luns: Vec::with_capacity(announced),
        };
        let last = std::mem::replace(&mut self.lines, Vec::with_capacity(announced));
        // the last value's line that may equal the next one
        let mut next = 0;
        let mut end = None;
        // the WWID of the line before, when it was read here (not reused)
        let mut wwid = String::new();
        let mut wwid_read = true;
        let mut last_report: Option<(&str, LunReport)> = None;
        for (index, line) in lines(value).enumerate().skip(1) {
            let number = index + 1;
            if line.is_empty() {
                continue;
            }
            if end.is_some() {
                bail!("line {number}: data after the end line");
            }
            if let Some(count) = line.strip_prefix("end ") {
                let count: usize = count
                    .parse()
                    .map_err(|_| format_err!("line {number}: bad end line"))?;
                if count != decoded.luns.len() {
                    bail!(
                        "line {number}: end line counts {count} LUNs, value has {}",
                        decoded.luns.len()
                    );
                }
                end = Some(count);
                continue;
            }
            if let Some(text) = line.strip_prefix('!') {
                if index != 1 {
                    bail!("line {number}: apply error not right after the header");
                }
                decoded.apply_error =
                    Some(unescape(text).map_err(|err| format_err!("line {number}: {err}"))?);
                continue;
            }
            let before = decoded.luns.last();
            if let Some((_, reused, report)) = last
                .get(next)
                .filter(|(text, ..)| *text == line)
                .filter(|_| same_before(before, next.checked_sub(1).map(|at| &last[at])))
            {
                decoded.luns.push((reused.clone(), report.clone()));
                self.lines.push((line, reused.clone(), report.clone()));
                next += 1;
                wwid_read = false;
                continue;
            }
            if !wwid_read {
                wwid.clear();
                wwid.push_str(before.map_or("", |(wwid, _)| wwid));
                wwid_read = true;
            }
            let previous_size = before.and_then(|(_, report)| report.size);
            let mut parse = || -> Result<LunReport, Error> {
                let Some((field, report, size)) = split_fields(line) else {
                    bail!("{} fields", line.split(' ').count());
                };
                parse_wwid(field, &mut wwid)?;
                // most lines report what the line before did
                let mut report = match &last_report {
                    Some((text, last)) if *text == report => last.clone(),
                    _ => {
                        let parsed = parse_report(report)?;
                        last_report = Some((report, parsed.clone()));
                        parsed
                    }
                };
                report.size = match size {
                    None => None,
                    Some("=") => Some(
                        previous_size.ok_or_else(|| format_err!("'=' size with none before"))?,
                    ),
                    Some(size) => {
                        Some(parse_number(size).ok_or_else(|| format_err!("bad size '{size}'"))?)
                    }
                };
                Ok(report)
            };
            let report = parse().map_err(|err| format_err!("line {number}: {err}"))?;
            let kept = keep(&wwid);
            // the last value's line after this WWID (they are sorted)
            next = match last.binary_search_by(|(_, other, _)| (**other).cmp(&wwid)) {
                Ok(at) => at + 1,
                Err(at) => at,
            };
            self.lines.push((line, kept.clone(), report.clone()));
            decoded.luns.push((kept, report));
        }
        if end.is_none() {
            bail!("value ends early (no end line)");
        }
        Ok(decoded)
    }
}

/// Whether two lines come after the same WWID and size (or both first).
fn same_before<W: std::ops::Deref<Target = str>>(
    this: Option<&(W, LunReport)>,
    last: Option<&(&str, W, LunReport)>,
) -> bool {
    match (this, last) {
        (None, None) => true,
        (Some((wwid, report)), Some((_, last_wwid, last_report))) => {
            // one shared text (the aggregation's rows) needs no comparing
            (std::ptr::eq(&**wwid, &**last_wwid) || **wwid == **last_wwid)
                && report.size == last_report.size
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{find_byte, lines, split_fields};

    #[test]
    fn line_fields_split_as_split_on_spaces_does() {
        for line in [
            "a", "a b", "a b c", "a b c d", "a  b", "a b ", " a b", "", "a b  c",
        ] {
            let mut fields = line.split(' ');
            let expected = match [fields.next(), fields.next(), fields.next()] {
                [Some(wwid), Some(report), size] if fields.next().is_none() => {
                    Some((wwid, report, size))
                }
                _ => None,
            };
            assert_eq!(split_fields(line), expected, "{line:?}");
        }
    }

    #[test]
    fn a_byte_is_found_where_a_byte_loop_finds_it() {
        // every position in and around the eight-byte steps, with bytes
        // on either side of the needle's value (borrows between bytes)
        for len in 0..40 {
            for at in 0..=len {
                for filler in [0u8, b' ' - 1, b' ' + 1, 0x80, 0xff] {
                    let mut haystack = vec![filler; len];
                    if at < len {
                        haystack[at] = b' ';
                    }
                    let expected = haystack.iter().position(|&byte| byte == b' ');
                    assert_eq!(find_byte(&haystack, b' '), expected, "{haystack:?}");
                }
            }
        }
    }

    #[test]
    fn lines_are_split_as_split_on_newlines_does() {
        for value in [
            "",
            "\n",
            "a",
            "a\n",
            "a\nb",
            "\n\na\n",
            "0123456789abcdef\nx\n\n",
        ] {
            let expected: Vec<&str> = value.split('\n').collect();
            assert_eq!(lines(value).collect::<Vec<_>>(), expected, "{value:?}");
        }
    }
}
