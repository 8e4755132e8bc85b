//! The WAL record that logs an ingest (WAL format version 5, `docs/format/wal.md`,
//! "Ingest records"), so that recovery can redo an ingest whose manifest edit rotted.
//!
//! ```text
//!  0                8                16           20           24
//!  +----------------+----------------+------------+------------+-------------------+
//!  | magic          | global seqno   | keyspace   | file count | files             |
//!  | "QCINGEST"     | u64            | u32        | u32 (>= 1) | count x 24 bytes  |
//!  +----------------+----------------+------------+------------+-------------------+
//!
//!  file = | table number u64 | size u64 | tail checksum u64 |
//!  tail checksum = xxh3_64 (seed 0) of the table file's last min(size, 4096) bytes
//! ```
//!
//! All integers little-endian. A write batch's first 8 bytes are its base sequence
//! number, at most 2^56 - 1, so their last byte is 0; the magic's last byte (`T`) is
//! not, so no batch starts with it and a reader tells the two apart by the magic.

use std::fmt;
use std::path::Path;

use quickcache_compaction::TableId;
use quickcache_fs::FileSystem;
use quickcache_sstable::{KeyspaceId, SeqNo};
use xxhash_rust::xxh3::xxh3_64;

/// The first 8 bytes of an ingest record.
pub(crate) const MAGIC: [u8; 8] = *b"QCINGEST";
/// The first WAL format version whose segments may hold ingest records.
pub(crate) const INGEST_RECORDS_SINCE: u32 = 5;
/// How many bytes at the end of a table the tail checksum covers: the footer and,
/// for most tables, the properties block (key range, counts).
pub(crate) const TAIL_CHECKED: u64 = 4096;

const SEQNO_AT: usize = MAGIC.len();
const KEYSPACE_AT: usize = SEQNO_AT + 8;
const COUNT_AT: usize = KEYSPACE_AT + 4;
const FILES_AT: usize = COUNT_AT + 4;
const FILE_LEN: usize = 24;

/// One table of a logged ingest: enough to find it and tell it is the right file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedTable {
    /// The table number it was copied in under.
    pub id: TableId,
    /// Its size in bytes.
    pub size: u64,
    /// The xxh3 checksum of the file's last 4 KiB (or of all of it, if shorter).
    pub tail: u64,
}

/// An ingest as the WAL logs it (`docs/format/wal.md`, "Ingest records"): what
/// `dump-wal` prints and recovery redoes when the manifest lost the ingest's edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRecord {
    /// The global sequence number every entry of its tables reads as.
    pub seqno: SeqNo,
    /// The keyspace it went into.
    pub keyspace: KeyspaceId,
    /// Its tables, at least one.
    pub tables: Vec<LoggedTable>,
}

/// Why an ingest record does not decode: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRecordError {
    /// Byte offset of the field in the payload.
    pub at: usize,
    /// What is wrong.
    pub problem: &'static str,
}

impl std::error::Error for IngestRecordError {}

impl fmt::Display for IngestRecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ingest record byte {}: {}", self.at, self.problem)
    }
}

/// Whether a record of a segment of WAL format `format` holding `payload` is an
/// ingest record rather than a write batch.
pub fn is_ingest_record(format: u32, payload: &[u8]) -> bool {
    format >= INGEST_RECORDS_SINCE && payload.starts_with(&MAGIC)
}

