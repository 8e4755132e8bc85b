//! Keyspaces: named ordered maps in one database, each its own LSM tree, written
//! atomically together through the one WAL ([`Keyspace`], [`KeyspaceOptions`], and
//! the [`Db`] methods that open, list and drop them).

pub(crate) mod engine;
mod expiry;
mod maintenance;
mod options;

use std::fmt;
use std::sync::Arc;

use quickcache_compaction::{DEFAULT_KEYSPACE_NAME, KeyspaceDef, check_keyspace_name};
use quickcache_memtable::WriteBatch as MemBatch;

use crate::KeyRange;
use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::iter::prefix_bounds;
use crate::{Db, Iter, Options, Value, WriteOptions};
use engine::KsState;
pub use options::KeyspaceOptions;

thread_local! {
    /// The batch `Keyspace::put` and `Keyspace::delete` encode into, reused across
    /// calls; taken out while in use.
    static SCRATCH: std::cell::Cell<Option<MemBatch>> = const { std::cell::Cell::new(None) };
}

/// The largest encoding a thread keeps in `SCRATCH` for reuse.
const SCRATCH_KEEP: usize = 64 << 10;

/// A named keyspace of a [`Db`]: an ordered map of its own, with the same reads and
/// writes as the database's default keyspace. Cheap to clone, `Send + Sync`.
///
/// After [`Db::drop_keyspace`], every call through a handle of the dropped keyspace
/// fails with [`Error::KeyspaceDropped`] (iterators made before keep reading what
/// they pinned).
///
/// # Examples
/// ```
/// use quickcache::Db;
/// let dir = tempfile::tempdir()?;
/// let db = Db::open(dir.path())?;
/// let users = db.keyspace("users")?;
/// users.put("ann", "1")?;
/// db.put("ann", "default keyspace")?;
/// assert_eq!(users.get("ann")?.unwrap(), b"1");
/// assert_eq!(db.keyspaces(), ["default", "users"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Keyspace {
    pub(crate) inner: Arc<Inner>,
    pub(crate) state: Arc<KsState>,
}

impl fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyspace")
            .field("name", &self.state.name)
            .field("id", &self.state.id.0)
            .finish()
    }
}

impl Keyspace {
    pub(crate) fn state(&self) -> &Arc<KsState> {
        &self.state
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// The keyspace's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The value of `key`, or `None`.
    ///
    /// # Errors
    /// [`Error::KeyspaceDropped`] once the keyspace is dropped; damage met reading.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let log = db.keyspace("log")?;
    /// log.put("1", "one")?;
    /// assert_eq!(log.get("1")?.unwrap(), b"one");
    /// assert!(log.get("2")?.is_none());
    /// assert!(log.contains_key("1")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        self.state.check_live()?;
        self.inner.get_in(&self.state, key.as_ref(), None)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// Sets `key` to `value`, durable as [`Options::durability`] says.
    ///
    /// # Errors
    /// [`Error::KeyspaceDropped`] once the keyspace is dropped; a key or value too
    /// large; [`Error::WriteTooLarge`] for a write over the WAL record limit of 64 MiB
    /// (load bulk data with [`Keyspace::ingest`] instead); the read-only state after
    /// a background failure.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.put_with(key, value, &WriteOptions::default())
    }

    /// Sets `key` to `value`, durable as `options` ask.
    ///
    /// # Examples
    /// ```
    /// use quickcache::WriteOptions;
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let votes = db.keyspace("votes")?;
    /// votes.put_with("term", "7", &WriteOptions::synced())?; // survives power loss
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_with(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        options: &WriteOptions,
    ) -> Result<()> {
        let (id, key, value) = (self.state.id, key.as_ref(), value.as_ref());
        match options.ttl {
            None => self.write_one(|b| b.put_in(id, key, value), options),
            Some(ttl) => self.put_expiring(key, value, ttl, options),
        }
    }

