//! Where each kind of record lives in the one quickcache database: three keyspaces
//! and the keys inside them.
//!
//! ```text
//! keyspace       key                                      value
//! raft-log       <index: u64 big-endian>                  a log entry (JSON)
//! raft-meta      vote | committed | purged | identity     log metadata (JSON)
//!                applied | membership                     how far the state machine got (JSON)
//!                state-keyspace                           which state keyspace is live (JSON)
//!                snapshot-meta | snapshot-chunks          the current snapshot (JSON)
//!                chunk/<gen: u64 BE><index: u32 BE>       the current snapshot's data, in chunks
//!                snapshot-data                            (previous layout) the data as one value
//! raft-state     <user key>                               the user's value, as is: the live
//! raft-state-<n>                                          state keyspace is one of these
//! ```
//!
//! The database's default keyspace stays empty ([`crate::Store::open`] refuses a
//! directory where it is not: that is another database, or one written by the
//! unreleased prefix layout this one replaced).
//!
//! Log indexes are **big-endian**, unlike quickcache's little-endian file formats:
//! the database orders keys bytewise, and only big-endian makes that order the numeric
//! order, so a range of indexes is a range of keys and the last entry is the last key.

use std::ops::Bound;

/// The keyspace of the log entries.
pub(crate) const LOG_KEYSPACE: &str = "raft-log";
/// The keyspace of the log's and the state machine's metadata.
pub(crate) const META_KEYSPACE: &str = "raft-meta";
/// The state keyspace of a directory that never installed a snapshot: the live one
/// until the first install, and the only one of the previous layout. Installs stage
/// into [`state_keyspace`]`(n)` with a growing `n`.
pub(crate) const STATE_KEYSPACE: &str = "raft-state";

/// The layout marker, the one key of the database's default keyspace: absent in a
/// directory of layout 1 (one `raft-state`, snapshot data as one value), written with
/// [`LAYOUT_VERSION`] by the first snapshot stored or installed in layout 2.
pub(crate) const LAYOUT: &[u8] = b"quickcache-raft-layout";
/// The layout this code writes: 2, state keyspaces switched by installs and snapshot
/// data in chunks.
pub(crate) const LAYOUT_VERSION: &[u8] = b"2";

/// The vote (in `raft-meta`).
pub(crate) const VOTE: &[u8] = b"vote";
/// The last committed log id (in `raft-meta`).
pub(crate) const COMMITTED: &[u8] = b"committed";
/// The last purged log id (in `raft-meta`).
pub(crate) const LAST_PURGED: &[u8] = b"purged";
/// The node id and cluster this data directory belongs to (in `raft-meta`).
pub(crate) const IDENTITY: &[u8] = b"identity";
/// The last applied log id (in `raft-meta`).
pub(crate) const APPLIED: &[u8] = b"applied";
/// The last applied membership (in `raft-meta`).
pub(crate) const MEMBERSHIP: &[u8] = b"membership";
/// The current snapshot's metadata (in `raft-meta`).
pub(crate) const SNAPSHOT_META: &[u8] = b"snapshot-meta";
/// The current snapshot's data as one value (in `raft-meta`), in the format of
/// [`crate::snapshot`]: the previous layout, read while no [`SNAPSHOT_CHUNKS`] record
/// exists, and deleted by the first snapshot stored in chunks.
pub(crate) const SNAPSHOT_DATA: &[u8] = b"snapshot-data";
/// Which generation of [`chunk_key`]s holds the current snapshot's data, how many
/// chunks and bytes (in `raft-meta`).
pub(crate) const SNAPSHOT_CHUNKS: &[u8] = b"snapshot-chunks";
/// The name of the live state keyspace (in `raft-meta`); absent: [`STATE_KEYSPACE`].
pub(crate) const LIVE_STATE: &[u8] = b"state-keyspace";

/// The prefix of every snapshot data chunk key (in `raft-meta`). No other record's
/// key starts with it.
const CHUNK_PREFIX: &[u8] = b"chunk/";
/// The first key after every chunk key: the prefix with its last byte incremented.
const CHUNK_END: &[u8] = b"chunk0";

/// The name of the `n`th staged state keyspace.
pub(crate) fn state_keyspace(n: u64) -> String {
    format!("{STATE_KEYSPACE}-{n}")
}

/// The `n` of a state keyspace's name: 0 for [`STATE_KEYSPACE`], `None` for a name
/// that is not a state keyspace's.
pub(crate) fn state_keyspace_number(name: &str) -> Option<u64> {
    if name == STATE_KEYSPACE {
        return Some(0);
    }
    let n = name.strip_prefix(STATE_KEYSPACE)?.strip_prefix('-')?;
    // Only the canonical spelling, so that a name and its number are one to one.
    n.parse()
        .ok()
        .filter(|&n: &u64| n > 0 && state_keyspace(n) == name)
}

