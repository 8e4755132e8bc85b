//! The dataset of issue 17: 50,000 JSON values that repeat one record (about 46 MB
//! raw), written, fully compacted, then measured on disk, once per compression.
//!
//! Run with `cargo run -p quickcache --release --example json_compression -- [none|lz4|zstd|default]...`
//! (all four by default). Prints the table bytes after `compact_range(..)`, the raw
//! bytes and their ratio, and the time a read of every key takes.

use std::time::Instant;

use quickcache::{Compression, Db, Options};

/// Values written.
const VALUES: u32 = 50_000;

/// The one record every value repeats, 919 bytes: only its id changes.
fn record(id: u32) -> String {
    let tags = r#"["storage","lsm","key-value","embedded","rust","compaction","bloom"]"#;
    let address =
        r#"{"street":"1 Example Road","city":"Springfield","zip":"12345","country":"Freedonia"}"#;
    let mut s = format!(
        r#"{{"id":{id:08},"type":"customer","name":"Jane Q. Example","email":"jane@example.com","active":true,"balance":1234.56,"tags":{tags},"address":{address},"history":["#
    );
    for i in 0..5 {
        s.push_str(&format!(
            r#"{{"order":{i},"status":"shipped","items":[{{"sku":"ABC-123","qty":2,"price":9.99}},{{"sku":"XYZ-789","qty":1,"price":24.5}}]}},"#
        ));
    }
    s.pop();
    s.push_str("]}");
    s
}

fn table_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "sst") {
            total += std::fs::metadata(&path)?.len();
        }
    }
    Ok(total)
}

fn run(name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = Options::default();
    if name != "default" {
        options.compression = [name.parse::<Compression>()?; 7];
    }
    let dir = tempfile::tempdir()?;
    let db = Db::open_with(dir.path(), options)?;
    let mut raw = 0u64;
    for i in 0..VALUES {
        let (key, value) = (format!("doc{i:08}"), record(i));
        raw += (key.len() + value.len()) as u64;
        db.put(key, value)?;
    }
    db.compact_range(..)?;
    let disk = table_bytes(dir.path())?;
    let start = Instant::now();
    for i in 0..VALUES {
        let value = db.get(format!("doc{i:08}"))?.ok_or("a key is missing")?;
        if value != record(i).as_bytes() {
            return Err(format!("doc{i:08} reads back wrong").into());
        }
    }
    let read = start.elapsed();
    println!(
        "{name:>8}: raw {:.1} MB, tables {:.2} MB after compact_range(..), {:.1}x smaller; {} gets in {read:.2?}",
        raw as f64 / 1e6,
        disk as f64 / 1e6,
        raw as f64 / disk as f64,
        VALUES
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names = if args.is_empty() {
        vec!["none", "lz4", "zstd", "default"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    println!("one record of {} bytes, {VALUES} values", record(0).len());
    for name in names {
        run(name)?;
    }
    Ok(())
}
