//! RocksDB's `OptimisticTransactionDB` as a benchmark engine, for the transactional
//! workloads (opt-in: `--engines rocksdb-otx`). `increment` and `transfer` read with
//! `get_for_update`, so that the keys they read are validated at commit (a plain `get`
//! inside an optimistic transaction is not, and the read-modify-write would not be
//! serializable), write, and commit with the default `WriteOptions` (WAL written, not
//! synced, as fjall-otx and quickcache commit); a commit that fails with `Busy` (a key
//! was written after the transaction read it) or `TryAgain` (the memtable no longer
//! holds enough history to tell) is retried and counted as an abort. The plain
//! operations go to the same database, with the `rocksdb` engine's options.

use std::hint::black_box;
use std::path::Path;

use quickcache::Compression;
use quickcache_cli::bench::{Engine, EngineFactory, EngineResult, counter};
use rocksdb::{ErrorKind, OptimisticTransactionDB, WriteBatchWithTransaction, WriteOptions};

use super::rocksdb::{options, scan_raw};

/// Opens RocksDB optimistic-transaction databases.
#[derive(Debug, Default)]
pub(crate) struct RocksOtxFactory {
    /// The tables' compression on every level, as the `rocksdb` engine's.
    pub(crate) compression: Compression,
}

struct RocksOtx(OptimisticTransactionDB);

impl EngineFactory for RocksOtxFactory {
    fn name(&self) -> &str {
        "rocksdb-otx"
    }

    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        let db = OptimisticTransactionDB::open(&options(self.compression), dir)?;
        Ok(Box::new(RocksOtx(db)))
    }
}

/// Whether a failed commit is a conflict, to be retried.
fn is_conflict(e: &rocksdb::Error) -> bool {
    matches!(e.kind(), ErrorKind::Busy | ErrorKind::TryAgain)
}

impl RocksOtx {
    /// Runs `body` in transactions until one commits; returns the attempts that
    /// aborted on a conflict. Any other error ends the loop.
    fn retry(
        &self,
        body: impl Fn(&rocksdb::Transaction<'_, OptimisticTransactionDB>) -> Result<(), rocksdb::Error>,
    ) -> EngineResult<u64> {
        let mut aborts = 0;
        loop {
            let tx = self.0.transaction();
            body(&tx)?;
            match tx.commit() {
                Ok(()) => return Ok(aborts),
                Err(e) if is_conflict(&e) => aborts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Engine for RocksOtx {
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        Ok(self.0.put(key, value)?)
    }

    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        Ok(self.0.put_opt(key, value, &options)?)
    }

    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()> {
        let mut batch = WriteBatchWithTransaction::<true>::default();
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

    fn increment(&self, key: &[u8]) -> EngineResult<u64> {
        self.retry(|tx| {
            let n = counter(tx.get_pinned_for_update(key, true)?.as_deref());
            tx.put(key, n.wrapping_add(1).to_le_bytes())
        })
    }

    fn transfer(&self, from: &[u8], to: &[u8], amount: u64) -> EngineResult<u64> {
        self.retry(|tx| {
            let a = counter(tx.get_pinned_for_update(from, true)?.as_deref());
            tx.put(from, a.wrapping_sub(amount).to_le_bytes())?;
            let b = counter(tx.get_pinned_for_update(to, true)?.as_deref());
            tx.put(to, b.wrapping_add(amount).to_le_bytes())
        })
    }

    /// As the `rocksdb` engine: syncs the WAL, then waits for flushes and compactions.
    fn settle(&self) -> EngineResult<()> {
        self.0.flush_wal(true)?;
        Ok(self
            .0
            .wait_for_compact(&rocksdb::WaitForCompactOptions::default())?)
    }
}
