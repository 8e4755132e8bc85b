//! The segment cursor against hand-made and generated segments.

use quickcheck::{Gen, QuickCheck, TestResult};

use super::*;
use crate::format::encode_segment_header;
use crate::record::{self, RECORD_HEADER_LEN};

pub(super) const SEG: SegmentId = SegmentId(3);

/// A segment holding `payloads`, and the offset where each frame ends.
pub(super) fn segment(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = encode_segment_header(SEG).to_vec();
    let mut ends = Vec::new();
    for p in payloads {
        let at = bytes.len() as u64;
        record::encode(&mut bytes, SEG, at, p).unwrap();
        ends.push(bytes.len());
    }
    (bytes, ends)
}

/// Every step of a cursor until the end or an error.
pub(super) fn steps(bytes: &[u8], is_last: bool, mode: RecoveryMode) -> Result<Vec<Step>> {
    let mut cursor = SegmentCursor::new(SEG, bytes.to_vec(), is_last, mode);
    let mut out = Vec::new();
    loop {
        match cursor.step()? {
            Step::End => return Ok(out),
            step => out.push(step),
        }
    }
}

pub(super) fn payloads(steps: &[Step]) -> Vec<Vec<u8>> {
    let records = steps.iter().filter_map(|s| match s {
        Step::Record(r) => Some(r.payload.clone()),
        _ => None,
    });
    records.collect()
}

pub(super) fn torn_tail(steps: &[Step]) -> Option<DamagedRange> {
    steps.iter().find_map(|s| match s {
        Step::TornTail(range) => Some(*range),
        _ => None,
    })
}

pub(super) fn three() -> Vec<Vec<u8>> {
    vec![b"alpha".to_vec(), b"beta".to_vec(), b"gamma".to_vec()]
}

#[test]
fn torn_tail_of_the_last_segment_is_reported_not_returned() {
    let (bytes, ends) = segment(&three());
    let cut = ends[1] + 5;
    let steps = steps(&bytes[..cut], true, RecoveryMode::TolerateCorruptTail).unwrap();
    assert_eq!(payloads(&steps), three()[..2].to_vec());
    let tail = torn_tail(&steps).unwrap();
    assert_eq!((tail.offset, tail.len), (ends[1] as u64, 5));
    assert_eq!(tail.reason, DamageKind::RecordHeaderTruncated);
}

/// Appends a sync mark claiming the segment durable up to `through`.
pub(super) fn mark(bytes: &mut Vec<u8>, through: usize) {
    let at = bytes.len() as u64;
    record::encode_sync_mark(bytes, SEG, at, through as u64);
}

/// `bytes` with its header rewritten to say format `version`.
pub(super) fn as_version(mut bytes: Vec<u8>, version: u32) -> Vec<u8> {
    use xxhash_rust::xxh3::xxh3_64;
    bytes[8..12].copy_from_slice(&version.to_le_bytes());
    let sum = xxh3_64(&bytes[..24]);
    bytes[24..32].copy_from_slice(&sum.to_le_bytes());
    bytes
}

#[test]
fn damage_a_later_sync_mark_shows_was_durable_is_corruption_in_the_default_mode() {
    let (mut bytes, ends) = segment(&three());
    mark(&mut bytes, ends[2]);
    bytes[ends[0] + RECORD_HEADER_LEN] ^= 0x01;
    let err = steps(&bytes, true, RecoveryMode::TolerateCorruptTail).unwrap_err();
    assert!(matches!(
        err,
        Error::Corruption { segment: SEG, offset, reason: DamageKind::ChecksumMismatch { .. } }
            if offset == ends[0] as u64
    ));
    assert!(err.is_corruption());
}

