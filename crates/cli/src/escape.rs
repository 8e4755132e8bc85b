//! How keys and values are shown and typed: escaped text by default, plain hex with
//! `--hex`, or the bytes exactly as they are with `--raw`.
//!
//! The escaped text is meant to be read and pasted back:
//!
//! - shown: printable UTF-8 as itself; `\\`, `\t`, `\n`, `\r` for a backslash, tab,
//!   newline and carriage return; `\xNN` for every other byte (control characters,
//!   invisible formatting characters, bytes that are not UTF-8);
//! - typed: the same escapes are read back; a backslash that begins none of them
//!   (`back\slash`, `\x4`) stands for itself.

use std::fmt::Write as _;
use std::io;

/// Shows `bytes` as escaped text: see the module doc.
///
/// # Examples
/// ```
/// use quickcache_cli::escape::{escape, unescape};
/// assert_eq!(escape("héllo wörld".as_bytes()), "héllo wörld");
/// assert_eq!(escape(b"a\\b\x00\xff\t"), r"a\\b\x00\xff\t");
/// assert_eq!(unescape(r"a\\b\x00\xff\t"), b"a\\b\x00\xff\t");
/// ```
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c if shown_as_is(c) => out.push(c),
                c => {
                    let mut buf = [0; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        push_byte_escape(&mut out, b);
                    }
                }
            }
        }
        for &b in chunk.invalid() {
            push_byte_escape(&mut out, b);
        }
    }
    out
}

fn push_byte_escape(out: &mut String, b: u8) {
    let _ = write!(out, "\\x{b:02x}");
}

/// Whether `c` prints as itself: not a control character, and not one of the
/// invisible formatting characters that would hide or reorder what is shown (zero
/// width spaces and joiners, bidirectional controls, line and paragraph
/// separators, the byte order mark, the soft hyphen).
fn shown_as_is(c: char) -> bool {
    !c.is_control()
        && !matches!(
            c,
            '\u{00ad}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Reads escaped text back into bytes: `\\`, `\t`, `\n`, `\r` and `\xNN` (two hex
/// digits) are escapes; every other character, a lone backslash included, is taken
/// as its UTF-8 bytes. Never fails, so any text is a valid key.
///
/// # Examples
/// ```
/// use quickcache_cli::escape::unescape;
/// assert_eq!(unescape(r"back\slash"), b"back\\slash");
/// assert_eq!(unescape(r"back\\slash"), b"back\\slash");
/// assert_eq!(unescape(r"nul\x00 tab\t"), b"nul\x00 tab\t");
/// assert_eq!(unescape(r"\x4"), b"\\x4");
/// ```
pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let (byte, used) = match b {
            b'\\' => escape_at(bytes.get(at + 1..).unwrap_or_default()),
            _ => (b, 1),
        };
        out.push(byte);
        at += used;
    }
    out
}

/// The byte an escape after a backslash stands for, and the input bytes it used
/// (the backslash included); a lone backslash stands for itself.
fn escape_at(rest: &[u8]) -> (u8, usize) {
    match rest {
        [b'\\', ..] => (b'\\', 2),
        [b't', ..] => (b'\t', 2),
        [b'n', ..] => (b'\n', 2),
        [b'r', ..] => (b'\r', 2),
        [b'x', hi, lo, ..] => match (hex_digit(*hi), hex_digit(*lo)) {
            (Some(hi), Some(lo)) => (hi << 4 | lo, 4),
            _ => (b'\\', 1),
        },
        _ => (b'\\', 1),
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Lower-case hex of `bytes`.
///
/// # Examples
/// ```
/// assert_eq!(quickcache_cli::escape::to_hex(&[0x01, 0xab]), "01ab");
/// ```
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Parses hex (either case, even length).
///
/// # Errors
/// An odd length or a character that is not a hex digit.
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("hex {text:?} has an odd number of digits"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("{text:?} is not hex"))
        })
        .collect()
}

/// The chosen way to show and type bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// Escaped text ([`escape`], [`unescape`]).
    #[default]
    Text,
    /// Plain hex, both ways.
    Hex,
    /// Arguments taken exactly as typed, output written exactly as stored.
    Raw,
}

impl Format {
    /// The format the `--hex` and `--raw` flags ask for (clap keeps them apart).
    pub fn from_flags(hex: bool, raw: bool) -> Format {
        match (hex, raw) {
            (true, _) => Format::Hex,
            (false, true) => Format::Raw,
            (false, false) => Format::Text,
        }
    }

    /// Shows `bytes` as text: escaped, or hex. `Raw` cannot be held in a string and
    /// falls back to escaped text (for messages; output goes through
    /// [`Format::write`]).
    pub fn show(self, bytes: &[u8]) -> String {
        match self {
            Format::Hex => to_hex(bytes),
            Format::Text | Format::Raw => escape(bytes),
        }
    }

    /// Writes `bytes` to `out` as this format shows them (`Raw`: unchanged).
    ///
    /// # Errors
    /// The writer's.
    pub fn write(self, out: &mut dyn io::Write, bytes: &[u8]) -> io::Result<()> {
        match self {
            Format::Raw => out.write_all(bytes),
            _ => out.write_all(self.show(bytes).as_bytes()),
        }
    }

    /// Parses a typed argument.
    ///
    /// # Errors
    /// Bad hex, described (escaped text and raw arguments always parse).
    pub fn parse(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Format::Text => Ok(unescape(text)),
            Format::Hex => from_hex(text),
            Format::Raw => Ok(text.as_bytes().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_and_byte_pair_round_trips_both_ways() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape(&all)), all);
        assert_eq!(from_hex(&to_hex(&all)), Ok(all));
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(unescape(&escape(&[a, b])), [a, b], "{a:#x} {b:#x}");
            }
        }
    }

    #[test]
    fn printable_utf8_shows_as_itself_and_the_rest_is_escaped() {
        assert_eq!(escape("é 日本 🦀 a b".as_bytes()), "é 日本 🦀 a b");
        assert_eq!(escape("\u{7f}\u{85}".as_bytes()), r"\x7f\xc2\x85");
        assert_eq!(escape("a\u{202e}b".as_bytes()), r"a\xe2\x80\xaeb");
        assert_eq!(escape(b"\xc3"), r"\xc3", "a cut UTF-8 sequence");
        let text = "é\u{200b}\u{feff}\\";
        assert_eq!(unescape(&escape(text.as_bytes())), text.as_bytes());
    }

    #[test]
    fn backslashes_that_begin_no_escape_stand_for_themselves() {
        assert_eq!(unescape(r"\q"), b"\\q");
        assert_eq!(unescape(r"\x4"), b"\\x4");
        assert_eq!(unescape(r"\xzz"), b"\\xzz");
        assert_eq!(unescape("\\"), b"\\");
        assert_eq!(unescape(r"\xAb"), [0xab]);
    }

    #[test]
    fn bad_hex_is_described() {
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
    }

    #[test]
    fn raw_is_taken_and_written_unchanged() {
        assert_eq!(Format::Raw.parse(r"a\tb"), Ok(br"a\tb".to_vec()));
        let mut out = Vec::new();
        Format::Raw.write(&mut out, b"\x00\xff").unwrap();
        assert_eq!(out, b"\x00\xff");
    }
}
