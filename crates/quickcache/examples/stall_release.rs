//! How soon a writer stopped by the L0 limit goes on once a compaction has made
//! room: the stall-release latency that signalling (rather than polling) saves.
//!
//! One writer fills a database whose L0 stops writes at 4 tables, on one compaction
//! thread, so it stops again and again. A sync point records when each compaction
//! round ends; for every stopped put whose stop spans a round's end, the latency is
//! from the last such end to the put's return. Stops lifted mid-round are not
//! counted (their moment is not observed). It runs on the in-memory `SimFs`: on a
//! disk, fsync latency would drown the wake-up.
//!
//! Run: `cargo run --release -p quickcache --example stall_release [KEYS] [ROUNDS]`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quickcache::fs::SimFs;
use quickcache::{Db, Options};
use quickcache_compaction::SyncPoints;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let keys: u64 = args.next().map_or(Ok(50_000), |a| a.parse())?;
    let rounds: u32 = args.next().map_or(Ok(3), |a| a.parse())?;
    for round in 1..=rounds {
        let ends: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let record = Arc::clone(&ends);
        let options = Options {
            fs: Arc::new(SimFs::new(u64::from(round))),
            memtable_size: 32 << 10,
            table_size: 32 << 10,
            base_level_size: 128 << 10,
            l0_compaction_trigger: 2,
            l0_slowdown: 4,
            l0_stop: 4,
            background_threads: 1,
            sync_points: SyncPoints::new(move |point| {
                if point == "compactor:round_done" {
                    record
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Instant::now());
                }
            }),
            ..Options::default()
        };
        let db = Db::open_with("/db", options)?;
        let mut stalls = Vec::new();
        let start = Instant::now();
        let mut rng = quickcache::fs::Rng::new(u64::from(round));
        for _ in 0..keys {
            let x = rng.next_u64();
            let begun = Instant::now();
            db.put(x.to_be_bytes(), [7u8; 100])?;
            let done = Instant::now();
            if done - begun > Duration::from_micros(200) {
                stalls.push((begun, done));
            }
        }
        let elapsed = start.elapsed();
        let ends = ends.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut latencies: Vec<Duration> = stalls
            .iter()
            .filter_map(|&(begun, done)| {
                let last = ends.iter().rev().find(|&&e| e >= begun && e <= done)?;
                Some(done - *last)
            })
            .collect();
        latencies.sort_unstable();
        let at = |q: f64| {
            let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
            latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        let stats = db.stats();
        println!(
            "round {round}: {keys} puts in {:.2} s; stops {}; release latency over {} stops: p50 {:.3} ms, p90 {:.3} ms, max {:.3} ms",
            elapsed.as_secs_f64(),
            stats.stops,
            latencies.len(),
            at(0.5),
            at(0.9),
            at(1.0),
        );
        db.close()?;
    }
    Ok(())
}
