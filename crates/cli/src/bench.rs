//! The benchmark workloads, shared by `quickcache bench` and the `quickcache-benches`
//! comparison: an [`Engine`] trait, the [`Workload`]s, a [`Session`] that runs them
//! in order, a log-linear latency [`Histogram`], and the report formats.

mod engine;
mod histogram;
mod keys;
mod quickcache;
mod report;
mod run;
mod session;
mod txn;
mod workers;
mod workload;

pub use engine::{
    ACCOUNTS, Engine, EngineError, EngineFactory, EngineResult, HOT_COUNTERS, KEYSPACES, counter,
};
pub use histogram::Histogram;
pub use keys::{Rng, Values, write_key, write_missing_key};
pub use quickcache::QuickcacheFactory;
pub use report::{human_rate, json, table};
pub use run::{Config, Outcome, plan, run};
pub use session::Session;
pub use workload::Workload;
