//! What range tombstones cost gets of keys outside them, measured in instructions
//! (deterministic whatever the machine's load) rather than wall-clock time.
//!
//! `load` builds a database of `N` keys (100-byte values that do not compress) at
//! the bottom level, then re-puts some keys
//! into an L0 table and into the memtable; with `tombstones` it also writes 100
//! range tombstones over 20-key regions spread through the key space, half into the
//! L0 table and half left in the memtable (the WAL, replayed at open).
//! `read` opens it and gets `GETS` random keys outside every region, all found, in
//! `read_phase` alone, so that callgrind can count just that function:
//!
//! ```text
//! cargo build --release -p quickcache --example range_delete_read_cost
//! B=target/release/examples/range_delete_read_cost
//! $B load /tmp/rd-none none && $B load /tmp/rd-tomb tombstones
//! valgrind --tool=callgrind --toggle-collect='*read_phase*' $B read /tmp/rd-none
//! valgrind --tool=callgrind --toggle-collect='*read_phase*' $B read /tmp/rd-tomb
//! ```
//!
//! Instructions per get = the `Collected` total / `GETS`.

use quickcache::{Db, Options};

const REGIONS: u64 = 100;
/// Keys per range tombstone.
const WIDTH: u64 = 20;

/// `key` and `i` in 10 decimal digits, without `format!` (whose cost would dilute
/// the figures).
fn key(i: u64) -> [u8; 13] {
    let mut k = *b"key0000000000";
    let mut rest = i;
    for digit in k[3..].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    k
}

/// The stripe of the key space each region sits in the middle of.
fn stripe(n: u64) -> u64 {
    n / REGIONS
}

/// Whether key `i` lies in a range tombstone's region.
fn covered(n: u64, i: u64) -> bool {
    let offset = i % stripe(n);
    offset >= stripe(n) / 2 && offset < stripe(n) / 2 + WIDTH
}

fn options() -> Options {
    Options {
        flush_interval: None,
        flush_on_close: false,
        ..Options::default()
    }
}

fn tombstone(db: &Db, n: u64, region: u64) -> quickcache::Result<()> {
    let start = region * stripe(n) + stripe(n) / 2;
    db.delete_range(key(start)..key(start + WIDTH))
}

/// 100 bytes that do not compress, different for each key.
fn value(i: u64) -> Vec<u8> {
    let mut x = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..100)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn load(dir: &str, tombstones: bool, n: u64) -> quickcache::Result<()> {
    let db = Db::open_with(dir, options())?;
    for i in 0..n {
        db.put(key(i), value(i))?;
    }
    db.compact_range(..)?;
    for i in (0..n).step_by(50) {
        db.put(key(i), value(i + n))?;
    }
    for region in (0..REGIONS).filter(|r| tombstones && r % 2 == 0) {
        tombstone(&db, n, region)?;
    }
    db.flush()?;
    for i in (1..n).step_by(100) {
        db.put(key(i), value(i + n))?;
    }
    for region in (0..REGIONS).filter(|r| tombstones && r % 2 == 1) {
        tombstone(&db, n, region)?;
    }
    let stats = db.stats();
    let files: Vec<_> = (stats.levels.iter()).map(|l| (l.level, l.files)).collect();
    println!("loaded {n} keys (tombstones: {tombstones}); (level, tables): {files:?}");
    db.close()
}

/// Gets `gets` pseudo-random keys outside every region; returns how many were found.
#[inline(never)]
fn read_phase(db: &Db, n: u64, gets: u64) -> quickcache::Result<u64> {
    let (mut found, mut x) = (0, 0x9E37_79B9_7F4A_7C15_u64);
    for _ in 0..gets {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut i = (x >> 33) % n;
        if covered(n, i) {
            i += WIDTH;
        }
        found += u64::from(db.get(key(i))?.is_some());
    }
    Ok(found)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("load"), Some(dir)) => {
            let tombstones = args.get(3).is_some_and(|m| m == "tombstones");
            load(dir, tombstones, arg(4, 200_000))?;
        }
        (Some("read"), Some(dir)) => {
            let (n, gets) = (arg(3, 200_000), arg(4, 100_000));
            let db = Db::open_with(dir, options())?;
            let found = read_phase(&db, n, gets)?;
            println!("{found} of {gets} gets found");
            if found != gets {
                return Err("a key outside every tombstone was not found".into());
            }
        }
        _ => return Err("usage: load DIR none|tombstones [N] | read DIR [N] [GETS]".into()),
    }
    Ok(())
}
