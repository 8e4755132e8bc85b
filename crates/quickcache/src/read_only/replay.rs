//! The WAL of a database opened read-only, replayed into memtables that are never
//! flushed, while the writer may be appending to its last segment and deleting old
//! ones.
//!
//! The segments are read into memory *before* the manifest: a segment the writer
//! deletes meanwhile is below the log number of a durable flush edit, so the
//! manifest read afterwards starts above it, and every segment it needs was read.
//! The view is then the tables as of the manifest read plus the records of the held
//! segments from its log number on: a prefix of the writes (see `checkpoint.rs` for
//! the same argument), holding every write acknowledged before the open.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use quickcache_compaction::VersionSet;
use quickcache_fs::FileSystem;
use quickcache_memtable::Memtable;
use quickcache_sstable::SeqNo;
use quickcache_wal::{Position, SegmentId, WalReader};

use crate::error::{Error, Result};
use crate::open::{KeyspaceReplay, ReplayedKeyspace, decode_record, wal_error};
use crate::{Options, RecoveryReport};

fn batch_error(source: quickcache_memtable::Error) -> Error {
    Error::Batch {
        operation: "replaying the WAL read-only",
        source: Box::new(source),
    }
}

/// Every segment of `wal_dir`, read whole; one deleted between the listing and its
/// read is left out (see the module doc).
pub(crate) fn hold_segments(
    fs: &dyn FileSystem,
    wal_dir: &Path,
) -> Result<BTreeMap<SegmentId, Vec<u8>>> {
    let werr = wal_error("reading the WAL read-only", wal_dir);
    let mut held = BTreeMap::new();
    for segment in quickcache_wal::list_segments(fs, wal_dir).map_err(&werr)? {
        let path = segment.path_in(wal_dir);
        match fs.read_file(&path) {
            Ok(bytes) => {
                held.insert(segment, bytes);
            }
            Err(e) if e.is_not_found() => {}
            Err(source) => {
                return Err(crate::open::fs_error("reading a WAL segment", &path)(
                    source,
                ));
            }
        }
    }
    Ok(held)
}

/// Replays the `held` segments from the tree's oldest log number on, each keyspace
/// taking the records from its own log number on (as an ordinary open does,
/// `open.rs`). Damage in the last held segment ends the replay: it is where the
/// writer is appending (or a torn tail). The segment the log number names missing
/// while later ones are held is [`quickcache_wal::Error::MissingSegment`].
pub(crate) fn in_memory(
    set: &VersionSet,
    dir: &Path,
    held: BTreeMap<SegmentId, Vec<u8>>,
    options: &Options,
) -> Result<(Memtable, Vec<ReplayedKeyspace>, RecoveryReport)> {
    let wal_dir = dir.join(crate::WAL_DIR);
    let werr = wal_error("replaying the WAL read-only", &wal_dir);
    let log_number = set.min_log_number().max(SegmentId::FIRST.0);
    let first = held.keys().copied().find(|s| s.0 >= log_number);
    if first.is_some_and(|s| s.0 > log_number) {
        let segment = SegmentId(log_number);
        return Err(werr(quickcache_wal::Error::MissingSegment { segment }));
    }
    let from = Position::segment_start(SegmentId(log_number));
    let fs = Arc::clone(&options.fs);
    let mut reader =
        WalReader::from_held(fs, &wal_dir, held, from, options.recovery_mode).map_err(&werr)?;
    let last_segment = reader.last_segment();
    let keyspaces = KeyspaceReplay::new(set);
    let memtable = Memtable::with_capacity(options.memtable_size);
    let mut others = ReplayedKeyspace::all(set);
    let mut report = RecoveryReport {
        log_number,
        ..RecoveryReport::default()
    };
    let mut last = set.last_seqno();
    for record in reader.by_ref() {
        let record = match record {
            Ok(record) => record,
            Err(quickcache_wal::Error::Corruption { segment, .. })
                if Some(segment) == last_segment =>
            {
                break;
            }
            Err(e) => return Err(werr(e)),
        };
        if crate::ingest::record::is_ingest_record(record.format, &record.payload) {
            let at = crate::ingest::redo::At {
                dir,
                record: &record,
            };
            last = last.max(crate::ingest::redo::check_applied(set, &at)?);
            report.bytes += record.payload.len() as u64;
            continue;
        }
        let batch = decode_record(&record).map_err(batch_error)?;
        keyspaces.check(&batch, &record, &wal_dir)?;
        if keyspaces.default_takes(&record) {
            memtable.apply(&batch).map_err(batch_error)?;
        }
        for ks in others.iter_mut().filter(|ks| ks.takes(&record)) {
            ks.mem.apply_keyspace(&batch, ks.id).map_err(batch_error)?;
        }
        last = last.max(batch.last_seqno().unwrap_or(SeqNo::ZERO));
        report.bytes += record.payload.len() as u64;
        report.entries += u64::from(batch.count());
    }
    report.wal = reader.report().clone();
    report.last_seqno = last.get();
    Ok((memtable, others, report))
}
