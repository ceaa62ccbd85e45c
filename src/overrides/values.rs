//! Value checks per [`Kind`], as strict as multipath-tools' handlers (the
//! same in 0.9.4 and 0.11.1; what differs is in [`super::keywords::FACTS`]).
//!
//! ```text
//! no_path_retry queue            # ok: Kind::NoPathRetry
//! no_path_retry sometimes        # "invalid value for no_path_retry: \"sometimes\""
//! features "1 queue_if_no_path"  # ok: the count 1 matches one argument
//! path_selector service-time     # "missing argument count" (ArgCount(1))
//! ```
//!
//! Each check returns the complaint multipath-tools would log, in our
//! words. Where it caps an out-of-range number with a complaint, we refuse
//! it. A value is quoted in a message with at most [`super::QUOTED_MAX`]
//! characters.

use super::keywords::Kind;
use super::quoted;

/// Checks `value` of `keyword`; `Err` carries the reason.
pub fn check(keyword: &str, kind: Kind, value: &str) -> Result<(), String> {
    let shown = quoted(value);
    let invalid = || Err(format!("invalid value for {keyword}: {shown}"));
    match kind {
        Kind::Str => Ok(()),
        Kind::NoSlash if value.contains('/') => Err(format!(
            "invalid value for {keyword}: {shown} must not contain a slash"
        )),
        Kind::NoSlash => Ok(()),
        Kind::Path if !value.starts_with('/') => Err(format!(
            "invalid value for {keyword}: {shown} is not an absolute path"
        )),
        Kind::Path => Ok(()),
        Kind::Enum(words) if words.contains(&value) => Ok(()),
        Kind::Enum(words) => Err(format!(
            "invalid value for {keyword}: {shown} (expected one of: {})",
            words.join(", ")
        )),
        Kind::Prefix(words) if words.iter().any(|word| value.starts_with(word)) => Ok(()),
        Kind::Prefix(words) => Err(format!(
            "invalid value for {keyword}: {shown} (expected one of: {})",
            words.join(", ")
        )),
        Kind::YesNo => match value {
            "yes" | "no" | "1" | "0" => Ok(()),
            _ => invalid(),
        },
        Kind::Int(min, max) => check_int(keyword, value, min, max),
        Kind::UInt => match parse_uint(value) {
            Some(_) => Ok(()),
            None => invalid(),
        },
        Kind::MaxRetries => match value {
            "off" | "0" => Ok(()),
            _ => check_int(keyword, value, 1, 5),
        },
        Kind::ArgCount(index) => {
            check_arg_count(keyword, value, index)?;
            check_deprecated_feature(keyword, value)
        }
        Kind::Failback => match value {
            "manual" | "immediate" | "followover" => Ok(()),
            _ => check_int(keyword, value, 0, i32::MAX.into()),
        },
        Kind::NoPathRetry => match value {
            "fail" | "0" | "queue" => Ok(()),
            _ => check_int(keyword, value, 1, i32::MAX.into()),
        },
        Kind::OffZeroInt => match value {
            "off" | "0" => Ok(()),
            _ => check_int(keyword, value, 1, i32::MAX.into()),
        },
        Kind::NoInt => match value {
            "no" | "0" => Ok(()),
            _ => check_int(keyword, value, 1, i32::MAX.into()),
        },
        Kind::DevLoss if value == "infinity" || scans_unsigned(value, 10).is_some() => Ok(()),
        Kind::DevLoss => invalid(),
        // The kernel's default fs.nr_open; 0.9.4 caps at the running value.
        Kind::MaxFds if value == "max" => Ok(()),
        Kind::MaxFds => check_int(keyword, value, 0, 1_048_576),
        Kind::Mode => match scans_unsigned(value, 8) {
            Some((negative, mode)) if mode <= 0o777 && (!negative || mode == 0) => Ok(()),
            _ => invalid(),
        },
        // A name can only be checked against the passwd file of the node
        // that reads it; we require a number or something name-shaped.
        Kind::Owner if is_owner(value) => Ok(()),
        Kind::Owner => invalid(),
        Kind::Gid if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        Kind::Gid => Err(format!(
            "invalid value for {keyword}: {shown}: give the group as a number \
             (multipath-tools looks a name up as a user, not as a group)"
        )),
        Kind::PrKey if value == "file" || is_prkey(value) => Ok(()),
        Kind::PrKey => invalid(),
        Kind::UidAttrs => match value
            .split_ascii_whitespace()
            .find(|word| !word.contains(':'))
        {
            Some(word) => Err(format!(
                "invalid value for {keyword}: {shown} ({} is not prefix:attribute)",
                quoted(word)
            )),
            None => Ok(()),
        },
        Kind::Regex => super::regcomp::check(value)
            .map_err(|err| format!("invalid regular expression for {keyword}: {shown}: {err}")),
    }
}