    /// Deletes `key`, durable as [`Options::durability`] says.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let log = db.keyspace("log")?;
    /// log.put("1", "one")?;
    /// log.delete("1")?;
    /// assert!(log.get("1")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.delete_with(key, &WriteOptions::default())
    }

    /// Deletes `key`, durable as `options` ask.
    pub fn delete_with(&self, key: impl AsRef<[u8]>, options: &WriteOptions) -> Result<()> {
        let id = self.state.id;
        crate::db::refuse_ttl(options, "a delete")?;
        self.write_one(|b| b.delete_in(id, key.as_ref()), options)
    }

    /// Writes a one-entry batch that `fill` builds in this thread's reusable batch
    /// (as `Db::put` does: no allocation per write in the steady state).
    pub(crate) fn write_one(
        &self,
        fill: impl FnOnce(&mut MemBatch) -> std::result::Result<(), quickcache_memtable::Error>,
        options: &WriteOptions,
    ) -> Result<()> {
        let mut batch = SCRATCH.take().unwrap_or_default();
        batch.clear();
        let durability = self.inner.durability(options);
        let targets = std::slice::from_ref(&self.state);
        let result = match fill(&mut batch) {
            Ok(()) => (self.inner).write_in(&mut batch, durability, targets, false, None),
            Err(source) => Err(building(source)),
        };
        if batch.approximate_size() <= SCRATCH_KEEP {
            SCRATCH.set(Some(batch));
        }
        result
    }

    /// The keys and values in `range`, ascending (`.rev()` for descending). A handle
    /// of a dropped keyspace gives an iterator that yields that error once.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// let log = db.keyspace("log")?;
    /// for i in 1..=5 {
    ///     log.put(format!("{i:04}"), "entry")?;
    /// }
    /// let keys: Vec<Vec<u8>> = log.range("0002".."0004").map(|kv| kv.map(|(k, _)| k)).collect::<Result<_, _>>()?;
    /// assert_eq!(keys, [b"0002".to_vec(), b"0003".to_vec()]);
    /// let last = log.iter().rev().next().unwrap()?;
    /// assert_eq!(last.0, b"0005");
    /// assert_eq!(log.prefix("000").count(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn range(&self, range: impl KeyRange) -> Iter {
        let (lower, upper) = range.into_bounds();
        self.inner.iter_in(&self.state, lower, upper, None)
    }

    /// The keys starting with `prefix` and their values, ascending.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        self.inner.iter_in(&self.state, lower, upper, None)
    }

    /// Every key and value, ascending.
    pub fn iter(&self) -> Iter {
        self.range(..)
    }
}

fn building(source: quickcache_memtable::Error) -> Error {
    Error::Batch {
        operation: "building a write batch",
        source: Box::new(source),
    }
}

impl Db {
    /// The keyspace named `name`, created (with the database's settings,
    /// [`KeyspaceOptions::from`]`(db.options())`) if it does not exist. `"default"`
    /// is the database's own keyspace, which [`Db`]'s methods use; it has no handle.
    ///
    /// # Errors
    /// A name that is empty, over 255 bytes or `"default"`
    /// ([`Error::InvalidKeyspaceName`]); a failed manifest write.
    pub fn keyspace(&self, name: &str) -> Result<Keyspace> {
        self.open_keyspace(name, None)
    }

    /// The keyspace named `name`, created with `options` if it does not exist. An
    /// existing keyspace whose stored options differ is refused
    /// ([`Error::KeyspaceOptionsConflict`]).
    pub fn keyspace_with(&self, name: &str, options: KeyspaceOptions) -> Result<Keyspace> {
        self.open_keyspace(name, Some(options))
    }

    fn open_keyspace(&self, name: &str, options: Option<KeyspaceOptions>) -> Result<Keyspace> {
        let invalid = |reason: &str| Error::InvalidKeyspaceName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        check_keyspace_name(name.as_bytes()).map_err(invalid)?;
        if name == DEFAULT_KEYSPACE_NAME {
            return Err(invalid(
                "is the default keyspace, which Db's own methods use",
            ));
        }
        let inner = &self.inner;
        let _one = lock(&inner.keyspace_lock);
        if let Some(state) = inner.keyspace_states().into_iter().find(|k| k.name == name) {
            if let Some(given) = options {
                let stored = inner
                    .set
                    .keyspaces()
                    .into_iter()
                    .find(|(id, _)| *id == state.id);
                let stored = stored.map(|(_, t)| KeyspaceOptions::of_stored(&t.def.options));
                // The filter is not stored: any given replaces the one in use.
                let unstored = KeyspaceOptions {
                    compaction_filter: None,
                    ..given.clone()
                };
                if stored.is_some_and(|s| s != unstored) {
                    return Err(Error::KeyspaceOptionsConflict {
                        name: name.to_owned(),
                    });
                }
                inner.set.set_filter(state.id, given.compaction_filter);
            }
            return Ok(Keyspace {
                inner: Arc::clone(inner),
                state,
            });
        }
        inner.check_writable()?;
        let options = options.unwrap_or_else(|| KeyspaceOptions::from(&inner.options));
        let def = KeyspaceDef {
            name: name.to_owned(),
            options: options.stored()?,
        };
        // No write of the new keyspace can be in an older segment.
        let log_number = inner.wal()?.current_segment().0;
        let id = inner
            .set
            .create_keyspace(def, log_number)
            .map_err(|source| {
                inner.fail_unless_no_space(Error::Tree {
                    operation: "creating a keyspace",
                    path: inner.dir.clone(),
                    source: Box::new(source),
                })
            })?;
        inner.set.set_filter(id, options.compaction_filter);
        let size = options.memtable_size;
        let memtable = quickcache_memtable::Memtable::with_capacity(size);
        let state = Arc::new(KsState::new(id, name.to_owned(), size, memtable));
        let mut all = inner
            .keyspaces
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.insert(id, Arc::clone(&state));
        Ok(Keyspace {
            inner: Arc::clone(inner),
            state,
        })
    }

