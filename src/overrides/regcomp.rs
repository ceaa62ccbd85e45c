//! The blacklist regex check: glibc's own `regcomp(REG_EXTENDED|REG_NOSUB)`.
//!
//! ```text
//! wwid "^3600a0980.*"   # compiles
//! devnode "^(sd[a-z]"   # "Missing ')' or '\\)'"
//! wwid "\\1"            # "Invalid back reference"
//! ```
//!
//! multipath-tools compiles every blacklist entry with exactly these flags
//! and drops an entry that does not compile. POSIX leaves much of the
//! extended syntax to the implementation (`\1`, `x$?`, `[[.ab.]]`, `a{,3}`),
//! so no other regex dialect can stand in for glibc's: the check is glibc's
//! `regcomp` itself, and [`Regex`] matches with its `regexec` (what the
//! import's conflict check judges blacklist entries by). multipath never calls `setlocale`, so the pattern is
//! compiled in the "C" locale, whatever locale the Perl process runs in.
//!
//! Two kinds of pattern never reach `regcomp`, as they would take this
//! process down with them: one longer than a line multipath-tools reads
//! (glibc's parser recurses per parenthesis, and 50,000 nested ones
//! overflow the stack), and one whose nested repetitions expand to more
//! than [`MAX_EXPANDED`] elements (`((a{255}){255}){255}` takes glibc, and
//! so multipathd, minutes and gigabytes). The parser also keeps all
//! patterns of one text within [`MAX_EXPANDED_TOTAL`].

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;

/// The most elements a pattern may expand to (glibc compiles a million in
/// about 0.3 s).
pub const MAX_EXPANDED: u64 = 1_000_000;

/// The most elements all patterns of one text may expand to together.
pub const MAX_EXPANDED_TOTAL: u64 = 4 * MAX_EXPANDED;

/// `Err` carries glibc's message (`regerror`), or says why the pattern
/// cannot reach `regcomp` at all.
pub fn check(pattern: &str) -> Result<(), String> {
    Regex::new(pattern).map(|_| ())
}

/// A pattern compiled as multipath-tools compiles a blacklist entry, to
/// match strings as its `regexec` does (`filter_wwid`, `filter_devnode`).
pub struct Regex {
    /// Boxed: the compiled pattern stays where `regcomp` wrote it.
    compiled: Box<libc::regex_t>,
}

impl Regex {
    /// Compiles `pattern`; `Err` as [`check`] says it.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        if pattern.len() > super::lexer::MAX_LINE_BYTES {
            return Err(format!(
                "pattern of {} bytes, longer than a line multipath-tools reads",
                pattern.len()
            ));
        }
        let expanded = expanded_size(pattern.as_bytes());
        if expanded > MAX_EXPANDED {
            return Err(format!(
                "its repetitions expand to about {expanded} elements (at most {MAX_EXPANDED}); \
                 compiling it would take multipath-tools minutes"
            ));
        }
        let pattern = CString::new(pattern)
            .map_err(|_| "a NUL byte cannot be part of a pattern".to_string())?;
        in_c_locale(|| pvemp_regcomp(&pattern))?
    }

    /// Whether the pattern matches somewhere in `text` (a NUL byte, which
    /// no C string of multipath-tools holds, never matches).
    pub fn is_match(&self, text: &str) -> bool {
        let Ok(text) = CString::new(text) else {
            return false;
        };
        // SAFETY: `compiled` holds a pattern `regcomp` compiled (it is only
        // built on success) and is not freed before `drop`; `text` is
        // NUL-terminated; no match offsets are asked for (`nmatch` 0).
        in_c_locale(|| unsafe {
            libc::regexec(&*self.compiled, text.as_ptr(), 0, std::ptr::null_mut(), 0) == 0
        })
        .unwrap_or(false)
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        // SAFETY: `compiled` holds a compiled pattern, freed only here.
        unsafe { libc::regfree(&mut *self.compiled) };
    }
}

