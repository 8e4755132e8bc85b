//! The memtable: a lock-free sorted map from internal key to value.
//!
//! Many threads insert and read at once through `&Memtable`; nothing is ever removed or
//! overwritten (every entry has its own sequence number), so a reader sees a growing
//! set. What a reader may *use* is decided by its snapshot: see [`crate::visibility`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use quickcache_sstable::{
    EXPIRY_LEN, FragmentedRangeTombstones, KeyRef, KeyspaceId, SeqNo, Timestamp, ValueKind,
    split_expiring,
};

use crate::cursor::{MemtableCursor, SharedCursor};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::key::KeyParts;
use crate::range_dels::RangeDels;
use crate::skiplist::{NodeRef, SkipList, Splice};
use crate::{BatchEntry, WriteBatch};

/// The skiplist behind a memtable.
pub(crate) type Map = SkipList;

/// Estimated bytes per entry besides its key and value: the skiplist node (four
/// words and two links on average, 48 bytes), the entry slot holding the data
/// pointer and key length (32), the data allocation's allocator header (16), and
/// the arena's unused tail (its buckets grow geometrically; about a fifth of these
/// on average, 16).
pub const ENTRY_OVERHEAD: usize = 48 + 32 + 16 + 16;

/// The memtable size [`Memtable::new`] sizes its key filter for (RocksDB's default
/// write buffer; the engine passes its own `memtable_size`, 32 MiB by default).
pub const DEFAULT_CAPACITY: usize = 64 << 20;

/// Bytes of memtable per bit of key filter: 16 bits per key at 128-byte entries (about
/// 0.2% false positives), still useful at 32-byte ones; the filter costs 1/64 of the
/// memtable.
const BYTES_PER_FILTER_BIT: usize = 8;

/// The answer of [`Memtable::get`] when the memtable knows the key.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// The newest visible entry is a value.
    Value(ValueRef<'a>),
    /// The newest visible entry is a value that reads as deleted from `expires_at` on
    /// (whether it has is the caller's to decide: the memtable knows no clock). Either
    /// way older sources must not be consulted.
    Expiring {
        /// The user's value (without the stored expiry).
        value: ValueRef<'a>,
        /// When it expires.
        expires_at: Timestamp,
    },
    /// The newest visible entry is a tombstone, written at this sequence number: the
    /// key is deleted, and older sources must not be consulted.
    Deleted(SeqNo),
}

/// A value borrowed from the memtable, pinned for as long as this handle lives.
pub struct ValueRef<'a> {
    node: NodeRef<'a>,
    /// Where the user's value starts in the stored one: past the expiry of an
    /// expiring value, else 0.
    offset: usize,
}

impl ValueRef<'_> {
    /// The value bytes (for an expiring value, without its expiry).
    pub fn value(&self) -> &[u8] {
        self.node.value().get(self.offset..).unwrap_or_default()
    }

    /// The sequence number the value was written at.
    pub fn seqno(&self) -> SeqNo {
        self.node.head().seqno()
    }
}

impl AsRef<[u8]> for ValueRef<'_> {
    fn as_ref(&self) -> &[u8] {
        self.value()
    }
}

impl std::fmt::Debug for ValueRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}={:?}", self.node.key(), self.value().escape_ascii())
    }
}

/// A lock-free, concurrently writable memtable.
///
/// Thread safety: `Memtable` is `Send + Sync`; every method takes `&self`. Inserts are
/// lock-free (see the private `skiplist` module); a reader never blocks a writer or vice versa.
pub struct Memtable {
    map: Map,
    /// The user keys inserted, so that a get of an absent key skips the search.
    filter: Filter,
    /// Approximate bytes used; counted with `Relaxed` because it only guides the
    /// freeze decision and orders nothing.
    memory: AtomicUsize,
    /// Smallest and largest sequence numbers inserted (`u64::MAX` / 0 when empty).
    min_seqno: AtomicU64,
    max_seqno: AtomicU64,
    /// Range tombstones, apart from the point entries.
    range_dels: RangeDels,
}

