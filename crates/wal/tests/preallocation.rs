//! Preallocated segments through the public API: each segment file is reserved ahead
//! of its records (a 4 MiB step at a time, at most its size), cut to its records
//! when the writer finishes it, and a
//! segment left preallocated by a crash recovers cleanly, in every mode, while torn
//! records and corruption inside it are still found.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{DIR, open, options, read_payloads, recover, sim};
use quickcache_fs::{CrashMode, DynFs, WritableFile};
use quickcache_wal::frame::SYNC_MARK_FRAME_LEN;
use quickcache_wal::{
    DamageKind, Durability, Error, Position, RECORD_HEADER_LEN, RecoveryMode, SEGMENT_HEADER_LEN,
    SegmentId, Wal, WalOptions, WalReader,
};

const SEGMENT: u64 = 64 << 10;
const MODES: [RecoveryMode; 3] = [
    RecoveryMode::AbsoluteConsistency,
    RecoveryMode::TolerateCorruptTail,
    RecoveryMode::SkipCorrupt,
];

fn path(id: u64) -> PathBuf {
    SegmentId(id).path_in(Path::new(DIR))
}

fn with_mode(mode: RecoveryMode) -> WalOptions {
    WalOptions {
        recovery_mode: mode,
        ..options(SEGMENT)
    }
}

fn payloads(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("record {i}").into_bytes()).collect()
}

/// The offset just past the frame of the record at `at` holding `payload`.
fn end_of(at: Position, payload: &[u8]) -> u64 {
    at.offset + (RECORD_HEADER_LEN + payload.len()) as u64
}

/// The disk a power loss leaves after `records` synced appends to a log that was
/// never closed: its only segment is still preallocated. Returns the disk and the
/// offset where the records end.
fn crashed_with(records: &[Vec<u8>]) -> (DynFs, u64) {
    let (sim, fs) = sim(records.len() as u64);
    let wal = open(&fs, options(SEGMENT)).unwrap();
    let mut end = SEGMENT_HEADER_LEN as u64;
    for p in records {
        end = end_of(wal.append(p, Durability::Synced).unwrap(), p);
    }
    let after: DynFs = Arc::new(sim.crash_with(CrashMode::TornWithGarbage));
    assert_eq!(after.size(&path(1)).unwrap(), SEGMENT, "still preallocated");
    (after, end)
}

/// Rewrites segment `id` as `bytes`, durably.
fn rewrite(fs: &DynFs, id: u64, bytes: &[u8]) {
    let mut file: Box<dyn WritableFile> = fs.create(&path(id)).unwrap();
    file.append(bytes).unwrap();
    file.sync_all().unwrap();
    file.close().unwrap();
}

#[test]
fn segments_are_preallocated_then_cut_to_their_records_when_finished() {
    let (_sim, fs) = sim(1);
    let wal = open(&fs, options(SEGMENT)).unwrap();
    assert_eq!(fs.size(&path(1)).unwrap(), SEGMENT);
    assert_eq!(wal.log_bytes().unwrap(), SEGMENT_HEADER_LEN as u64);
    let at = wal.append(b"one", Durability::Synced).unwrap();
    assert_eq!(
        fs.size(&path(1)).unwrap(),
        SEGMENT,
        "appends fill the space"
    );
    // The sync staged a sync mark after the record.
    let one_end = end_of(at, b"one") + SYNC_MARK_FRAME_LEN as u64;
    assert_eq!(wal.log_bytes().unwrap(), one_end);
    assert_eq!(wal.rotate().unwrap(), SegmentId(2));
    assert_eq!(fs.size(&path(1)).unwrap(), one_end);
    assert_eq!(fs.size(&path(2)).unwrap(), SEGMENT);
    let two = wal.append(b"two", Durability::Os).unwrap();
    assert_eq!(wal.log_bytes().unwrap(), one_end + end_of(two, b"two"));
    wal.close().unwrap();
    assert_eq!(fs.size(&path(2)).unwrap(), end_of(two, b"two"));
    // Records larger than the preallocation simply grow the file.
    let (_sim, fs) = sim(2);
    let wal = open(&fs, options(1024)).unwrap();
    let big = vec![7u8; 3000];
    let at = wal.append(&big, Durability::Synced).unwrap();
    assert_eq!(fs.size(&path(1)).unwrap(), end_of(at, &big));
    wal.close().unwrap();
    assert_eq!(
        read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap(),
        vec![big]
    );
}

#[test]
fn a_preallocated_segment_with_0_1_or_many_records_recovers_cleanly_in_every_mode() {
    for n in [0, 1, 300] {
        let records = payloads(n);
        let (after, end) = crashed_with(&records);
        for mode in MODES {
            let disk: DynFs = Arc::new(quickcache_fs::SimFs::new(0));
            copy(&after, &disk);
            let mut recovery =
                Wal::recover(disk.clone(), DIR, with_mode(mode), Position::START).unwrap();
            let read: Vec<_> = recovery.by_ref().map(|r| r.unwrap().payload).collect();
            assert_eq!(read, records, "{n} records, {mode:?}");
            let (wal, report) = recovery.finish().unwrap();
            assert!(report.is_clean(), "{n} records, {mode:?}: {report:?}");
            assert_eq!(report.records, n as u64);
            // The unused space is cut off; a segment under half the segment size is
            // then continued (reserved again), a longer one followed by a new one.
            let resumed = end < SEGMENT / 2;
            let (segment, size) = if resumed {
                (SegmentId(1), SEGMENT)
            } else {
                (SegmentId(2), end)
            };
            assert_eq!(wal.current_segment(), segment, "{n} records, {mode:?}");
            assert_eq!(disk.size(&path(1)).unwrap(), size, "{n} records, {mode:?}");
            let at = wal.append(b"after", Durability::Synced).unwrap();
            if resumed {
                assert_eq!(at.offset, end, "continues where the records ended");
            }
            wal.close().unwrap();
            let mut expected = records.clone();
            expected.push(b"after".to_vec());
            let strict = read_payloads(&disk, RecoveryMode::AbsoluteConsistency).unwrap();
            assert_eq!(strict, expected, "{n} records, {mode:?}");
        }
    }
}

