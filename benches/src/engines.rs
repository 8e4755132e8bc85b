//! The engines compared, each behind `quickcache_cli::bench::EngineFactory`.

mod fjall;
mod redb;
#[cfg(feature = "rocksdb")]
mod rocksdb;
mod sled;

use quickcache_cli::bench::{EngineFactory, QuickcacheFactory};

/// Every engine this build can run, quickcache first.
pub(crate) fn all() -> Vec<Box<dyn EngineFactory>> {
    let engines: Vec<Box<dyn EngineFactory>> = vec![
        Box::new(QuickcacheFactory::default()),
        Box::new(fjall::FjallFactory),
        Box::new(sled::SledFactory),
        Box::new(redb::RedbFactory),
    ];
    #[cfg(feature = "rocksdb")]
    let engines = {
        let mut engines = engines;
        engines.push(Box::new(rocksdb::RocksFactory));
        engines
    };
    engines
}
