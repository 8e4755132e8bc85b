//! `Engine`: what a key-value store must offer to run the benchmark workloads.
//!
//! The `quickcache` command implements it for quickcache; the `quickcache-benches`
//! crate implements it for the engines compared against, so all run the same code.

use std::path::Path;

/// An engine's error, whatever its type.
pub type EngineError = Box<dyn std::error::Error + Send + Sync>;

/// The result of an engine operation.
pub type EngineResult<T> = Result<T, EngineError>;

/// A key-value store under benchmark. Shared by all worker threads of a workload.
///
/// Writes use the engine's default, non-synced durability (each implementation
/// documents which) except [`Engine::put_sync`], which returns only once the write
/// survives power loss.
pub trait Engine: Send + Sync {
    /// Writes `key` → `value`.
    fn put(&self, key: &[u8], value: &[u8]) -> EngineResult<()>;

    /// Writes `key` → `value` durably (fsynced, group commit allowed).
    fn put_sync(&self, key: &[u8], value: &[u8]) -> EngineResult<()>;

    /// Writes all `pairs` atomically.
    fn put_batch(&self, pairs: &[(&[u8], &[u8])]) -> EngineResult<()>;

    /// Deletes `key`.
    fn delete(&self, key: &[u8]) -> EngineResult<()>;

    /// Looks `key` up; returns the value's length when found. Implementations must
    /// read the value (not only learn that it exists).
    fn get(&self, key: &[u8]) -> EngineResult<Option<usize>>;

    /// Visits entries in key order (descending if `reverse`), starting at the first
    /// key `>= from` (or `<= from` in reverse; every key if `from` is `None`), until
    /// `visit` returns `false` or the keys run out. Returns the entries visited.
    ///
    /// Through the engine's ordinary iterator, the loop a user writes (for
    /// quickcache, `Iterator::next`, which hands out an owned key and value).
    fn scan(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64>;

    /// [`Engine::scan`] through the engine's borrowing steps, when it has some that
    /// avoid a copy per entry (quickcache's `next_ref`); the default is `scan`.
    fn scan_borrowed(
        &self,
        from: Option<&[u8]>,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> EngineResult<u64> {
        self.scan(from, reverse, visit)
    }

    /// Writes `key` → `value` into keyspace number `keyspace` (of [`KEYSPACES`]), for
    /// the keyspace workloads. Engines without keyspaces (or column families) keep
    /// this default, which refuses.
    fn put_in(&self, keyspace: usize, key: &[u8], value: &[u8]) -> EngineResult<()> {
        let _ = (keyspace, key, value);
        Err("this engine has no keyspaces".into())
    }

    /// Writes all `entries` (keyspace number, key, value) atomically across their
    /// keyspaces. Refused by default, as [`Engine::put_in`].
    fn put_batch_in(&self, entries: &[(usize, &[u8], &[u8])]) -> EngineResult<()> {
        let _ = entries;
        Err("this engine has no keyspaces".into())
    }

    /// In one serializable transaction, adds 1 to the counter at `key` (8 bytes,
    /// little-endian; absent is 0), retrying on conflict until it commits. Returns the
    /// attempts that aborted. Engines without optimistic transactions keep this
    /// default, which refuses.
    fn increment(&self, key: &[u8]) -> EngineResult<u64> {
        let _ = key;
        Err("this engine has no transactions here".into())
    }

    /// In one serializable transaction, reads the counters at `from` and `to` and
    /// moves `amount` from one to the other (wrapping, so the total is kept),
    /// retrying on conflict until it commits. Returns the attempts that aborted.
    /// Refused by default, as [`Engine::increment`].
    fn transfer(&self, from: &[u8], to: &[u8], amount: u64) -> EngineResult<u64> {
        let _ = (from, to, amount);
        Err("this engine has no transactions here".into())
    }

    /// Loads every entry `produce` hands to its sink through the engine's bulk path
    /// (unsorted input; the later of equal keys wins), visible once this returns.
    /// Engines without one keep this default, which refuses.
    fn bulk_load(
        &self,
        produce: &mut dyn FnMut(&mut dyn BulkSink) -> EngineResult<()>,
    ) -> EngineResult<()> {
        let _ = produce;
        Err("this engine has no bulk loader here".into())
    }

    /// Makes everything written so far durable and waits for the engine's background
    /// work (flushes, compactions) to finish, so that the next workload measures the
    /// store, not the tail of the previous one (db_bench's `waitforcompaction`). Called
    /// between workloads, not timed.
    fn settle(&self) -> EngineResult<()>;
}

/// Where [`Engine::bulk_load`]'s producer puts entries.
pub trait BulkSink {
    /// Adds one entry.
    fn put(&mut self, key: &[u8], value: &[u8]) -> EngineResult<()>;
}

/// The counters `txn_increment` spreads its increments over.
pub const HOT_COUNTERS: u64 = 1_000;

/// The accounts `txn_transfer` moves amounts between.
pub const ACCOUNTS: u64 = 100_000;

/// Reads a counter value: 8 bytes little-endian, anything else (absent) 0.
pub fn counter(value: Option<&[u8]>) -> u64 {
    value
        .and_then(|v| v.get(..8))
        .and_then(|v| v.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// How many keyspaces the keyspace workloads spread their writes over.
pub const KEYSPACES: usize = 16;

/// Opens an engine in a directory, for the workloads that start from an empty store
/// and to measure reopening.
pub trait EngineFactory {
    /// The engine's name in reports.
    fn name(&self) -> &str;

    /// Opens (creating if needed) the store in `dir`.
    fn open(&self, dir: &Path) -> EngineResult<Box<dyn Engine>>;
}
