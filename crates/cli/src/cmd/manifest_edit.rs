//! Decoding one manifest record (a version edit) for `dump-manifest`, as specified in
//! `docs/format/manifest.md`. The compaction crate's own decoder is crate-private,
//! so this reads the same fields for display only:
//!
//! ```text
//! | format version u8 = 1 | field | field | ... |
//! field = | tag u8 | body length u32 | body |
//! tag 1 log number u64, 2 next file u64, 3 last seqno u64,
//!     4 pointer: level u8 | internal key, 5 remove: level u8 | id u64,
//!     6 add: level u8 | id u64 | size u64 | min seqno u64 | max seqno u64 |
//!            entries u64 | tombstones u64 | smallest len u32 | smallest | largest
//! ```

use quickcache::compaction::EDIT_FORMAT;
use quickcache::sstable::KeyRef;

use crate::escape::Format;

/// Reads little-endian fields, naming the one that does not fit.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("{field} at byte {} runs past the end", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self, field: &str) -> Result<u8, String> {
        Ok(self.take(1, field)?[0])
    }

    fn u32(&mut self, field: &str) -> Result<u32, String> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, field: &str) -> Result<u64, String> {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8, field)?);
        Ok(u64::from_le_bytes(a))
    }

    fn rest(&mut self) -> &'a [u8] {
        let out = &self.bytes[self.at.min(self.bytes.len())..];
        self.at = self.bytes.len();
        out
    }
}

fn key(bytes: &[u8], format: Format) -> String {
    match KeyRef::decode(bytes) {
        Some(k) => format!("{}@{}", format.show(k.user_key), k.seqno),
        None => format!("<bad internal key {}>", format.show(bytes)),
    }
}

fn add_table(r: &mut Reader<'_>, format: Format) -> Result<String, String> {
    let level = r.u8("level")?;
    let id = r.u64("table id")?;
    let size = r.u64("size")?;
    let (min, max) = (r.u64("min seqno")?, r.u64("max seqno")?);
    let (entries, tombstones) = (r.u64("entries")?, r.u64("tombstones")?);
    let len = r.u32("smallest key length")? as usize;
    let smallest = key(r.take(len, "smallest key")?, format);
    let largest = key(r.rest(), format);
    Ok(format!(
        "add L{level} table {id}: {size} bytes, {entries} entries ({tombstones} tombstones), seqnos {min}..={max}, keys {smallest} .. {largest}"
    ))
}

fn field(tag: u8, body: &[u8], format: Format) -> Result<String, String> {
    let mut r = Reader { bytes: body, at: 0 };
    let line = match tag {
        1 => format!("log number {}", r.u64("log number")?),
        2 => format!("next file {}", r.u64("next file number")?),
        3 => format!("last seqno {}", r.u64("last sequence")?),
        4 => format!(
            "compaction pointer L{} {}",
            r.u8("level")?,
            key(r.rest(), format)
        ),
        5 => format!("remove L{} table {}", r.u8("level")?, r.u64("table id")?),
        6 => add_table(&mut r, format)?,
        other => return Err(format!("unknown field tag {other}")),
    };
    if r.at != body.len() {
        return Err(format!(
            "{} bytes left over after field tag {tag}",
            body.len() - r.at
        ));
    }
    Ok(line)
}

/// The edit's fields, one line each; the error says which field is damaged.
///
/// # Errors
/// A wrong format version, an unknown tag, a field that does not fit its body.
pub(crate) fn describe(edit: &[u8], format: Format) -> Result<Vec<String>, String> {
    let mut r = Reader { bytes: edit, at: 0 };
    let version = r.u8("format version")?;
    if version != EDIT_FORMAT {
        return Err(format!(
            "edit format version {version}, this build reads {EDIT_FORMAT}"
        ));
    }
    let mut lines = Vec::new();
    while r.at < edit.len() {
        let start = r.at;
        let tag = r.u8("field tag")?;
        let len = r.u32("field length")? as usize;
        let body = r.take(len, "field body")?;
        lines.push(field(tag, body, format).map_err(|e| format!("field at byte {start}: {e}"))?);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fieldbytes(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn numbers_and_removals_decode() {
        let mut edit = vec![EDIT_FORMAT];
        edit.extend(fieldbytes(1, &7u64.to_le_bytes()));
        let mut remove = vec![2];
        remove.extend_from_slice(&42u64.to_le_bytes());
        edit.extend(fieldbytes(5, &remove));
        let text = Format { hex: false };
        assert_eq!(
            describe(&edit, text),
            Ok(vec!["log number 7".into(), "remove L2 table 42".into()])
        );
    }

    #[test]
    fn damage_is_named_never_panics() {
        let text = Format { hex: false };
        assert!(describe(&[9], text).is_err_and(|e| e.contains("version 9")));
        let truncated = [EDIT_FORMAT, 1, 8, 0, 0, 0, 1, 2];
        assert!(describe(&truncated, text).is_err_and(|e| e.contains("field body")));
        let unknown = [EDIT_FORMAT, 0, 0, 0, 0, 0];
        assert!(describe(&unknown, text).is_err_and(|e| e.contains("tag 0")));
    }
}
