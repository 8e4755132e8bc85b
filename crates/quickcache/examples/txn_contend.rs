//! The bench's `txn_increment` and `txn_transfer` on their own: threads running
//! read-modify-write transactions over hot counters (or accounts), with the commit
//! rate and the aborts by reason, so that false conflicts show.
//!
//! Run with `cargo run -p quickcache --release --example txn_contend [OPS] [THREADS] [KEYS] [transfer]`.

use std::collections::BTreeMap;
use std::time::Instant;

use quickcache::Db;

fn key(i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    let s = i.to_string();
    k[16 - s.len()..].copy_from_slice(s.as_bytes());
    k
}

fn counter(v: Option<&[u8]>) -> u64 {
    v.and_then(|v| v.get(..8))
        .and_then(|v| v.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let ops: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let threads: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let keys: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let transfer = args.next().is_some_and(|a| a == "transfer");
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path())?;
    let start = Instant::now();
    let per_thread = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let db = &db;
                s.spawn(move || run(db, t, ops / threads, keys, transfer))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().map_err(|_| "a worker panicked"))
            .collect::<Vec<_>>()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut reasons = BTreeMap::<&str, u64>::new();
    for counts in per_thread {
        for (reason, n) in counts?? {
            *reasons.entry(reason).or_default() += n;
        }
    }
    let aborts: u64 = reasons.values().sum();
    println!(
        "{:.0} commits/s, aborts {:.2}% {reasons:?}",
        ops as f64 / secs,
        100.0 * aborts as f64 / (ops + aborts) as f64,
    );
    db.close()?;
    Ok(())
}

/// One thread's transactions; returns its aborts by reason.
fn run(
    db: &Db,
    thread: u64,
    ops: u64,
    keys: u64,
    transfer: bool,
) -> quickcache::Result<BTreeMap<&'static str, u64>> {
    let mut reasons = BTreeMap::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(thread + 1);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..ops {
        let (a, b) = (key(next() % keys), key(next() % keys));
        loop {
            let mut tx = db.transaction();
            let n = counter(tx.get(a)?.as_deref());
            tx.put(a, n.wrapping_add(1).to_le_bytes());
            if transfer {
                let m = counter(tx.get(b)?.as_deref());
                tx.put(b, m.wrapping_sub(1).to_le_bytes());
            }
            match tx.commit() {
                Ok(()) => break,
                Err(e) if e.is_conflict() => {
                    let forgotten = e.to_string().contains("trimmed");
                    let kind = if forgotten { "forgotten" } else { "key" };
                    *reasons.entry(kind).or_default() += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(reasons)
}
