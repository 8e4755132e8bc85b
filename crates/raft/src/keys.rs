//! Where each kind of record lives in the one quickcache database: three keyspaces
//! and the keys inside them.
//!
//! ```text
//! keyspace     key                                      value
//! raft-log     <index: u64 big-endian>                  a log entry (JSON)
//! raft-meta    vote | committed | purged | identity     log metadata (JSON)
//!              applied | membership                     how far the state machine got (JSON)
//!              snapshot-meta | snapshot-data            the current snapshot
//! raft-state   <user key>                               the user's value, as is
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
/// The keyspace of the replicated keys: the state machine's data.
pub(crate) const STATE_KEYSPACE: &str = "raft-state";

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
/// The current snapshot's data (in `raft-meta`), in the format of [`crate::snapshot`].
pub(crate) const SNAPSHOT_DATA: &[u8] = b"snapshot-data";

/// The key of the log entry at `index`.
pub(crate) fn log_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The log index a log key names, or `None` if `key` is not 8 bytes long.
pub(crate) fn log_index(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

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
    fn keyspace_names_are_distinct_and_not_the_default() {
        let names = [LOG_KEYSPACE, META_KEYSPACE, STATE_KEYSPACE];
        for (i, a) in names.iter().enumerate() {
            assert_ne!(*a, "default");
            assert!(names[i + 1..].iter().all(|b| a != b));
        }
    }
}
