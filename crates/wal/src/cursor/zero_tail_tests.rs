//! The cursor on preallocated segments: zeros after the last record are the clean
//! end of the last segment in every mode; a torn record before them is still a torn
//! tail, damage before intact records still corruption, and zeros at the end of an
//! earlier segment still damage.

use super::tests::{SEG, payloads, segment, steps, three, torn_tail};
use super::*;
use crate::record::frame_len;

const MODES: [RecoveryMode; 3] = [
    RecoveryMode::AbsoluteConsistency,
    RecoveryMode::TolerateCorruptTail,
    RecoveryMode::SkipCorrupt,
];

/// The preallocated size the tests pad segments to.
const RESERVED: usize = 64 << 10;

fn preallocated(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.resize(RESERVED.max(bytes.len()), 0);
    bytes
}

/// Reads a whole segment; returns the steps and where the cursor saw the zero tail.
fn read(bytes: &[u8], is_last: bool, mode: RecoveryMode) -> Result<(Vec<Step>, Option<usize>)> {
    let mut cursor = SegmentCursor::new(SEG, bytes.to_vec(), is_last, mode);
    let mut out = Vec::new();
    loop {
        match cursor.step()? {
            Step::End => return Ok((out, cursor.zero_tail())),
            step => out.push(step),
        }
    }
}

#[test]
fn a_preallocated_segment_ends_cleanly_after_0_1_or_many_records_in_every_mode() {
    for n in [0, 1, 3, 200] {
        let records: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i % 40]).collect();
        let (written, _) = segment(&records);
        let bytes = preallocated(written.clone());
        for mode in MODES {
            let (read, zero_tail) = read(&bytes, true, mode).unwrap();
            assert_eq!(payloads(&read), records, "{n} records, {mode:?}");
            assert_eq!(read.len(), n, "{n} records, {mode:?}: nothing but records");
            assert_eq!(zero_tail, Some(written.len()), "{n} records, {mode:?}");
        }
        // Without preallocated space there is no zero tail to cut.
        let (_, zero_tail) = read(&written, true, RecoveryMode::AbsoluteConsistency).unwrap();
        assert_eq!(zero_tail, None);
    }
}

#[test]
fn a_torn_last_record_inside_preallocated_space_is_a_torn_tail() {
    let (full, ends) = segment(&three());
    let start = ends[1];
    for kept in 1..frame_len(b"gamma".len()) {
        let mut bytes = full[..start + kept].to_vec();
        let nonzero_end = zero_tail_start(&bytes);
        bytes = preallocated(bytes);
        for mode in MODES {
            let outcome = read(&bytes, true, mode);
            if nonzero_end <= start {
                // The torn part happens to be zeros: nothing of it reached the disk
                // that could be told from never-written space.
                let (read, zero_tail) = outcome.unwrap();
                assert_eq!(payloads(&read), three()[..2].to_vec());
                assert_eq!(zero_tail, Some(start));
                continue;
            }
            if mode == RecoveryMode::AbsoluteConsistency {
                assert!(
                    matches!(outcome, Err(Error::Corruption { offset, .. }) if offset == start as u64),
                    "{kept} bytes kept"
                );
                continue;
            }
            let (read, zero_tail) = outcome.unwrap();
            assert_eq!(payloads(&read), three()[..2].to_vec(), "{kept} bytes kept");
            assert_eq!(zero_tail, None);
            let tail = torn_tail(&read).unwrap();
            // The preallocated zeros after the torn bytes are not counted as cut.
            assert_eq!(tail.offset, start as u64);
            assert_eq!(tail.len, (nonzero_end - start) as u64, "{kept} bytes kept");
        }
    }
}

#[test]
fn damage_before_intact_records_in_preallocated_space_is_still_corruption() {
    let (mut written, ends) = segment(&three());
    // A sync mark after the records says they were all durable: the damage is not
    // a power loss's (`tests.rs` has the case without a mark).
    super::tests::mark(&mut written, ends[2]);
    let marked_end = written.len();
    written[ends[0] + 3] ^= 0x20;
    let bytes = preallocated(written);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptTail,
    ] {
        let err = read(&bytes, true, mode).unwrap_err();
        assert!(
            matches!(err, Error::Corruption { offset, .. } if offset == ends[0] as u64),
            "{mode:?}: {err}"
        );
    }
    let (read, zero_tail) = read(&bytes, true, RecoveryMode::SkipCorrupt).unwrap();
    assert_eq!(payloads(&read), vec![b"alpha".to_vec(), b"gamma".to_vec()]);
    assert_eq!(zero_tail, Some(marked_end));
    // Zeroed records (a zeroed range) followed by an intact one: corruption too.
    let (mut written, ends) = segment(&three());
    super::tests::mark(&mut written, ends[2]);
    written[ends[0]..ends[1]].fill(0);
    let err = steps(
        &preallocated(written),
        true,
        RecoveryMode::TolerateCorruptTail,
    );
    assert!(matches!(
        err,
        Err(Error::Corruption {
            reason: DamageKind::ZeroFilled,
            ..
        })
    ));
}

#[test]
fn zeros_at_the_end_of_an_earlier_segment_are_still_damage() {
    let (written, ends) = segment(&three());
    let bytes = preallocated(written);
    for mode in [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptTail,
    ] {
        let err = steps(&bytes, false, mode).unwrap_err();
        assert!(matches!(
            err,
            Error::Corruption { offset, reason: DamageKind::ZeroFilled, .. } if offset == ends[2] as u64
        ));
    }
    let (read, zero_tail) = read(&bytes, false, RecoveryMode::SkipCorrupt).unwrap();
    assert_eq!(payloads(&read), three());
    assert_eq!(zero_tail, None);
    assert!(matches!(read.last(), Some(Step::Skipped(r)) if r.len == (RESERVED - ends[2]) as u64));
}

#[test]
fn flipping_any_bit_of_a_small_preallocated_segment_is_detected() {
    let (written, _) = segment(&three());
    let mut original = written;
    original.resize(original.len() + 64, 0);
    for bit in 0..original.len() * 8 {
        let mut bytes = original.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let strict = steps(&bytes, true, RecoveryMode::AbsoluteConsistency);
        assert!(strict.is_err(), "flip of bit {bit} went unnoticed");
    }
}