/// A power loss can keep later unsynced pages and lose earlier ones. Damage that no
/// later mark shows was durable ends the log there, like a torn tail.
#[test]
fn damage_no_sync_mark_covers_is_a_torn_tail_before_intact_records() {
    for claim in [None, Some(0), Some(1)] {
        let (mut bytes, ends) = segment(&three());
        // A mark claiming the segment durable up to the damage, not past it.
        if let Some(extra) = claim {
            mark(&mut bytes, ends[0] + extra - 1);
        }
        bytes[ends[0] + RECORD_HEADER_LEN] ^= 0x01;
        let steps = steps(&bytes, true, RecoveryMode::TolerateCorruptTail).unwrap();
        assert_eq!(payloads(&steps), three()[..1].to_vec(), "{claim:?}");
        let tail = torn_tail(&steps).unwrap();
        assert_eq!(tail.offset, ends[0] as u64);
        // Up to the last non-zero byte (a mark's payload may end in zeros).
        let last = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
        assert_eq!(tail.offset + tail.len, last as u64);
        // In a segment that is not the last, the same bytes are corruption.
        assert!(steps_fail(&bytes, false));
    }
}

/// Segments before version 4 have no marks, so their damage before intact records
/// stays corruption; a mark in one is damage.
#[test]
fn segments_before_version_4_keep_the_old_rule_and_refuse_marks() {
    let (mut bytes, ends) = segment(&three());
    bytes[ends[0] + RECORD_HEADER_LEN] ^= 0x01;
    assert!(steps_fail(&as_version(bytes, 3), true));
    let (mut bytes, ends) = segment(&three());
    mark(&mut bytes, ends[2]);
    let err = steps(
        &as_version(bytes, 3),
        false,
        RecoveryMode::TolerateCorruptTail,
    );
    assert!(matches!(
        err,
        Err(Error::Corruption {
            reason: DamageKind::BadRecordType(2),
            ..
        })
    ));
}

fn steps_fail(bytes: &[u8], is_last: bool) -> bool {
    steps(bytes, is_last, RecoveryMode::TolerateCorruptTail).is_err()
}

#[test]
fn sync_marks_are_stepped_over_and_never_returned() {
    let (mut bytes, ends) = segment(&three()[..2]);
    mark(&mut bytes, ends[1]);
    mark(&mut bytes, ends[1] + 1);
    let at = bytes.len() as u64;
    record::encode(&mut bytes, SEG, at, b"gamma").unwrap();
    let steps = steps(&bytes, true, RecoveryMode::AbsoluteConsistency).unwrap();
    assert_eq!(payloads(&steps), three());
}

#[test]
fn a_torn_tail_in_a_segment_that_is_not_the_last_is_corruption() {
    let (bytes, ends) = segment(&three());
    let err = steps(
        &bytes[..ends[2] - 1],
        false,
        RecoveryMode::TolerateCorruptTail,
    );
    assert!(matches!(err, Err(Error::Corruption { offset, .. }) if offset == ends[1] as u64));
}

