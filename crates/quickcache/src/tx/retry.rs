//! The transaction entry points of [`Db`]: `transaction`, and the helpers that run a
//! closure as a transaction and retry it on conflict (`update`, `compare_and_swap`,
//! `update_value`).

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use super::Transaction;
use crate::Value;
use crate::db::Db;
use crate::error::Result;

/// How many times [`Db::update`] runs a transaction before it returns the conflict.
pub const UPDATE_ATTEMPTS: u32 = 1000;

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(2);

/// [`Db::compare_and_swap`] found another value than the one expected; nothing was
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareAndSwapError {
    /// The value found (`None`: absent).
    pub current: Option<Value>,
    /// The value that was to be written (`None`: a delete).
    pub proposed: Option<Vec<u8>>,
}

impl fmt::Display for CompareAndSwapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "compare and swap failed: the current value is not the expected one"
        )
    }
}

impl std::error::Error for CompareAndSwapError {}

/// Waits before attempt `attempt` (from 1): a yield at first, then a sleep doubling
/// up to [`MAX_BACKOFF`], jittered so that colliding writers spread out.
fn back_off(attempt: u32) {
    if attempt < 3 {
        std::thread::yield_now();
        return;
    }
    let ceiling = Duration::from_micros(1 << attempt.min(11)).min(MAX_BACKOFF);
    let jitter = RandomState::new().hash_one(attempt) % 1024;
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    std::thread::sleep(Duration::from_nanos(nanos / 2 + nanos / 2 * jitter / 1024));
}

impl Db {
    /// Begins a serializable transaction reading at the current snapshot; see
    /// [`Transaction`]. It never blocks readers or writers.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let mut tx = db.transaction();
    /// tx.put("k", "v");
    /// tx.commit()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transaction(&self) -> Transaction {
        Transaction::begin(Arc::clone(&self.inner))
    }

    /// Runs `f` in a transaction and commits it, running it again (after a short,
    /// growing, jittered pause) when the commit conflicts, at most
    /// [`UPDATE_ATTEMPTS`] times. `f` may run several times: keep side effects out of
    /// it. An error from `f` rolls back and is returned as is, except a conflict,
    /// which is retried too.
    ///
    /// # Errors
    /// `f`'s error; the last conflict ([`crate::Error::is_conflict`]) after
    /// [`UPDATE_ATTEMPTS`] attempts; the errors of [`Transaction::commit`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let counter = |tx: &mut quickcache::Transaction| {
    ///     let n = tx.get("hits")?.map_or(0, |v| u64::from_le_bytes(v[..8].try_into().unwrap()));
    ///     tx.put("hits", (n + 1).to_le_bytes());
    ///     Ok(n + 1)
    /// };
    /// assert_eq!(db.update(counter)?, 1);
    /// assert_eq!(db.update(counter)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update<T>(&self, mut f: impl FnMut(&mut Transaction) -> Result<T>) -> Result<T> {
        let mut attempt = 1;
        loop {
            let mut tx = self.transaction();
            let outcome = f(&mut tx).and_then(|value| tx.commit().map(|()| value));
            match outcome {
                Err(e) if e.is_conflict() && attempt < UPDATE_ATTEMPTS => back_off(attempt),
                done => return done,
            }
            attempt += 1;
        }
    }

    /// Sets `key` to `new` (`None`: deletes it) if its value is `expected` (`None`:
    /// absent), atomically. The outer result is the database's errors; the inner
    /// one reports a mismatch with the value found.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// db.compare_and_swap("leader", None, Some(b"node-1"))?.expect("no leader yet");
    /// let lost = db.compare_and_swap("leader", None, Some(b"node-2"))?.unwrap_err();
    /// assert_eq!(lost.current.unwrap(), b"node-1");
    /// db.compare_and_swap("leader", Some(b"node-1"), None)?.expect("still node-1");
    /// assert_eq!(db.get("leader")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<std::result::Result<(), CompareAndSwapError>> {
        let key = key.as_ref();
        self.update(|tx| {
            let current = tx.get(key)?;
            if current.as_deref() != expected {
                let proposed = new.map(<[u8]>::to_vec);
                return Ok(Err(CompareAndSwapError { current, proposed }));
            }
            match new {
                Some(value) => tx.put(key, value),
                None => tx.delete(key),
            };
            Ok(Ok(()))
        })
    }

    /// Replaces the value of `key` with `f(current)` atomically (`None` in: absent;
    /// `None` out: delete), retrying on conflict as [`Db::update`] does, and returns
    /// the new value. `f` may run several times.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let append = |old: Option<&[u8]>| {
    ///     let mut list = old.map(<[u8]>::to_vec).unwrap_or_default();
    ///     list.push(b'x');
    ///     Some(list)
    /// };
    /// db.update_value("list", append)?;
    /// assert_eq!(db.update_value("list", append)?.unwrap(), b"xx");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update_value(
        &self,
        key: impl AsRef<[u8]>,
        mut f: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        self.update(|tx| {
            let new = f(tx.get(key)?.as_deref());
            match &new {
                Some(value) => tx.put(key, value),
                None => tx.delete(key),
            };
            Ok(new)
        })
    }
}
