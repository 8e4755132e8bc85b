//! Many threads writing and reading one database through an `Arc<Db>`.
//!
//! Run with `cargo run -p quickcache --release --example concurrent`.

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use quickcache::Db;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Arc::new(Db::open(dir.path())?);
    let threads = 4u64;
    let per_thread = 50_000u64;
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let db = Arc::clone(&db);
            thread::spawn(move || -> quickcache::Result<u64> {
                let mut found = 0;
                for i in 0..per_thread {
                    let key = (t * per_thread + i).to_be_bytes();
                    db.put(key, [t as u8; 100])?;
                    if db.get(key)?.is_some() {
                        found += 1;
                    }
                }
                Ok(found)
            })
        })
        .collect();
    let mut found = 0;
    for worker in workers {
        found += worker.join().map_err(|_| "a worker panicked")??;
    }
    let elapsed = start.elapsed();
    println!(
        "{threads} threads: {} puts + gets in {elapsed:.2?} ({:.0} ops/s), {found} found",
        threads * per_thread,
        (2 * threads * per_thread) as f64 / elapsed.as_secs_f64()
    );
    let db = Arc::into_inner(db).ok_or("the database is still shared")?;
    db.close()?;
    Ok(())
}
