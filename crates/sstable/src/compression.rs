//! Block compression: the compression type a block's trailer names, and the codec that
//! turns a block's contents into the bytes stored in the file and back.
//!
//! A compressed block's stored contents (what its handle covers, and its checksum):
//!
//! ```text
//! +----------------------------+------------------------------------------+
//! | raw length varint32        | lz4 block / zstd frame of the raw bytes  |
//! +----------------------------+------------------------------------------+
//! ```
//!
//! The raw length is stated up front so that the reader allocates exactly that much,
//! after checking it against [`MAX_RAW_LEN`] (and, for lz4, against the largest
//! expansion the compressed length allows), and decompresses into that buffer and no
//! further: a damaged or hostile length can neither make it allocate more nor write
//! past the buffer. The decompressed bytes must fill the buffer exactly.
//!
//! Only data blocks are compressed; the filter, index and properties blocks are
//! always stored as is (they are read in place from the map). A block is stored
//! compressed only if that saves at least an eighth of it (as RocksDB does);
//! otherwise its trailer says `None` and it is read in place like any other.

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

use crate::wire::{self, WireError, WireResult};

/// How a block's contents are stored: the byte in its trailer. Persisted; 0 is
/// reserved (a zero-filled region never passes as a block).
///
/// # Examples
/// ```
/// use quickcache_sstable::Compression;
///
/// assert_eq!("lz4".parse::<Compression>(), Ok(Compression::Lz4));
/// assert_eq!(Compression::Zstd.to_string(), "zstd");
/// assert_eq!(Compression::from_byte(1), Some(Compression::None));
/// assert_eq!(Compression::from_byte(0), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Compression {
    /// Stored as is, read in place from the map.
    #[default]
    None = 1,
    /// An lz4 block (`lz4_flex`), after the raw length.
    Lz4 = 2,
    /// A zstd frame (the `zstd` crate, level [`ZSTD_LEVEL`]), after the raw length.
    Zstd = 3,
}

/// The zstd level blocks are compressed at: zstd's own default, which RocksDB uses too.
pub const ZSTD_LEVEL: i32 = 3;

/// The largest raw block a compressed block may state (64 MiB). Larger blocks (a
/// single huge value) are stored uncompressed, so a reader never allocates more than
/// this for one block, whatever the stored length says.
pub const MAX_RAW_LEN: usize = 64 << 20;

/// The largest expansion of lz4: a run of 255-byte length extensions, each byte adding
/// 255 bytes of output. A stated length above `compressed * LZ4_MAX_RATIO + 64` cannot
/// be true and is refused before allocating.
const LZ4_MAX_RATIO: usize = 255;

impl Compression {
    /// The compression a trailer byte names; `None` for 0 and unknown values.
    pub fn from_byte(byte: u8) -> Option<Compression> {
        match byte {
            1 => Some(Compression::None),
            2 => Some(Compression::Lz4),
            3 => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The name `FromStr` accepts: "none", "lz4" or "zstd".
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A compression name that is not "none", "lz4" or "zstd".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCompression(pub String);

impl fmt::Display for UnknownCompression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown compression {:?} (none, lz4, zstd)", self.0)
    }
}

impl std::error::Error for UnknownCompression {}

impl FromStr for Compression {
    type Err = UnknownCompression;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Compression::None),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            other => Err(UnknownCompression(other.to_string())),
        }
    }
}

