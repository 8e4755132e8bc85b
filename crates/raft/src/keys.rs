//! Where each kind of record lives in the one quickcache database: the key layout.
//!
//! Keyspaces are not merged yet, so the log, the log's metadata and the state machine
//! share one `Db` under separate one-byte prefixes. Everything else in the crate goes
//! through this module, so moving each prefix to its own keyspace later touches only
//! this file.
//!
//! ```text
//! l/ <index: u64 big-endian>   a log entry (JSON)          log
//! m/ vote | committed | purged | identity                   log metadata
//! s/ applied | membership | snapshot-meta | snapshot-data   state-machine metadata
//! d/ <user key>                                             state-machine data
//! ```
//!
//! Log indexes are **big-endian**, unlike quickcache's little-endian file formats:
//! the database orders keys bytewise, and only big-endian makes that order the numeric
//! order, so a range of indexes is a range of keys.

use std::ops::Bound;

const LOG: &[u8] = b"l/";
const DATA: &[u8] = b"d/";

/// The vote (`m/vote`).
pub(crate) const VOTE: &[u8] = b"m/vote";
/// The last committed log id (`m/committed`).
pub(crate) const COMMITTED: &[u8] = b"m/committed";
/// The last purged log id (`m/purged`).
pub(crate) const LAST_PURGED: &[u8] = b"m/purged";
/// The node id and cluster this data directory belongs to (`m/identity`).
pub(crate) const IDENTITY: &[u8] = b"m/identity";
/// The last applied log id (`s/applied`).
pub(crate) const APPLIED: &[u8] = b"s/applied";
/// The last applied membership (`s/membership`).
pub(crate) const MEMBERSHIP: &[u8] = b"s/membership";
/// The current snapshot's metadata (`s/snapshot-meta`).
pub(crate) const SNAPSHOT_META: &[u8] = b"s/snapshot-meta";
/// The current snapshot's data (`s/snapshot-data`), in the format of [`crate::snapshot`].
pub(crate) const SNAPSHOT_DATA: &[u8] = b"s/snapshot-data";

/// The key of the log entry at `index`.
pub(crate) fn log_key(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(LOG.len() + 8);
    key.extend_from_slice(LOG);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The log index a log key names, or `None` if `key` is not a log key.
pub(crate) fn log_index(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.strip_prefix(LOG)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The key range holding the log entries whose indexes are in `(start, end)`.
pub(crate) fn log_range(start: Bound<&u64>, end: Bound<&u64>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let map = |bound: Bound<&u64>, unbounded: Bound<Vec<u8>>| match bound {
        Bound::Included(&index) => Bound::Included(log_key(index)),
        Bound::Excluded(&index) => Bound::Excluded(log_key(index)),
        Bound::Unbounded => unbounded,
    };
    (
        map(start, Bound::Included(LOG.to_vec())),
        map(end, Bound::Excluded(prefix_end(LOG))),
    )
}

/// The prefix under which every log entry lives.
pub(crate) fn log_prefix() -> &'static [u8] {
    LOG
}

/// The stored key of the user key `key`.
pub(crate) fn data_key(key: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(DATA.len() + key.len());
    stored.extend_from_slice(DATA);
    stored.extend_from_slice(key);
    stored
}

/// The user key a stored data key holds, or `None` if `stored` is not a data key.
pub(crate) fn user_key(stored: &[u8]) -> Option<&[u8]> {
    stored.strip_prefix(DATA)
}

/// The prefix under which every state-machine key lives.
pub(crate) fn data_prefix() -> &'static [u8] {
    DATA
}

/// The stored range of the user range `(start, end)`.
pub(crate) fn data_range(
    start: Bound<&[u8]>,
    end: Bound<&[u8]>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let map = |bound: Bound<&[u8]>, unbounded: Bound<Vec<u8>>| match bound {
        Bound::Included(key) => Bound::Included(data_key(key)),
        Bound::Excluded(key) => Bound::Excluded(data_key(key)),
        Bound::Unbounded => unbounded,
    };
    (
        map(start, Bound::Included(DATA.to_vec())),
        map(end, Bound::Excluded(prefix_end(DATA))),
    )
}

/// The first key after every key starting with `prefix` (whose last byte is below 0xff).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
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
        assert_eq!(log_index(b"d/12345678"), None);
        assert_eq!(log_index(b"l/1234567"), None);
        assert_eq!(log_index(VOTE), None);
    }

    #[test]
    fn prefixes_do_not_overlap() {
        let everything_else = [
            VOTE,
            COMMITTED,
            LAST_PURGED,
            IDENTITY,
            APPLIED,
            MEMBERSHIP,
            SNAPSHOT_META,
            SNAPSHOT_DATA,
        ];
        let (log_start, log_end) = log_range(Bound::Unbounded, Bound::Unbounded);
        let (data_start, data_end) = data_range(Bound::Unbounded, Bound::Unbounded);
        for key in everything_else {
            assert!(
                !(log_start.clone(), log_end.clone()).contains(&key.to_vec()),
                "{key:?}"
            );
            assert!(
                !(data_start.clone(), data_end.clone()).contains(&key.to_vec()),
                "{key:?}"
            );
        }
        assert!((log_start, log_end).contains(&log_key(u64::MAX)));
        assert!((data_start, data_end).contains(&data_key(&[0xff; 4])));
    }

    #[test]
    fn data_keys_round_trip() {
        assert_eq!(user_key(&data_key(b"user:1")), Some(&b"user:1"[..]));
        assert_eq!(user_key(b"l/x"), None);
    }
}
