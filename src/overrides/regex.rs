//! A syntax check for the POSIX extended regular expressions of blacklist
//! entries, covering the mistakes glibc's `regcomp(REG_EXTENDED)` refuses.
//!
//! ```text
//! wwid "^3600a0980.*"   # fine
//! devnode "^(sd[a-z]"   # unmatched '('
//! wwid "*abc"           # nothing to repeat
//! ```
//!
//! Checked with multipath-tools 0.9.4 on bookworm: an unmatched `(`, an
//! unterminated or reversed bracket range, an unknown `[:class:]`, a
//! trailing backslash, a repetition with nothing before it (at the start,
//! after `(`, `|` or `^`) and a malformed or too large `{m,n}` are refused;
//! a lone `)`, `a**`, `()`, `a|` and `{,n}` are accepted.

/// glibc's RE_DUP_MAX.
const DUP_MAX: u32 = 0x7fff;

const CLASSES: &[&str] = &[
    "alpha", "digit", "alnum", "upper", "lower", "space", "blank", "punct", "print", "graph",
    "cntrl", "xdigit",
];

pub fn check(regex: &str) -> Result<(), String> {
    let bytes = regex.as_bytes();
    let mut depth = 0usize;
    // Whether the previous item can take a repetition operator.
    let mut can_repeat = false;
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' => {
                if pos + 1 >= bytes.len() {
                    return Err("trailing backslash".to_string());
                }
                pos += 2;
                can_repeat = true;
                continue;
            }
            b'[' => {
                pos = bracket_end(bytes, pos)?;
                can_repeat = true;
                continue;
            }
            b'(' => {
                depth += 1;
                can_repeat = false;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                can_repeat = true;
            }
            b'|' | b'^' => can_repeat = false,
            b'*' | b'+' | b'?' => {
                if !can_repeat {
                    return Err(format!("'{}' has nothing to repeat", bytes[pos] as char));
                }
            }
            b'{' => {
                if !can_repeat {
                    return Err("'{' has nothing to repeat".to_string());
                }
                pos = interval_end(bytes, pos)?;
                continue;
            }
            _ => can_repeat = true,
        }
        pos += 1;
    }
    if depth > 0 {
        return Err("unmatched '('".to_string());
    }
    Ok(())
}

/// Checks `{m}`, `{m,}`, `{,n}`, `{m,n}` at `start`; returns the position
/// after the closing brace.
fn interval_end(bytes: &[u8], start: usize) -> Result<usize, String> {
    let close = bytes[start..]
        .iter()
        .position(|&b| b == b'}')
        .map(|offset| start + offset)
        .ok_or_else(|| "unterminated '{'".to_string())?;
    let inner = std::str::from_utf8(&bytes[start + 1..close]).unwrap_or("?");
    let bound = |text: &str| -> Result<Option<u32>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid interval '{{{inner}}}'"));
        }
        match text.parse::<u32>() {
            Ok(value) if value <= DUP_MAX => Ok(Some(value)),
            _ => Err(format!("interval bound too large in '{{{inner}}}'")),
        }
    };
    let (min, max) = match inner.split_once(',') {
        Some((min, max)) => (bound(min)?, bound(max)?),
        None => {
            let exact = bound(inner)?;
            if exact.is_none() {
                return Err("empty interval '{}'".to_string());
            }
            (exact, exact)
        }
    };
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(format!("invalid interval '{{{inner}}}'"));
        }
    }
    Ok(close + 1)
}

/// Checks a bracket expression starting at `start`; returns the position
/// after its closing `]`.
fn bracket_end(bytes: &[u8], start: usize) -> Result<usize, String> {
    let mut pos = start + 1;
    if bytes.get(pos) == Some(&b'^') {
        pos += 1;
    }
    // A `]` right at the start is a literal.
    let mut previous: Option<u8> = None;
    let mut first = true;
    loop {
        let Some(&byte) = bytes.get(pos) else {
            return Err("unmatched '['".to_string());
        };
        match byte {
            b']' if !first => return Ok(pos + 1),
            b'[' if matches!(bytes.get(pos + 1), Some(b':' | b'.' | b'=')) => {
                let kind = bytes[pos + 1];
                let body_start = pos + 2;
                let end = bytes[body_start..]
                    .windows(2)
                    .position(|pair| pair[0] == kind && pair[1] == b']')
                    .map(|offset| body_start + offset)
                    .ok_or_else(|| "unterminated character class".to_string())?;
                let name = std::str::from_utf8(&bytes[body_start..end]).unwrap_or("?");
                if kind == b':' && !CLASSES.contains(&name) {
                    return Err(format!("unknown character class '[:{name}:]'"));
                }
                pos = end + 2;
                previous = None;
            }
            b'-' if previous.is_some() && bytes.get(pos + 1).is_some_and(|&b| b != b']') => {
                let low = previous.unwrap_or(0);
                let high = bytes[pos + 1];
                if high < low {
                    return Err(format!("invalid range '{}-{}'", low as char, high as char));
                }
                pos += 2;
                previous = None;
            }
            _ => {
                previous = Some(byte);
                pos += 1;
            }
        }
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    /// Verdicts observed with multipath-tools 0.9.4 (blacklist wwid entries).
    #[test]
    fn regex_table() {
        let cases: &[(&str, bool)] = &[
            ("a{", false),
            ("{1}", false),
            ("a{1", false),
            ("a{2,1}", false),
            (")", true),
            ("a)", true),
            ("a**", true),
            ("*a", false),
            ("()", true),
            ("a|", true),
            ("+", false),
            ("[[:foo:]]", false),
            ("[[:alpha:]]", true),
            ("[]a]", true),
            ("[a-", false),
            ("a\\", false),
            ("\\(", true),
            ("x{1,2}", true),
            ("a{,3}", true),
            ("[z-a]", false),
            ("^*", false),
            ("a||b", true),
            ("(|a)", true),
            ("a{99999}", false),
            ("(abc", false),
            ("[a", false),
            ("^(ram|raw|loop|fd|md|dm-|sr|scd|st)[0-9]*", true),
            ("^hd[a-z]", true),
            ("^dcssblk[0-9]*", true),
            (".*", true),
        ];
        for (regex, ok) in cases {
            assert_eq!(check(regex).is_ok(), *ok, "{regex:?}: {:?}", check(regex));
        }
    }
}
