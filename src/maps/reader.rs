//! A small JSON pull reader for multipathd's output.
//!
//! ```text
//! {"maps": [{"name" : "labmp0", "paths" : 1, "path_groups": [{"paths": [{"dev" : "sda"}]}]}]}
//! ```
//!
//! Strict JSON (RFC 8259) as serde_json reads it, but walked in place: the
//! caller asks for the fields it knows and everything else is skipped
//! without being built, and strings borrow from the input unless they carry
//! escapes. On a thousand maps this is several times faster than deriving
//! the structure with serde, which matters because pvestatd parses the maps
//! on every pass. Errors carry the byte offset; [`Error::locate`] turns it
//! into line and column.

use std::borrow::Cow;
use std::fmt;

/// Nesting deeper than this is refused (serde_json's limit too).
const MAX_DEPTH: usize = 128;

#[derive(Debug)]
pub struct Error {
    pub offset: usize,
    pub what: Cow<'static, str>,
    /// The input ended inside a value.
    pub eof: bool,
}

impl Error {
    /// 1-based line and column (in characters) of the offset.
    pub fn locate(&self, text: &str) -> (usize, usize) {
        let offset = self.offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(0, |at| at + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        (line, column)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

/// Boxed: the reader's functions, called for every token, then return
/// their results in registers rather than through memory.
pub type Result<T> = std::result::Result<T, Box<Error>>;

/// The length of the plain run at the start of a string's body: up to the
/// first `"`, `\\` or control byte (`None`: none before the end). Eight
/// bytes at a time: on little-endian words the first such byte is the
/// lowest flagged one.
fn string_run(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let special = has_zero(word ^ (ONES * u64::from(b'"')))
            | has_zero(word ^ (ONES * u64::from(b'\\')))
            // a byte below 0x20 (bytes of 0x80 and above are never flagged)
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS);
        if special != 0 {
            // the lowest flagged byte is a true match (false flags only
            // ever follow one)
            return Some(at + (special.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .map(|run| at + run)
}

/// The high bit of each byte of `word` that is not JSON white space
/// (exact: no byte is flagged for its neighbour's sake).
fn non_space(word: u64) -> u64 {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let nonzero = |x: u64| ((x & LOWS).wrapping_add(LOWS) | x) & !LOWS;
    nonzero(word ^ (ONES * u64::from(b' ')))
        & nonzero(word ^ (ONES * u64::from(b'\n')))
        & nonzero(word ^ (ONES * u64::from(b'\r')))
        & nonzero(word ^ (ONES * u64::from(b'\t')))
}

/// At most 40 characters of `text`, for a message.
fn quote(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// A key of at most 15 bytes as one number, its bytes and its length, so
/// that a `match` over the known keys of an object compares numbers, not
/// strings (multipathd's keys are all short; a longer key, or an empty
/// one, is 0, which no known key is).
pub const fn key_code(key: &str) -> u128 {
    let bytes = key.as_bytes();
    if bytes.len() > 15 {
        return 0;
    }
    let mut code = (bytes.len() as u128) << 120;
    let mut at = 0;
    while at < bytes.len() {
        code |= (bytes[at] as u128) << (8 * at);
        at += 1;
    }
    code
}

/// The low `n` bytes of a word, for `n` up to 15 (a table: a variable
/// shift of 128 bits is a branchy sequence).
const KEY_MASKS: [u128; 16] = {
    let mut masks = [0u128; 16];
    let mut n = 1;
    while n < 16 {
        masks[n] = (1u128 << (8 * n)) - 1;
        n += 1;
    }
    masks
};

/// An object's key, as text (for messages) and as its [`key_code`].
#[derive(Clone, Copy)]
pub struct Key<'k> {
    pub text: &'k str,
    pub code: u128,
}

/// A scalar where a string is expected: multipathd prints numbers for some.
pub enum Scalar<'a> {
    Null,
    Text(Cow<'a, str>),
    Number(&'a str),
    Bool(bool),
}

pub struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    #[cold]
    fn error(&self, what: impl Into<Cow<'static, str>>) -> Box<Error> {
        Box::new(Error {
            offset: self.pos,
            what: what.into(),
            eof: self.pos >= self.bytes.len(),
        })
    }

    #[cold]
    fn unexpected(&self, expected: &str) -> Box<Error> {
        match self.bytes.get(self.pos) {
            None => self.error(format!("output ends where {expected} was expected")),
            Some(&byte) if byte.is_ascii_graphic() => {
                self.error(format!("expected {expected}, found '{}'", byte as char))
            }
            Some(&byte) => self.error(format!("expected {expected}, found byte {byte:#04x}")),
        }
    }

    /// Inlined for the usual case, a value right here.
    #[inline(always)]
    fn skip_space(&mut self) {
        if self.bytes.get(self.pos).is_some_and(|&byte| byte <= b' ') {
            // one space, as around every ':', or a newline and up to 15
            // spaces of indentation, as before every key, without a call
            if let Some(&[first, next]) = self.bytes.get(self.pos..self.pos + 2) {
                if first == b' ' && next > b' ' {
                    self.pos += 1;
                    return;
                }
                if first == b'\n' {
                    if let Some(at) = self.indentation_end(self.pos + 1) {
                        self.pos = at;
                        return;
                    }
                }
            }
            self.skip_space_run();
        }
    }

    /// Where the spaces from `from` end, if within 16 bytes and followed
    /// by a token.
    #[inline(always)]
    fn indentation_end(&self, from: usize) -> Option<usize> {
        const SPACES: u64 = u64::from_le_bytes(*b"        ");
        let window = self.bytes.get(from..from + 16)?;
        let low = u64::from_le_bytes(window[..8].try_into().expect("eight bytes")) ^ SPACES;
        let at = if low != 0 {
            from + (low.trailing_zeros() / 8) as usize
        } else {
            let high = u64::from_le_bytes(window[8..].try_into().expect("eight bytes")) ^ SPACES;
            if high == 0 {
                return None;
            }
            from + 8 + (high.trailing_zeros() / 8) as usize
        };
        (self.bytes[at] > b' ').then_some(at)
    }

    /// Mostly a single space, or a newline and an indentation of a dozen
    /// spaces (eight at a time); any other white space word by word.
    #[inline(never)]
    fn skip_space_run(&mut self) {
        if let Some(&[b' ', next]) = self.bytes.get(self.pos..self.pos + 2) {
            if next > b' ' {
                self.pos += 1;
                return;
            }
        }
        if self.bytes.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            const SPACES: u64 = u64::from_le_bytes(*b"        ");
            while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
                let other = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ SPACES;
                if other != 0 {
                    // the first byte that is no space, found at once
                    self.pos += (other.trailing_zeros() / 8) as usize;
                    break;
                }
                self.pos += 8;
            }
            while self.bytes.get(self.pos) == Some(&b' ') {
                self.pos += 1;
            }
            if self.bytes.get(self.pos).is_none_or(|&byte| byte > b' ') {
                return;
            }
        }
        // anything else, eight bytes at a time
        while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let solid = non_space(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
            if solid != 0 {
                self.pos += (solid.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Nothing but white space may follow the document.
    pub fn finish(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.unexpected("the end of the output")),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(())
    }

    /// Walk an object, handing each key to `field`, which must consume the
    /// value (or call [`Reader::skip`]).
    pub fn object(&mut self, mut field: impl FnMut(&mut Self, Key) -> Result<()>) -> Result<()> {
        if !self.eat(b'{') {
            return Err(self.unexpected("an object"));
        }
        self.enter()?;
        if !self.eat(b'}') {
            loop {
                if self.peek() != Some(b'"') {
                    return Err(self.unexpected("a key in double quotes"));
                }
                let key = self.string()?;
                let code = self.code_of(&key);
                if !self.eat(b':') {
                    return Err(self.unexpected("':'"));
                }
                field(self, Key { text: &key, code })?;
                if self.eat(b',') {
                    continue;
                }
                if self.eat(b'}') {
                    break;
                }
                return Err(self.unexpected("',' or '}'"));
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// [`key_code`] of a key just read: one borrowed from the input (not
    /// unescaped) with 16 bytes of input from its start is one load and a
    /// mask.
    #[inline(always)]
    fn code_of(&self, key: &str) -> u128 {
        let start = (key.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
        if start < self.bytes.len() {
            if let Some(window) = self.bytes.get(start..start + 16) {
                let len = key.len();
                if len <= 15 {
                    let word = u128::from_le_bytes(window.try_into().expect("16 bytes"));
                    return (word & KEY_MASKS[len]) | ((len as u128) << 120);
                }
                return 0;
            }
        }
        key_code(key)
    }

    /// The error for a key given twice in one object, at its value.
    #[cold]
    pub fn duplicate(&self, key: &str) -> Box<Error> {
        self.error(format!("duplicate key '{}'", quote(key)))
    }

    /// Walk an array, `item` consuming each element.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        if !self.eat(b'[') {
            return Err(self.unexpected("a list"));
        }
        self.enter()?;
        if !self.eat(b']') {
            loop {
                item(self)?;
                if self.eat(b',') {
                    continue;
                }
                if self.eat(b']') {
                    break;
                }
                return Err(self.unexpected("',' or ']'"));
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// True (and consumed) when the next value is `null`.
    pub fn null(&mut self) -> Result<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.literal("null")?;
        Ok(true)
    }

    fn literal(&mut self, word: &str) -> Result<()> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else if word.as_bytes().starts_with(&self.bytes[self.pos..]) {
            self.pos = self.bytes.len();
            Err(self.error(format!("output ends inside '{word}'")))
        } else {
            Err(self.unexpected("a value"))
        }
    }

    /// A string, borrowed unless it has escapes. The usual case (a plain
    /// string right here) is inlined; anything else takes the long way.
    #[inline(always)]
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() == Some(b'"') {
            let start = self.pos + 1;
            if let Some(run) = string_run(&self.bytes[start..]) {
                let end = start + run;
                if self.bytes[end] == b'"' {
                    self.pos = end + 1;
                    return Ok(Cow::Borrowed(&self.text[start..end]));
                }
            }
        }
        self.string_slow()
    }

    #[inline(never)]
    fn string_slow(&mut self) -> Result<Cow<'a, str>> {
        if !self.eat(b'"') {
            return Err(self.unexpected("a string"));
        }
        let start = self.pos;
        let run = string_run(&self.bytes[start..]);
        let Some(run) = run else {
            self.pos = self.bytes.len();
            return Err(self.error("output ends inside a string"));
        };
        self.pos += run;
        match self.bytes[self.pos] {
            b'"' => {
                let text = &self.text[start..self.pos];
                self.pos += 1;
                Ok(Cow::Borrowed(text))
            }
            b'\\' => self.escaped_string(start),
            _ => Err(self.error("control character in a string")),
        }
    }

    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize) -> Result<Cow<'a, str>> {
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(self.error("output ends inside a string"));
            };
            match byte {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&kind) = self.bytes.get(self.pos) else {
                        return Err(self.error("output ends inside a string"));
                    };
                    self.pos += 1;
                    out.push(match kind {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("invalid escape in a string"));
                        }
                    });
                }
                0..=0x1f => return Err(self.error("control character in a string")),
                _ => {
                    // copy the run up to the next quote or backslash at once
                    let run = self.bytes[self.pos..]
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                        .unwrap_or(self.bytes.len() - self.pos);
                    out.push_str(&self.text[self.pos..self.pos + run]);
                    self.pos += run;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))
    }

