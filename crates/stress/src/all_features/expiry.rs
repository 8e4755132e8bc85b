//! The expiry thread of the all-features stress: puts with a time to live short
//! enough to run out during the run, in keyspace `a` under `x/`, while the other
//! threads write, flush, compact and take checkpoints around them. Once its time is
//! up (with a margin for the clock's granularity), a value must read as gone through
//! `get`, and a scan of `x/` must never return one that `get` already found gone:
//! expiry is final, whatever flushes and compactions did to the entry meanwhile.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use quickcache::WriteBatch;

use super::{AllFeaturesStats, Shared};
use crate::check::Violation;

/// How long each value lives.
const TTL: Duration = Duration::from_millis(30);
/// How long past its time a value may still read: the engine takes its clock while
/// the write is under way, before this thread reads its own, and stores whole
/// milliseconds.
const MARGIN: Duration = Duration::from_millis(20);
/// A scan of `x/` every this many writes.
const SCAN_EVERY: u64 = 64;

fn key(n: u64) -> String {
    format!("x/{n:010}")
}

/// Writes expiring values and checks that those whose time is up are gone.
pub(super) fn expiry(s: &Shared) -> Result<AllFeaturesStats, Violation> {
    let mut stats = AllFeaturesStats::default();
    // Values written and not yet seen gone, oldest first, with when the write returned.
    let mut live: VecDeque<(u64, SystemTime)> = VecDeque::new();
    let mut n = 0u64;
    while !s.stop.load(Ordering::Relaxed) {
        n += 1;
        let mut batch = WriteBatch::new();
        batch.put_in_with_ttl(&s.ks.a, key(n), n.to_string(), TTL);
        if let Err(e) = s.db.write(batch) {
            return s.fail(format!("expiry: writing {}: {e}", key(n)));
        }
        live.push_back((n, SystemTime::now()));
        if let Err(e) = check_expired(s, &mut live, &mut stats) {
            return s.fail(e);
        }
        if n.is_multiple_of(SCAN_EVERY)
            && let Err(e) = check_scan(s, &live)
        {
            return s.fail(e);
        }
    }
    Ok(stats)
}

/// Every value whose time is up (margin included) reads as gone; those are dropped
/// from `live`.
fn check_expired(
    s: &Shared,
    live: &mut VecDeque<(u64, SystemTime)>,
    stats: &mut AllFeaturesStats,
) -> Result<(), Violation> {
    let now = SystemTime::now();
    while let Some(&(m, written)) = live.front() {
        if now < written + TTL + MARGIN {
            break;
        }
        let got = (s.ks.a.get(key(m))).map_err(|e| format!("expiry: get {}: {e}", key(m)))?;
        if let Some(v) = got {
            return Err(format!(
                "expiry: {} (time to live {TTL:?}) still reads {:?} {:?} after it was written",
                key(m),
                String::from_utf8_lossy(&v),
                now.duration_since(written).unwrap_or_default()
            ));
        }
        live.pop_front();
        stats.expired += 1;
    }
    Ok(())
}

/// A scan of `x/` returns no value `get` already found gone (all below the oldest
/// still in `live`).
fn check_scan(s: &Shared, live: &VecDeque<(u64, SystemTime)>) -> Result<(), Violation> {
    let Some(&(oldest, _)) = live.front() else {
        return Ok(());
    };
    for kv in s.ks.a.prefix("x/") {
        let (k, _) = kv.map_err(|e| format!("expiry: scanning x/: {e}"))?;
        if k.as_slice() < key(oldest).as_bytes() {
            return Err(format!(
                "expiry: a scan returned {} after get found it gone",
                String::from_utf8_lossy(&k)
            ));
        }
    }
    Ok(())
}
