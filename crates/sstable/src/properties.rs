//! The properties block: what a table holds, for the engine's manifest and for checks.
//!
//! ```text
//! +0   format version u32
//! +4   entry count u64          +12  tombstone count u64
//! +20  data block count u64
//! +28  raw key bytes u64        +36  raw value bytes u64   (user keys and values as given)
//! +44  smallest seqno u64       +52  largest seqno u64
//! +60  smallest key length u32, smallest key (encoded internal key)
//! ...  largest key length u32, largest key (encoded internal key)
//! ```
//!
//! All integers little-endian. An empty table stores zero counts, zero seqnos and
//! zero-length keys. Followed by the usual block trailer.

use crate::footer::{FORMAT_VERSION, OLDEST_READABLE_VERSION};
use crate::wire::{self, Reader, WireResult};
use crate::{InternalKey, KeyRef, SeqNo};

/// What a table holds. Written into the table and returned by the builder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties {
    /// The table format version.
    pub format_version: u32,
    /// Number of entries, tombstones included.
    pub entry_count: u64,
    /// Number of tombstones.
    pub tombstone_count: u64,
    /// Number of data blocks.
    pub data_block_count: u64,
    /// Sum of the user keys' lengths.
    pub raw_key_bytes: u64,
    /// Sum of the values' lengths.
    pub raw_value_bytes: u64,
    /// The smallest sequence number of any entry (0 when empty).
    pub smallest_seqno: SeqNo,
    /// The largest sequence number of any entry (0 when empty).
    pub largest_seqno: SeqNo,
    /// The first key; `None` iff the table is empty.
    pub smallest_key: Option<InternalKey>,
    /// The last key; `None` iff the table is empty.
    pub largest_key: Option<InternalKey>,
}

impl Properties {
    /// Appends the encoded properties.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.format_version.to_le_bytes());
        for n in [
            self.entry_count,
            self.tombstone_count,
            self.data_block_count,
            self.raw_key_bytes,
            self.raw_value_bytes,
            self.smallest_seqno.get(),
            self.largest_seqno.get(),
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for key in [&self.smallest_key, &self.largest_key] {
            let start = out.len();
            out.extend_from_slice(&[0; 4]);
            if let Some(k) = key {
                k.as_ref().encode_into(out);
            }
            let len = (out.len() - start - 4) as u32;
            out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        }
    }

    /// Decodes properties from exactly `buf`.
    pub(crate) fn decode(buf: &[u8]) -> WireResult<Properties> {
        let mut r = Reader::new(buf);
        let format_version = r.u32_le("format version")?;
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&format_version) {
            return Err(wire::bad(0, "format version", "unsupported"));
        }
        let p = Properties {
            format_version,
            entry_count: r.u64_le("entry count")?,
            tombstone_count: r.u64_le("tombstone count")?,
            data_block_count: r.u64_le("data block count")?,
            raw_key_bytes: r.u64_le("raw key bytes")?,
            raw_value_bytes: r.u64_le("raw value bytes")?,
            smallest_seqno: seqno(&mut r, "smallest seqno")?,
            largest_seqno: seqno(&mut r, "largest seqno")?,
            smallest_key: key(&mut r, "smallest key")?,
            largest_key: key(&mut r, "largest key")?,
        };
        if !r.is_empty() {
            return Err(wire::bad(r.pos(), "properties", "trailing bytes"));
        }
        p.check(r.pos())?;
        Ok(p)
    }

    /// Checks that the fields agree with each other.
    fn check(&self, end: usize) -> WireResult<()> {
        let empty = self.entry_count == 0;
        let consistent = self.tombstone_count <= self.entry_count
            && self.smallest_seqno <= self.largest_seqno
            && self.smallest_key.is_none() == empty
            && self.largest_key.is_none() == empty
            && (self.data_block_count == 0) == empty
            && self.smallest_key <= self.largest_key;
        if consistent {
            Ok(())
        } else {
            Err(wire::bad(end, "properties", "fields contradict each other"))
        }
    }
}

/// A sequence number, which must not exceed [`SeqNo::MAX`].
fn seqno(r: &mut Reader<'_>, field: &'static str) -> WireResult<SeqNo> {
    let at = r.pos();
    SeqNo::new(r.u64_le(field)?).ok_or_else(|| wire::bad(at, field, "exceeds the largest seqno"))
}

/// A key: its length as a `u32`, then the encoded internal key; length 0 is none.
fn key(r: &mut Reader<'_>, field: &'static str) -> WireResult<Option<InternalKey>> {
    let len = r.u32_le(field)? as usize;
    let at = r.pos();
    let bytes = r.bytes(len, field)?;
    if len == 0 {
        return Ok(None);
    }
    let key = KeyRef::decode(bytes).ok_or_else(|| wire::bad(at, field, "not an internal key"))?;
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValueKind;

    fn sample() -> Properties {
        let seq = |n| SeqNo::new(n).unwrap();
        Properties {
            format_version: FORMAT_VERSION,
            entry_count: 3,
            tombstone_count: 1,
            data_block_count: 1,
            raw_key_bytes: 7,
            raw_value_bytes: 9,
            smallest_seqno: seq(4),
            largest_seqno: seq(9),
            smallest_key: Some(InternalKey::new(*b"a", seq(9), ValueKind::Value)),
            largest_key: Some(InternalKey::new(*b"zz", seq(4), ValueKind::Tombstone)),
        }
    }

    #[test]
    fn round_trips() {
        for p in [
            sample(),
            Properties {
                format_version: FORMAT_VERSION,
                ..Properties::default()
            },
        ] {
            let mut out = Vec::new();
            p.encode(&mut out);
            assert_eq!(Properties::decode(&out), Ok(p));
        }
    }

    #[test]
    fn refuses_truncation_and_contradictions() {
        let mut out = Vec::new();
        sample().encode(&mut out);
        for len in 0..out.len() {
            assert!(
                Properties::decode(&out[..len]).is_err(),
                "prefix {len} accepted"
            );
        }
        let mut bad = sample();
        bad.tombstone_count = 4;
        out.clear();
        bad.encode(&mut out);
        assert!(Properties::decode(&out).is_err());
    }
}
