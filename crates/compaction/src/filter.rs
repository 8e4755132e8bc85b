//! Compaction filters: a user's callback that keeps, removes or changes the entries a
//! compaction rewrites, and the rules that keep snapshots and older versions safe.
//!
//! The rules are stated on [`CompactionFilter`].

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use quickcache_sstable::{
    EXPIRY_LEN, KeyRef, KeyspaceId, SeqNo, Timestamp, ValueKind, split_expiring,
};

use crate::error::{Error, Result};

/// What a [`CompactionFilter`] does with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterDecision {
    /// Write the entry as it was.
    Keep,
    /// Remove the key: the entry becomes a tombstone (see [`CompactionFilter`]).
    Remove,
    /// Write this value instead.
    ChangeValue(Vec<u8>),
}

/// An entry offered to a [`CompactionFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterEntry<'a> {
    /// The name of the keyspace being compacted (`"default"` for the default one).
    pub keyspace: &'a str,
    /// The level the compaction writes to (1 for L1, ...).
    pub level: usize,
    /// The user key.
    pub key: &'a [u8],
    /// The user's value (for an expiring value, without its expiry).
    pub value: &'a [u8],
    /// When the value expires, if it was written with an expiry.
    pub expires_at: Option<Timestamp>,
}

/// A user's callback deciding, for each entry a compaction rewrites, whether to keep,
/// remove or change it.
///
/// # Which entries a filter is offered
///
/// A compaction offers the filter an entry only if it is a value (plain or expiring,
/// not yet expired), the newest version of its user key among the compaction's inputs,
/// and newer than every snapshot live when the compaction started (RocksDB's rule).
/// Such an entry is seen by no snapshot, only by reads of the newest state; older
/// versions of the key are either hidden by it (the compaction drops them anyway) or
/// kept for a snapshot, and then never offered. So no snapshot ever sees a filter's
/// decision. (A snapshot taken while a compaction runs sees the newest state, and so
/// may see the decision once the compaction installs its output, as in RocksDB.)
///
/// # What the decisions do
///
/// - [`FilterDecision::Keep`]: the entry is written as it was.
/// - [`FilterDecision::ChangeValue`]: the entry is written with the new value, at the
///   same sequence number (an expiring value keeps its expiry).
/// - [`FilterDecision::Remove`]: the entry becomes a tombstone at its sequence number,
///   so that it keeps hiding the older versions of its key that a snapshot still needs
///   or that lie in deeper levels; the compaction drops that tombstone as it drops any
///   other, where nothing older of the key is left below and no snapshot needs it.
///
/// Flushes do not filter (as in RocksDB by default): a filter sees an entry once it is
/// compacted out of L0.
///
/// # Panics
///
/// A panic in the filter is caught: the compaction fails with
/// [`Error::FilterPanicked`](crate::Error::FilterPanicked), its outputs are removed, and the tree stays as it
/// was. Like any compaction failure it stops background compactions and is reported
/// as the database's background error, after which the database refuses writes until
/// it is reopened (a manual compaction also returns it).
///
/// Thread-safety: compactions of different keyspaces and key ranges run at once, so
/// one filter may be called from several threads.
///
/// # Examples
/// ```
/// use quickcache_compaction::{CompactionFilter, FilterDecision, FilterEntry};
///
/// /// Drops every key under `tmp/`.
/// struct DropTemporary;
///
/// impl CompactionFilter for DropTemporary {
///     fn filter(&self, entry: &FilterEntry<'_>) -> FilterDecision {
///         match entry.key.starts_with(b"tmp/") {
///             true => FilterDecision::Remove,
///             false => FilterDecision::Keep,
///         }
///     }
/// }
/// ```
pub trait CompactionFilter: Send + Sync {
    /// The decision about `entry`.
    fn filter(&self, entry: &FilterEntry<'_>) -> FilterDecision;
}

impl<F> CompactionFilter for F
where
    F: Fn(&FilterEntry<'_>) -> FilterDecision + Send + Sync,
{
    fn filter(&self, entry: &FilterEntry<'_>) -> FilterDecision {
        self(entry)
    }
}

/// A shared compaction filter, as options hold it: cloning shares it, and two are
/// equal when they are the very same filter.
///
/// # Examples
/// ```
/// use quickcache_compaction::{FilterDecision, FilterEntry, SharedFilter};
/// let keep_all = SharedFilter::new(|_: &FilterEntry<'_>| FilterDecision::Keep);
/// assert_eq!(keep_all.clone(), keep_all);
/// assert_ne!(SharedFilter::new(|_: &FilterEntry<'_>| FilterDecision::Keep), keep_all);
/// ```
#[derive(Clone)]
pub struct SharedFilter(Arc<dyn CompactionFilter>);

impl SharedFilter {
    /// Shares `filter`.
    pub fn new(filter: impl CompactionFilter + 'static) -> SharedFilter {
        SharedFilter(Arc::new(filter))
    }

    /// The filter.
    pub fn get(&self) -> &dyn CompactionFilter {
        &*self.0
    }
}

impl std::fmt::Debug for SharedFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedFilter({:p})", Arc::as_ptr(&self.0).cast::<()>())
    }
}

impl PartialEq for SharedFilter {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.0), Arc::as_ptr(&other.0))
    }
}

impl Eq for SharedFilter {}