/// Runs `f` in the "C" locale of this thread (multipath never calls
/// `setlocale`) and restores the thread's locale.
fn in_c_locale<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    // SAFETY: a static NUL-terminated locale name; no base locale.
    let c_locale =
        unsafe { libc::newlocale(libc::LC_ALL_MASK, c"C".as_ptr(), std::ptr::null_mut()) };
    if c_locale.is_null() {
        return Err("cannot check the pattern: no C locale".to_string());
    }
    // SAFETY: `c_locale` is a valid locale object from `newlocale`.
    let previous = unsafe { libc::uselocale(c_locale) };
    let result = f();
    // SAFETY: `previous` is the locale `uselocale` returned above, and
    // `c_locale` is no longer in use once it is restored.
    unsafe {
        libc::uselocale(previous);
        libc::freelocale(c_locale);
    }
    Ok(result)
}

/// Compiles `pattern` with `REG_EXTENDED | REG_NOSUB`. Sound for any
/// `&CStr`: the `regex_t` is boxed storage that becomes a [`Regex`] (which
/// frees it) only when `regcomp` succeeded.
fn pvemp_regcomp(pattern: &CStr) -> Result<Regex, String> {
    // SAFETY: all-zero bytes are a valid (unused) `regex_t`: plain integers,
    // pointers and bit fields.
    let mut compiled: Box<libc::regex_t> = Box::new(unsafe { MaybeUninit::zeroed().assume_init() });
    // SAFETY: `compiled` is writable storage for one `regex_t`, `pattern` is
    // NUL-terminated and outlives the call.
    let rc = unsafe {
        libc::regcomp(
            &mut *compiled,
            pattern.as_ptr(),
            libc::REG_EXTENDED | libc::REG_NOSUB,
        )
    };
    if rc == 0 {
        return Ok(Regex { compiled });
    }
    let mut message = [0 as libc::c_char; 128];
    // SAFETY: `regerror` writes at most `message.len()` bytes, NUL
    // included, and reads only the error code's text for a failed
    // `regex_t`; `message` is then a NUL-terminated string.
    let text = unsafe {
        libc::regerror(rc, &*compiled, message.as_mut_ptr(), message.len());
        CStr::from_ptr(message.as_ptr())
    };
    Err(text.to_string_lossy().into_owned())
}

/// An upper estimate of the elements glibc expands `pattern` to: every
/// atom counts one, a group the sum of its contents, and a bound `{m,n}`
/// multiplies what it repeats by its largest count (`+` by two).
pub fn expanded_size(pattern: &[u8]) -> u64 {
    // (size of the enclosing sequence so far, size of its last item)
    let mut stack: Vec<(u64, u64)> = Vec::new();
    let (mut size, mut last) = (0u64, 0u64);
    let mut pos = 0;
    while pos < pattern.len() {
        let mut atom = 1u64;
        match pattern[pos] {
            b'\\' => pos += 1,
            b'[' => pos = bracket_end(pattern, pos),
            b'(' => {
                stack.push((size, last));
                (size, last) = (0, 0);
                pos += 1;
                continue;
            }
            b')' if !stack.is_empty() => {
                let group = size;
                (size, _) = stack.pop().unwrap_or_default();
                atom = group;
            }
            b'{' => {
                if let Some((count, end)) = repeat_count(pattern, pos) {
                    size = size
                        .saturating_sub(last)
                        .saturating_add(last.saturating_mul(count));
                    last = last.saturating_mul(count);
                    pos = end;
                    continue;
                }
            }
            b'+' => {
                size = size.saturating_add(last);
                last = last.saturating_mul(2);
                pos += 1;
                continue;
            }
            b'*' | b'?' | b'|' => {
                pos += 1;
                continue;
            }
            _ => {}
        }
        size = size.saturating_add(atom);
        last = atom;
        pos += 1;
    }
    stack
        .into_iter()
        .fold(size, |total, (outer, _)| total.saturating_add(outer))
}

/// The position of the `]` closing the bracket expression at `start`.
fn bracket_end(pattern: &[u8], start: usize) -> usize {
    let mut pos = start + 1;
    if pattern.get(pos) == Some(&b'^') {
        pos += 1;
    }
    if pattern.get(pos) == Some(&b']') {
        pos += 1;
    }
    while pos < pattern.len() {
        match (pattern[pos], pattern.get(pos + 1)) {
            (b'[', Some(b':' | b'.' | b'=')) => {
                let close = pattern[pos + 1];
                pos += 2;
                while pos + 1 < pattern.len()
                    && !(pattern[pos] == close && pattern[pos + 1] == b']')
                {
                    pos += 1;
                }
                pos += 2;
            }
            (b']', _) => return pos,
            _ => pos += 1,
        }
    }
    pattern.len()
}

