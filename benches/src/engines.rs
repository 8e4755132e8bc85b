//! The engines compared, each behind `quickcache_cli::bench::EngineFactory`.

mod fjall;
mod fjall_tx;
mod redb;
#[cfg(feature = "rocksdb")]
mod rocksdb;
mod sled;

use quickcache_cli::bench::{EngineFactory, QuickcacheFactory};

/// Engines run only when named with `--engines`: they exist for the transactional
/// workloads, and would repeat another engine's figures on the others.
pub(crate) const OPT_IN: [&str; 1] = ["fjall-otx"];

/// Every engine this build can run, quickcache first.
pub(crate) fn all() -> Vec<Box<dyn EngineFactory>> {
    let engines: Vec<Box<dyn EngineFactory>> = vec![
        Box::new(QuickcacheFactory::default()),
        Box::new(fjall::FjallFactory),
        Box::new(sled::SledFactory),
        Box::new(redb::RedbFactory),
        Box::new(fjall_tx::FjallTxFactory),
    ];
    #[cfg(feature = "rocksdb")]
    let engines = {
        let mut engines = engines;
        engines.push(Box::new(rocksdb::RocksFactory));
        engines
    };
    engines
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcache_cli::bench::Engine;

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
        for factory in all() {
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