fn copy(from: &DynFs, to: &DynFs) {
    to.create_dir_all(Path::new(DIR)).unwrap();
    for name in from.list(Path::new(DIR)).unwrap() {
        let bytes = from.read_file(&Path::new(DIR).join(&name)).unwrap();
        let mut file = to.create(&Path::new(DIR).join(&name)).unwrap();
        file.append(&bytes).unwrap();
        file.sync_all().unwrap();
        file.close().unwrap();
    }
    to.sync_dir(Path::new(DIR)).unwrap();
}

#[test]
fn a_torn_last_record_in_preallocated_space_is_cut_and_reported_without_the_zeros() {
    let records = payloads(3);
    let (fs, end) = crashed_with(&records);
    let mut bytes = fs.read_file(&path(1)).unwrap();
    let last = end as usize - RECORD_HEADER_LEN - records[2].len();
    // The header and two payload bytes of the last record reached the disk.
    let torn_at = last + RECORD_HEADER_LEN + 2;
    bytes[torn_at..end as usize].fill(0);
    rewrite(&fs, 1, &bytes);
    let err = Wal::open(
        fs.clone(),
        DIR,
        with_mode(RecoveryMode::AbsoluteConsistency),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Corruption { offset, .. } if offset == last as u64));
    let (read, _wal, report) = recover(&fs, options(SEGMENT)).unwrap();
    assert_eq!(read, records[..2].to_vec());
    let tail = report.torn_tail.unwrap();
    assert_eq!((tail.segment, tail.offset), (SegmentId(1), last as u64));
    assert!(matches!(tail.reason, DamageKind::ChecksumMismatch { .. }));
    // Only the bytes that held something count as cut, not the preallocated zeros.
    assert!(
        tail.len <= (torn_at - last) as u64 && tail.len > 0,
        "{tail:?}"
    );
    assert_eq!(fs.size(&path(1)).unwrap(), last as u64);
}

#[test]
fn corruption_before_intact_records_in_preallocated_space_is_still_detected() {
    let records = payloads(3);
    let (fs, _) = crashed_with(&records);
    let mut bytes = fs.read_file(&path(1)).unwrap();
    // The second record's offset: sync marks sit between the synced records, and a
    // later one says the second record was durable, so damage to it is corruption.
    let reader = WalReader::new(fs.clone(), DIR, Position::START, RecoveryMode::SkipCorrupt);
    let positions: Vec<u64> = reader
        .unwrap()
        .map(|r| r.unwrap().position.offset)
        .collect();
    let second = positions[1] as usize;
    bytes[second + RECORD_HEADER_LEN + 1] ^= 0x10;
    rewrite(&fs, 1, &bytes);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptTail,
    ] {
        let err = Wal::open(fs.clone(), DIR, with_mode(mode)).unwrap_err();
        assert!(
            matches!(err, Error::Corruption { segment: SegmentId(1), offset, .. } if offset == second as u64),
            "{mode:?}: {err}"
        );
        // Nothing was cut by the failed recovery.
        assert_eq!(fs.read_file(&path(1)).unwrap(), bytes);
    }
    let salvaged = read_payloads(&fs, RecoveryMode::SkipCorrupt).unwrap();
    assert_eq!(salvaged, vec![records[0].clone(), records[2].clone()]);
}

#[test]
fn zeros_at_the_end_of_a_segment_that_is_not_the_last_are_corruption() {
    let (fs, end) = crashed_with(&payloads(2));
    // A later segment exists, so segment 1 should have been cut when it was finished.
    // (Recovery continues a short clean segment; a rotation starts segment 2.)
    let wal = open(&fs, options(SEGMENT)).unwrap();
    wal.rotate().unwrap();
    wal.close().unwrap();
    let mut bytes = fs.read_file(&path(1)).unwrap();
    assert_eq!(bytes.len() as u64, end);
    bytes.resize(bytes.len() + 4096, 0);
    rewrite(&fs, 1, &bytes);
    let err = Wal::open(fs.clone(), DIR, options(SEGMENT)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corruption {
                segment: SegmentId(1),
                reason: DamageKind::ZeroFilled,
                ..
            }
        ),
        "{err}"
    );
}

/// A segment larger than the reservation step is reserved a step at a time ahead of
/// its records, so a small log holds little disk, and cut to its records at close.
#[test]
fn a_large_segment_is_reserved_a_step_at_a_time() {
    const STEP: u64 = 4 << 20;
    let (_sim, fs) = sim(9);
    let wal = open(&fs, options(16 << 20)).unwrap();
    assert_eq!(fs.size(&path(1)).unwrap(), STEP);
    let record = vec![7u8; 64 << 10];
    let mut end = SEGMENT_HEADER_LEN as u64;
    while end < STEP + (STEP / 4) {
        end = end_of(wal.append(&record, Durability::Os).unwrap(), &record);
    }
    let size = fs.size(&path(1)).unwrap();
    assert!(
        size > end && size <= end + STEP,
        "{size} bytes for {end} of records"
    );
    wal.close().unwrap();
    assert_eq!(fs.size(&path(1)).unwrap(), end);
}
