//! Recovery through the public API, one kind of damage at a time: what each mode
//! returns, reports, and leaves on disk.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use std::path::Path;

use common::{DIR, open, options, read_payloads, recover, sim};
use quickcache_fs::{DynFs, Fault, FaultPlan, Op, WritableFile};
use quickcache_wal::{
    DamageKind, Durability, Error, Position, RecoveryMode, SEGMENT_HEADER_LEN, SegmentId, Wal,
    WalOptions, list_segments,
};

fn segment_path(id: u64) -> std::path::PathBuf {
    SegmentId(id).path_in(Path::new(DIR))
}

/// A log of one segment holding `payloads` (Os durability, then closed), and the
/// positions the records got.
fn log_of(fs: &DynFs, payloads: &[&[u8]]) -> Vec<Position> {
    log_of_synced(fs, payloads, false)
}

/// [`log_of`], with a `sync` before the close when `sync`: it leaves a sync mark
/// after the records (a close's own sync leaves none).
fn log_of_synced(fs: &DynFs, payloads: &[&[u8]], sync: bool) -> Vec<Position> {
    let wal = open(fs, options(1 << 20)).unwrap();
    let positions = payloads
        .iter()
        .map(|p| wal.append(p, Durability::Os).unwrap())
        .collect();
    if sync {
        wal.sync().unwrap();
    }
    wal.close().unwrap();
    positions
}

/// A power loss can keep a later unsynced page and lose an earlier one. Damage no
/// sync mark shows was durable, before intact records, ends the log as a torn tail:
/// what recovery returns is still a prefix of what was appended.
#[test]
fn damage_no_sync_mark_covers_ends_the_log_before_intact_records() {
    let (_sim, fs) = sim(2);
    let at = log_of(&fs, &[b"one", b"two", b"three"]);
    let mut bytes = fs.read_file(&segment_path(1)).unwrap();
    bytes[at[1].offset as usize..at[2].offset as usize].fill(0);
    rewrite(&fs, 1, &bytes);
    let (records, _wal, report) = recover(&fs, options(1 << 20)).unwrap();
    assert_eq!(records, vec![b"one".to_vec()]);
    let tail = report.torn_tail.unwrap();
    assert_eq!((tail.segment, tail.offset), (SegmentId(1), at[1].offset));
    assert_eq!(tail.reason, DamageKind::ZeroFilled);
    assert_eq!(
        fs.size(&segment_path(1)).unwrap(),
        at[1].offset,
        "cut there"
    );
}

/// Rewrites segment `id` as `bytes`, durably.
fn rewrite(fs: &DynFs, id: u64, bytes: &[u8]) {
    let mut file: Box<dyn WritableFile> = fs.create(&segment_path(id)).unwrap();
    file.append(bytes).unwrap();
    file.sync_all().unwrap();
    file.close().unwrap();
}

fn with_mode(mode: RecoveryMode) -> WalOptions {
    WalOptions {
        recovery_mode: mode,
        ..options(1 << 20)
    }
}

#[test]
fn a_torn_tail_is_cut_off_the_file_and_reported() {
    let (_sim, fs) = sim(1);
    let at = log_of(&fs, &[b"one", b"two", b"three"]);
    let bytes = fs.read_file(&segment_path(1)).unwrap();
    rewrite(&fs, 1, &bytes[..bytes.len() - 3]);
    let (payloads, wal, report) = recover(&fs, options(1 << 20)).unwrap();
    assert_eq!(payloads, vec![b"one".to_vec(), b"two".to_vec()]);
    let tail = report.torn_tail.unwrap();
    assert_eq!((tail.segment, tail.offset), (SegmentId(1), at[2].offset));
    assert_eq!(tail.len, bytes.len() as u64 - 3 - at[2].offset);
    assert!(matches!(tail.reason, DamageKind::PayloadTruncated { .. }));
    assert_eq!(fs.size(&segment_path(1)).unwrap(), at[2].offset);
    assert_eq!(wal.current_segment(), SegmentId(2));
    wal.append(b"four", Durability::Synced).unwrap();
    let strict = read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(
        strict,
        vec![b"one".to_vec(), b"two".to_vec(), b"four".to_vec()]
    );
}

#[test]
fn damage_followed_by_intact_records_is_corruption_naming_segment_and_offset() {
    let (_sim, fs) = sim(2);
    // The sync stages a sync mark saying all three records were durable, so damage
    // to one of them cannot be a power loss's.
    let at = log_of_synced(&fs, &[b"one", b"two", b"three"], true);
    let mut bytes = fs.read_file(&segment_path(1)).unwrap();
    bytes[at[1].offset as usize + 17] ^= 0x08; // in the payload of "two"
    rewrite(&fs, 1, &bytes);
    let err = Wal::open(fs.clone(), DIR, options(1 << 20)).unwrap_err();
    assert!(matches!(
        err,
        Error::Corruption { segment: SegmentId(1), offset, .. } if offset == at[1].offset
    ));
    assert!(
        err.to_string().contains("000001") && err.to_string().contains(&at[1].offset.to_string())
    );
    // Nothing was cut or created by the failed recovery.
    assert_eq!(fs.read_file(&segment_path(1)).unwrap(), bytes);
    assert_eq!(
        list_segments(&*fs, Path::new(DIR)).unwrap(),
        vec![SegmentId(1)]
    );
}

#[test]
fn absolute_consistency_refuses_a_torn_tail_and_leaves_it() {
    let (_sim, fs) = sim(3);
    log_of(&fs, &[b"one", b"two"]);
    let bytes = fs.read_file(&segment_path(1)).unwrap();
    rewrite(&fs, 1, &bytes[..bytes.len() - 1]);
    let err = Wal::open(
        fs.clone(),
        DIR,
        with_mode(RecoveryMode::AbsoluteConsistency),
    )
    .unwrap_err();
    assert!(err.is_corruption());
    assert_eq!(fs.size(&segment_path(1)).unwrap(), bytes.len() as u64 - 1);
}

