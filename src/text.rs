//! Quoting input in messages: `line 3: unknown keyword 'foo'`.
//!
//! An error message shows the user the offending text, but never all of it:
//! a 10 MB line must not come back as a 10 MB message, and a newline in the
//! input must not forge a second line of the message. Every module quotes
//! input through [`quote_input`].

/// The most characters of input a message shows.
pub const QUOTE_MAX_CHARS: usize = 80;

/// `text` in single quotes for an error message: control characters escaped
/// (`\n`, `\t`, `\x{1b}`), cut after [`QUOTE_MAX_CHARS`] characters with
/// `...` and the full length.
pub fn quote_input(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len().min(QUOTE_MAX_CHARS) + 2);
    quoted.push('\'');
    for (shown, ch) in text.chars().enumerate() {
        if shown == QUOTE_MAX_CHARS {
            let total = text.chars().count();
            quoted.push_str(&format!("...' ({total} characters)"));
            return quoted;
        }
        match ch {
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            ch if ch.is_control() => quoted.push_str(&format!("\\x{{{:x}}}", ch as u32)),
            ch => quoted.push(ch),
        }
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