/// The key of chunk `index` of the snapshot data of generation `generation`.
pub(crate) fn chunk_key(generation: u64, index: u32) -> Vec<u8> {
    let mut key = CHUNK_PREFIX.to_vec();
    key.extend_from_slice(&generation.to_be_bytes());
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The chunk index a chunk key of generation `generation` names, if it is one.
pub(crate) fn chunk_index(key: &[u8], generation: u64) -> Option<u32> {
    let rest = key.strip_prefix(CHUNK_PREFIX)?;
    let rest = rest.strip_prefix(&generation.to_be_bytes()[..])?;
    Some(u32::from_be_bytes(rest.try_into().ok()?))
}

/// The key range of every chunk of generation `generation`.
pub(crate) fn chunk_range(generation: u64) -> KeyBounds {
    let end = match generation.checked_add(1) {
        Some(next) => Bound::Excluded(chunk_key(next, 0)),
        None => Bound::Excluded(CHUNK_END.to_vec()),
    };
    (Bound::Included(chunk_key(generation, 0)), end)
}

/// The key ranges of every chunk not of generation `keep` (all of them if `None`):
/// the leftovers of a store that never became current.
pub(crate) fn chunk_ranges_except(keep: Option<u64>) -> Vec<KeyBounds> {
    let all_start = Bound::Included(CHUNK_PREFIX.to_vec());
    let all_end = Bound::Excluded(CHUNK_END.to_vec());
    let Some(keep) = keep else {
        return vec![(all_start, all_end)];
    };
    let (kept_start, kept_end) = chunk_range(keep);
    let before = match kept_start {
        Bound::Included(start) => Bound::Excluded(start),
        other => other,
    };
    let after = match kept_end {
        Bound::Excluded(end) => Bound::Included(end),
        other => other,
    };
    vec![(all_start, before), (after, all_end)]
}

/// The key of the log entry at `index`.
pub(crate) fn log_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The log index a log key names, or `None` if `key` is not 8 bytes long.
pub(crate) fn log_index(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// A range of keys, as the database's range reads and deletes take it.
pub(crate) type KeyBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The key range holding the log entries whose indexes are in `(start, end)`.
pub(crate) fn log_range(start: Bound<&u64>, end: Bound<&u64>) -> (Bound<[u8; 8]>, Bound<[u8; 8]>) {
    let map = |bound: Bound<&u64>| match bound {
        Bound::Included(&index) => Bound::Included(log_key(index)),
        Bound::Excluded(&index) => Bound::Excluded(log_key(index)),
        Bound::Unbounded => Bound::Unbounded,
    };
    (map(start), map(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::RangeBounds;

    #[test]
    fn log_keys_sort_in_index_order() {
        let indexes = [0, 1, 255, 256, 65_535, 1 << 40, u64::MAX];
        let keys: Vec<_> = indexes.iter().map(|&i| log_key(i)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for (&i, key) in indexes.iter().zip(&keys) {
            assert_eq!(log_index(key), Some(i));
        }
    }

    #[test]
    fn log_index_rejects_other_keys() {
        assert_eq!(log_index(b"1234567"), None);
        assert_eq!(log_index(b"123456789"), None);
        assert_eq!(log_index(VOTE), None);
    }

    #[test]
    fn log_ranges_are_index_ranges() {
        let range = log_range(Bound::Included(&256), Bound::Excluded(&65_536));
        assert!(range.contains(&log_key(256)));
        assert!(range.contains(&log_key(65_535)));
        assert!(!range.contains(&log_key(255)));
        assert!(!range.contains(&log_key(65_536)));
        let all = log_range(Bound::Unbounded, Bound::Unbounded);
        assert!(all.contains(&log_key(0)) && all.contains(&log_key(u64::MAX)));
    }

    #[test]
    fn state_keyspace_names_and_numbers_are_one_to_one() {
        assert_eq!(state_keyspace_number(STATE_KEYSPACE), Some(0));
        for n in [1, 2, 10, u64::MAX] {
            assert_eq!(state_keyspace_number(&state_keyspace(n)), Some(n));
        }
        for other in [
            "raft-state-0",
            "raft-state-01",
            "raft-state-",
            "raft-states",
            "raft-log",
        ] {
            assert_eq!(state_keyspace_number(other), None, "{other}");
        }
    }

    #[test]
    fn chunk_ranges_hold_their_generation_only() {
        let range = chunk_range(7);
        assert!(range.contains(&chunk_key(7, 0)) && range.contains(&chunk_key(7, u32::MAX)));
        assert!(!range.contains(&chunk_key(6, u32::MAX)) && !range.contains(&chunk_key(8, 0)));
        assert!(chunk_range(u64::MAX).contains(&chunk_key(u64::MAX, u32::MAX)));
        assert_eq!(chunk_index(&chunk_key(7, 3), 7), Some(3));
        assert_eq!(chunk_index(&chunk_key(7, 3), 8), None);
        let others = chunk_ranges_except(Some(7));
        let in_others = |key: &[u8]| others.iter().any(|r| r.contains(&key.to_vec()));
        assert!(in_others(&chunk_key(6, 9)) && in_others(&chunk_key(8, 0)));
        assert!(!in_others(&chunk_key(7, 0)) && !in_others(&chunk_key(7, u32::MAX)));
        // No other record of raft-meta falls in any chunk range.
        let records = [VOTE, COMMITTED, LAST_PURGED, IDENTITY, APPLIED, MEMBERSHIP];
        let more = [SNAPSHOT_META, SNAPSHOT_DATA, SNAPSHOT_CHUNKS, LIVE_STATE];
        for record in records.iter().chain(&more) {
            assert!(!chunk_ranges_except(None)[0].contains(&record.to_vec()));
        }
    }

    #[test]
    fn keyspace_names_are_distinct_and_not_the_default() {
        let names = [LOG_KEYSPACE, META_KEYSPACE, STATE_KEYSPACE];
        for (i, a) in names.iter().enumerate() {
            assert_ne!(*a, "default");
            assert!(names[i + 1..].iter().all(|b| a != b));
        }
    }
}