/// C `strtol` on the whole value: leading and trailing whitespace allowed,
/// nothing else.
fn parse_long(value: &str) -> Option<i128> {
    let trimmed = value.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Saturate like strtol does; the range check below then refuses it.
    let magnitude = digits.parse::<i128>().unwrap_or(i128::from(i64::MAX) + 1);
    Some(if negative { -magnitude } else { magnitude })
}

fn check_int(keyword: &str, value: &str, min: i64, max: i64) -> Result<(), String> {
    match parse_long(value) {
        None => Err(format!("invalid value for {keyword}: {}", quoted(value))),
        Some(number) if number < i128::from(min) || number > i128::from(max) => Err(format!(
            "value for {keyword} out of range: {} (allowed: {min} to {max})",
            quoted(value)
        )),
        Some(_) => Ok(()),
    }
}

/// An unsigned decimal below 2^32, no sign, whitespace around allowed.
fn parse_uint(value: &str) -> Option<u32> {
    let trimmed = value.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse::<u32>().ok()
}

/// C `sscanf("%u")` / `"%o"`: leading whitespace, an optional sign, at least
/// one digit; whatever follows is ignored. Returns (negative, value).
fn scans_unsigned(value: &str, radix: u32) -> Option<(bool, u64)> {
    let trimmed = value.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let digits: &str = &rest[..rest
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(rest.len())];
    if digits.is_empty() {
        return None;
    }
    Some((
        negative,
        u64::from_str_radix(digits, radix).unwrap_or(u64::MAX),
    ))
}

