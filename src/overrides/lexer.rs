//! Lines and tokens of multipath.conf, as multipath-tools 0.9.4 sees them.
//!
//! ```text
//! vendor "NET""APP"  # comment   ->  [Word(vendor), Quote, Word(NET"APP), Quote]
//! alias san#b                    ->  [Word(alias), Word(san)]
//! device {                       ->  [Word(device), Open]
//! ```
//!
//! Facts the tokenizer follows (read from libmpathutil/parser.c at 0.9.4 and
//! checked against the binary):
//!
//! - Outside quotes, ASCII whitespace and every non-ASCII byte separate
//!   tokens; `{` and `}` are tokens of their own; `#` and `!` end the line,
//!   even in the middle of a word.
//! - A `"` opens or closes a string and is a token of its own (a quote
//!   marker). Inside a string every byte is kept, and `""` stands for one
//!   literal `"`. A string left open runs to the end of the line.
//! - Only the token list of a line matters; the parser decides what it
//!   means.

/// The longest line multipath-tools reads in one piece, newline not
/// counted: it reads with `fgets` into a 1024-byte buffer, so the bytes
/// after the first 1023 are parsed as a line of their own (only a lone
/// newline there is harmless).
pub const MAX_LINE_BYTES: usize = 1023;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A plain word, or the contents of a quoted string.
    Word(String),
    /// A `"` opening or closing a string.
    Quote,
    Open,
    Close,
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Token::Word(word) => format!("'{}'", super::shorten(word)),
            Token::Quote => "'\"'".to_string(),
            Token::Open => "'{'".to_string(),
            Token::Close => "'}'".to_string(),
        }
    }
}

/// One physical line: its 1-based number and its bytes without the line
/// terminator.
pub struct Line<'a> {
    pub number: usize,
    pub bytes: &'a [u8],
}

/// Splits the text at `\n`, dropping one `\r` before it (CRLF files read the
/// same as LF files in multipath-tools, whose reader cuts at `\r` too).
pub fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    text.split('\n')
        .enumerate()
        .filter(move |_| !empty)
        .map(|(index, line)| {
            let bytes = line.as_bytes();
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            Line {
                number: index + 1,
                bytes,
            }
        })
}

fn is_separator(byte: u8) -> bool {
    byte.is_ascii_whitespace() || !byte.is_ascii() || byte == 0x0b
}

fn is_comment(byte: u8) -> bool {
    byte == b'#' || byte == b'!'
}

/// The tokens of one line; empty for blank and comment lines.
#[cfg(test)]
pub fn tokenize(line: &[u8]) -> Vec<Token> {
    tokenize_line(line).tokens
}

/// A tokenized line, with what 0.9.4 would silently lose from it.
pub struct LineTokens {
    pub tokens: Vec<Token>,
    /// A non-ASCII byte outside quotes and comments was read as a separator
    /// (`vendor Ünï` has the value `n`).
    pub non_ascii: bool,
    /// A comment starts right after a word, with no space before it and
    /// something other than a space after it (`alias san#b` has the value
    /// `san`; `alias san# note` is a comment as written).
    pub glued_comment: bool,
}

