//! quickcache's whole engine (`quickcache::Db`) on the stream.
//!
//! Figures: `Stats::compaction` counts the table bytes flushes and compactions write
//! (the WAL is not counted). Per output level, a thread polls `Db::stats()` every
//! 5 ms and adds the size of each table id it has not seen before to its level (a
//! table moved down keeps its id and counts nothing); the report says how much of
//! the exact compaction total the poll saw. "Settled": after `Db::wait_for_compactions`
//! (nothing frozen, nothing due or running); then the database is closed and the
//! compaction crate's `compact_until_idle` runs whatever the picker still finds due
//! (counted too, normally nothing).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use quickcache::fs::{DynFs, RealFs};
use quickcache::{Db, Durability, Options};
use quickcache_compaction::{Level, VersionSet};

use crate::workload::Workload;
use crate::{Outcome, Result, Shape};

/// Table ids seen so far, with their level, and bytes first seen per level.
#[derive(Default)]
struct Seen {
    level_of: HashMap<u64, usize>,
    written: [u64; 7],
}

impl Seen {
    fn observe(&mut self, tables: impl Iterator<Item = (usize, u64, u64)>) {
        for (level, id, size) in tables {
            if self.level_of.insert(id, level).is_none() {
                self.written[level] += size;
            }
        }
    }

    fn observe_db(&mut self, db: &Db) {
        let stats = db.stats();
        self.observe(
            (stats.levels.iter())
                .flat_map(|l| l.tables.iter().map(move |t| (l.level, t.id, t.size))),
        );
    }
}

fn options(shape: Shape) -> Options {
    Options {
        memtable_size: usize::try_from(shape.memtable).unwrap_or(usize::MAX),
        base_level_size: shape.base,
        table_size: shape.table,
        // The WAL is not part of the figures; buffered keeps its cost low.
        durability: Durability::Buffered,
        ..Options::default()
    }
}

pub(crate) fn run(dir: &Path, shape: Shape, w: &Workload) -> Result<Outcome> {
    let db = Db::open_with(dir, options(shape))?;
    let stop = AtomicBool::new(false);
    let mut seen = std::thread::scope(|s| -> Result<Seen> {
        let poller = s.spawn(|| {
            let mut seen = Seen::default();
            while !stop.load(Ordering::Relaxed) {
                seen.observe_db(&db);
                std::thread::sleep(Duration::from_millis(5));
            }
            seen.observe_db(&db);
            seen
        });
        let filled = (|| -> Result<()> {
            for (key, value) in w.stream() {
                db.put(key, value)?;
            }
            db.flush()?;
            db.wait_for_compactions()?;
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        let seen = poller.join().map_err(|_| "the poller panicked")?;
        filled.map(|()| seen)
    })?;
    let stats = db.stats().compaction;
    db.close()?;

    let fs: DynFs = Arc::new(RealFs::new());
    let compaction = crate::paced::compaction_options(shape);
    let set = VersionSet::open(fs, dir, compaction)?;
    let late = set.compact_until_idle(&[])?;
    let tables = |set: &VersionSet| {
        let v = set.current();
        Level::all()
            .flat_map(|l| v.infos(l).map(move |t| (l.index(), t.id.0, t.size)))
            .collect::<Vec<_>>()
    };
    seen.observe(tables(&set).into_iter());
    let extra = set.stats().snapshot();
    let v = set.current();
    let levels: Vec<u64> = Level::all().map(|l| v.level_size(l)).collect();
    drop(v);
    drop(set);

    let compacted = fully_compacted(dir, shape)?;

    let compaction_bytes = stats.compaction_write_bytes + extra.compaction_write_bytes;
    let polled: u64 = seen.written[1..].iter().sum();
    Ok(Outcome {
        flush: stats.flush_bytes,
        compaction: compaction_bytes,
        flushes: stats.flushes,
        per_level: seen.written[1..].to_vec(),
        levels,
        compacted,
        notes: vec![
            format!(
                "compactions {}, trivial moves {}; after close, compact_until_idle ran {late} more ({} bytes)",
                stats.compactions + extra.compactions,
                stats.trivial_moves + extra.trivial_moves,
                extra.compaction_write_bytes
            ),
            format!(
                "compaction read {:.1} MiB",
                (stats.compaction_read_bytes + extra.compaction_read_bytes) as f64
                    / crate::MIB as f64
            ),
            format!(
                "per-level bytes from polling cover {:.2}% of the counted compaction bytes; L0 by polling {:.1} MiB",
                100.0 * polled as f64 / compaction_bytes.max(1) as f64,
                seen.written[0] as f64 / crate::MIB as f64
            ),
        ],
    })
}

/// Table bytes after a full manual compaction (`Db::compact_range(..)`) of the
/// database in `dir`: its live entries as tables.
pub(crate) fn fully_compacted(dir: &Path, shape: Shape) -> Result<u64> {
    let db = Db::open_with(dir, options(shape))?;
    db.compact_range(..)?;
    let compacted = db.stats().levels.iter().map(|l| l.bytes).sum();
    db.close()?;
    Ok(compacted)
}