    /// The keyspace named `name` if it exists; never creates one (for readers that
    /// must not write, like the command line's `get`).
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path())?;
    /// assert!(db.find_keyspace("log").is_none());
    /// db.keyspace("log")?;
    /// assert_eq!(db.find_keyspace("log").unwrap().name(), "log");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find_keyspace(&self, name: &str) -> Option<Keyspace> {
        // Under the registry's read lock, without copying it: the lookup is cheap.
        let all = self.inner.keyspaces.read();
        let all = all.unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = Arc::clone(all.values().find(|k| k.name == name)?);
        drop(all);
        Some(Keyspace {
            inner: Arc::clone(&self.inner),
            state,
        })
    }

    /// The names of the keyspaces, `"default"` first, then the others by creation.
    pub fn keyspaces(&self) -> Vec<String> {
        let mut names = vec![DEFAULT_KEYSPACE_NAME.to_owned()];
        names.extend(self.inner.keyspace_states().iter().map(|k| k.name.clone()));
        names
    }

    /// Drops the keyspace named `name`: durably, with one manifest edit. Its handles
    /// fail from then on; its files are removed once no iterator or snapshot reads
    /// them (or, after a crash, by the next open).
    ///
    /// # Errors
    /// [`Error::InvalidKeyspaceName`] for `"default"` or a name no keyspace has; a
    /// failed manifest write (the database is then read-only; after a full disk it
    /// stays writable and the keyspace stays, `Error::is_no_space`).
    pub fn drop_keyspace(&self, name: &str) -> Result<()> {
        let inner = &self.inner;
        let _one = lock(&inner.keyspace_lock);
        let state = inner.keyspace_states().into_iter().find(|k| k.name == name);
        let Some(state) = state else {
            let reason = if name == DEFAULT_KEYSPACE_NAME {
                "is the default keyspace, which cannot be dropped"
            } else {
                "names no keyspace"
            };
            return Err(Error::InvalidKeyspaceName {
                name: name.to_owned(),
                reason: reason.to_owned(),
            });
        };
        inner.check_writable()?;
        {
            // No writer of the keyspace is in flight once its gate is ours.
            let _gate = state
                .mem
                .gate
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state
                .dropped
                .store(true, std::sync::atomic::Ordering::Release);
        }
        if let Err(source) = inner.set.drop_keyspace(state.id) {
            // Whether the drop is durable is unknown; the database is read-only now,
            // and the keyspace stays readable until a reopen tells. (After a full
            // disk it is known not to be, and the database stays writable.)
            state
                .dropped
                .store(false, std::sync::atomic::Ordering::Release);
            return Err(inner.fail_unless_no_space(Error::Tree {
                operation: "dropping a keyspace",
                path: inner.dir.clone(),
                source: Box::new(source),
            }));
        }
        let mut all = inner
            .keyspaces
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.remove(&state.id);
        drop(all);
        inner.set.set_filter(state.id, None);
        // Its frozen memtables will never be flushed: they stop counting.
        let count = {
            let mut memtables = lock(&state.mem.current);
            let count = memtables.frozen.len();
            *memtables = Arc::new(crate::state::SuperVersion::new(
                Arc::clone(&memtables.active),
                Vec::new(),
            ));
            count
        };
        inner
            .writes
            .frozen_count
            .fetch_sub(count, std::sync::atomic::Ordering::AcqRel);
        inner.trim_wal();
        inner.notify();
        Ok(())
    }

    /// The options the database was opened with.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }
}