thread_local! {
    /// One zstd context per thread for each direction: creating one allocates a few
    /// hundred KiB, too much to do per block.
    static ZSTD_C: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static ZSTD_D: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Appends the stored form of `raw` compressed with `kind` to `out` and returns
/// `true`, or appends nothing and returns `false` when it would not save an eighth of
/// `raw` (or `kind` is `None`, or `raw` is over [`MAX_RAW_LEN`]): the caller then
/// stores `raw` as is.
pub(crate) fn compress(kind: Compression, raw: &[u8], out: &mut Vec<u8>) -> bool {
    if kind == Compression::None || raw.len() > MAX_RAW_LEN {
        return false;
    }
    let start = out.len();
    wire::put_varint(out, raw.len() as u64);
    let body = out.len();
    let written = match kind {
        Compression::None => None,
        Compression::Lz4 => lz4_into(raw, out, body),
        Compression::Zstd => zstd_into(raw, out, body),
    };
    let worth = written.is_some_and(|n| body - start + n <= raw.len() - raw.len() / 8);
    match (written, worth) {
        (Some(n), true) => out.truncate(body + n),
        _ => out.truncate(start),
    }
    worth
}

/// Compresses `raw` with lz4 into `out[body..]`, grown for the worst case; the length
/// written.
fn lz4_into(raw: &[u8], out: &mut Vec<u8>, body: usize) -> Option<usize> {
    out.resize(
        body + lz4_flex::block::get_maximum_output_size(raw.len()),
        0,
    );
    lz4_flex::block::compress_into(raw, &mut out[body..]).ok()
}

/// Compresses `raw` with zstd into `out[body..]`, grown for the worst case; the length
/// written, `None` if zstd failed (it only fails on allocation).
fn zstd_into(raw: &[u8], out: &mut Vec<u8>, body: usize) -> Option<usize> {
    out.resize(body + zstd::zstd_safe::compress_bound(raw.len()), 0);
    ZSTD_C.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
        }
        let c = slot.as_mut()?;
        c.compress_to_buffer(raw, &mut out[body..]).ok()
    })
}

/// Decompresses the stored contents of a block compressed with `kind` (not `None`).
/// Never panics and never allocates more than the stated raw length, itself at most
/// [`MAX_RAW_LEN`]; an error names the position in `stored` of what was wrong.
pub(crate) fn decompress(kind: Compression, stored: &[u8]) -> WireResult<Vec<u8>> {
    let mut pos = 0;
    let raw_len = wire::varint32(stored, &mut pos, "compressed block raw length")? as usize;
    let payload = &stored[pos..];
    let bound = match kind {
        Compression::None => return Err(wire::bad(0, "compression type", "not compressed")),
        Compression::Lz4 => MAX_RAW_LEN.min(payload.len().saturating_mul(LZ4_MAX_RATIO) + 64),
        Compression::Zstd => MAX_RAW_LEN,
    };
    if raw_len > bound {
        return Err(wire::bad(
            0,
            "compressed block raw length",
            "larger than the compressed bytes allow",
        ));
    }
    let mut raw = vec![0u8; raw_len];
    let written = match kind {
        Compression::None => None,
        Compression::Lz4 => lz4_flex::block::decompress_into(payload, &mut raw).ok(),
        Compression::Zstd => zstd_from(payload, &mut raw),
    };
    match written {
        Some(n) if n == raw_len => Ok(raw),
        Some(_) => Err(fail(pos, "decompresses to fewer bytes than stated")),
        None => Err(fail(pos, "does not decompress into the stated length")),
    }
}

/// Decompresses the zstd frame(s) `payload` into `raw`, never past its end.
fn zstd_from(payload: &[u8], raw: &mut [u8]) -> Option<usize> {
    ZSTD_D.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = zstd::bulk::Decompressor::new().ok();
        }
        slot.as_mut()?.decompress_to_buffer(payload, raw).ok()
    })
}