impl IngestRecord {
    /// The record's payload.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FILES_AT + FILE_LEN * self.tables.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.seqno.get().to_le_bytes());
        out.extend_from_slice(&self.keyspace.0.to_le_bytes());
        let count = u32::try_from(self.tables.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_le_bytes());
        for t in &self.tables {
            for n in [t.id.0, t.size, t.tail] {
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
        out
    }

    /// Decodes a payload [`is_ingest_record`] accepted; never panics.
    pub fn decode(payload: &[u8]) -> Result<IngestRecord, IngestRecordError> {
        let bad = |at, problem| IngestRecordError { at, problem };
        if !payload.starts_with(&MAGIC) {
            return Err(bad(0, "no ingest magic"));
        }
        let u64_at = |at: usize| le::<8>(payload, at).map(u64::from_le_bytes);
        let u32_at = |at: usize| le::<4>(payload, at).map(u32::from_le_bytes);
        let seqno = u64_at(SEQNO_AT).ok_or(bad(SEQNO_AT, "truncated global seqno"))?;
        let seqno = SeqNo::new(seqno)
            .filter(|s| *s > SeqNo::ZERO)
            .ok_or(bad(SEQNO_AT, "global seqno is 0 or above the maximum"))?;
        let keyspace = u32_at(KEYSPACE_AT).ok_or(bad(KEYSPACE_AT, "truncated keyspace"))?;
        let count = u32_at(COUNT_AT).ok_or(bad(COUNT_AT, "truncated file count"))?;
        let expected = (count as usize)
            .checked_mul(FILE_LEN)
            .and_then(|n| n.checked_add(FILES_AT));
        if count == 0 || expected != Some(payload.len()) {
            return Err(bad(
                COUNT_AT,
                "file count does not match the record's length",
            ));
        }
        let mut tables = Vec::with_capacity(count as usize);
        for at in (FILES_AT..payload.len()).step_by(FILE_LEN) {
            let field = |i: usize| u64_at(at + 8 * i).ok_or(bad(at + 8 * i, "truncated file"));
            let id = field(0)?;
            if id == 0 || id == u64::MAX {
                return Err(bad(at, "table number 0 or the last one"));
            }
            tables.push(LoggedTable {
                id: TableId(id),
                size: field(1)?,
                tail: field(2)?,
            });
        }
        Ok(IngestRecord {
            seqno,
            keyspace: KeyspaceId(keyspace),
            tables,
        })
    }
}

fn le<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The tail checksum of the table file at `path`, `size` bytes long: `xxh3_64` of
/// its last `min(size, TAIL_CHECKED)` bytes.
pub(crate) fn tail_checksum(
    fs: &dyn FileSystem,
    path: &Path,
    size: u64,
) -> quickcache_fs::Result<u64> {
    let len = size.min(TAIL_CHECKED);
    let file = fs.open(path)?;
    let mut buf = vec![0; len as usize];
    let mut read = 0;
    while read < buf.len() {
        let n = file.read_at(size - len + read as u64, &mut buf[read..])?;
        if n == 0 {
            break;
        }
        read += n;
    }
    buf.truncate(read);
    Ok(xxh3_64(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> IngestRecord {
        IngestRecord {
            seqno: SeqNo::new(77).unwrap(),
            keyspace: KeyspaceId(3),
            tables: vec![
                LoggedTable {
                    id: TableId(12),
                    size: 4000,
                    tail: 0xfeed,
                },
                LoggedTable {
                    id: TableId(13),
                    size: 9,
                    tail: 1,
                },
            ],
        }
    }

    #[test]
    fn a_record_round_trips_and_is_told_from_a_batch() {
        let bytes = record().encode();
        assert_eq!(bytes.len(), FILES_AT + 2 * FILE_LEN);
        assert_eq!(IngestRecord::decode(&bytes), Ok(record()));
        assert!(is_ingest_record(5, &bytes));
        assert!(
            !is_ingest_record(4, &bytes),
            "version 4 segments hold batches only"
        );
        let mut batch = quickcache_memtable::WriteBatch::new();
        batch.put(b"k", b"v").unwrap();
        batch.set_base_seqno(SeqNo::MAX).unwrap();
        assert!(!is_ingest_record(5, batch.encoded()));
    }

    #[test]
    fn every_truncation_and_a_bad_count_are_refused() {
        let bytes = record().encode();
        for len in 0..bytes.len() {
            assert!(IngestRecord::decode(&bytes[..len]).is_err(), "length {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(IngestRecord::decode(&longer).is_err());
        let mut zero = bytes.clone();
        zero[COUNT_AT..FILES_AT].copy_from_slice(&0u32.to_le_bytes());
        assert!(IngestRecord::decode(&zero[..FILES_AT]).is_err());
        let mut huge = bytes;
        huge[COUNT_AT..FILES_AT].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(IngestRecord::decode(&huge).is_err());
    }

    quickcheck::quickcheck! {
        fn decoding_any_bytes_after_the_magic_never_panics(tail: Vec<u8>) -> bool {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&tail);
            let _ = IngestRecord::decode(&bytes);
            true
        }

        fn every_valid_record_round_trips(seqno: u64, keyspace: u32, tables: Vec<(u64, u64, u64)>) -> quickcheck::TestResult {
            let seqno = SeqNo::new(seqno % (1 << 56)).filter(|s| *s > SeqNo::ZERO);
            let ok = |id: u64| id != 0 && id != u64::MAX;
            let (Some(seqno), false) = (seqno, tables.is_empty() || !tables.iter().all(|t| ok(t.0))) else {
                return quickcheck::TestResult::discard();
            };
            let record = IngestRecord {
                seqno,
                keyspace: KeyspaceId(keyspace),
                tables: (tables.iter())
                    .map(|&(id, size, tail)| LoggedTable { id: TableId(id), size, tail })
                    .collect(),
            };
            quickcheck::TestResult::from_bool(IngestRecord::decode(&record.encode()) == Ok(record))
        }
    }

    #[test]
    fn a_zero_seqno_or_table_number_is_refused() {
        let mut bytes = record().encode();
        bytes[SEQNO_AT..KEYSPACE_AT].copy_from_slice(&0u64.to_le_bytes());
        assert_eq!(IngestRecord::decode(&bytes).unwrap_err().at, SEQNO_AT);
        let mut bytes = record().encode();
        bytes[FILES_AT..FILES_AT + 8].copy_from_slice(&0u64.to_le_bytes());
        assert_eq!(IngestRecord::decode(&bytes).unwrap_err().at, FILES_AT);
    }
}
