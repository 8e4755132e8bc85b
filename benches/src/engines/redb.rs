//! redb 4 as a benchmark engine: one table of byte strings. Every write is its own
//! write transaction (a batch is one transaction), committed with
//! `Durability::None` except fillsync's, committed with `Durability::Immediate`
//! (fsync). Each point read or scan opens its own read transaction.

use std::hint::black_box;
use std::path::Path;

use quickcache_cli::bench::{Engine, EngineFactory, EngineResult};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

const TABLE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("bench");

/// Opens redb databases (one file, `bench.redb`, in the directory).
#[derive(Debug, Default)]
pub(crate) struct RedbFactory;

struct Redb(Database);

impl EngineFactory for RedbFactory {
    fn name(&self) -> &str {
        "redb"
    }

    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        let db = Database::create(dir.join("bench.redb"))?;
        let txn = db.begin_write()?;
        txn.open_table(TABLE)?;
        txn.commit()?;
        Ok(Box::new(Redb(db)))
    }
}

impl Redb {
    fn write(
        &self,
        durability: Durability,
        pairs: &[(&[u8], &[u8])],
        delete: bool,
    ) -> EngineResult<()> {
        let mut txn = self.0.begin_write()?;
        txn.set_durability(durability)?;
        {
            let mut table = txn.open_table(TABLE)?;
            for (k, v) in pairs {
                if delete {
                    table.remove(*k)?;
                } else {
                    table.insert(*k, *v)?;
                }
            }
        }
        Ok(txn.commit()?)
    }
}

impl Engine for Redb {
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        self.write(Durability::None, &[(key, value)], false)
    }

    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        self.write(Durability::Immediate, &[(key, value)], false)
    }

    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()> {
        self.write(Durability::None, pairs, false)
    }

    fn delete(&self, key: &[u8]) -> EngineResult<()> {
        self.write(Durability::None, &[(key, &[])], true)
    }

    fn get(&self, key: &[u8]) -> EngineResult<Option<usize>> {
        let table = self.0.begin_read()?.open_table(TABLE)?;
        Ok(table.get(key)?.map(|v| black_box(v.value()).len()))
    }

    fn scan(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        let table = self.0.begin_read()?.open_table(TABLE)?;
        let range = match (from, reverse) {
            (None, _) => table.iter()?,
            (Some(k), false) => table.range(k..)?,
            (Some(k), true) => table.range(..=k)?,
        };
        let iter: Box<dyn Iterator<Item = _>> = if reverse {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        let mut seen = 0;
        for kv in iter {
            let (k, v) = kv?;
            seen += 1;
            if !visit(k.value(), v.value()) {
                break;
            }
        }
        Ok(seen)
    }

    /// An empty durable commit; redb does no background work.
    fn settle(&self) -> EngineResult<()> {
        self.write(Durability::Immediate, &[], false)
    }
}
