//! quickcache as a benchmark [`Engine`]: default [`Options`], so writes are handed to
//! the OS (`Durability::Os`) and only fillsync asks for `Durability::Synced`.

use std::hint::black_box;
use std::path::Path;

use quickcache::{Db, Keyspace, Options, WriteBatch, WriteOptions};

use super::engine::{BulkSink, Engine, EngineFactory, EngineResult, KEYSPACES, counter};

/// Bench keyspace number `n`, created on first use.
fn bench_keyspace(db: &Db, n: usize) -> quickcache::Result<Keyspace> {
    let name = format!("bench{n:02}");
    match db.find_keyspace(&name) {
        Some(keyspace) => Ok(keyspace),
        None => db.keyspace(&name),
    }
}

/// The iterator a scan from `from` walks: from it up, or (`reverse`) from it down.
fn bench_iter(db: &Db, from: Option<&[u8]>, reverse: bool) -> quickcache::Iter {
    match (from, reverse) {
        (None, _) => db.iter(),
        (Some(k), false) => db.range(k..),
        (Some(k), true) => db.range(..=k),
    }
}

/// Hands `visit` every entry of `iter` until it returns `false`; returns the entries
/// visited. Generic, so that each direction's loop calls `next` directly.
fn visit_all(
    iter: impl Iterator<Item = quickcache::Result<(quickcache::Key, quickcache::Value)>>,
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> EngineResult<u64> {
    let mut seen = 0;
    for entry in iter {
        let (key, value) = entry?;
        seen += 1;
        if !visit(&key, &value) {
            break;
        }
    }
    Ok(seen)
}

/// Opens quickcache databases with the given options (default: [`Options::default`]).
#[derive(Debug, Clone, Default)]
pub struct QuickcacheFactory {
    /// The options every database is opened with.
    pub options: Options,
}

impl EngineFactory for QuickcacheFactory {
    fn name(&self) -> &str {
        "quickcache"
    }

    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        Ok(Box::new(Db::open_with(dir, self.options.clone())?))
    }
}

impl Engine for Db {
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        Ok(Db::put(self, key, value)?)
    }

    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        Ok(self.put_with(key, value, &WriteOptions::synced())?)
    }

    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()> {
        let mut batch = WriteBatch::new();
        for (k, v) in pairs {
            batch.put(k, v);
        }
        Ok(self.write(batch)?)
    }

    fn put_in(&self, keyspace: usize, key: &[u8], value: &[u8]) -> EngineResult<()> {
        Ok(bench_keyspace(self, keyspace)?.put(key, value)?)
    }

    fn put_batch_in(&self, entries: &[(usize, &[u8], &[u8])]) -> EngineResult<()> {
        let mut handles: Vec<Option<Keyspace>> = vec![None; KEYSPACES];
        let mut batch = WriteBatch::new();
        for &(keyspace, k, v) in entries {
            let slot = handles.get_mut(keyspace).ok_or("no such bench keyspace")?;
            if slot.is_none() {
                *slot = Some(bench_keyspace(self, keyspace)?);
            }
            if let Some(handle) = slot {
                batch.put_in(handle, k, v);
            }
        }
        Ok(self.write(batch)?)
    }

    fn delete(&self, key: &[u8]) -> EngineResult<()> {
        Ok(Db::delete(self, key)?)
    }

    fn bulk_load(
        &self,
        produce: &mut dyn FnMut(&mut dyn BulkSink) -> EngineResult<()>,
    ) -> EngineResult<()> {
        let mut loader = self.bulk_loader()?;
        produce(&mut loader)?;
        loader.finish()?;
        Ok(())
    }

    fn get(&self, key: &[u8]) -> EngineResult<Option<usize>> {
        Ok(Db::get(self, key)?.map(|v| black_box(v.as_slice()).len()))
    }

    fn scan(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        // The public `Iterator`, as a user writes the loop: an owned key and value
        // per entry.
        let iter = bench_iter(self, from, reverse);
        if reverse {
            visit_all(iter.rev(), visit)
        } else {
            visit_all(iter, visit)
        }
    }

    fn scan_borrowed(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        // The borrowing steps: no copy of each key and value (as RocksDB's raw
        // iterator, which the comparison uses for RocksDB).
        let mut iter = bench_iter(self, from, reverse);
        let mut seen = 0;
        loop {
            let entry = if reverse {
                iter.next_back_ref()
            } else {
                iter.next_ref()
            };
            let Some(entry) = entry else { break };
            let (key, value) = entry?;
            seen += 1;
            if !visit(key, value) {
                break;
            }
        }
        Ok(seen)
    }

    /// Syncs, then waits for flushes and compactions ([`Db::wait_for_compactions`]).
    fn increment(&self, key: &[u8]) -> EngineResult<u64> {
        let mut aborts = 0;
        loop {
            let mut tx = self.transaction();
            let n = counter(tx.get(key)?.as_deref());
            tx.put(key, n.wrapping_add(1).to_le_bytes());
            match tx.commit() {
                Err(e) if e.is_conflict() => aborts += 1,
                done => return done.map(|()| aborts).map_err(Into::into),
            }
        }
    }

    fn transfer(&self, from: &[u8], to: &[u8], amount: u64) -> EngineResult<u64> {
        let mut aborts = 0;
        loop {
            let mut tx = self.transaction();
            let a = counter(tx.get(from)?.as_deref());
            tx.put(from, a.wrapping_sub(amount).to_le_bytes());
            let b = counter(tx.get(to)?.as_deref());
            tx.put(to, b.wrapping_add(amount).to_le_bytes());
            match tx.commit() {
                Err(e) if e.is_conflict() => aborts += 1,
                done => return done.map(|()| aborts).map_err(Into::into),
            }
        }
    }

    fn settle(&self) -> EngineResult<()> {
        self.sync()?;
        Ok(self.wait_for_compactions()?)
    }
}

impl BulkSink for quickcache::BulkLoader<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        Ok(quickcache::BulkLoader::put(self, key, value)?)
    }
}