impl Memtable {
    /// An empty memtable, its key filter sized for [`DEFAULT_CAPACITY`].
    pub fn new() -> Self {
        Memtable::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty memtable whose key filter is sized for about `bytes` of entries (the
    /// size at which the engine freezes it). A memtable may grow past it; its filter
    /// then only answers "maybe" more often.
    pub fn with_capacity(bytes: usize) -> Self {
        let filter = Filter::with_bits(bytes / BYTES_PER_FILTER_BIT);
        Memtable {
            map: Map::new(),
            memory: AtomicUsize::new(filter.bytes()),
            filter,
            min_seqno: AtomicU64::new(u64::MAX),
            max_seqno: AtomicU64::new(0),
            range_dels: RangeDels::default(),
        }
    }

    /// Inserts a put of `user_key` at `seqno`.
    ///
    /// Requires: no other entry of this memtable has the same user key and seqno (the
    /// engine never reuses a sequence number); such an insert would be ignored, the
    /// first entry kept.
    pub fn put(&self, user_key: &[u8], seqno: SeqNo, value: &[u8]) {
        self.insert(
            &mut Splice::new(),
            KeyRef::new(user_key, seqno, ValueKind::Value),
            value,
        );
        self.note_seqnos(seqno, seqno);
    }

    /// Inserts a tombstone for `user_key` at `seqno`. Requires as [`Memtable::put`].
    pub fn delete(&self, user_key: &[u8], seqno: SeqNo) {
        self.insert(
            &mut Splice::new(),
            KeyRef::new(user_key, seqno, ValueKind::Tombstone),
            &[],
        );
        self.note_seqnos(seqno, seqno);
    }

    /// Inserts the entries of `batch` in the default keyspace, entry *i* at
    /// `batch.base_seqno() + i`: [`Memtable::apply_keyspace`] for
    /// [`KeyspaceId::DEFAULT`].
    pub fn apply(&self, batch: &WriteBatch) -> Result<()> {
        self.apply_keyspace(batch, KeyspaceId::DEFAULT)
    }

    /// Inserts the entries of `batch` that are for `keyspace`, entry *i* at
    /// `batch.base_seqno() + i` (its position in the whole batch, so that the
    /// keyspaces of one batch share its sequence numbers). A memtable holds one
    /// keyspace; the other entries are skipped, each keyspace's memtable takes its own.
    ///
    /// The entries become visible to readers only once the engine publishes the
    /// batch's last sequence number (see [`crate::Visibility`]); until then a reader's
    /// snapshot is below all of them. Fails with [`Error::Unsequenced`] if the batch
    /// has no base sequence number; inserts nothing then.
    pub fn apply_keyspace(&self, batch: &WriteBatch, keyspace: KeyspaceId) -> Result<()> {
        let base = batch.base_seqno();
        if base == SeqNo::ZERO {
            return Err(Error::Unsequenced);
        }
        if batch.last_seqno().is_none() {
            return Ok(());
        }
        let mut seqno = base;
        let mut applied: Option<(SeqNo, SeqNo)> = None;
        // One search path for the whole batch: batches mostly hold ascending keys, and
        // each insert then starts where the previous one linked (see the splice).
        let mut splice = Splice::new();
        for entry in batch {
            if entry.keyspace == keyspace {
                self.insert_entry(&mut splice, &entry, seqno);
                applied = Some((applied.map_or(seqno, |(first, _)| first), seqno));
            }
            // Past the last entry this saturates harmlessly; the batch's last
            // sequence number was checked when it was sequenced.
            seqno = seqno.checked_add(1).unwrap_or(SeqNo::MAX);
        }
        if let Some((first, last)) = applied {
            self.note_seqnos(first, last);
        }
        Ok(())
    }

    /// Inserts each entry of `batch` into the memtable of its keyspace among
    /// `memtables` (entries of keyspaces not listed are skipped), entry *i* at
    /// `batch.base_seqno() + i`: [`Memtable::apply_keyspace`] for several keyspaces
    /// in one pass over the batch, however many keyspaces it spans.
    ///
    /// Fails with [`Error::Unsequenced`] if the batch has no base sequence number;
    /// inserts nothing then.
    ///
    /// # Examples
    /// ```
    /// use quickcache_memtable::{Memtable, WriteBatch};
    /// use quickcache_sstable::{KeyspaceId, SeqNo};
    ///
    /// let (default, log) = (Memtable::new(), Memtable::new());
    /// let mut batch = WriteBatch::new();
    /// batch.put(b"k", b"d")?;
    /// batch.put_in(KeyspaceId(1), b"k", b"l")?;
    /// batch.set_base_seqno(SeqNo::new(5).unwrap())?;
    /// Memtable::apply_split(&batch, &[(KeyspaceId::DEFAULT, &default), (KeyspaceId(1), &log)])?;
    /// assert_eq!((default.len(), log.len()), (1, 1));
    /// assert_eq!(log.seqno_range(), Some((SeqNo::new(6).unwrap(), SeqNo::new(6).unwrap())));
    /// # Ok::<(), quickcache_memtable::Error>(())
    /// ```
    pub fn apply_split(batch: &WriteBatch, memtables: &[(KeyspaceId, &Memtable)]) -> Result<()> {
        let base = batch.base_seqno();
        if base == SeqNo::ZERO {
            return Err(Error::Unsequenced);
        }
        if batch.last_seqno().is_none() {
            return Ok(());
        }
        let mut splices: Vec<Splice> = memtables.iter().map(|_| Splice::new()).collect();
        let mut applied: Vec<Option<(SeqNo, SeqNo)>> = vec![None; memtables.len()];
        let mut seqno = base;
        for entry in batch {
            let at = memtables.iter().position(|(id, _)| *id == entry.keyspace);
            if let Some(i) = at
                && let (Some((_, memtable)), Some(splice), Some(range)) =
                    (memtables.get(i), splices.get_mut(i), applied.get_mut(i))
            {
                memtable.insert_entry(splice, &entry, seqno);
                *range = Some((range.map_or(seqno, |(first, _)| first), seqno));
            }
            // Past the last entry this saturates harmlessly; it was checked.
            seqno = seqno.checked_add(1).unwrap_or(SeqNo::MAX);
        }
        for ((_, memtable), range) in memtables.iter().zip(applied) {
            if let Some((first, last)) = range {
                memtable.note_seqnos(first, last);
            }
        }
        Ok(())
    }

    /// Inserts one batch entry at `seqno`: a point entry into the skiplist, a range
    /// delete among the range tombstones.
    #[inline(always)]
    fn insert_entry(&self, splice: &mut Splice, entry: &BatchEntry<'_>, seqno: SeqNo) {
        match entry.kind.value_kind() {
            Some(kind) => self.insert(splice, KeyRef::new(entry.key, seqno, kind), entry.value),
            None => {
                let bytes = self.range_dels.insert(entry.key, entry.value, seqno);
                self.memory.fetch_add(bytes, Ordering::Relaxed);
            }
        }
    }

    fn insert(&self, splice: &mut Splice, key: KeyRef<'_>, value: &[u8]) {
        // Before the link that publishes the entry: see the filter's module doc.
        self.filter.add(key.user_key);
        if self.map.insert_with(splice, key, value) {
            let bytes = key.user_key.len() + value.len() + ENTRY_OVERHEAD;
            self.memory.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Widens the seqno range. Each bound is read before it is written: seqnos mostly
    /// grow, so the minimum rarely changes, and an unconditional `fetch_min` would
    /// be a locked write on a line every writer shares.
    fn note_seqnos(&self, first: SeqNo, last: SeqNo) {
        if first.get() < self.min_seqno.load(Ordering::Relaxed) {
            self.min_seqno.fetch_min(first.get(), Ordering::Relaxed);
        }
        if last.get() > self.max_seqno.load(Ordering::Relaxed) {
            self.max_seqno.fetch_max(last.get(), Ordering::Relaxed);
        }
    }

    /// The newest entry of `user_key` with a sequence number `<= snapshot`.
    ///
    /// `None` means the memtable knows nothing of the key at that snapshot (look in
    /// older sources); [`Lookup::Deleted`] means it was deleted (stop looking).
    /// Allocates nothing: the search probe borrows `user_key`. A key the filter has
    /// never seen is answered without a search.
    ///
    /// Range tombstones count: if the newest one covering `user_key` that `snapshot`
    /// sees is newer than the newest entry (or there is none), the answer is
    /// [`Lookup::Deleted`] at the range tombstone's sequence number.
    pub fn get(&self, user_key: &[u8], snapshot: SeqNo) -> Option<Lookup<'_>> {
        let covered = self.range_dels.max_covering(user_key, snapshot);
        self.get_covered(user_key, snapshot, covered)
    }

    /// [`Memtable::get`] once the range tombstones had their say: `covered` is the
    /// newest one covering `user_key` that `snapshot` sees.
    #[inline(always)]
    pub(crate) fn get_covered(
        &self,
        user_key: &[u8],
        snapshot: SeqNo,
        covered: Option<SeqNo>,
    ) -> Option<Lookup<'_>> {
        let point = match self.filter.may_contain(user_key) {
            true => get(&self.map, user_key, snapshot),
            false => None,
        };
        let Some(range) = covered else {
            return point;
        };
        match point {
            Some(Lookup::Value(v)) if v.seqno() > range => Some(Lookup::Value(v)),
            Some(Lookup::Expiring { value, expires_at }) if value.seqno() > range => {
                Some(Lookup::Expiring { value, expires_at })
            }
            Some(Lookup::Deleted(s)) if s > range => Some(Lookup::Deleted(s)),
            _ => Some(Lookup::Deleted(range)),
        }
    }

    /// The range tombstones, fragmented (empty if none): for the iterators above,
    /// which apply them, and for the flush, which writes them to the table.
    pub fn range_tombstones(&self) -> Arc<FragmentedRangeTombstones> {
        self.range_dels.fragmented()
    }

    /// The range tombstones, for the lookups in `range_dels.rs`.
    pub(crate) fn range_dels(&self) -> &RangeDels {
        &self.range_dels
    }

    /// Number of range tombstones inserted.
    pub fn range_tombstone_count(&self) -> usize {
        self.range_dels.len()
    }

    /// A cursor over every entry, in internal-key order, initially invalid.
    ///
    /// It shows entries of all sequence numbers, including ones above any reader's
    /// snapshot; the layer above skips those. Entries inserted while the cursor lives
    /// may or may not be seen.
    pub fn cursor(&self) -> MemtableCursor<'_> {
        MemtableCursor::new(&self.map)
    }

    /// A cursor like [`Memtable::cursor`] that holds a share of the memtable instead
    /// of borrowing it: for iterators that own their sources.
    pub fn shared_cursor(self: &Arc<Self>) -> SharedCursor {
        SharedCursor::new(Arc::clone(self))
    }

    /// The skiplist, for the cursors.
    pub(crate) fn map(&self) -> &Map {
        &self.map
    }

    /// Approximate bytes held: the key filter, keys, values and per-entry overhead
    /// ([`ENTRY_OVERHEAD`]). Monotonic; meant for the freeze decision.
    pub fn approximate_memory(&self) -> usize {
        self.memory.load(Ordering::Relaxed)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the memtable holds no entries and no range tombstones.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0 && self.range_dels.len() == 0
    }

    /// The smallest and largest sequence numbers inserted; `None` if empty.
    pub fn seqno_range(&self) -> Option<(SeqNo, SeqNo)> {
        let min = SeqNo::new(self.min_seqno.load(Ordering::Relaxed))?;
        let max = SeqNo::new(self.max_seqno.load(Ordering::Relaxed))?;
        Some((min, max))
    }
}

impl Default for Memtable {
    fn default() -> Self {
        Memtable::new()
    }
}

impl std::fmt::Debug for Memtable {
    /// A summary: printing every entry of a 64 MiB memtable helps nobody.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memtable")
            .field("len", &self.len())
            .field("approximate_memory", &self.approximate_memory())
            .field("seqno_range", &self.seqno_range())
            .finish()
    }
}

