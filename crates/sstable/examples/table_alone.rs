//! Writes a plain key → value table and reads it back, using nothing of quickcache but
//! the file-system layer and this crate.
//!
//! Run: `cargo run -p quickcache-sstable --example table_alone [DIR]`

use std::error::Error;
use std::path::PathBuf;

use quickcache_fs::{FileSystem, RealFs};
use quickcache_sstable::{Table, TableBuilder, TableOptions};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("quickcache-standalone-{}", std::process::id())),
    };
    let fs = RealFs::new();
    fs.create_dir_all(&dir)?;
    let path = dir.join("cities.sst");

    // Keys must come in increasing order.
    let mut builder = TableBuilder::new(&fs, &path, TableOptions::default())?;
    for i in 0..10_000u32 {
        let key = format!("city-{i:05}");
        let value = format!("population {}", (i * 7919) % 100_000);
        builder.add_plain(key.as_bytes(), value.as_bytes())?;
    }
    let meta = builder.finish()?;
    // The table file is synced; make its name durable too.
    fs.sync_dir(&dir)?;
    println!(
        "wrote {} entries, {} bytes, to {}",
        meta.properties.entry_count,
        meta.file_size,
        path.display()
    );

    let table = Table::open(&fs, &path)?;
    table.verify()?;
    if let Some(value) = table.get_plain(b"city-04242")? {
        println!("city-04242 -> {}", String::from_utf8_lossy(&value));
    }
    println!(
        "city-99999 present: {}",
        table.get_plain(b"city-99999")?.is_some()
    );
    let last_three: Vec<String> = table
        .iter_plain()
        .rev()
        .take(3)
        .map(|kv| kv.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
        .collect::<Result<_, _>>()?;
    println!("last three keys: {last_three:?}");

    fs.remove(&path)?;
    Ok(())
}
