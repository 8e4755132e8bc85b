//! sled 0.34 as a benchmark engine: `sled::open` with default configuration. Plain
//! writes are not flushed (sled flushes in the background every 500 ms by default);
//! fillsync calls `flush()` after each insert, which fsyncs.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use quickcache_cli::bench::{Engine, EngineFactory, EngineResult};

/// Opens sled databases.
#[derive(Debug, Default)]
pub(crate) struct SledFactory;

struct Sled(sled::Db);

impl EngineFactory for SledFactory {
    fn name(&self) -> &str {
        "sled"
    }

    /// sled's flusher thread keeps the directory's file lock for a moment after the
    /// last handle is dropped, so an open right after a drop (the reopen workload,
    /// the engine test) can find it locked: retry that case for up to 10 s.
    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match sled::open(dir) {
                Ok(db) => return Ok(Box::new(Sled(db))),
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Engine for Sled {
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        self.0.insert(key, value)?;
        Ok(())
    }

    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()> {
        self.0.insert(key, value)?;
        self.0.flush()?;
        Ok(())
    }

    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()> {
        let mut batch = sled::Batch::default();
        for (k, v) in pairs {
            batch.insert(*k, *v);
        }
        Ok(self.0.apply_batch(batch)?)
    }

    fn delete(&self, key: &[u8]) -> EngineResult<()> {
        self.0.remove(key)?;
        Ok(())
    }

    fn get(&self, key: &[u8]) -> EngineResult<Option<usize>> {
        Ok(self.0.get(key)?.map(|v| black_box(&*v).len()))
    }

    fn scan(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        let iter = match (from, reverse) {
            (None, _) => self.0.iter(),
            (Some(k), false) => self.0.range(k..),
            (Some(k), true) => self.0.range(..=k),
        };
        let iter: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = if reverse {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        let mut seen = 0;
        for kv in iter {
            let (k, v) = kv?;
            seen += 1;
            if !visit(&k, &v) {
                break;
            }
        }
        Ok(seen)
    }

    /// Flushes; sled has no background compaction to wait for.
    fn settle(&self) -> EngineResult<()> {
        self.0.flush()?;
        Ok(())
    }
}
