//! The basics: open, write, read, scan, batch, snapshot, close.
//!
//! Run with `cargo run -p quickcache --example quickstart`.

use quickcache::{Db, WriteBatch, WriteOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path())?;

    db.put("fruit:apple", "red")?;
    db.put("fruit:banana", "yellow")?;
    db.put_with("fruit:cherry", "dark red", &WriteOptions::synced())?;
    println!("apple is {:?}", db.get("fruit:apple")?);

    let snapshot = db.snapshot();
    let mut batch = WriteBatch::new();
    batch.delete("fruit:apple").put("fruit:kiwi", "green");
    db.write(batch)?;

    for pair in db.prefix("fruit:") {
        let (key, value) = pair?;
        println!(
            "{} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }
    println!(
        "the snapshot still has {} fruits",
        snapshot.prefix("fruit:").count()
    );
    drop(snapshot);

    db.flush()?;
    println!("{:#?}", db.stats().levels[0]);
    db.close()?;
    Ok(())
}
