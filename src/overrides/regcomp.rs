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
//! `regcomp` itself. multipath never calls `setlocale`, so the pattern is
//! compiled in the "C" locale, whatever locale the Perl process runs in.

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;

/// `Err` carries glibc's message (`regerror`), or says why the pattern
/// cannot reach `regcomp` at all.
pub fn check(pattern: &str) -> Result<(), String> {
    let pattern =
        CString::new(pattern).map_err(|_| "a NUL byte cannot be part of a pattern".to_string())?;
    // SAFETY: `pattern` is a NUL-terminated string that outlives the call.
    unsafe { pvemp_regcomp_in_c_locale(&pattern) }
}

/// Compiles `pattern` with `REG_EXTENDED | REG_NOSUB` in the "C" locale of
/// this thread, frees what `regcomp` allocated and restores the thread's
/// locale.
///
/// # Safety
///
/// Calls into glibc: `newlocale`/`uselocale`/`freelocale`, `regcomp`,
/// `regerror` and `regfree`. It is safe for any NUL-terminated `pattern`
/// (which `&CStr` guarantees): the `regex_t` lives on this stack frame, is
/// freed on every path where `regcomp` succeeded, and the locale switch is
/// thread-local and undone before returning.
unsafe fn pvemp_regcomp_in_c_locale(pattern: &CStr) -> Result<(), String> {
    let c_locale = libc::newlocale(libc::LC_ALL_MASK, c"C".as_ptr(), std::ptr::null_mut());
    if c_locale.is_null() {
        return Err("cannot check the pattern: no C locale".to_string());
    }
    let previous = libc::uselocale(c_locale);

    let mut regex = MaybeUninit::<libc::regex_t>::zeroed();
    let rc = libc::regcomp(
        regex.as_mut_ptr(),
        pattern.as_ptr(),
        libc::REG_EXTENDED | libc::REG_NOSUB,
    );
    let result = if rc == 0 {
        libc::regfree(regex.as_mut_ptr());
        Ok(())
    } else {
        let mut message = [0 as libc::c_char; 128];
        libc::regerror(rc, regex.as_ptr(), message.as_mut_ptr(), message.len());
        Err(CStr::from_ptr(message.as_ptr())
            .to_string_lossy()
            .into_owned())
    };

    libc::uselocale(previous);
    libc::freelocale(c_locale);
    result
}

#[cfg(test)]
mod tests {
    use super::check;

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
    fn messages_come_from_regerror() {
        assert_eq!(check("(abc").unwrap_err(), "Unmatched ( or \\(");
        assert!(check("a\0b").unwrap_err().contains("NUL"));
    }
}
