//! The ingest thread of the all-features stress: bulk loads of [`KEYS`] keys each,
//! under `i/<n>/` in keyspace `a`, given out of order, while the other threads write,
//! flush, compact and take checkpoints. After load `n` returns, a snapshot holds
//! every key of load `n` with its value; every [`SCAN_EVERY`] loads, a scan of `i/`
//! holds exactly the keys of loads 1 to `n` (an ingest is whole, and nothing a
//! compaction did to ingested tables lost or resurrected a key).

use std::sync::atomic::Ordering;

use quickcache::Snapshot;

use super::{AllFeaturesStats, Shared};
use crate::check::Violation;

/// Keys per load.
const KEYS: u64 = 8;
/// A full scan of `i/` every this many loads.
const SCAN_EVERY: u64 = 16;

fn key(n: u64, j: u64) -> String {
    format!("i/{n:08}/{j:02}")
}

/// Bulk-loads and checks until the run stops.
pub(super) fn ingest(s: &Shared) -> Result<AllFeaturesStats, Violation> {
    let mut stats = AllFeaturesStats::default();
    let mut n = 0u64;
    while !s.stop.load(Ordering::Relaxed) {
        n += 1;
        if let Err(e) = load(s, n) {
            return s.fail(format!("ingest {n}: {e}"));
        }
        stats.ingests += 1;
        let snapshot = s.db.snapshot();
        let checked = check_load(s, &snapshot, n).and_then(|()| {
            if n.is_multiple_of(SCAN_EVERY) {
                check_all(s, &snapshot, n)
            } else {
                Ok(())
            }
        });
        if let Err(e) = checked {
            return s.fail(format!("ingest {n}: {e}"));
        }
    }
    Ok(stats)
}

fn load(s: &Shared, n: u64) -> Result<(), String> {
    let mut loader = s.ks.a.bulk_loader().map_err(|e| e.to_string())?;
    // Backwards: the loader sorts.
    for j in (0..KEYS).rev() {
        loader
            .put(key(n, j), n.to_string())
            .map_err(|e| e.to_string())?;
    }
    loader.finish().map(drop).map_err(|e| e.to_string())
}

/// Every key of load `n` reads its value.
fn check_load(s: &Shared, snapshot: &Snapshot, n: u64) -> Result<(), Violation> {
    for j in 0..KEYS {
        let got = (snapshot.get_in(&s.ks.a, key(n, j))).map_err(|e| format!("get: {e}"))?;
        if got.as_deref() != Some(n.to_string().as_bytes()) {
            return Err(format!(
                "{} reads {got:?} after the load returned",
                key(n, j)
            ));
        }
    }
    Ok(())
}

/// A scan of `i/` holds the keys of loads 1 to `n`, in order, each with its load's
/// value, and nothing else.
fn check_all(s: &Shared, snapshot: &Snapshot, n: u64) -> Result<(), Violation> {
    let mut expected = (1..=n).flat_map(|m| (0..KEYS).map(move |j| (key(m, j), m)));
    for kv in snapshot.range_in(&s.ks.a, "i/".."i0") {
        let (k, v) = kv.map_err(|e| format!("scanning i/: {e}"))?;
        let k = String::from_utf8_lossy(&k).into_owned();
        let Some((want, m)) = expected.next() else {
            return Err(format!("a scan of i/ returned {k}, past every load"));
        };
        if k != want || v.as_ref() != m.to_string().as_bytes() {
            return Err(format!(
                "a scan of i/ returned {k} where {want} = {m} belongs"
            ));
        }
    }
    match expected.next() {
        Some((missing, _)) => Err(format!("a scan of i/ lacks {missing}")),
        None => Ok(()),
    }
}
