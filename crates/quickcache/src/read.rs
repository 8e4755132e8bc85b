//! The read path: point lookups through memtables newest first, then the tree, and
//! the snapshot views iterators read.

use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use quickcache_compaction::Version;

use quickcache_memtable::Lookup;
use quickcache_sstable::{SeqNo, ValueKind};

use crate::error::{Error, Result};
use crate::inner::Inner;
use crate::iter::View;
use crate::keyspace::engine::KsState;
use crate::state::SuperVersion;
use crate::{Iter, Value};

impl Inner {
    /// The memtables and the version a read uses, then its snapshot: `at`, or for
    /// `None` the newest visible seqno, loaded only now.
    ///
    /// Why the order: a compaction drops a version of a key only under a newer one at
    /// or below the seqno visible when it ran. A snapshot loaded before the version
    /// could be older than that, so the read would find the newer version invisible
    /// and the one it should see gone. Loaded after, it sees every version a
    /// compaction in its version kept in place of the ones dropped. (Explicit
    /// snapshots are registered, so compactions keep what they need.)
    fn read_view(&self, at: Option<SeqNo>) -> (Arc<SuperVersion>, Arc<Version>, SeqNo) {
        // Memtables before the version: see `SuperVersion`.
        let memtables = self.current_memtables();
        let version = self.set.current();
        let snapshot = at.unwrap_or_else(|| self.writes.visibility.visible());
        (memtables, version, snapshot)
    }

    /// The value of `key` at snapshot `at` (`None`: the newest), memtables newest
    /// first, then the tree.
    pub(crate) fn get_at(&self, key: &[u8], at: Option<SeqNo>) -> Result<Option<Value>> {
        let (memtables, version, snapshot) = self.read_view(at);
        self.get_from(&memtables, &version, key, snapshot)
    }

    /// `key` at `snapshot` in `memtables` newest first, then in `version`. Inlined into
    /// both gets: a call here costs a point lookup that stops at a bloom filter several
    /// percent.
    #[inline(always)]
    fn get_from(
        &self,
        memtables: &SuperVersion,
        version: &Version,
        key: &[u8],
        snapshot: SeqNo,
    ) -> Result<Option<Value>> {
        // The held range tombstones spare the lock; the memtable checks they are current.
        let found = memtables
            .active
            .get_with(key, snapshot, &memtables.active_dels);
        if let Some(found) = found {
            return Ok(self.resolve(found));
        }
        for frozen in &memtables.frozen {
            if let Some(found) = frozen.mem.get(key, snapshot) {
                return Ok(self.resolve(found));
            }
        }
        let entry = version.get(key, snapshot).map_err(|source| Error::Tree {
            operation: "reading a key",
            path: self.dir.clone(),
            source: Box::new(source),
        })?;
        // The clock is read only for an expiring entry: plain reads pay nothing.
        Ok(entry
            .and_then(|e| match e.kind {
                ValueKind::ExpiringValue => e.value_at(self.options.clock.now()),
                _ => e.into_value(),
            })
            .map(Value::mapped))
    }

    /// The value a memtable's answer stands for: none for a tombstone or a value
    /// expired by now.
    fn resolve(&self, found: Lookup<'_>) -> Option<Value> {
        match found {
            Lookup::Value(v) => Some(Value::owned(v.value().to_vec())),
            Lookup::Expiring { value, expires_at } => (self.options.clock.now() < expires_at)
                .then(|| Value::owned(value.value().to_vec())),
            Lookup::Deleted(_) => None,
        }
    }

    /// The value of `key` in keyspace `ks` at snapshot `at` (`None`: the newest).
    pub(crate) fn get_in(
        &self,
        ks: &KsState,
        key: &[u8],
        at: Option<SeqNo>,
    ) -> Result<Option<Value>> {
        let (memtables, version, snapshot) = self.read_view_in(ks, at)?;
        self.get_from(&memtables, &version, key, snapshot)
    }

    /// An iterator over `lower..upper` of keyspace `ks` at snapshot `at`; one that
    /// yields [`Error::KeyspaceDropped`] once if it was dropped.
    pub(crate) fn iter_in(
        &self,
        ks: &KsState,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        at: Option<SeqNo>,
    ) -> Iter {
        match self.read_view_in(ks, at) {
            Ok((memtables, version, snapshot)) => {
                let view = View {
                    memtables,
                    version,
                    snapshot,
                    clock: Arc::clone(&self.options.clock),
                    now: OnceLock::new(),
                    dir: self.dir.clone(),
                };
                Iter::new(view, lower, upper)
            }
            Err(e) => Iter::failed(e),
        }
    }

    /// [`Inner::read_view`] for keyspace `ks`, in the same order.
    fn read_view_in(
        &self,
        ks: &KsState,
        at: Option<SeqNo>,
    ) -> Result<(Arc<SuperVersion>, Arc<Version>, SeqNo)> {
        let dropped = || Error::KeyspaceDropped {
            name: ks.name.clone(),
        };
        ks.check_live()?;
        let memtables = ks.current_memtables();
        let version = self.set.current_of(ks.id).ok_or_else(dropped)?;
        let snapshot = at.unwrap_or_else(|| self.writes.visibility.visible());
        Ok((memtables, version, snapshot))
    }

    /// An iterator over `lower..upper` at snapshot `at` (`None`: the newest).
    pub(crate) fn iter_at(
        &self,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        at: Option<SeqNo>,
    ) -> Iter {
        let (memtables, version, snapshot) = self.read_view(at);
        let view = View {
            memtables,
            version,
            snapshot,
            clock: Arc::clone(&self.options.clock),
            now: OnceLock::new(),
            dir: self.dir.clone(),
        };
        Iter::new(view, lower, upper)
    }
}