/// The stage of a compaction between its merged input and the retention rule: turns
/// expired values into tombstones and applies the filter.
pub(crate) struct Rewriter<'a> {
    /// The time expiry is judged by, read once when the compaction starts.
    pub(crate) now: Timestamp,
    pub(crate) filter: Option<&'a dyn CompactionFilter>,
    pub(crate) keyspace: &'a str,
    pub(crate) level: usize,
    /// The newest live snapshot: entries at or below it are never offered.
    pub(crate) newest_snapshot: Option<SeqNo>,
    /// The changed value of the entry last rewritten.
    scratch: Vec<u8>,
    /// What it did, for [`crate::Stats`]: expired values turned into tombstones,
    /// entries the filter removed and changed.
    pub(crate) counts: RewriteCounts,
}

/// What a [`Rewriter`] did in one compaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RewriteCounts {
    pub(crate) expired: u64,
    pub(crate) removed: u64,
    pub(crate) changed: u64,
}

impl<'a> Rewriter<'a> {
    /// A stage for one compaction.
    pub(crate) fn new(
        now: Timestamp,
        filter: Option<&'a dyn CompactionFilter>,
        keyspace: &'a str,
        level: usize,
        snapshots: &[SeqNo],
    ) -> Self {
        Rewriter {
            now,
            filter,
            keyspace,
            level,
            newest_snapshot: snapshots.iter().max().copied(),
            scratch: Vec::new(),
            counts: RewriteCounts::default(),
        }
    }

    /// The kind and value to write in place of `key`'s entry `value`; `newest` says
    /// whether it is the first (newest) entry of its user key in the compaction.
    pub(crate) fn rewrite<'v>(
        &'v mut self,
        key: KeyRef<'_>,
        value: &'v [u8],
        newest: bool,
    ) -> Result<(ValueKind, &'v [u8])> {
        let (expires_at, user_value) = match key.kind {
            ValueKind::Tombstone => return Ok((key.kind, value)),
            ValueKind::Value => (None, value),
            ValueKind::ExpiringValue => {
                let Some((at, user)) = split_expiring(value) else {
                    return Err(short_expiring(key, value.len()));
                };
                if self.now >= at {
                    // Expired: it reads as deleted, and hides what it hid before.
                    self.counts.expired += 1;
                    return Ok((ValueKind::Tombstone, &[]));
                }
                (Some(at), user)
            }
        };
        let offered = newest && self.newest_snapshot.is_none_or(|s| key.seqno > s);
        let Some(filter) = self.filter.filter(|_| offered) else {
            return Ok((key.kind, value));
        };
        let entry = FilterEntry {
            keyspace: self.keyspace,
            level: self.level,
            key: key.user_key,
            value: user_value,
            expires_at,
        };
        match call(filter, &entry)? {
            FilterDecision::Keep => Ok((key.kind, value)),
            FilterDecision::Remove => {
                self.counts.removed += 1;
                Ok((ValueKind::Tombstone, &[]))
            }
            FilterDecision::ChangeValue(new) => {
                self.counts.changed += 1;
                self.scratch.clear();
                if key.kind == ValueKind::ExpiringValue {
                    self.scratch
                        .extend_from_slice(value.get(..EXPIRY_LEN).unwrap_or_default());
                }
                self.scratch.extend_from_slice(&new);
                Ok((key.kind, &self.scratch))
            }
        }
    }
}

/// Runs the filter, turning a panic into an error.
fn call(filter: &dyn CompactionFilter, entry: &FilterEntry<'_>) -> Result<FilterDecision> {
    // The filter's state is the user's; a panic leaves nothing of ours half-changed
    // (the compaction is abandoned), so unwind safety is not at stake here.
    catch_unwind(AssertUnwindSafe(|| filter.filter(entry))).map_err(|payload| {
        let message = (payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic payload".to_owned());
        Error::FilterPanicked {
            keyspace: entry.keyspace.to_owned(),
            message,
        }
    })
}

#[cold]
fn short_expiring(key: KeyRef<'_>, len: usize) -> Error {
    Error::Input {
        source: quickcache_sstable::Error::Corruption {
            file: std::path::PathBuf::new(),
            offset: 0,
            reason: format!("{key:?}: an expiring value of {len} bytes has no expiry"),
        },
    }
}

/// What compactions consult besides their inputs: the clock expiry is judged by and
/// the default keyspace's filter (other keyspaces' filters are set with
/// [`crate::VersionSet::set_filter`]). Neither is persisted.
#[derive(Debug, Clone)]
pub struct Hooks {
    /// The clock. Default [`crate::SystemClock`].
    pub clock: crate::DynClock,
    /// The default keyspace's compaction filter. Default none.
    pub filter: Option<SharedFilter>,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            clock: Arc::new(crate::SystemClock),
            filter: None,
        }
    }
}

impl PartialEq for Hooks {
    /// The same clock (the very same object) and the same filter.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.clock), Arc::as_ptr(&other.clock))
            && self.filter == other.filter
    }
}

impl Eq for Hooks {}

/// The filters of keyspaces other than the default, by id.
#[derive(Default)]
pub(crate) struct KeyspaceFilters(pub(crate) HashMap<KeyspaceId, SharedFilter>);

impl std::fmt::Debug for KeyspaceFilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[cfg(test)]
mod tests;
