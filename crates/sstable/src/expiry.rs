//! Expiry times: the timestamp an expiring entry carries in front of its value.
//!
//! An entry of kind [`ValueKind::ExpiringValue`] stores, as its value bytes:
//!
//! ```text
//! +-----------------------------+----------------------+
//! | expires at: u64 LE, ms      | the user's value     |
//! +-----------------------------+----------------------+
//! ```
//!
//! The time is milliseconds since the Unix epoch. The entry reads as its value while
//! `now < expires at` and as deleted from `expires at` on.
//!
//! [`ValueKind::ExpiringValue`]: crate::ValueKind::ExpiringValue

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bytes of the expiry prefix of an expiring entry's stored value.
pub const EXPIRY_LEN: usize = 8;

/// A point in time: milliseconds since the Unix epoch.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use quickcache_sstable::Timestamp;
/// let t = Timestamp::from_millis(1_000);
/// assert_eq!(t.after(Duration::from_millis(500)), Timestamp::from_millis(1_500));
/// assert_eq!(Timestamp::MAX.after(Duration::from_secs(1)), Timestamp::MAX);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The latest representable time (an expiry that never comes).
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// The time `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `time` as a timestamp (the epoch for times before it, [`Timestamp::MAX`] for
    /// times too far after it).
    pub fn of(time: SystemTime) -> Timestamp {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// The time `d` after this one, saturating at [`Timestamp::MAX`]. A duration is
    /// rounded up to whole milliseconds, so a non-zero one always lies in the future.
    pub fn after(self, d: Duration) -> Timestamp {
        let millis = d.as_nanos().div_ceil(1_000_000);
        let millis = u64::try_from(millis).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }
}

/// Appends the stored value of an expiring entry: `expires_at`, then `value`.
pub fn encode_expiring(expires_at: Timestamp, value: &[u8], out: &mut Vec<u8>) {
    out.reserve(EXPIRY_LEN + value.len());
    out.extend_from_slice(&expires_at.0.to_le_bytes());
    out.extend_from_slice(value);
}

/// Splits the stored value of an expiring entry into its expiry and the user's value;
/// `None` if it is shorter than the expiry (damaged: writers never produce that).
pub fn split_expiring(stored: &[u8]) -> Option<(Timestamp, &[u8])> {
    let (expiry, value) = stored.split_first_chunk::<EXPIRY_LEN>()?;
    Some((Timestamp(u64::from_le_bytes(*expiry)), value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn a_short_stored_value_has_no_expiry() {
        assert_eq!(split_expiring(&[1; 7]), None);
        assert_eq!(split_expiring(&[0; 8]), Some((Timestamp(0), &[][..])));
    }

    #[test]
    fn durations_round_up_to_milliseconds() {
        let t = Timestamp(10);
        assert_eq!(t.after(Duration::from_nanos(1)), Timestamp(11));
        assert_eq!(t.after(Duration::ZERO), t);
        assert_eq!(
            Timestamp::of(UNIX_EPOCH + Duration::from_millis(7)),
            Timestamp(7)
        );
        assert_eq!(
            Timestamp::of(UNIX_EPOCH - Duration::from_secs(1)),
            Timestamp(0)
        );
    }

    quickcheck! {
        fn expiring_values_round_trip(at: u64, value: Vec<u8>) -> bool {
            let mut stored = Vec::new();
            encode_expiring(Timestamp(at), &value, &mut stored);
            split_expiring(&stored) == Some((Timestamp(at), &value[..]))
        }
    }
}
