//! RocksDB (the `rocksdb` crate, feature `rocksdb`) as a benchmark engine: default
//! `Options` (as `DB::open_default`) except the compression type, which is the
//! comparison's on every level (built with lz4 and zstd). Plain writes use the default
//! `WriteOptions` (WAL written, not synced); fillsync sets `sync = true`.

use std::hint::black_box;
use std::path::Path;

use quickcache::Compression;
use quickcache_cli::bench::{Engine, EngineFactory, EngineResult};
use rocksdb::{
    DB, DBAccess, DBCompressionType, DBRawIteratorWithThreadMode, Options, WriteBatch, WriteOptions,
};

/// Opens RocksDB databases.
#[derive(Debug, Default)]
pub(crate) struct RocksFactory {
    /// The tables' compression on every level.
    pub(crate) compression: Compression,
}

struct Rocks(DB);

/// `DB::open_default`'s options with `compression` on every level: RocksDB's default
/// would be snappy, which this build leaves out, so it would fall back to none.
pub(crate) fn options(compression: Compression) -> Options {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.set_compression_type(match compression {
        Compression::None => DBCompressionType::None,
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::Zstd => DBCompressionType::Zstd,
    });
    options
}

impl EngineFactory for RocksFactory {
    fn name(&self) -> &str {
        "rocksdb"
    }

    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        Ok(Box::new(Rocks(DB::open(&options(self.compression), dir)?)))
    }
}

/// [`Engine::scan`] over a raw iterator (no copy per entry), for both RocksDB engines.
pub(crate) fn scan_raw<D: DBAccess>(
    mut it: DBRawIteratorWithThreadMode<'_, D>,
    from: Option<&[u8]>,
    reverse: bool,
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> EngineResult<u64> {
    match (from, reverse) {
        (None, false) => it.seek_to_first(),
        (None, true) => it.seek_to_last(),
        (Some(k), false) => it.seek(k),
        (Some(k), true) => it.seek_for_prev(k),
    }
    let mut seen = 0;
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        seen += 1;
        if !visit(k, v) {
            break;
        }
        if reverse { it.prev() } else { it.next() }
    }
    it.status()?;
    Ok(seen)
}

impl Engine for Rocks {
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        Ok(self.0.put(key, value)?)
    }

    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        Ok(self.0.put_opt(key, value, &options)?)
    }

    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()> {
        let mut batch = WriteBatch::default();
        for (k, v) in pairs {
            batch.put(k, v);
        }
        Ok(self.0.write(batch)?)
    }

    fn delete(&self, key: &[u8]) -> EngineResult<()> {
        Ok(self.0.delete(key)?)
    }

    fn get(&self, key: &[u8]) -> EngineResult<Option<usize>> {
        Ok(self.0.get_pinned(key)?.map(|v| black_box(&*v).len()))
    }

    fn scan(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        scan_raw(self.0.raw_iterator(), from, reverse, visit)
    }

    /// Syncs the WAL, then waits for background flushes and compactions to finish
    /// (`DB::WaitForCompact`, as quickcache's `wait_for_compactions`).
    fn settle(&self) -> EngineResult<()> {
        self.0.flush_wal(true)?;
        Ok(self
            .0
            .wait_for_compact(&rocksdb::WaitForCompactOptions::default())?)
    }
}
