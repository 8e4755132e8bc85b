//! The benchmark's workload without criterion, for instruction and cache-miss counts
//! under `valgrind --tool=cachegrind` (the shared machine has no hardware counters,
//! and wall-clock figures there are noise).
//!
//! Run: `cargo build --release -p quickcache-memtable --example profile`, then
//! `valgrind --tool=cachegrind --cache-sim=yes target/release/examples/profile MODE`
//! with MODE `fill` (500k random inserts), `fill-shared` (the same with the keys'
//! first four bytes equal), `get` (the fill, then 200k gets) or `apply` (500k
//! ascending keys in batches of 1000) or `decode` (100k decodes of 16-entry batches,
//! as WAL replay does, each then iterated). A get's cost is `get` minus
//! `fill`, divided by the lookups.

use std::hint::black_box;

use quickcache_memtable::{Lookup, Memtable, WriteBatch};

#[path = "../benches/workload/mod.rs"]
mod workload;

use quickcache_sstable::SeqNo;
use workload::{ENTRIES, LOOKUPS, VALUE, random_keys, seq};

fn fill(m: &Memtable, keys: &[[u8; 16]]) {
    for (i, key) in keys.iter().enumerate() {
        m.put(key, seq(i), &VALUE);
    }
}

fn gets(m: &Memtable, keys: &[[u8; 16]]) -> usize {
    (0..LOOKUPS)
        .filter(|i| {
            let key = &keys[i * 7919 % ENTRIES];
            matches!(m.get(key, SeqNo::MAX), Some(Lookup::Value(_)))
        })
        .count()
}

fn apply(m: &Memtable) -> Result<(), quickcache_memtable::Error> {
    for first in (0..ENTRIES).step_by(1000) {
        let mut batch = WriteBatch::new();
        for i in first..first + 1000 {
            let mut key = [0u8; 16];
            key[8..].copy_from_slice(&(i as u64).to_be_bytes());
            batch.put(&key, &VALUE)?;
        }
        batch.set_base_seqno(seq(first))?;
        m.apply(&batch)?;
    }
    Ok(())
}

/// Decodes 100k batches of 16 entries (keys of 16 bytes, values of 8 to 300 bytes:
/// one- and two-byte length varints) and walks their entries.
fn decode() -> Result<(), quickcache_memtable::Error> {
    let mut encoded = Vec::new();
    for b in 0..100 {
        let mut batch = WriteBatch::new();
        for i in 0..16 {
            let mut key = [0u8; 16];
            key[8..].copy_from_slice(&((b * 16 + i) as u64).to_be_bytes());
            let value = vec![0x5a; 8 + (b * 16 + i) * 37 % 293];
            batch.put(&key, &value)?;
        }
        batch.set_base_seqno(seq(b * 16))?;
        encoded.push(batch.encoded().to_vec());
    }
    let mut bytes = 0usize;
    for round in 0..100_000 {
        let batch = WriteBatch::decode(black_box(&encoded[round % encoded.len()]))?;
        bytes += batch
            .iter()
            .map(|e| e.key.len() + e.value.len())
            .sum::<usize>();
    }
    println!("decode: {} bytes", black_box(bytes));
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let m = Memtable::new();
    match mode.as_str() {
        "fill" => fill(&m, black_box(&random_keys(ENTRIES))),
        "fill-shared" => {
            // Keys sharing their first four bytes, as `user...` keys do: the case
            // where a link's 32-bit key fragment never decides.
            let mut keys = random_keys(ENTRIES);
            keys.iter_mut()
                .for_each(|k| k[..4].copy_from_slice(b"user"));
            fill(&m, black_box(&keys));
        }
        "get" => {
            let keys = random_keys(ENTRIES);
            fill(&m, &keys);
            let found = black_box(gets(&m, black_box(&keys)));
            if found != LOOKUPS {
                return Err(format!("found {found} of {LOOKUPS}").into());
            }
        }
        "apply" => apply(&m)?,
        "decode" => decode()?,
        _ => return Err("usage: profile fill|fill-shared|get|apply|decode".into()),
    }
    println!("{mode}: {} entries", m.len());
    Ok(())
}