/// `{m}`, `{m,}`, `{m,n}` or `{,n}` at `start`: the largest count (`m + 1`
/// for `{m,}`) and the position after the `}`.
fn repeat_count(pattern: &[u8], start: usize) -> Option<(u64, usize)> {
    let end = start + pattern[start..].iter().position(|&b| b == b'}')?;
    let inside = std::str::from_utf8(&pattern[start + 1..end]).ok()?;
    let number = |text: &str| -> Option<u64> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(text.parse::<u64>().unwrap_or(u64::MAX))
    };
    let count = match inside.split_once(',') {
        None => number(inside)?,
        Some((low, "")) => number(low)?.saturating_add(1),
        Some((_, high)) => number(high)?,
    };
    Some((count, end + 1))
}

#[cfg(test)]
mod tests {
    use super::{check, expanded_size, Regex};

    /// Verdicts of multipath-tools 0.9.4 on bookworm (a blacklist `wwid`
    /// with the pattern: silent, or "invalid regex"); issue 12 lists the
    /// ones a hand-written checker got wrong.
    #[test]
    fn glibc_verdicts() {
        let cases: &[(&str, bool)] = &[
            ("^3600a0980.*", true),
            ("^(ram|loop|fd|md|dm-|sr|scd|st)[0-9]*", true),
            (")", true),
            ("a**", true),
            ("()", true),
            ("a|", true),
            ("a{,3}", true),
            ("", true),
            ("(abc", false),
            ("[z-a]", false),
            ("[[:foo:]]", false),
            ("abc\\", false),
            ("*abc", false),
            ("a{1", false),
            ("a{99999}", false),
            ("\\1", false),
            ("(a)\\2", false),
            ("[[:alpha:]-z]", false),
            ("[[.ab.]]", false),
            ("[[=ab=]]", false),
            ("x$?", false),
            ("^$*", false),
            ("a\\b{1}", false),
            ("\\b*", false),
        ];
        for (pattern, ok) in cases {
            assert_eq!(
                check(pattern).is_ok(),
                *ok,
                "{pattern:?}: {:?}",
                check(pattern)
            );
        }
    }

    #[test]
    fn what_would_take_the_process_down_never_reaches_regcomp() {
        assert_eq!(expanded_size(b"abc"), 3);
        assert_eq!(expanded_size(b"(a{10}){10}"), 100);
        assert_eq!(expanded_size(b"[a{]{5}"), 5);
        assert_eq!(expanded_size(b"a{2,}"), 3);
        assert!(check("(a{1000}){1000}").is_ok());
        let slow = check("((a{255}){255}){255}").unwrap_err();
        assert!(slow.contains("expand to about 16581375 elements"), "{slow}");
        let deep = format!("{}{}", "(".repeat(50_000), ")".repeat(50_000));
        assert!(check(&deep).unwrap_err().contains("longer than a line"));
        let nested = format!("{}a{}", "(".repeat(511), ")".repeat(511));
        assert!(check(&nested).is_ok());
    }

    #[test]
    fn messages_come_from_regerror() {
        assert_eq!(check("(abc").unwrap_err(), "Unmatched ( or \\(");
        assert!(check("a\0b").unwrap_err().contains("NUL"));
    }

    #[test]
    fn matches_as_regexec_does() {
        let cases: &[(&str, &str, bool)] = &[
            ("^3600a", "3600a0980383", true),
            ("^3600a", "13600a", false),
            ("0980", "3600a0980383", true),
            ("^sd[b-c]$", "sdb", true),
            ("^sd[b-c]$", "sdbb", false),
            ("^(sd[a-z]|dasd[a-z]|nvme[0-9])", "vda", false),
            ("LUN.*", "LUN C-Mode", true),
            ("", "anything", true),
            ("a{,3}b", "b", true),
            ("[[:digit:]]+$", "mpath12", true),
        ];
        for (pattern, text, expected) in cases {
            let regex = Regex::new(pattern).unwrap();
            assert_eq!(regex.is_match(text), *expected, "{pattern:?} on {text:?}");
        }
        assert!(!Regex::new(".*").unwrap().is_match("a\0b"));
        assert!(Regex::new("(abc").is_err());
    }
}
