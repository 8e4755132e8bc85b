//! Fills a tree with random writes (16-byte keys, 100-byte values) of ten times the
//! base-level target, compacting as it goes, then reports write amplification and
//! space amplification once compaction has settled.
//!
//! ```sh
//! cargo run --release -p quickcache-compaction --example fill            # 8 MiB base, 2 MiB tables
//! cargo run --release -p quickcache-compaction --example fill -- 64 8    # 64 MiB base, 8 MiB tables
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use quickcache_compaction::{CompactionOptions, Level, MergingCursor, VersionSet};
use quickcache_fs::{DynFs, RealFs};
use quickcache_sstable::{Cursor, InternalKey, KeyRef, SeqNo, ValueKind};

const MIB: u64 = 1 << 20;
const KEY_LEN: usize = 16;
const VALUE_LEN: usize = 100;

/// A memtable stand-in: a sorted map with a cursor.
struct Mem {
    entries: Vec<(InternalKey, Vec<u8>)>,
    pos: Option<usize>,
}

impl Cursor for Mem {
    fn seek(&mut self, t: KeyRef<'_>) -> quickcache_sstable::Result<()> {
        let i = self.entries.partition_point(|(k, _)| k.as_ref() < t);
        self.pos = (i < self.entries.len()).then_some(i);
        Ok(())
    }
    fn seek_to_first(&mut self) -> quickcache_sstable::Result<()> {
        self.pos = (!self.entries.is_empty()).then_some(0);
        Ok(())
    }
    fn seek_to_last(&mut self) -> quickcache_sstable::Result<()> {
        self.pos = self.entries.len().checked_sub(1);
        Ok(())
    }
    fn next(&mut self) -> quickcache_sstable::Result<()> {
        self.pos = self.pos.map(|p| p + 1).filter(|&p| p < self.entries.len());
        Ok(())
    }
    fn prev(&mut self) -> quickcache_sstable::Result<()> {
        self.pos = self.pos.and_then(|p| p.checked_sub(1));
        Ok(())
    }
    fn key(&self) -> Option<KeyRef<'_>> {
        self.pos
            .and_then(|p| self.entries.get(p))
            .map(|e| e.0.as_ref())
    }
    fn value(&self) -> Option<&[u8]> {
        self.pos
            .and_then(|p| self.entries.get(p))
            .map(|e| e.1.as_slice())
    }
}

/// Deliberately not `quickcache_fs::Rng`, the workspace's shared generator: this is
/// the xorshift stream of `benches/src/bin/write_amp/workload.rs` (which must generate
/// the same workload, entry for entry), and the figures in
/// `docs/write-amplification.md` were measured on it. Switching changes the workload:
/// switch both and re-measure.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let base = args.first().copied().unwrap_or(8) * MIB;
    let table = args.get(1).copied().unwrap_or(2) * MIB;
    let memtable_bytes = table.max(MIB);
    let options = CompactionOptions {
        base_level_size: base,
        table_size: table,
        max_grandparent_overlap: 10 * table,
        ..CompactionOptions::default()
    };
    let dir = tempfile::tempdir()?;
    let fs: DynFs = Arc::new(RealFs::new());
    let set = VersionSet::create(Arc::clone(&fs), dir.path(), options)?;

    let entry_bytes = (KEY_LEN + VALUE_LEN) as u64;
    let total_entries = 10 * base / entry_bytes;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut mem = BTreeMap::new();
    let (mut user_bytes, mut mem_bytes, mut seq) = (0u64, 0u64, 0u64);
    let started = Instant::now();
    for _ in 0..total_entries {
        seq += 1;
        let key = format!("{:016x}", xorshift(&mut rng) % total_entries);
        let mut value = vec![0u8; VALUE_LEN];
        value[..8].copy_from_slice(&xorshift(&mut rng).to_le_bytes());
        let seqno = SeqNo::new(seq).ok_or("sequence overflow")?;
        mem.insert(
            InternalKey::new(key.into_bytes(), seqno, ValueKind::Value),
            value,
        );
        user_bytes += entry_bytes;
        mem_bytes += entry_bytes;
        if mem_bytes >= memtable_bytes {
            flush(&set, &mut mem, seq)?;
            mem_bytes = 0;
        }
    }
    flush(&set, &mut mem, seq)?;
    let elapsed = started.elapsed();
    report(&set, user_bytes, base, table, elapsed.as_secs_f64())
}

fn flush(
    set: &VersionSet,
    mem: &mut BTreeMap<InternalKey, Vec<u8>>,
    log: u64,
) -> Result<(), Box<dyn Error>> {
    let entries = std::mem::take(mem).into_iter().collect();
    set.flush(&mut Mem { entries, pos: None }, log, &[])?;
    set.compact_until_idle(&[])?;
    Ok(())
}

fn report(
    set: &VersionSet,
    user_bytes: u64,
    base: u64,
    table: u64,
    secs: f64,
) -> Result<(), Box<dyn Error>> {
    let stats = set.stats().snapshot();
    let v = set.current();
    let total = v.total_size();
    let live = live_bytes(set)?;
    println!(
        "base level target {} MiB, table size {} MiB, user bytes {:.1} MiB, {secs:.1} s",
        base / MIB,
        table / MIB,
        user_bytes as f64 / MIB as f64
    );
    for level in Level::all() {
        let tables = v.level(level).len();
        if tables > 0 {
            println!(
                "  {level}: {tables:4} tables, {:8.2} MiB",
                v.level_size(level) as f64 / MIB as f64
            );
        }
    }
    println!(
        "flushes {}, compactions {}, trivial moves {}",
        stats.flushes, stats.compactions, stats.trivial_moves
    );
    println!(
        "bytes written: flush {:.1} MiB, compaction {:.1} MiB",
        stats.flush_bytes as f64 / MIB as f64,
        stats.compaction_write_bytes as f64 / MIB as f64
    );
    println!(
        "write amplification (flush + compaction bytes / user bytes): {:.2}",
        stats.write_amplification(user_bytes)
    );
    println!(
        "space amplification (tree bytes / bytes of the live entries as tables): {:.3}",
        total as f64 / live as f64
    );
    let bottom = v.deepest_nonempty().map_or(1, |l| v.level_size(l));
    println!(
        "space amplification (tree bytes / last level bytes): {:.3}",
        total as f64 / bottom as f64
    );
    Ok(())
}

/// The size the live entries (newest version of each key) take as tables: what a full
/// compaction would leave.
fn live_bytes(set: &VersionSet) -> Result<u64, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let fs: DynFs = Arc::new(RealFs::new());
    let compact = VersionSet::create(fs, dir.path(), set.options().clone())?;
    let mut merge = MergingCursor::new(set.current().cursors());
    merge.seek_to_first()?;
    let mut entries = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    while let (Some(k), Some(v)) = (merge.key(), merge.value()) {
        if last.as_deref() != Some(k.user_key) {
            last = Some(k.user_key.to_vec());
            entries.push((k.to_owned(), v.to_vec()));
        }
        merge.next()?;
    }
    compact.flush(&mut Mem { entries, pos: None }, 0, &[])?;
    Ok(compact.current().total_size())
}
