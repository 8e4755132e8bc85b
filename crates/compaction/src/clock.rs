//! The clock expiry is judged by: a trait, so that tests move time by hand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use quickcache_sstable::Timestamp;

/// A source of the current time, in milliseconds since the Unix epoch.
///
/// Reads and compactions ask it whether an expiring entry has expired. It should not
/// go backwards: a key a compaction has seen expired is removed for good, while one
/// only read as expired would read as present again.
///
/// Thread-safety: shared by every reader and compaction thread.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock ([`SystemTime::now`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::of(SystemTime::now())
    }
}

/// A clock that moves only when told to: for tests, which then never sleep.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use quickcache_compaction::{Clock, ManualClock};
/// use quickcache_sstable::Timestamp;
///
/// let clock = ManualClock::new(Timestamp::from_millis(1_000));
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Timestamp::from_millis(3_000));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            millis: AtomicU64::new(start.as_millis()),
        }
    }

    /// Moves the clock to `to` (backwards too, though [`Clock`] says why not to).
    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.as_millis(), Ordering::SeqCst);
    }

    /// Moves the clock `by` forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now();
        loop {
            let next = now.after(by).as_millis();
            match (self.millis).compare_exchange(
                now.as_millis(),
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(seen) => now = Timestamp::from_millis(seen),
            }
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// A shared clock, as options hold it.
pub type DynClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_past_2020() {
        assert!(SystemClock.now() > Timestamp::from_millis(1_577_836_800_000));
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::from_millis(5));
        assert_eq!(clock.now(), Timestamp::from_millis(5));
        clock.advance(Duration::from_millis(10));
        assert_eq!(clock.now(), Timestamp::from_millis(15));
        clock.set(Timestamp::MAX);
        clock.advance(Duration::from_millis(1));
        assert_eq!(clock.now(), Timestamp::MAX);
    }
}
