//! The synchronization primitives of the hand-made concurrent structures (the
//! skiplist, its arena, [`crate::Visibility`]): std's, or loom's under
//! `--cfg quickcache_loom` so that the model checker sees every access.
//!
//! A normal build compiles exactly std's types: the names below are re-exports, and
//! loom is not even a dependency without the cfg. `crate::model_check` holds the
//! model-checked tests and the command that runs them.
//!
//! Why a cfg of our own and not the customary `loom`: other crates (tokio,
//! concurrent-queue, ...) switch on `cfg(loom)` too and would then expect loom in
//! their own dependency lists.
//!
//! Memory orderings stay `std::sync::atomic::Ordering`, which loom re-exports.

#[cfg(not(quickcache_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize};
#[cfg(not(quickcache_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

#[cfg(quickcache_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize};
#[cfg(quickcache_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(quickcache_loom)]
pub(crate) use once_lock::OnceLock;

#[cfg(quickcache_loom)]
mod once_lock;