#[test]
fn skip_corrupt_salvages_the_records_after_damage_and_counts_the_bytes() {
    let (_sim, fs) = sim(4);
    let at = log_of(&fs, &[b"one", b"two", b"three"]);
    let mut bytes = fs.read_file(&segment_path(1)).unwrap();
    bytes[at[1].offset as usize] ^= 0xFF;
    rewrite(&fs, 1, &bytes);
    let mut recovery = Wal::recover(
        fs.clone(),
        DIR,
        with_mode(RecoveryMode::SkipCorrupt),
        Position::START,
    )
    .unwrap();
    let payloads: Vec<_> = recovery.by_ref().map(|r| r.unwrap().payload).collect();
    assert_eq!(payloads, vec![b"one".to_vec(), b"three".to_vec()]);
    let (_wal, report) = recovery.finish().unwrap();
    assert_eq!(report.skipped_bytes(), at[2].offset - at[1].offset);
    assert_eq!(report.skipped[0].offset, at[1].offset);
    assert!(report.torn_tail.is_none() && !report.is_clean());
}

#[test]
fn a_read_error_is_an_error_never_the_end_of_the_log() {
    let (sim, fs) = sim(5);
    log_of(&fs, &[b"one"]);
    sim.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Read, Fault::Io));
    for mode in [RecoveryMode::TolerateCorruptTail, RecoveryMode::SkipCorrupt] {
        let err = Wal::open(fs.clone(), DIR, with_mode(mode)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Read {
                    segment: SegmentId(1),
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.is_corruption());
    }
    sim.clear_faults();
    assert_eq!(
        read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap(),
        vec![b"one".to_vec()]
    );
}

#[test]
fn a_last_segment_torn_inside_its_header_is_removed_and_its_number_reused() {
    let (_sim, fs) = sim(6);
    log_of(&fs, &[b"one"]);
    rewrite(&fs, 2, &[0x51; SEGMENT_HEADER_LEN - 5]);
    let (payloads, wal, report) = recover(&fs, options(1 << 20)).unwrap();
    assert_eq!(payloads, vec![b"one".to_vec()]);
    assert_eq!(report.torn_tail.unwrap().segment, SegmentId(2));
    assert_eq!(wal.current_segment(), SegmentId(2));
    wal.append(b"two", Durability::Synced).unwrap();
    drop(wal);
    let strict = read_payloads(&fs, RecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(strict, vec![b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn damage_in_a_segment_that_is_not_the_last_is_corruption_even_at_its_end() {
    let (_sim, fs) = sim(7);
    let wal = open(&fs, options(1 << 20)).unwrap();
    wal.append(b"one", Durability::Os).unwrap();
    wal.rotate().unwrap();
    wal.append(b"two", Durability::Os).unwrap();
    wal.close().unwrap();
    let bytes = fs.read_file(&segment_path(1)).unwrap();
    rewrite(&fs, 1, &bytes[..bytes.len() - 1]);
    let err = Wal::open(fs.clone(), DIR, options(1 << 20)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corruption {
                segment: SegmentId(1),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_segment_copied_under_another_number_is_refused_in_every_mode() {
    let (_sim, fs) = sim(8);
    log_of(&fs, &[b"one"]);
    let bytes = fs.read_file(&segment_path(1)).unwrap();
    rewrite(&fs, 2, &bytes);
    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::SkipCorrupt,
    ] {
        let err = Wal::open(fs.clone(), DIR, with_mode(mode)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Corruption {
                    segment: SegmentId(2),
                    reason: DamageKind::SegmentNumberMismatch { found: 1 },
                    ..
                }
            ),
            "{mode:?}: {err}"
        );
    }
}

/// Turns segment 1 of a closed log into a version-1 segment: the same frames under a
/// header naming version 1 (the frame layout did not change between the versions).
fn make_version_1(fs: &DynFs) {
    let mut bytes = fs.read_file(&segment_path(1)).unwrap();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..24]);
    bytes[24..32].copy_from_slice(&sum.to_le_bytes());
    rewrite(fs, 1, &bytes);
}

#[test]
fn records_of_a_version_1_segment_are_read_and_tagged_with_their_version() {
    let (_sim, fs) = sim(1);
    log_of(&fs, &[b"old one", b"old two"]);
    make_version_1(&fs);
    let mut recovery = Wal::recover(fs.clone(), DIR, options(1 << 20), Position::START).unwrap();
    let records: Vec<_> = recovery.by_ref().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.format == 1), "{records:?}");
    assert_eq!(records[1].payload, b"old two");
    let (wal, report) = recovery.finish().unwrap();
    assert!(report.is_clean());
    // A short, clean segment of the old version is not continued: the writer starts a
    // new one, so that no segment mixes versions.
    assert_eq!(wal.current_segment(), SegmentId(2));
    let at = wal.append(b"new", Durability::Os).unwrap();
    assert_eq!(at.segment, SegmentId(2));
    wal.close().unwrap();
    let mut recovery = Wal::recover(fs.clone(), DIR, options(1 << 20), Position::START).unwrap();
    let formats: Vec<_> = recovery.by_ref().map(|r| r.unwrap().format).collect();
    assert_eq!(formats, [1, 1, quickcache_wal::FORMAT_VERSION]);
    // And the new segment, of this version, is continued.
    let (wal, _) = recovery.finish().unwrap();
    assert_eq!(wal.current_segment(), SegmentId(2));
}
