//! fjall 3's optimistic transactions (`OptimisticTxDatabase`, SSI) as a benchmark
//! engine, for the transactional workloads: `increment` and `transfer` run in a
//! `write_tx` committed with fjall's default transaction durability (handed to the
//! OS, no fsync) and retried on `Conflict`. The plain operations go to the same
//! database's keyspace as the `fjall` engine's do. Opt-in: `--engines fjall-otx`.

use std::path::Path;

use fjall::{OptimisticTxDatabase, OptimisticTxKeyspace, Readable};
use quickcache::Compression;
use quickcache_cli::bench::{Engine, EngineFactory, EngineResult, counter};

use super::fjall::{Fjall, keyspace_options};

/// Opens fjall optimistic-transaction databases.
#[derive(Debug, Default)]
pub(crate) struct FjallTxFactory {
    /// The data blocks' compression on every level, as the `fjall` engine's.
    pub(crate) compression: Compression,
}

struct FjallTx {
    plain: Fjall,
    db: OptimisticTxDatabase,
    tree: OptimisticTxKeyspace,
}

impl EngineFactory for FjallTxFactory {
    fn name(&self) -> &str {
        "fjall-otx"
    }

    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        let db = OptimisticTxDatabase::builder(dir).open()?;
        let tree = db.keyspace("bench", || keyspace_options(self.compression))?;
        let plain = Fjall {
            db: db.inner().clone(),
            tree: tree.inner().clone(),
        };
        Ok(Box::new(FjallTx { plain, db, tree }))
    }
}

impl Engine for FjallTx {
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        self.plain.put(key, value)
    }

    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        self.plain.put_sync(key, value)
    }

    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()> {
        self.plain.put_batch(pairs)
    }

    fn delete(&self, key: &[u8]) -> EngineResult<()> {
        self.plain.delete(key)
    }

    fn get(&self, key: &[u8]) -> EngineResult<Option<usize>> {
        self.plain.get(key)
    }

    fn scan(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        self.plain.scan(from, reverse, visit)
    }

    fn increment(&self, key: &[u8]) -> EngineResult<u64> {
        let mut aborts = 0;
        loop {
            let mut tx = self.db.write_tx()?;
            let n = counter(tx.get(&self.tree, key)?.as_deref());
            tx.insert(&self.tree, key, n.wrapping_add(1).to_le_bytes().to_vec());
            match tx.commit()? {
                Ok(()) => return Ok(aborts),
                Err(_conflict) => aborts += 1,
            }
        }
    }

    fn transfer(&self, from: &[u8], to: &[u8], amount: u64) -> EngineResult<u64> {
        let mut aborts = 0;
        loop {
            let mut tx = self.db.write_tx()?;
            let a = counter(tx.get(&self.tree, from)?.as_deref());
            tx.insert(
                &self.tree,
                from,
                a.wrapping_sub(amount).to_le_bytes().to_vec(),
            );
            let b = counter(tx.get(&self.tree, to)?.as_deref());
            tx.insert(
                &self.tree,
                to,
                b.wrapping_add(amount).to_le_bytes().to_vec(),
            );
            match tx.commit()? {
                Ok(()) => return Ok(aborts),
                Err(_conflict) => aborts += 1,
            }
        }
    }

    fn settle(&self) -> EngineResult<()> {
        self.plain.settle()
    }
}
