//! What a transaction costs next to a plain write, on one thread: plain puts with
//! no transaction open, plain puts while one is open (they are then recorded in the
//! conflict history), blind one-put transactions, and get-then-put transactions.
//!
//! Run with `cargo run -p quickcache --release --example txn_cost [N]`.

use std::time::Instant;

use quickcache::{Db, Durability, Options};

fn timed(
    label: &str,
    n: u64,
    mut op: impl FnMut(u64) -> quickcache::Result<()>,
) -> quickcache::Result<()> {
    let start = Instant::now();
    for i in 0..n {
        op(i)?;
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    println!("{label:<44} {ns:>8.0} ns/op");
    Ok(())
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[8..].copy_from_slice(&(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000).to_be_bytes());
    k
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    // Buffered: measure the engine, not the write(2) each OS-durable write makes.
    let options = Options {
        durability: Durability::Buffered,
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options)?;
    let value = [7u8; 100];
    for round in 0..2 {
        println!("round {round}, {n} ops each");
        timed("plain put, no transaction open", n, |i| {
            db.put(key(i), value)
        })?;
        let open = db.transaction();
        timed("plain put, one transaction open", n, |i| {
            db.put(key(i), value)
        })?;
        drop(open);
        timed("transaction: put, commit", n, |i| {
            let mut tx = db.transaction();
            tx.put(key(i), value);
            tx.commit()
        })?;
        timed("transaction: get, put, commit", n, |i| {
            let mut tx = db.transaction();
            let _ = tx.get(key(i))?;
            tx.put(key(i), value);
            tx.commit()
        })?;
        timed("db.update: get, put", n, |i| {
            db.update(|tx| {
                let _ = tx.get(key(i))?;
                tx.put(key(i), value);
                Ok(())
            })
        })?;
    }
    db.close()?;
    Ok(())
}
