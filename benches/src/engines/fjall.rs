//! fjall 3 as a benchmark engine: one keyspace with default options except data-block
//! compression, which is the comparison's on every level (fjall 3 has none or lz4; it
//! takes lz4 when zstd is asked, the nearest it has). Plain writes use
//! fjall's default durability (each write handed to the OS buffers, no fsync); fillsync
//! commits a one-entry batch with `PersistMode::SyncData` (fdatasync).

use std::hint::black_box;
use std::path::Path;

use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use quickcache::Compression;
use quickcache_cli::bench::{Engine, EngineFactory, EngineResult};

/// Polls 20 ms apart that must all find fjall idle before a workload starts.
const QUIET_POLLS: u32 = 5;

/// Opens fjall databases.
#[derive(Debug, Default)]
pub(crate) struct FjallFactory {
    /// The data blocks' compression on every level.
    pub(crate) compression: Compression,
}

/// The bench keyspace's options: fjall's defaults (none on L0 and L1, lz4 below) give
/// way to `compression` on every level, so both sides of the comparison compress alike.
pub(crate) fn keyspace_options(compression: Compression) -> KeyspaceCreateOptions {
    let kind = match compression {
        Compression::None => CompressionType::None,
        Compression::Lz4 | Compression::Zstd => CompressionType::Lz4,
    };
    KeyspaceCreateOptions::default().data_block_compression_policy(CompressionPolicy::all(kind))
}

pub(crate) struct Fjall {
    pub(crate) db: Database,
    pub(crate) tree: Keyspace,
}

impl EngineFactory for FjallFactory {
    fn name(&self) -> &str {
        "fjall"
    }

    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        let db = Database::builder(dir).open()?;
        let tree = db.keyspace("bench", || keyspace_options(self.compression))?;
        Ok(Box::new(Fjall { db, tree }))
    }
}

impl Engine for Fjall {
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        Ok(self.tree.insert(key, value)?)
    }

    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        batch.insert(&self.tree, key, value);
        Ok(batch.commit()?)
    }

    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()> {
        let mut batch = self.db.batch();
        for (k, v) in pairs {
            batch.insert(&self.tree, *k, *v);
        }
        Ok(batch.commit()?)
    }

    fn delete(&self, key: &[u8]) -> EngineResult<()> {
        Ok(self.tree.remove(key)?)
    }

    fn get(&self, key: &[u8]) -> EngineResult<Option<usize>> {
        Ok(self.tree.get(key)?.map(|v| black_box(&*v).len()))
    }

    fn scan(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        let iter = match (from, reverse) {
            (None, _) => self.tree.iter(),
            (Some(k), false) => self.tree.range(k..),
            (Some(k), true) => self.tree.range(..=k),
        };
        let iter: Box<dyn Iterator<Item = fjall::Guard>> = if reverse {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        let mut seen = 0;
        for guard in iter {
            let (k, v) = guard.into_inner()?;
            seen += 1;
            if !visit(&k, &v) {
                break;
            }
        }
        Ok(seen)
    }

    /// Persists, then waits until no flush is queued and no compaction runs, for
    /// as long as [`QUIET_POLLS`] polls in a row: fjall has no call that waits for
    /// compactions (its counters are marked experimental), and a compaction may start
    /// just after a flush ends.
    fn settle(&self) -> EngineResult<()> {
        self.db.persist(PersistMode::SyncAll)?;
        let mut quiet = 0;
        while quiet < QUIET_POLLS {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let busy = self.db.outstanding_flushes() > 0 || self.db.active_compactions() > 0;
            quiet = if busy { 0 } else { quiet + 1 };
        }
        Ok(())
    }
}