#[test]
fn absolute_consistency_refuses_even_a_torn_tail() {
    let (bytes, ends) = segment(&three());
    let err = steps(
        &bytes[..ends[2] - 1],
        true,
        RecoveryMode::AbsoluteConsistency,
    );
    assert!(matches!(
        err,
        Err(Error::Corruption {
            reason: DamageKind::PayloadTruncated { .. },
            ..
        })
    ));
    assert_eq!(
        steps(&bytes, true, RecoveryMode::AbsoluteConsistency)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn skip_mode_resumes_at_the_next_intact_record_and_counts_the_bytes() {
    let (mut bytes, ends) = segment(&three());
    bytes[ends[0] + 2] ^= 0xFF;
    let steps = steps(&bytes, false, RecoveryMode::SkipCorrupt).unwrap();
    assert_eq!(payloads(&steps), vec![b"alpha".to_vec(), b"gamma".to_vec()]);
    let skipped = steps.iter().find_map(|s| match s {
        Step::Skipped(range) => Some(*range),
        _ => None,
    });
    let skipped = skipped.unwrap();
    assert_eq!(skipped.offset, ends[0] as u64);
    assert_eq!(skipped.len, (ends[1] - ends[0]) as u64);
}

#[test]
fn a_segment_torn_inside_its_header_is_a_torn_tail_at_zero() {
    let (bytes, _) = segment(&[]);
    for cut in 0..bytes.len() {
        let steps = steps(&bytes[..cut], true, RecoveryMode::TolerateCorruptTail).unwrap();
        let tail = torn_tail(&steps).unwrap();
        assert_eq!((tail.offset, tail.len), (0, cut as u64));
    }
    assert!(
        steps(&bytes, true, RecoveryMode::TolerateCorruptTail)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_damaged_header_before_intact_records_is_corruption() {
    let (mut bytes, _) = segment(&three());
    bytes[3] ^= 0x40;
    let err = steps(&bytes, true, RecoveryMode::TolerateCorruptTail).unwrap_err();
    assert!(matches!(
        err,
        Error::Corruption {
            offset: 0,
            reason: DamageKind::SegmentHeaderChecksum,
            ..
        }
    ));
    let salvaged = steps(&bytes, true, RecoveryMode::SkipCorrupt).unwrap();
    assert_eq!(payloads(&salvaged), three());
}

fn prop_round_trip(records: Vec<Vec<u8>>) -> bool {
    let (bytes, _) = segment(&records);
    let read = steps(&bytes, true, RecoveryMode::AbsoluteConsistency).unwrap();
    payloads(&read) == records && read.len() == records.len()
}

#[test]
fn any_sequence_of_records_round_trips() {
    QuickCheck::new().quickcheck(prop_round_trip as fn(Vec<Vec<u8>>) -> bool);
}

/// Cutting the segment anywhere recovers exactly the records whose frames lie
/// wholly before the cut, and reports the rest as the torn tail, unless the rest is
/// all zeros (a frame whose first bytes happen to be zero): that is the clean end.
fn prop_truncation_recovers_a_prefix(records: Vec<Vec<u8>>) -> bool {
    let (bytes, ends) = segment(&records);
    (0..=bytes.len()).all(|cut| {
        let Ok(read) = steps(&bytes[..cut], true, RecoveryMode::TolerateCorruptTail) else {
            return false;
        };
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        let last_end = ends.iter().copied().filter(|&end| end <= cut).max();
        let last_end = last_end.unwrap_or(SEGMENT_HEADER_LEN).min(cut);
        let boundary = cut >= SEGMENT_HEADER_LEN && bytes[last_end..cut].iter().all(|&b| b == 0);
        payloads(&read) == records[..complete] && torn_tail(&read).is_none() == boundary
    })
}

#[test]
fn truncating_a_segment_at_any_byte_recovers_exactly_a_prefix() {
    // Every cut of every generated log is read: keep the logs small (the debug
    // build runs this in CI), and many.
    QuickCheck::new()
        .tests(300)
        .rng(Gen::new(24))
        .quickcheck(prop_truncation_recovers_a_prefix as fn(Vec<Vec<u8>>) -> bool);
}

/// After any single bit flip, no mode returns a record that was not written at
/// that position, and the default mode returns a prefix or an error.
fn prop_bit_flip_yields_only_written_records(records: Vec<Vec<u8>>, bit: usize) -> TestResult {
    let (mut bytes, _) = segment(&records);
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
    let (original, _) = segment(&records);
    let written = steps(&original, true, RecoveryMode::AbsoluteConsistency).unwrap();
    let is_written = |step: &Step| !matches!(step, Step::Record(_)) || written.contains(step);
    for mode in [RecoveryMode::TolerateCorruptTail, RecoveryMode::SkipCorrupt] {
        for is_last in [true, false] {
            if let Ok(read) = steps(&bytes, is_last, mode) {
                if !read.iter().all(is_written) {
                    return TestResult::failed();
                }
                let got = payloads(&read);
                if mode == RecoveryMode::TolerateCorruptTail && !records.starts_with(&got) {
                    return TestResult::failed();
                }
            }
        }
    }
    TestResult::passed()
}

#[test]
fn flipping_any_bit_never_yields_a_record_that_was_not_written() {
    QuickCheck::new().tests(500).quickcheck(
        prop_bit_flip_yields_only_written_records as fn(Vec<Vec<u8>>, usize) -> TestResult,
    );
}

#[test]
fn flipping_every_bit_of_a_small_segment_is_detected() {
    let (original, _) = segment(&three());
    for bit in 0..original.len() * 8 {
        let mut bytes = original.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let strict = steps(&bytes, true, RecoveryMode::AbsoluteConsistency);
        assert!(strict.is_err(), "flip of bit {bit} went unnoticed");
    }
}
