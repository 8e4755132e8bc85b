//! The keyspace workloads of issue 15, on the real file system:
//!
//! - `fill1` / `fill16`: `keys` puts in one keyspace, then the same puts round-robin
//!   over 16 keyspaces;
//! - `batch1` / `batch16`: `keys` entries in atomic batches of 1000 over 16
//!   keyspaces: each batch in one keyspace (the next one for each batch), then each
//!   batch spread over all 16.
//!
//! Each runs twice: with default options, where the 16 keyspaces share one 32 MiB
//! write-buffer budget (so each flushes about 2 MiB memtables: more, smaller flushes
//! than one keyspace), and with a 256 MiB budget and memtables, so that nothing is
//! flushed and the figures are the write path's alone.
//!
//! Run with `cargo run -p quickcache --release --example keyspaces -- [keys] [dir]`.

use std::path::Path;
use std::time::Instant;

use quickcache::{Db, KeyspaceOptions, Options, WriteBatch};

mod support;

use support::{key, report};

const KEYSPACES: usize = 16;
const BATCH: u64 = 1000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (n, dir) = support::keys_and_dir(500_000)?;
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    println!("default options (one 32 MiB write-buffer budget):");
    run(&dir.join("default"), &Options::default(), n)?;
    let big = Options {
        memtable_size: 256 << 20,
        ..Options::default()
    };
    println!("write path only (256 MiB budget and memtables, no flush):");
    run(&dir.join("big"), &big, n)
}

fn keyspaces(db: &Db, count: usize) -> quickcache::Result<Vec<quickcache::Keyspace>> {
    let options = KeyspaceOptions::from(db.options());
    (0..count)
        .map(|i| db.keyspace_with(&format!("ks{i:02}"), options.clone()))
        .collect()
}

fn run(dir: &Path, options: &Options, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let value = [0x5au8; 100];
    for spread in [1, KEYSPACES] {
        let db = Db::open_with(dir.join(format!("fill{spread}")), options.clone())?;
        let spaces = keyspaces(&db, spread)?;
        let start = Instant::now();
        for i in 0..n {
            spaces[i as usize % spread].put(key(i), value)?;
        }
        report(&format!("fill{spread}"), n, start);
        db.close()?;
    }
    for spread in [1, KEYSPACES] {
        let db = Db::open_with(dir.join(format!("batch{spread}")), options.clone())?;
        let spaces = keyspaces(&db, KEYSPACES)?;
        let start = Instant::now();
        for b in 0..n / BATCH {
            let mut batch = WriteBatch::new();
            for i in b * BATCH..(b + 1) * BATCH {
                let to = if spread == 1 { b } else { i };
                batch.put_in(&spaces[to as usize % KEYSPACES], key(i), value);
            }
            db.write(batch)?;
        }
        report(&format!("batch{spread}"), n / BATCH * BATCH, start);
        db.close()?;
    }
    Ok(())
}