/// The lookup shared by [`Memtable::get`] and the frozen form.
pub(crate) fn get<'a>(map: &'a Map, user_key: &[u8], snapshot: SeqNo) -> Option<Lookup<'a>> {
    // Entries of `user_key` newer than `snapshot` sort before the probe, so the first
    // entry at or after it is the newest visible one, if it has the same user key.
    let probe = KeyParts::of(KeyRef::lookup(user_key, snapshot));
    let node = map.seek_ge(&probe)?;
    let head = node.head();
    // For keys of at most 16 bytes the inline head decides, without touching the
    // entry's bytes on the heap.
    if head.cmp_user_key(|| node.user_key(), &probe).is_ne() {
        return None;
    }
    match head.kind() {
        ValueKind::Value => Some(Lookup::Value(ValueRef { node, offset: 0 })),
        ValueKind::Tombstone => Some(Lookup::Deleted(head.seqno())),
        ValueKind::ExpiringValue => {
            // Batches are checked to hold an expiry before they reach a memtable;
            // should one not, the entry reads as long expired rather than misread.
            let expires_at = split_expiring(node.value()).map(|(at, _)| at);
            debug_assert!(expires_at.is_some(), "an expiring value without expiry");
            let offset = if expires_at.is_some() { EXPIRY_LEN } else { 0 };
            Some(Lookup::Expiring {
                value: ValueRef { node, offset },
                expires_at: expires_at.unwrap_or_default(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FrozenMemtable;
    use quickcache_sstable::Cursor;

    fn seq(n: u64) -> SeqNo {
        SeqNo::new(n).unwrap()
    }

    fn value_at(m: &Memtable, key: &[u8], snapshot: u64) -> Option<Result<Vec<u8>, SeqNo>> {
        m.get(key, seq(snapshot)).map(|l| match l {
            Lookup::Value(v) => Ok(v.value().to_vec()),
            Lookup::Expiring { value, expires_at } => {
                Ok([&expires_at.as_millis().to_be_bytes()[..], value.value()].concat())
            }
            Lookup::Deleted(s) => Err(s),
        })
    }

    #[test]
    fn get_answers_the_newest_version_at_the_snapshot() {
        let m = Memtable::new();
        m.put(b"k", seq(2), b"two");
        m.delete(b"k", seq(4));
        m.put(b"k", seq(6), b"six");
        m.put(b"j", seq(3), b"other key");
        assert_eq!(value_at(&m, b"k", 1), None, "nothing that old");
        assert_eq!(value_at(&m, b"k", 3), Some(Ok(b"two".to_vec())));
        assert_eq!(
            value_at(&m, b"k", 5),
            Some(Err(seq(4))),
            "deleted, not absent"
        );
        assert_eq!(value_at(&m, b"k", 6), Some(Ok(b"six".to_vec())));
        assert_eq!(value_at(&m, b"kk", 9), None);
        assert_eq!(value_at(&m, b"", 9), None);
    }

    #[test]
    fn a_value_ref_reports_its_seqno() {
        let m = Memtable::new();
        m.put(b"k", seq(7), b"v");
        let Some(Lookup::Value(v)) = m.get(b"k", SeqNo::MAX) else {
            panic!("missing");
        };
        assert_eq!((v.seqno(), v.as_ref()), (seq(7), &b"v"[..]));
    }

    #[test]
    fn apply_numbers_entries_from_the_base() {
        let m = Memtable::new();
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").unwrap();
        batch.put(b"a", b"2").unwrap();
        batch.delete(b"b").unwrap();
        assert!(matches!(m.apply(&batch), Err(Error::Unsequenced)));
        assert!(m.is_empty());
        batch.set_base_seqno(seq(10)).unwrap();
        m.apply(&batch).unwrap();
        assert_eq!(value_at(&m, b"a", 10), Some(Ok(b"1".to_vec())));
        assert_eq!(value_at(&m, b"a", 11), Some(Ok(b"2".to_vec())));
        assert_eq!(value_at(&m, b"b", 12), Some(Err(seq(12))));
        assert_eq!(m.seqno_range(), Some((seq(10), seq(12))));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn each_keyspace_takes_its_entries_at_their_place_in_the_batch() {
        let (default, other) = (Memtable::new(), Memtable::new());
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"0").unwrap();
        batch.put_in(KeyspaceId(4), b"a", b"4").unwrap();
        batch.delete_in(KeyspaceId(4), b"b").unwrap();
        batch.put(b"c", b"0").unwrap();
        batch.set_base_seqno(seq(20)).unwrap();
        default.apply(&batch).unwrap();
        other.apply_keyspace(&batch, KeyspaceId(4)).unwrap();
        assert_eq!(value_at(&default, b"a", 20), Some(Ok(b"0".to_vec())));
        assert_eq!(value_at(&default, b"c", 23), Some(Ok(b"0".to_vec())));
        assert_eq!(value_at(&default, b"b", 23), None);
        assert_eq!(default.seqno_range(), Some((seq(20), seq(23))));
        assert_eq!(value_at(&other, b"a", 21), Some(Ok(b"4".to_vec())));
        assert_eq!(value_at(&other, b"b", 22), Some(Err(seq(22))));
        assert_eq!(value_at(&other, b"c", 23), None);
        assert_eq!(other.seqno_range(), Some((seq(21), seq(22))));
        let untouched = Memtable::new();
        untouched.apply_keyspace(&batch, KeyspaceId(9)).unwrap();
        assert!(untouched.is_empty());
        assert_eq!(untouched.seqno_range(), None);
    }

    #[test]
    fn expiring_values_come_with_their_expiry() {
        let m = Memtable::new();
        let mut batch = WriteBatch::new();
        let at = Timestamp::from_millis(0x0102);
        batch
            .put_expiring_in(KeyspaceId::DEFAULT, b"k", b"v", at)
            .unwrap();
        batch.set_base_seqno(seq(3)).unwrap();
        m.apply(&batch).unwrap();
        let want = [&0x0102u64.to_be_bytes()[..], b"v"].concat();
        assert_eq!(value_at(&m, b"k", 3), Some(Ok(want)));
        let mut cursor = m.cursor();
        cursor.seek_to_first().unwrap();
        let stored = cursor.value().unwrap();
        assert_eq!(
            split_expiring(stored),
            Some((at, &b"v"[..])),
            "cursors show it stored"
        );
    }

    #[test]
    fn memory_counts_keys_values_and_overhead() {
        let m = Memtable::with_capacity(64 << 10);
        // The filter: one bit per eight bytes of capacity.
        let filter = (64 << 10) / 64;
        assert_eq!((m.approximate_memory(), m.seqno_range()), (filter, None));
        m.put(b"key", seq(1), &[0; 100]);
        m.delete(b"key", seq(2));
        assert_eq!(
            m.approximate_memory(),
            filter + 103 + 3 + 2 * ENTRY_OVERHEAD
        );
    }

    #[test]
    fn frozen_form_reads_the_same_entries() {
        let m = Memtable::new();
        m.put(b"a", seq(1), b"x");
        m.delete(b"b", seq(2));
        let frozen = FrozenMemtable::from(m);
        assert_eq!(frozen.len(), 2);
        assert!(matches!(frozen.get(b"b", seq(2)), Some(Lookup::Deleted(_))));
        let mut cursor = frozen.cursor();
        cursor.seek_to_last().unwrap();
        assert_eq!(cursor.key().map(|k| k.user_key), Some(&b"b"[..]));
        assert_eq!(cursor.value(), Some(&b""[..]));
    }
}
