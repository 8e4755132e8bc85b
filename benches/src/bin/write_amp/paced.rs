//! `--paced` for quickcache: the compaction crate on its own, exactly as
//! `crates/compaction/examples/fill.rs` drives it. Every `memtable` bytes of key +
//! value the stream's entries go into a memtable that is flushed to L0, then
//! `compact_until_idle` runs every compaction the picker finds due before the next
//! write. No background thread, so the figures do not depend on timing or load.

use std::path::Path;
use std::sync::Arc;

use quickcache::fs::{DynFs, RealFs};
use quickcache_compaction::{CompactionOptions, Level, VersionSet};
use quickcache_memtable::Memtable;
use quickcache_sstable::SeqNo;

use crate::workload::{KEY_LEN, VALUE_LEN, Workload};
use crate::{Outcome, Result, Shape};

pub(crate) fn compaction_options(shape: Shape) -> CompactionOptions {
    CompactionOptions {
        base_level_size: shape.base,
        table_size: shape.table,
        max_grandparent_overlap: 10 * shape.table,
        ..CompactionOptions::default()
    }
}

fn flush(set: &VersionSet, mem: &Memtable, seq: u64) -> Result<()> {
    set.flush(&mut mem.cursor(), seq, &[])?;
    set.compact_until_idle(&[])?;
    Ok(())
}

pub(crate) fn run(dir: &Path, shape: Shape, w: &Workload) -> Result<Outcome> {
    let fs: DynFs = Arc::new(RealFs::new());
    let set = VersionSet::create(Arc::clone(&fs), dir, compaction_options(shape))?;
    let (mut mem, mut bytes, mut seq) = (Memtable::new(), 0u64, 0u64);
    for (key, value) in w.stream() {
        seq += 1;
        mem.put(&key, SeqNo::new(seq).ok_or("sequence overflow")?, &value);
        bytes += (KEY_LEN + VALUE_LEN) as u64;
        if bytes >= shape.memtable {
            flush(&set, &mem, seq)?;
            (mem, bytes) = (Memtable::new(), 0);
        }
    }
    flush(&set, &mem, seq)?;
    let stats = set.stats().snapshot();
    let v = set.current();
    let levels: Vec<u64> = Level::all().map(|l| v.level_size(l)).collect();
    drop(v);
    drop(set);
    let compacted = crate::qc::fully_compacted(dir, shape)?;
    Ok(Outcome {
        flush: stats.flush_bytes,
        compaction: stats.compaction_write_bytes,
        flushes: stats.flushes,
        per_level: Vec::new(),
        levels,
        compacted,
        notes: vec![format!(
            "compactions {}, trivial moves {}, compaction read {:.1} MiB",
            stats.compactions,
            stats.trivial_moves,
            stats.compaction_read_bytes as f64 / crate::MIB as f64
        )],
    })
}
