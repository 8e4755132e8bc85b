//! Which versions of a user key a compaction keeps, given the live snapshots.
//!
//! The snapshots cut the sequence-number line into *stripes*: stripe `i` holds the
//! sequence numbers a snapshot `s_i` sees but `s_{i-1}` does not (`s_{i-1} < q <= s_i`),
//! and a last stripe holds everything newer than every snapshot (seen only by the
//! newest state). Within a stripe, every reader that sees one version of a key sees the
//! newest one of that stripe; so a compaction keeps, per user key, the newest version
//! of each stripe and drops the rest.
//!
//! A tombstone that is the newest version of the oldest stripe hides nothing from any
//! reader once nothing older of its key remains below; then it is dropped too. That
//! happens only where the caller says the key is absent from every deeper level.

use quickcache_sstable::{KeyRef, SeqNo, ValueKind};

/// The per-key retention rule, fed the compaction's entries in internal-key order.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Live snapshots, ascending, without duplicates.
    snapshots: Vec<SeqNo>,
    /// The user key of the previous entry and the stripe its newest version fell in.
    last: Option<(Vec<u8>, usize)>,
}

/// What to do with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write it to the output.
    Keep,
    /// Leave it out: no reader can see it any more.
    Drop,
}

impl Retention {
    /// A rule for the given live snapshots (any order, duplicates allowed).
    pub fn new(mut snapshots: Vec<SeqNo>) -> Retention {
        snapshots.sort_unstable();
        snapshots.dedup();
        Retention {
            snapshots,
            last: None,
        }
    }

    /// The stripe of sequence number `seqno`: the index of the oldest snapshot that sees
    /// it, or the number of snapshots if none does.
    pub(crate) fn stripe(&self, seqno: SeqNo) -> usize {
        self.snapshots.partition_point(|&s| s < seqno)
    }

    /// Decides about the next entry. `absent_below` says whether no level deeper than
    /// the compaction's output may hold the entry's user key.
    pub fn decide(&mut self, key: KeyRef<'_>, absent_below: bool) -> Decision {
        let stripe = self.stripe(key.seqno);
        let seen_stripe = match &self.last {
            Some((user, s)) if user.as_slice() == key.user_key => Some(*s),
            _ => None,
        };
        if seen_stripe == Some(stripe) {
            // A newer version of this key in the same stripe hides this one.
            return Decision::Drop;
        }
        match &mut self.last {
            Some((user, s)) if user.as_slice() == key.user_key => *s = stripe,
            _ => self.last = Some((key.user_key.to_vec(), stripe)),
        }
        if key.kind == ValueKind::Tombstone && stripe == 0 && absent_below {
            // Every reader sees this tombstone or something newer, and nothing older of
            // the key survives anywhere: the tombstone has nothing left to hide.
            return Decision::Drop;
        }
        Decision::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(n: u64) -> SeqNo {
        SeqNo::new(n).unwrap()
    }

    fn run(snapshots: &[u64], entries: &[(&[u8], u64, bool)], bottom: bool) -> Vec<(Vec<u8>, u64)> {
        let mut r = Retention::new(snapshots.iter().map(|&s| seq(s)).collect());
        let mut kept = Vec::new();
        for &(user, s, tomb) in entries {
            let kind = if tomb {
                ValueKind::Tombstone
            } else {
                ValueKind::Value
            };
            if r.decide(KeyRef::new(user, seq(s), kind), bottom) == Decision::Keep {
                kept.push((user.to_vec(), s));
            }
        }
        kept
    }

    #[test]
    fn without_snapshots_only_the_newest_version_survives() {
        let entries: &[(&[u8], u64, bool)] =
            &[(b"a", 9, false), (b"a", 5, false), (b"b", 3, false)];
        assert_eq!(
            run(&[], entries, false),
            [(b"a".to_vec(), 9), (b"b".to_vec(), 3)]
        );
    }

    #[test]
    fn each_snapshot_keeps_the_version_it_sees() {
        let entries: &[(&[u8], u64, bool)] = &[
            (b"a", 9, false),
            (b"a", 7, false),
            (b"a", 5, false),
            (b"a", 4, false),
            (b"a", 1, false),
        ];
        // Snapshot 5 sees 5; snapshot 8 sees 7; the newest state sees 9.
        let kept = run(&[5, 8], entries, false);
        assert_eq!(kept.iter().map(|k| k.1).collect::<Vec<_>>(), [9, 7, 5]);
    }

    #[test]
    fn tombstones_go_only_at_the_bottom_and_only_when_no_snapshot_needs_them() {
        let entries: &[(&[u8], u64, bool)] = &[(b"a", 6, true), (b"a", 2, false)];
        assert_eq!(
            run(&[], entries, true),
            [],
            "tombstone and what it hides both go"
        );
        assert_eq!(
            run(&[], entries, false),
            [(b"a".to_vec(), 6)],
            "kept above older data"
        );
        // Snapshot 3 still sees version 2, so the tombstone must keep hiding it from
        // newer readers.
        assert_eq!(
            run(&[3], entries, true),
            [(b"a".to_vec(), 6), (b"a".to_vec(), 2)]
        );
    }
}
