//! How keys and values are shown and typed: escaped text (`\xNN` for bytes that are
//! not printable ASCII) or, with `--hex`, plain hex.

use std::fmt::Write as _;

/// Shows bytes escaped: printable ASCII as is, `\\`, `\t`, `\n`, `\r`, else `\xNN`.
///
/// # Examples
/// ```
/// use quickcache_cli::escape::{escape, unescape};
/// assert_eq!(escape(b"a\\b\x00\xff\t"), r"a\\b\x00\xff\t");
/// assert_eq!(unescape(r"a\\b\x00\xff\t").unwrap(), b"a\\b\x00\xff\t");
/// ```
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// Reverses [`escape`]; other characters are taken as their UTF-8 bytes.
///
/// # Errors
/// A backslash not followed by `\`, `t`, `n`, `r` or `x` and two hex digits.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let byte = match chars.next().map(|(_, c)| c) {
            Some('\\') => b'\\',
            Some('t') => b'\t',
            Some('n') => b'\n',
            Some('r') => b'\r',
            Some('x') => {
                let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .ok_or_else(|| format!("bad \\x escape at byte {at} of {text:?}"))?
            }
            _ => return Err(format!("bad escape at byte {at} of {text:?}")),
        };
        out.push(byte);
    }
    Ok(out)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Hex instead of escaped text.
    pub hex: bool,
}

impl Format {
    /// Shows `bytes`.
    pub fn show(self, bytes: &[u8]) -> String {
        if self.hex {
            to_hex(bytes)
        } else {
            escape(bytes)
        }
    }

    /// Parses a typed argument.
    ///
    /// # Errors
    /// Bad hex or a bad escape, described.
    pub fn parse(self, text: &str) -> Result<Vec<u8>, String> {
        if self.hex {
            from_hex(text)
        } else {
            unescape(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_both_ways() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape(&all)), Ok(all.clone()));
        assert_eq!(from_hex(&to_hex(&all)), Ok(all));
    }

    #[test]
    fn bad_input_is_described() {
        assert!(unescape(r"\q").is_err());
        assert!(unescape(r"\x4").is_err());
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
    }

    #[test]
    fn unicode_text_is_taken_as_utf8() {
        assert_eq!(unescape("é"), Ok("é".as_bytes().to_vec()));
    }
}