/// The tokens of one line, see [`LineTokens`].
pub fn tokenize_line(line: &[u8]) -> LineTokens {
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut non_ascii = false;
    let done = |tokens, non_ascii, glued_comment| LineTokens {
        tokens,
        non_ascii,
        glued_comment,
    };
    let at = |pos: usize| line.get(pos).copied();

    while let Some(byte) = at(pos).filter(|&byte| is_separator(byte)) {
        non_ascii |= !byte.is_ascii();
        pos += 1;
    }
    if at(pos).is_none_or(is_comment) {
        return done(tokens, non_ascii, false);
    }

    let mut in_string = false;
    loop {
        let start = pos;
        match at(pos) {
            // `""` inside a string is a literal quote, handled as a word.
            Some(b'"') if !(in_string && at(pos + 1) == Some(b'"')) => {
                in_string = !in_string;
                pos += 1;
                tokens.push(Token::Quote);
            }
            Some(b'{') if !in_string => {
                pos += 1;
                tokens.push(Token::Open);
            }
            Some(b'}') if !in_string => {
                pos += 1;
                tokens.push(Token::Close);
            }
            _ => {
                let mut word = Vec::new();
                loop {
                    match at(pos) {
                        None => break,
                        Some(b'"') if in_string && at(pos + 1) == Some(b'"') => {
                            word.push(b'"');
                            pos += 2;
                        }
                        Some(b'"') => break,
                        Some(byte)
                            if in_string
                                || !(is_separator(byte)
                                    || is_comment(byte)
                                    || byte == b'{'
                                    || byte == b'}') =>
                        {
                            word.push(byte);
                            pos += 1;
                        }
                        Some(_) => break,
                    }
                }
                tokens.push(Token::Word(String::from_utf8_lossy(&word).into_owned()));
            }
        }
        // Every branch above consumes at least one byte; this guard keeps a
        // future edit from turning a mistake into an endless loop.
        if pos == start {
            pos += 1;
        }

        let after_word = matches!(tokens.last(), Some(Token::Word(_))) && pos > start;
        let before_separator = pos;
        if !in_string {
            while let Some(byte) = at(pos).filter(|&byte| is_separator(byte)) {
                non_ascii |= !byte.is_ascii();
                pos += 1;
            }
        }
        match at(pos) {
            None => return done(tokens, non_ascii, false),
            Some(byte) if !in_string && is_comment(byte) => {
                // `1# note` is a comment as written; `weight#1` loses the `#1`.
                let glued = after_word
                    && pos == before_separator
                    && at(pos + 1).is_some_and(|next| !next.is_ascii_whitespace());
                return done(tokens, non_ascii, glued);
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Token::{Close, Open, Quote};
    use super::*;

    fn w(word: &str) -> Token {
        Token::Word(word.to_string())
    }

    #[test]
    fn tokens_table() {
        let cases: &[(&str, Vec<Token>)] = &[
            ("", vec![]),
            ("   \t ", vec![]),
            ("# comment", vec![]),
            ("  ! comment", vec![]),
            ("devices {", vec![w("devices"), Open]),
            ("devices{", vec![w("devices"), Open]),
            ("}", vec![Close]),
            ("alias san#b", vec![w("alias"), w("san")]),
            ("alias san!b", vec![w("alias"), w("san")]),
            (
                "vendor \"NETAPP\"",
                vec![w("vendor"), Quote, w("NETAPP"), Quote],
            ),
            (
                "vendor \"a # b\" # c",
                vec![w("vendor"), Quote, w("a # b"), Quote],
            ),
            (
                "vendor \"a\"\"b\"",
                vec![w("vendor"), Quote, w("a\"b"), Quote],
            ),
            ("vendor \"\"", vec![w("vendor"), Quote, Quote]),
            ("vendor \"open", vec![w("vendor"), Quote, w("open")]),
            ("vendor \"{x}\"", vec![w("vendor"), Quote, w("{x}"), Quote]),
            ("a b c", vec![w("a"), w("b"), w("c")]),
            (
                "device { vendor X }",
                vec![w("device"), Open, w("vendor"), w("X"), Close],
            ),
            ("vendor X\u{e9}Y", vec![w("vendor"), w("X"), w("Y")]),
            (
                "vendor \"X\u{e9}\"",
                vec![w("vendor"), Quote, w("X\u{e9}"), Quote],
            ),
            ("\"\"\"", vec![Quote, w("\"")]),
        ];
        for (line, expected) in cases {
            assert_eq!(&tokenize(line.as_bytes()), expected, "line {line:?}");
        }
    }

    #[test]
    fn non_ascii_outside_quotes_is_noticed() {
        assert!(tokenize_line("vendor X\u{e9}Y".as_bytes()).non_ascii);
        assert!(!tokenize_line("vendor \"X\u{e9}\"".as_bytes()).non_ascii);
        assert!(!tokenize_line("vendor X # \u{e9}".as_bytes()).non_ascii);
        assert!(tokenize_line("\u{a0}vendor X".as_bytes()).non_ascii);
    }

    #[test]
    fn glued_comments_are_noticed() {
        let cases = [
            ("alias san#b", true),
            ("alias san!b", true),
            ("polling_interval 5#x", true),
            ("polling_interval 5 #x", false),
            ("vendor \"a\"#x", false),
            ("vendor \"a#b\"", false),
            ("devices {#x", false),
            ("# whole line", false),
            ("x#", false),
            ("rr_min_io_rq 1# per request", false),
            ("rr_min_io_rq 1#per", true),
        ];
        for (line, glued) in cases {
            assert_eq!(
                tokenize_line(line.as_bytes()).glued_comment,
                glued,
                "{line:?}"
            );
        }
    }

    #[test]
    fn lines_numbered_and_crlf() {
        let got: Vec<(usize, &[u8])> = lines("a\r\n\nb\n")
            .map(|line| (line.number, line.bytes))
            .collect();
        assert_eq!(got, vec![(1, &b"a"[..]), (2, &b""[..]), (3, &b"b"[..])]);
        assert_eq!(lines("").count(), 0);
        assert_eq!(lines("x").count(), 1);
    }
}
