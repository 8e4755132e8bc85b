#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! `Db::recovery_report` after a killed run and after a run whose last WAL record was
//! torn or damaged, on the simulated file system: segments, records, entries, bytes
//! and the cut tail, exact against what was written.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache::fs::{FileSystem, SimFs};
use quickcache::{Db, Options, WAL_DIR, WriteBatch};
use quickcache_wal::{DamageKind, DamagedRange, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, SegmentId};

const DIR: &str = "/db";

fn options(fs: &SimFs) -> Options {
    Options {
        wal_segment_size: 64 << 10,
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn wal_dir() -> PathBuf {
    Path::new(DIR).join(WAL_DIR)
}

/// What a run wrote to the WAL, record by record: (payload length, entries).
#[derive(Default)]
struct Written {
    records: Vec<(u64, u64)>,
}

impl Written {
    /// Applies `batch`, recording its WAL payload length (the batch's encoding, which
    /// `stats().user_bytes` counts) and entry count.
    fn write(&mut self, db: &Db, batch: WriteBatch, entries: u64) {
        let before = db.stats().user_bytes;
        db.write(batch).unwrap();
        self.records.push((db.stats().user_bytes - before, entries));
    }

    fn bytes(&self) -> u64 {
        self.records.iter().map(|r| r.0).sum()
    }

    fn entries(&self) -> u64 {
        self.records.iter().map(|r| r.1).sum()
    }

    /// The frame offset of record `i` in a segment holding exactly these records.
    fn frame_offset(&self, i: usize) -> u64 {
        let frames: u64 = self.records[..i]
            .iter()
            .map(|r| RECORD_HEADER_LEN as u64 + r.0)
            .sum();
        SEGMENT_HEADER_LEN as u64 + frames
    }
}

/// Writes `n` records, single puts and three-entry batches (a delete among them),
/// with values that end in a non-zero byte.
fn workload(db: &Db, tag: &str, n: usize) -> Written {
    let mut written = Written::default();
    for i in 0..n {
        let mut batch = WriteBatch::new();
        if i % 3 == 2 {
            batch
                .put(format!("{tag}{i}a"), [9u8; 40])
                .delete(format!("{tag}{}", i - 1))
                .put(format!("{tag}{i}b"), [8u8; 10]);
            written.write(db, batch, 3);
        } else {
            batch.put(format!("{tag}{i}"), vec![7u8; 20 + i]);
            written.write(db, batch, 1);
        }
    }
    written
}

fn segments(fs: &SimFs) -> Vec<SegmentId> {
    quickcache_wal::list_segments(fs, &wal_dir()).unwrap()
}

#[test]
fn a_killed_run_is_replayed_in_full_from_the_log_number_on() {
    let _dog = support::watchdog("a_killed_run_is_replayed_in_full_from_the_log_number_on");
    let fs = SimFs::new(1);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    // Flushed writes: their segment falls below the log number and is not replayed.
    workload(&db, "old", 5);
    db.flush().unwrap();
    let written = workload(&db, "k", 12);
    let last_seqno = db.snapshot().seqno();
    let killed = fs.after_kill();
    drop(db);
    let on_disk = segments(&killed);
    assert_eq!(on_disk.len(), 1, "the flush removed the older segment");

    let db = Db::open_with(DIR, options(&killed)).unwrap();
    let report = db.recovery_report();
    assert!(!report.created);
    assert_eq!(report.segments(), on_disk);
    assert_eq!(report.log_number, on_disk[0].0);
    assert_eq!(report.records(), 12);
    assert_eq!(report.entries, written.entries());
    assert_eq!(report.entries, 8 + 4 * 3);
    assert_eq!(report.bytes, written.bytes());
    assert!(report.cut_tail().is_none(), "{report:?}");
    assert!(report.wal.is_clean());
    assert_eq!(report.flushes, 0);
    assert_eq!(report.obsolete_segments_removed, 0);
    assert_eq!(report.last_seqno, last_seqno);
    assert_eq!(db.get("k11a").unwrap().unwrap(), [9u8; 40]);
    assert_eq!(db.get("k10").unwrap(), None, "deleted by the last batch");
}

/// Runs a workload, kills it, and lets `damage` change the last segment of the killed
/// disk (given the frame offset and end of the last record). Returns the disk, the
/// workload, the segment and the last record's frame offset.
fn killed_with_damage(
    seed: u64,
    damage: impl FnOnce(&SimFs, &Path, u64, u64),
) -> (SimFs, Written, SegmentId, u64) {
    let fs = SimFs::new(seed);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let written = workload(&db, "k", 9);
    let killed = fs.after_kill();
    drop(db);
    let segment = *segments(&killed).last().unwrap();
    let last = written.records.len() - 1;
    let offset = written.frame_offset(last);
    let end = written.frame_offset(last + 1);
    damage(&killed, &segment.path_in(&wal_dir()), offset, end);
    (killed, written, segment, offset)
}

/// Checks the report of an open after the last record was lost to damage (the cut
/// range exact but for `reason`, which `reason_ok` judges), and that the cut left a
/// log the next open reads cleanly.
fn check_cut(
    fs: &SimFs,
    written: &Written,
    (segment, offset, len): (SegmentId, u64, u64),
    reason_ok: impl Fn(DamageKind) -> bool,
) {
    let db = Db::open_with(DIR, options(fs)).unwrap();
    let report = db.recovery_report().clone();
    assert_eq!(report.segments(), [segment]);
    let (last_len, last_entries) = *written.records.last().unwrap();
    assert_eq!(report.records(), written.records.len() as u64 - 1);
    assert_eq!(report.entries, written.entries() - last_entries);
    assert_eq!(report.bytes, written.bytes() - last_len);
    let cut = report.cut_tail().copied().unwrap();
    let where_ = DamagedRange {
        reason: cut.reason,
        ..cut
    };
    let expected = DamagedRange {
        segment,
        offset,
        len,
        reason: cut.reason,
    };
    assert_eq!(where_, expected);
    assert!(reason_ok(cut.reason), "{cut:?}");
    // The last batch (i = 8: a single put) is gone, the one before it is not.
    assert_eq!(db.get("k8").unwrap(), None);
    assert_eq!(db.get("k7").unwrap().unwrap(), vec![7u8; 27]);
    drop(db);

    let db = Db::open_with(DIR, options(fs)).unwrap();
    let again = db.recovery_report();
    assert!(again.cut_tail().is_none(), "the tail was cut: {again:?}");
    assert_eq!(db.get("k8").unwrap(), None);
    assert_eq!(db.get("k7").unwrap().unwrap(), vec![7u8; 27]);
}

#[test]
fn a_torn_last_record_is_cut_and_reported_exactly() {
    let _dog = support::watchdog("a_torn_last_record_is_cut_and_reported_exactly");
    let (fs, written, segment, offset) = killed_with_damage(2, |fs, path, _, end| {
        // The write reached the disk only up to three bytes short of its end.
        fs.truncate(path, end - 3).unwrap();
    });
    let (last_len, _) = *written.records.last().unwrap();
    let available = last_len - 3;
    let len = RECORD_HEADER_LEN as u64 + available;
    let torn = DamageKind::PayloadTruncated {
        len: u32::try_from(last_len).unwrap(),
        available,
    };
    check_cut(&fs, &written, (segment, offset, len), |r| r == torn);
}

#[test]
fn a_damaged_last_record_is_cut_and_reported_exactly() {
    let _dog = support::watchdog("a_damaged_last_record_is_cut_and_reported_exactly");
    let mut stored = 0;
    let (fs, written, segment, offset) = killed_with_damage(3, |fs, path, offset, end| {
        // One flipped payload byte; the preallocated zeros after the record stay.
        let mut bytes = fs.read_file(path).unwrap();
        let at = usize::try_from(offset).unwrap();
        stored = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        bytes[at + RECORD_HEADER_LEN + 2] ^= 0x40;
        assert!(
            bytes[usize::try_from(end).unwrap()..]
                .iter()
                .all(|&b| b == 0)
        );
        rewrite(fs, path, &bytes);
    });
    // The damage runs from the frame to its last non-zero byte: the record's end.
    let (last_len, _) = *written.records.last().unwrap();
    let len = RECORD_HEADER_LEN as u64 + last_len;
    let checksum = |r| matches!(r, DamageKind::ChecksumMismatch { stored: s, .. } if s == stored);
    check_cut(&fs, &written, (segment, offset, len), checksum);
}

/// Replaces the file at `path` with `bytes` (the simulated disk has no in-place write).
fn rewrite(fs: &SimFs, path: &Path, bytes: &[u8]) {
    let mut file = fs.create(path).unwrap();
    file.append(bytes).unwrap();
    file.sync_all().unwrap();
}