fn fail(at: usize, problem: &'static str) -> WireError {
    wire::bad(at, "compressed block payload", problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{TestResult, quickcheck};

    const KINDS: [Compression; 2] = [Compression::Lz4, Compression::Zstd];

    fn json_like(n: usize) -> Vec<u8> {
        let record = br#"{"id":12,"name":"quickcache","tags":["lsm","kv"],"ok":true}"#;
        record.iter().copied().cycle().take(n).collect()
    }

    #[test]
    fn repetitive_blocks_shrink_and_round_trip() {
        let raw = json_like(4096);
        for kind in KINDS {
            let mut out = b"prefix".to_vec();
            assert!(compress(kind, &raw, &mut out), "{kind}");
            assert!(out.len() < 6 + raw.len() / 4, "{kind}: {} bytes", out.len());
            assert_eq!(&out[..6], b"prefix");
            assert_eq!(decompress(kind, &out[6..]).unwrap(), raw, "{kind}");
        }
    }

    #[test]
    fn incompressible_blocks_are_left_alone() {
        // Pseudo-random noise: no compressor saves an eighth of it.
        let mut rng = quickcache_fs::Rng::new(0x9e37_79b9_7f4a_7c15);
        let raw: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
        for kind in [Compression::None, Compression::Lz4, Compression::Zstd] {
            let mut out = vec![7];
            assert!(!compress(kind, &raw, &mut out), "{kind}");
            assert_eq!(out, [7], "{kind}");
        }
    }

    #[test]
    fn stated_lengths_are_bounded_before_allocating() {
        // 4 GiB - 1 stated for a 2-byte lz4 payload: refused, not allocated.
        let mut stored = Vec::new();
        wire::put_varint(&mut stored, u64::from(u32::MAX));
        stored.extend_from_slice(&[0x10, b'a']);
        for kind in KINDS {
            let err = decompress(kind, &stored).unwrap_err();
            assert_eq!(err.field, "compressed block raw length", "{kind}");
        }
        // A stated length that is too short or too long for the payload.
        let raw = json_like(1000);
        for kind in KINDS {
            let mut out = Vec::new();
            assert!(compress(kind, &raw, &mut out));
            let len_bytes = 2; // 1000 takes two varint bytes
            for stated in [999u64, 1001] {
                let mut bad = Vec::new();
                wire::put_varint(&mut bad, stated);
                bad.extend_from_slice(&out[len_bytes..]);
                assert!(decompress(kind, &bad).is_err(), "{kind} stated {stated}");
            }
        }
    }

    #[test]
    fn names_and_bytes_round_trip() {
        for kind in [Compression::None, Compression::Lz4, Compression::Zstd] {
            assert_eq!(kind.name().parse(), Ok(kind));
            assert_eq!(Compression::from_byte(kind as u8), Some(kind));
        }
        assert_eq!(Compression::from_byte(0), None);
        assert_eq!(Compression::from_byte(4), None);
        assert!("snappy".parse::<Compression>().is_err());
    }

    quickcheck! {
        fn compressed_blocks_round_trip(raw: Vec<u8>, repeat: u8) -> bool {
            // Repeated input compresses; random input mostly does not: both paths.
            let raw = raw.repeat(usize::from(repeat % 8) + 1);
            KINDS.iter().all(|&kind| {
                let mut out = Vec::new();
                !compress(kind, &raw, &mut out)
                    || decompress(kind, &out).is_ok_and(|back| back == raw)
            })
        }

        fn decompressing_anything_never_panics(stored: Vec<u8>) -> TestResult {
            for kind in KINDS {
                if let Ok(raw) = decompress(kind, &stored) {
                    // Whatever decodes fills exactly the stated length.
                    let mut pos = 0;
                    let stated = wire::varint32(&stored, &mut pos, "len").ok();
                    if stated != Some(raw.len() as u32) {
                        return TestResult::failed();
                    }
                }
            }
            TestResult::passed()
        }

        fn damaged_compressed_blocks_never_panic(raw: Vec<u8>, at: usize, bit: u8) -> bool {
            let raw = raw.repeat(4);
            KINDS.iter().all(|&kind| {
                let mut out = Vec::new();
                if !compress(kind, &raw, &mut out) {
                    return true;
                }
                let i = at % out.len();
                out[i] ^= 1 << (bit % 8);
                // Either an error or some bytes of the stated length; never a panic.
                decompress(kind, &out).map_or(true, |back| back.len() <= MAX_RAW_LEN)
            })
        }
    }
}
