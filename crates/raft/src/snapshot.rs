//! The snapshot data format: every state-machine key and value, checksummed.
//!
//! ```text
//! +----------+-------------+----------------------------------------+-----------+
//! | magic    | count       | count × entry                          | checksum  |
//! | 8 bytes  | u64 LE      | key len u32 LE | key | val len u32 LE | val | xxh3-64 LE |
//! +----------+-------------+----------------------------------------+-----------+
//! ```
//!
//! `magic` is `QCRSNAP1` (the trailing digit is the format version, bumped on any
//! change). The checksum covers every byte before it. Entries are in key order. The
//! snapshot's metadata (last log id, membership, id) travels beside the data, as
//! openraft's `SnapshotMeta`, so it is not part of this format. Decoding checks every
//! length against the bytes left and never panics.

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Result, SnapshotFormatSnafu};

const MAGIC: &[u8; 8] = b"QCRSNAP1";
const CHECKSUM_LEN: usize = 8;

/// Builds the snapshot data of a sequence of key-value pairs given in key order.
#[derive(Debug)]
pub(crate) struct SnapshotWriter {
    buf: Vec<u8>,
    count: u64,
}

impl SnapshotWriter {
    pub(crate) fn new() -> SnapshotWriter {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&0u64.to_le_bytes());
        SnapshotWriter { buf, count: 0 }
    }

    /// Appends one pair.
    ///
    /// # Errors
    /// If the key or value is longer than `u32::MAX` bytes (the database refuses such
    /// records long before, so this does not happen in practice).
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        for field in [key, value] {
            let len = u32::try_from(field.len()).ok();
            let len = len.ok_or_else(|| {
                SnapshotFormatSnafu {
                    reason: "key or value over 4 GiB",
                }
                .build()
            })?;
            self.buf.extend_from_slice(&len.to_le_bytes());
            self.buf.extend_from_slice(field);
        }
        self.count += 1;
        Ok(())
    }

    /// The finished data: the count patched in, the checksum appended.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf[MAGIC.len()..MAGIC.len() + 8].copy_from_slice(&self.count.to_le_bytes());
        let checksum = xxh3_64(&self.buf);
        self.buf.extend_from_slice(&checksum.to_le_bytes());
        self.buf
    }
}

/// The pairs of snapshot data, after its magic and checksum have been verified.
pub(crate) fn decode(data: &[u8]) -> Result<Vec<(&[u8], &[u8])>> {
    let Some(body_len) = data.len().checked_sub(CHECKSUM_LEN) else {
        return fail(format!("{} bytes is shorter than the checksum", data.len()));
    };
    let (body, stored) = data.split_at(body_len);
    let stored = u64::from_le_bytes(fixed(stored, "checksum")?);
    let actual = xxh3_64(body);
    if stored != actual {
        return fail(format!(
            "checksum mismatch: stored {stored:#018x}, computed {actual:#018x}"
        ));
    }
    let mut reader = Reader { rest: body };
    if reader.take(MAGIC.len(), "magic")? != MAGIC {
        return fail(
            "unknown magic (not a quickcache-raft snapshot, or a newer format)".to_owned(),
        );
    }
    let count = u64::from_le_bytes(fixed(reader.take(8, "entry count")?, "entry count")?);
    // Each entry takes at least its two 4-byte lengths: a count beyond that is damage,
    // caught before it sizes an allocation.
    if count > (reader.rest.len() / 8) as u64 {
        return fail(format!(
            "entry count {count} does not fit in {} bytes",
            reader.rest.len()
        ));
    }
    let mut pairs = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let key = reader.field("key")?;
        let value = reader.field("value")?;
        pairs.push((key, value));
    }
    if !reader.rest.is_empty() {
        return fail(format!("{} bytes after the last entry", reader.rest.len()));
    }
    Ok(pairs)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, field: &str) -> Result<&'a [u8]> {
        if len > self.rest.len() {
            return fail(format!(
                "{field}: needs {len} bytes, {} left",
                self.rest.len()
            ));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    /// A length-prefixed field.
    fn field(&mut self, field: &str) -> Result<&'a [u8]> {
        let len = u32::from_le_bytes(fixed(self.take(4, field)?, field)?);
        self.take(len as usize, field)
    }
}

fn fixed<const N: usize>(bytes: &[u8], field: &str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| {
        SnapshotFormatSnafu {
            reason: format!("{field}: expected {N} bytes"),
        }
        .build()
    })
}

fn fail<T>(reason: String) -> Result<T> {
    SnapshotFormatSnafu { reason }.fail()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut writer = SnapshotWriter::new();
        writer.add(b"a", b"1").unwrap();
        writer.add(b"", b"").unwrap();
        writer.add(b"key", &[0xff; 300]).unwrap();
        writer.finish()
    }

    #[test]
    fn round_trips() {
        let data = sample();
        let pairs = decode(&data).unwrap();
        assert_eq!(
            pairs,
            [
                (&b"a"[..], &b"1"[..]),
                (b"", b""),
                (b"key", &[0xff; 300][..])
            ]
        );
        let empty = SnapshotWriter::new().finish();
        assert!(decode(&empty).unwrap().is_empty());
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let data = sample();
        for at in 0..data.len() {
            let mut damaged = data.clone();
            damaged[at] ^= 0x40;
            assert!(decode(&damaged).is_err(), "flip at {at} went unnoticed");
        }
    }

    #[test]
    fn every_truncation_is_caught() {
        let data = sample();
        for len in 0..data.len() {
            assert!(
                decode(&data[..len]).is_err(),
                "truncation to {len} went unnoticed"
            );
        }
    }

    #[test]
    fn a_bad_body_under_a_good_checksum_is_refused_without_panicking() {
        // Forge the checksum over a body whose count promises more than it holds.
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        body.extend_from_slice(&[0; 16]);
        let mut data = body.clone();
        data.extend_from_slice(&xxh3_64(&body).to_le_bytes());
        let error = decode(&data).unwrap_err();
        assert!(error.to_string().contains("entry count"), "{error}");
    }
}