    fn unicode_escape(&mut self) -> Result<char> {
        let first = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&first) {
            if !self.bytes[self.pos..].starts_with(b"\\u") {
                return Err(self.error("lone surrogate in \\u escape"));
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xdc00..0xe000).contains(&second) {
                return Err(self.error("lone surrogate in \\u escape"));
            }
            0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("lone surrogate in \\u escape"))
    }

    /// A JSON number's text.
    fn number(&mut self) -> Result<&'a str> {
        let start = self.pos;
        let digits = |reader: &mut Self| {
            let from = reader.pos;
            while reader.bytes.get(reader.pos).is_some_and(u8::is_ascii_digit) {
                reader.pos += 1;
            }
            reader.pos > from
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let first = self.pos;
        if !digits(self) {
            return Err(self.unexpected("a digit"));
        }
        if self.bytes[first] == b'0' && self.pos > first + 1 {
            self.pos = first;
            return Err(self.error("number with a leading zero"));
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.unexpected("a digit"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.unexpected("a digit"));
            }
        }
        Ok(&self.text[start..self.pos])
    }

    /// Any scalar; objects and lists are an error.
    pub fn scalar(&mut self) -> Result<Scalar<'a>> {
        match self.peek() {
            Some(b'"') => Ok(Scalar::Text(self.string()?)),
            Some(b'n') => self.literal("null").map(|_| Scalar::Null),
            Some(b't') => self.literal("true").map(|_| Scalar::Bool(true)),
            Some(b'f') => self.literal("false").map(|_| Scalar::Bool(false)),
            Some(b'-' | b'0'..=b'9') => Ok(Scalar::Number(self.number()?)),
            _ => Err(self.unexpected("a string or a number")),
        }
    }

    /// A text field; numbers and booleans are taken as their text.
    #[inline]
    pub fn text(&mut self) -> Result<Option<Cow<'a, str>>> {
        // the usual case first
        if self.peek() == Some(b'"') {
            return self.string().map(Some);
        }
        Ok(match self.scalar()? {
            Scalar::Null => None,
            Scalar::Text(text) => Some(text),
            Scalar::Number(text) => Some(Cow::Borrowed(text)),
            Scalar::Bool(flag) => Some(Cow::Borrowed(if flag { "true" } else { "false" })),
        })
    }

    /// An integer field; a numeric string counts, anything else (such as
    /// `[undef]`) is "not set".
    pub fn int(&mut self) -> Result<Option<i64>> {
        Ok(match self.scalar()? {
            Scalar::Number(text) => text
                .parse::<i64>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().map(|float| float as i64)),
            Scalar::Text(text) => text.trim().parse().ok(),
            Scalar::Null | Scalar::Bool(_) => None,
        })
    }

    /// Skip a scalar, refusing what [`Reader::scalar`] refuses; a string
    /// (the usual case) without making its value.
    pub fn skip_scalar(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return self.scalar().map(|_| ());
        }
        self.pos += 1;
        let start = self.pos;
        let Some(run) = string_run(&self.bytes[start..]) else {
            self.pos = self.bytes.len();
            return Err(self.error("output ends inside a string"));
        };
        self.pos += run;
        match self.bytes[self.pos] {
            b'"' => {
                self.pos += 1;
                Ok(())
            }
            b'\\' => self.escaped_string(start).map(|_| ()),
            _ => Err(self.error("control character in a string")),
        }
    }

    /// Skip any value.
    pub fn skip(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'{') => self.object(|reader, _| reader.skip()),
            Some(b'[') => self.array(|reader| reader.skip()),
            _ => self.scalar().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{non_space, string_run};

    #[test]
    fn any_white_space_between_tokens_reads_alike() {
        let spaces = [
            "",
            " ",
            "\n",
            "\n            ",
            "\n                 ",
            "\t",
            "\r\n  \t ",
            " \n",
            "          \n",
            "\n \n",
            "\n        ",
            "\n                ",
            "\n   \t",
            "\n           \n  ",
        ];
        for space in spaces {
            let text = format!(
                "{space}{{{space}\"a\"{space}:{space}[{space}1{space},{space}\"x\"{space}]{space}}}{space}"
            );
            let mut reader = super::Reader::new(&text);
            assert!(reader.skip().is_ok(), "{text:?}");
            assert!(reader.finish().is_ok(), "{text:?}");
        }
        let mut reader = super::Reader::new("{\"a\" :\u{b} 1}");
        assert!(
            reader.skip().is_err(),
            "a vertical tab is no JSON white space"
        );
    }

    #[test]
    fn a_key_read_has_the_code_of_its_text() {
        let keys = [
            "",
            "a",
            "dev",
            "dm_st",
            "host_adapter",
            "fifteen_bytes__",
            "sixteen_bytes___",
            "dev\\u0000",
            "d\\u00e9v",
            "x",
        ];
        for key in keys {
            // at the end of the input, and with more input after it
            for tail in ["", ", \"padding\" : \"................\""] {
                let text = format!("{{\"{key}\" : 1{tail}}}");
                let mut reader = super::Reader::new(&text);
                let mut seen = Vec::new();
                reader
                    .object(|reader, key| {
                        seen.push((key.text.to_string(), key.code));
                        reader.skip()
                    })
                    .unwrap();
                let (text, code) = &seen[0];
                assert_eq!(*code, super::key_code(text), "{key:?}");
            }
        }
        assert_ne!(super::key_code("dev"), super::key_code("dev\0"));
        assert_eq!(super::key_code("sixteen_bytes___"), 0);
        assert_eq!(super::key_code(""), 0);
        assert_ne!(super::key_code("a"), 0);
    }

    #[test]
    fn the_word_white_space_test_flags_exactly_the_other_bytes() {
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut word = *b"  \n\t\r   ";
                word[at] = byte;
                let flags = non_space(u64::from_le_bytes(word));
                let expected = if matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                    0
                } else {
                    0x80 << (8 * at)
                };
                assert_eq!(flags, expected, "byte {byte:#04x} at {at}");
            }
        }
    }

    #[test]
    fn the_word_scan_finds_what_the_byte_scan_finds() {
        let naive = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let alphabet = [
            b'a', b' ', b'"', b'\\', 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xc3, 0xff, 0,
        ];
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|index| {
                    let pick = (seed >> (index % 60)) as usize;
                    // mostly plain text, now and then a special byte
                    if pick % 7 < 1 {
                        alphabet[pick / 7 % alphabet.len()]
                    } else {
                        b'a' + (pick % 26) as u8
                    }
                })
                .collect();
            assert_eq!(string_run(&bytes), naive(&bytes), "{bytes:?}");
        }
    }
}
