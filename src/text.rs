//! Quoting input in messages: `line 3: unknown keyword 'foo'`.
//!
//! An error message shows the user the offending text, but never all of it:
//! a 10 MB line must not come back as a 10 MB message, and a newline in the
//! input must not forge a second line of the message. Every module quotes
//! input through [`quote_input`].

/// The most characters of input a message shows.
pub const QUOTE_MAX_CHARS: usize = 80;

/// Lower-case hex of `bytes`, as Perl's `*_hex` digests print them.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            // writing to a String cannot fail
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// At most [`QUOTE_MAX_CHARS`] characters of `text`, control characters
/// escaped (`\n`), `...` where it was cut: how every message shows input
/// inside its own quotes.
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for (index, c) in text.chars().enumerate() {
        if index == QUOTE_MAX_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` in single quotes for an error message: control characters escaped
/// (`\n`, `\t`, `\x{1b}`), cut before the quote grows past
/// [`QUOTE_MAX_CHARS`] characters, with `...` and the input's full length.
pub fn quote_input(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len().min(QUOTE_MAX_CHARS) + 2);
    quoted.push('\'');
    let mut shown = 0; // characters of the message, escapes count in full
    for ch in text.chars() {
        let escaped = match ch {
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\r' => "\\r".to_string(),
            ch if ch.is_control() => format!("\\x{{{:x}}}", ch as u32),
            ch => ch.to_string(),
        };
        shown += escaped.chars().count();
        if shown > QUOTE_MAX_CHARS {
            let total = text.chars().count();
            quoted.push_str(&format!("...' ({total} characters)"));
            return quoted;
        }
        quoted.push_str(&escaped);
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_quoted_whole() {
        assert_eq!(quote_input("foo bar"), "'foo bar'");
        assert_eq!(quote_input(""), "''");
        assert_eq!(quote_input("grüße"), "'grüße'");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(quote_input("a\nb\tc\0\x1b"), "'a\\nb\\tc\\x{0}\\x{1b}'");
    }

    #[test]
    fn long_input_is_cut_at_80_characters() {
        let long = "ä".repeat(10 * 1024 * 1024);
        let quoted = quote_input(&long);
        assert_eq!(
            quoted,
            format!("'{}...' (10485760 characters)", "ä".repeat(80))
        );
        assert_eq!(
            quote_input(&"x".repeat(80)),
            format!("'{}'", "x".repeat(80))
        );
    }
}
