//! The engines compared, each behind `quickcache_cli::bench::EngineFactory`.

mod fjall;
mod fjall_tx;
mod redb;
#[cfg(feature = "rocksdb")]
mod rocksdb;
#[cfg(feature = "rocksdb")]
mod rocksdb_otx;
mod sled;

use std::path::Path;

use quickcache::Compression;
use quickcache_cli::bench::{Engine, EngineFactory, EngineResult, QuickcacheFactory};

/// Engines run only when named with `--engines`: the transactional ones exist for the
/// transactional workloads and would repeat another engine's figures on the others;
/// quickcache-none is the uncompressed baseline of a compressed run.
pub(crate) const OPT_IN: [&str; 3] = ["fjall-otx", "rocksdb-otx", "quickcache-none"];

/// quickcache with no compression on any level whatever the run's, under its own
/// name: a compressed run holds quickcache to its uncompressed self (issue 17 asks
/// readrandom with lz4 for at least 0.8× uncompressed) in the same interleaved rounds.
#[derive(Debug, Default)]
struct QuickcacheUncompressed(QuickcacheFactory);

impl EngineFactory for QuickcacheUncompressed {
    fn name(&self) -> &str {
        "quickcache-none"
    }

    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>> {
        self.0.open(dir)
    }
}

/// Every engine this build can run, quickcache first, each storing its tables with
/// `compression` on every level where it can (fjall has no zstd and takes lz4 for it;
/// sled and redb have no compression here).
pub(crate) fn all(compression: Compression) -> Vec<Box<dyn EngineFactory>> {
    let mut quickcache = QuickcacheFactory::default();
    quickcache.options.compression = [compression; quickcache_compaction::LEVELS];
    let mut uncompressed = QuickcacheUncompressed::default();
    uncompressed.0.options.compression = [Compression::None; quickcache_compaction::LEVELS];
    let engines: Vec<Box<dyn EngineFactory>> = vec![
        Box::new(quickcache),
        Box::new(uncompressed),
        Box::new(fjall::FjallFactory { compression }),
        Box::new(sled::SledFactory),
        Box::new(redb::RedbFactory),
        Box::new(fjall_tx::FjallTxFactory { compression }),
    ];
    #[cfg(feature = "rocksdb")]
    let engines = {
        let mut engines = engines;
        engines.push(Box::new(rocksdb::RocksFactory { compression }));
        engines.push(Box::new(rocksdb_otx::RocksOtxFactory { compression }));
        engines
    };
    engines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_from(
        engine: &dyn Engine,
        from: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let seen = engine
            .scan(from, reverse, &mut |k, _| {
                out.push(k.to_vec());
                out.len() < limit
            })
            .unwrap();
        assert_eq!(seen as usize, out.len());
        out
    }

    /// Every adapter gives the same answers on the same small history.
    #[test]
    fn every_engine_behaves_like_a_sorted_map() {
        for factory in all(Compression::Lz4) {
            let dir = tempfile::tempdir().unwrap();
            let engine = factory.open(dir.path()).unwrap();
            let name = factory.name();
            for k in [b"b", b"d", b"f"] {
                engine.put(k, b"v1").unwrap();
            }
            engine.put_batch(&[(b"a", b"v2"), (b"c", b"v3")]).unwrap();
            engine.put_sync(b"e", b"v4").unwrap();
            engine.delete(b"d").unwrap();
            engine.settle().unwrap();
            assert_eq!(engine.get(b"c").unwrap(), Some(2), "{name}");
            assert_eq!(engine.get(b"d").unwrap(), None, "{name}");
            let all: Vec<Vec<u8>> = [b"a", b"b", b"c", b"e", b"f"]
                .iter()
                .map(|k| k.to_vec())
                .collect();
            assert_eq!(keys_from(engine.as_ref(), None, false, 99), all, "{name}");
            assert_eq!(
                keys_from(engine.as_ref(), Some(b"bb"), false, 2),
                [b"c".to_vec(), b"e".to_vec()],
                "{name}"
            );
            assert_eq!(
                keys_from(engine.as_ref(), Some(b"d"), true, 2),
                [b"c".to_vec(), b"b".to_vec()],
                "{name}"
            );
            assert_eq!(
                keys_from(engine.as_ref(), None, true, 1),
                [b"f".to_vec()],
                "{name}"
            );
            drop(engine);
            let reopened = factory.open(dir.path()).unwrap();
            assert_eq!(reopened.get(b"e").unwrap(), Some(2), "{name} after reopen");
        }
    }
}
