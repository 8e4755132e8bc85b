//! RocksDB on the stream, configured like quickcache: leveled compaction with dynamic
//! level bytes, the same base-level target, table size and memtable size, no
//! compression, 4 KiB blocks with a 10 bits/key bloom filter, L0 trigger 4, the
//! default two background jobs (one flush, one compaction, as quickcache), and the WAL
//! off (quickcache's figure leaves its WAL out).
//!
//! Figures: the statistics tickers `rocksdb.flush.write.bytes` and
//! `rocksdb.compact.write.bytes`; per output level, the `compaction_finished` events'
//! `total_output_size` in the info LOG (`rocks_log`). "Settled": `DB::wait_for_compact`
//! (after a flush); `--paced` settles after every `memtable` bytes of key + value.

use std::path::Path;

use rocksdb::statistics::Ticker;
use rocksdb::{
    BlockBasedOptions, BottommostLevelCompaction, CompactOptions, DB, DBCompressionType, Options,
    WaitForCompactOptions, WriteOptions,
};

use crate::workload::Workload;
use crate::{Outcome, Result, Shape, rocks_log};

fn options(shape: Shape) -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    // Paced: the bench flushes every `memtable` bytes itself, so the memtable never
    // fills on its own.
    let buffer = if shape.paced {
        4 * shape.memtable
    } else {
        shape.memtable
    };
    o.set_write_buffer_size(usize::try_from(buffer).unwrap_or(usize::MAX));
    o.set_max_bytes_for_level_base(shape.base);
    o.set_max_bytes_for_level_multiplier(10.0);
    o.set_target_file_size_base(shape.table);
    o.set_level_compaction_dynamic_level_bytes(true);
    o.set_level_zero_file_num_compaction_trigger(4);
    o.set_compression_type(DBCompressionType::None);
    o.set_max_background_jobs(2);
    let mut table = BlockBasedOptions::default();
    table.set_block_size(4096);
    table.set_bloom_filter(10.0, false);
    o.set_block_based_table_factory(&table);
    o.enable_statistics();
    o
}

fn settle(db: &DB) -> Result<()> {
    let mut wait = WaitForCompactOptions::default();
    wait.set_flush(true);
    Ok(db.wait_for_compact(&wait)?)
}

fn live_sst(db: &DB) -> Result<u64> {
    Ok(db
        .property_int_value("rocksdb.live-sst-files-size")?
        .ok_or("no rocksdb.live-sst-files-size")?)
}

pub(crate) fn run(dir: &Path, shape: Shape, w: &Workload) -> Result<Outcome> {
    let opts = options(shape);
    let db = DB::open(&opts, dir)?;
    let mut write = WriteOptions::default();
    write.disable_wal(true);
    let mut bytes = 0;
    for (key, value) in w.stream() {
        db.put_opt(key, value, &write)?;
        bytes += (key.len() + value.len()) as u64;
        if shape.paced && bytes >= shape.memtable {
            settle(&db)?;
            bytes = 0;
        }
    }
    settle(&db)?;
    let flush = opts.get_ticker_count(Ticker::FlushWriteBytes);
    let compaction = opts.get_ticker_count(Ticker::CompactWriteBytes);
    let mut levels = vec![0u64; 7];
    for f in db.live_files()? {
        if let Some(l) = usize::try_from(f.level)
            .ok()
            .and_then(|l| levels.get_mut(l))
        {
            *l += f.size as u64;
        }
    }
    let live = live_sst(&db)?;
    let estimate = db
        .property_int_value("rocksdb.estimate-live-data-size")?
        .unwrap_or(0);
    let stats = db.property_value("rocksdb.stats")?.unwrap_or_default();
    eprintln!("{stats}");
    let sum_row = stats
        .lines()
        .find(|l| l.trim_start().starts_with("Sum"))
        .unwrap_or("")
        .to_string();
    drop(db);
    let log = rocks_log::read(dir)?;

    let db = DB::open(&opts, dir)?;
    let mut full = CompactOptions::default();
    full.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
    db.compact_range_opt(None::<&[u8]>, None::<&[u8]>, &full);
    settle(&db)?;
    let compacted = live_sst(&db)?;
    drop(db);

    let logged: u64 = log.per_level.iter().sum();
    let read = opts.get_ticker_count(Ticker::CompactReadBytes);
    Ok(Outcome {
        flush,
        compaction,
        flushes: log.flushes,
        per_level: log.per_level.clone(),
        levels,
        compacted,
        notes: vec![
            format!(
                "rocksdb.live-sst-files-size {live}, rocksdb.estimate-live-data-size {estimate}"
            ),
            format!(
                "LOG compaction_finished output bytes {logged} ({:.2}% of the compact.write.bytes ticker)",
                100.0 * logged as f64 / compaction.max(1) as f64
            ),
            format!("rocksdb.stats Sum row: {}", sum_row.trim()),
            format!(
                "compaction read {:.1} MiB; {}",
                read as f64 / crate::MIB as f64,
                log.summary()
            ),
        ],
    })
}