/// `[0][x]HEX{1,16}[:flags]`; 0.9.4 ignores flags other than `aptpl`.
fn is_prkey(value: &str) -> bool {
    let key = value.split_once(':').map_or(value, |(key, _)| key);
    let key = key.strip_prefix('0').unwrap_or(key);
    let key = key
        .strip_prefix('x')
        .or_else(|| key.strip_prefix('X'))
        .unwrap_or(key);
    (1..=16).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_owner(value: &str) -> bool {
    let mut bytes = value.bytes();
    match bytes.next() {
        Some(first) if first.is_ascii_digit() => value.bytes().all(|b| b.is_ascii_digit()),
        Some(first) if first.is_ascii_alphabetic() || first == b'_' => {
            bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
        _ => false,
    }
}

/// `features` flags that 0.9.4 turns into a knob with a level-0 complaint
/// ("option 'features \"1 queue_if_no_path\"' is deprecated"): `multipath
/// -t` shows it when a device section merges with a built-in entry,
/// multipathd whenever the setting reaches a map. We refuse it everywhere.
fn check_deprecated_feature(keyword: &str, value: &str) -> Result<(), String> {
    if keyword != "features" {
        return Ok(());
    }
    for (feature, knob) in [
        ("queue_if_no_path", "no_path_retry queue"),
        (
            "retain_attached_hw_handler",
            "retain_attached_hw_handler yes",
        ),
    ] {
        if value.contains(feature) {
            return Err(format!(
                "features {}: '{feature}' is deprecated, multipath-tools complains \
                 about it; use '{knob}' instead",
                quoted(value)
            ));
        }
    }
    Ok(())
}

/// `"N a1 .. aN"` where the word at `index` counts the words after it.
fn check_arg_count(keyword: &str, value: &str, index: usize) -> Result<(), String> {
    let words: Vec<&str> = value
        .split([' ', '\t', '\r', '\x0b', '\x0c'])
        .filter(|word| !word.is_empty())
        .collect();
    let count = words
        .get(index)
        .and_then(|word| parse_long(word).filter(|_| !word.starts_with(char::is_whitespace)));
    let count = match count {
        Some(count) if count >= 0 => count,
        _ => {
            return Err(format!(
                "missing argument count for {keyword}: {} (quote multi-word values, \
                 e.g. \"service-time 0\")",
                quoted(value)
            ))
        }
    };
    let given = words.len() - index - 1;
    if count != given as i128 {
        return Err(format!(
            "invalid argument count for {keyword}: {} says {count}, {given} given",
            quoted(value)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::keywords::Kind;
    use super::*;

    #[test]
    fn values_table() {
        let cases: &[(Kind, &str, bool)] = &[
            (Kind::YesNo, "yes", true),
            (Kind::YesNo, "1", true),
            (Kind::YesNo, "Yes", false),
            (Kind::YesNo, "", false),
            (Kind::Int(0, 4), "4", true),
            (Kind::Int(0, 4), " 3 ", true),
            (Kind::Int(0, 4), "5", false),
            (Kind::Int(0, 4), "-1", false),
            (Kind::Int(0, 4), "2x", false),
            (Kind::Int(0, 4), "", false),
            (
                Kind::Int(0, 4),
                "99999999999999999999999999999999999999999",
                false,
            ),
            (Kind::UInt, "5", true),
            (Kind::UInt, "+5", false),
            (Kind::UInt, "4294967296", false),
            (Kind::NoPathRetry, "queue", true),
            (Kind::NoPathRetry, "fail", true),
            (Kind::NoPathRetry, "18", true),
            (Kind::NoPathRetry, "sometimes", false),
            (Kind::Failback, "immediate", true),
            (Kind::Failback, "0", true),
            (Kind::Failback, "later", false),
            (Kind::OffZeroInt, "off", true),
            (Kind::OffZeroInt, "5", true),
            (Kind::OffZeroInt, "x", false),
            (Kind::NoInt, "no", true),
            (Kind::NoInt, "-1", false),
            (Kind::DevLoss, "infinity", true),
            (Kind::DevLoss, "60", true),
            (Kind::DevLoss, "60s", true),
            (Kind::DevLoss, "never", false),
            (Kind::ArgCount(0), "0", true),
            (Kind::ArgCount(0), "2 pg_init_retries 50", true),
            (Kind::ArgCount(0), "2 queue_if_no_path", false),
            (Kind::ArgCount(0), "", false),
            (Kind::ArgCount(0), "1 alua", true),
            (Kind::ArgCount(0), "1 queue_if_no_path", true),
            (Kind::ArgCount(1), "service-time 0", true),
            (Kind::ArgCount(1), "service-time", false),
            (Kind::ArgCount(1), "round-robin 1 x", true),
            (
                Kind::Prefix(super::super::keywords::PGPOLICIES),
                "group_by_prio",
                true,
            ),
            (
                Kind::Prefix(super::super::keywords::PGPOLICIES),
                "multibusy",
                true,
            ),
            (
                Kind::Prefix(super::super::keywords::PGPOLICIES),
                "round",
                false,
            ),
            (Kind::Mode, "0600", true),
            (Kind::Mode, "1777", false),
            (Kind::Mode, "9", false),
            (Kind::MaxFds, "max", true),
            (Kind::MaxFds, "8192", true),
            (Kind::MaxFds, "2000000", false),
            (Kind::NoSlash, "a/b", false),
            (Kind::Path, "/etc/x", true),
            (Kind::Path, "etc/x", false),
            (Kind::Owner, "0", true),
            (Kind::Owner, "root", true),
            (Kind::Owner, "", false),
            (Kind::Gid, "6", true),
            (Kind::Gid, "disk", false),
            (Kind::Gid, "", false),
            (Kind::MaxRetries, "off", true),
            (Kind::MaxRetries, "0", true),
            (Kind::MaxRetries, "5", true),
            (Kind::MaxRetries, "6", false),
            (Kind::MaxRetries, "-1", false),
            (Kind::Regex, "^sd[a-z]", true),
            (Kind::Regex, "(abc", false),
            (Kind::PrKey, "file", true),
            (Kind::PrKey, "0x1234abcd", true),
            (Kind::PrKey, "0x1:aptpl", true),
            (Kind::PrKey, "00", true),
            (Kind::PrKey, "0", false),
            (Kind::PrKey, "0x12345678901234567", false),
            (Kind::PrKey, "x", false),
            (Kind::UidAttrs, "sd:ID_SERIAL nvme:ID_WWN", true),
            (Kind::UidAttrs, "", true),
            (Kind::UidAttrs, "ID_SERIAL", false),
        ];
        assert!(check("features", Kind::ArgCount(0), "1 queue_if_no_path").is_err());
        assert!(check(
            "features",
            Kind::ArgCount(0),
            "1 retain_attached_hw_handler"
        )
        .is_err());
        for (kind, value, ok) in cases {
            assert_eq!(
                check("kw", *kind, value).is_ok(),
                *ok,
                "{kind:?} {value:?}: {:?}",
                check("kw", *kind, value)
            );
        }
    }
}
