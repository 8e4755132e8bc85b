//! The rewrite stage with retention, as a compaction runs them: expiry, filter
//! decisions, snapshots and what lies below.

use super::*;
use crate::{Decision, Retention};

fn seq(n: u64) -> SeqNo {
    SeqNo::new(n).unwrap_or(SeqNo::MAX)
}

/// Runs `entries` (one user key, newest first) through the rewriter and
/// retention, as a compaction does; the entries written, as (seqno, kind).
fn compact(
    entries: &[(u64, ValueKind, &[u8])],
    snapshots: &[u64],
    absent_below: bool,
    now: u64,
) -> Vec<(u64, ValueKind)> {
    let remove_all = |_: &FilterEntry<'_>| FilterDecision::Remove;
    let snapshots: Vec<SeqNo> = snapshots.iter().map(|&s| seq(s)).collect();
    let now = Timestamp::from_millis(now);
    let mut rewriter = Rewriter::new(now, Some(&remove_all), "ks", 1, &snapshots);
    let mut retention = Retention::new(snapshots);
    let mut out = Vec::new();
    for (i, &(s, kind, value)) in entries.iter().enumerate() {
        let key = KeyRef::new(b"k", seq(s), kind);
        let (kind, _) = rewriter.rewrite(key, value, i == 0).unwrap();
        let key = KeyRef { kind, ..key };
        let below = kind != ValueKind::Tombstone || absent_below;
        if retention.decide(key, below) == Decision::Keep {
            out.push((s, kind));
        }
    }
    out
}

const V: ValueKind = ValueKind::Value;
const T: ValueKind = ValueKind::Tombstone;

#[test]
fn a_removed_key_leaves_a_tombstone_over_what_lies_below() {
    // Something older may lie in deeper levels: the tombstone must stay.
    assert_eq!(compact(&[(9, V, b"new")], &[], false, 0), [(9, T)]);
    // Nothing below: it goes entirely, with the version it hid.
    assert_eq!(compact(&[(9, V, b"new"), (5, V, b"old")], &[], true, 0), []);
}

#[test]
fn versions_a_snapshot_sees_are_not_offered_and_stay_hidden() {
    // Snapshot 7 sees version 5; version 9 is removed, as a tombstone that keeps
    // version 5 hidden from newer readers even at the bottom.
    let entries: &[(u64, ValueKind, &[u8])] = &[(9, V, b"new"), (5, V, b"old")];
    assert_eq!(compact(entries, &[7], true, 0), [(9, T), (5, V)]);
    // A newest version the snapshot sees is not offered at all.
    assert_eq!(compact(&[(5, V, b"old")], &[7], true, 0), [(5, V)]);
}

#[test]
fn an_expired_value_is_a_tombstone_at_its_seqno() {
    let mut stored = Vec::new();
    quickcache_sstable::encode_expiring(Timestamp::from_millis(100), b"v", &mut stored);
    let entries: &[(u64, ValueKind, &[u8])] =
        &[(9, ValueKind::ExpiringValue, &stored), (5, V, b"old")];
    // Expired and a snapshot sees the old version: tombstone kept over it.
    assert_eq!(compact(entries, &[7], true, 100), [(9, T), (5, V)]);
    // Expired, nothing needs the old version, nothing below: all gone.
    assert_eq!(compact(entries, &[], true, 100), []);
    // Not expired yet: offered to the filter, which removes it.
    assert_eq!(compact(entries, &[], false, 99), [(9, T)]);
}

#[test]
fn a_short_expiring_value_is_corruption() {
    let mut rewriter = Rewriter::new(Timestamp::default(), None, "ks", 1, &[]);
    let key = KeyRef::new(b"k", seq(1), ValueKind::ExpiringValue);
    let err = rewriter.rewrite(key, &[1, 2], true).unwrap_err();
    assert!(err.is_corruption(), "{err}");
}

#[test]
fn a_panic_in_the_filter_is_an_error() {
    let panics = |_: &FilterEntry<'_>| -> FilterDecision { panic!("boom") };
    let mut rewriter = Rewriter::new(Timestamp::default(), Some(&panics), "ks", 1, &[]);
    let key = KeyRef::new(b"k", seq(1), V);
    let err = rewriter.rewrite(key, b"v", true).unwrap_err();
    assert!(matches!(err, Error::FilterPanicked { .. }), "{err}");
    assert!(err.to_string().contains("boom"), "{err}");
}
