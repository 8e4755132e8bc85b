//! `BlockCache`: decompressed data blocks, shared by the tables opened with it, bounded
//! in bytes.
//!
//! Compressed blocks cannot be read in place from the map, so a reader decompresses
//! them into memory and keeps them here for the next lookup or seek; uncompressed
//! blocks never come here (they are read in place, zero-copy). A cached block is a
//! [`Mapping`] of its raw bytes: cursors and values found in it hold a clone, so an
//! evicted block stays alive for as long as they use it and is freed after.
//!
//! # Concurrency
//! The cache is split into [`SHARDS`] shards by key hash, each behind its own
//! `RwLock`: a hit takes the shard's read lock (readers of one shard do not exclude
//! each other) and sets the slot's reference bit with a relaxed atomic store; only
//! inserts and evictions take a write lock. Eviction is CLOCK (second chance): a
//! slot read since the hand last passed it is kept once more.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use quickcache_fs::Mapping;

/// Shards of the cache (a power of two).
pub(crate) const SHARDS: usize = 16;

/// Bytes charged per cached block on top of its contents: the slot, the key in the
/// map and in the clock queue, the mapping's allocation.
const SLOT_OVERHEAD: usize = 96;

/// Which block: the cache id of its table (unique per opened table in this process)
/// and the data block number.
pub(crate) type Key = (u64, usize);

/// A bounded cache of decompressed blocks; clones share it.
///
/// # Examples
/// ```
/// use quickcache_fs::SimFs;
/// use quickcache_sstable::{BlockCache, Compression, SummaryBudget, Table, TableBuilder, TableOptions};
///
/// let fs = SimFs::new(1);
/// let path = std::path::Path::new("/t.sst");
/// let options = TableOptions { compression: Compression::Lz4, ..TableOptions::default() };
/// let mut builder = TableBuilder::new(&fs, path, options)?;
/// for i in 0..1000u32 {
///     builder.add_plain(format!("key{i:05}").as_bytes(), b"a value that repeats itself")?;
/// }
/// builder.finish()?;
///
/// let cache = BlockCache::new(1 << 20);
/// let budget = SummaryBudget::new(1 << 20).with_block_cache(cache.clone());
/// let table = Table::open_with(&fs, path, budget)?;
/// assert_eq!(table.get_plain(b"key00042")?.as_deref(), Some(&b"a value that repeats itself"[..]));
/// assert!(cache.usage() > 0 && cache.usage() <= cache.capacity());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockCache {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    shards: Box<[RwLock<Shard>]>,
    /// Bytes each shard may hold.
    shard_capacity: usize,
    /// Bytes held, all shards together.
    usage: AtomicU64,
}

/// Hashes a key (two integers, neither chosen by an attacker: process-local table ids
/// and block numbers) with one multiply per word: SipHash, the std default, took a
/// visible share of a cache hit.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[derive(Debug, Default)]
struct Shard {
    slots: HashMap<Key, Slot, BuildHasherDefault<KeyHasher>>,
    /// The clock: keys in insertion order, the hand at the front. May hold keys
    /// already removed (by [`BlockCache::forget_table`]); they are skipped.
    clock: VecDeque<Key>,
    used: usize,
}

#[derive(Debug)]
struct Slot {
    block: Mapping,
    charge: usize,
    /// Read since the hand last passed.
    referenced: AtomicBool,
}

/// Cache ids of tables: unique per process, never reused.
static NEXT_TABLE: AtomicU64 = AtomicU64::new(1);

/// A fresh cache id for a table being opened.
pub(crate) fn new_table_id() -> u64 {
    NEXT_TABLE.fetch_add(1, Ordering::Relaxed)
}

fn read(lock: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write(lock: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl BlockCache {
    /// A cache of at most `capacity` bytes (0: nothing is cached, every use of a
    /// compressed block decompresses it).
    pub fn new(capacity: usize) -> BlockCache {
        BlockCache {
            shared: Arc::new(Shared {
                shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
                shard_capacity: capacity / SHARDS,
                usage: AtomicU64::new(0),
            }),
        }
    }

    /// The limit in bytes (rounded down to a multiple of the shard count, 16).
    pub fn capacity(&self) -> usize {
        self.shared.shard_capacity * SHARDS
    }

    /// Bytes of the blocks held now, with their bookkeeping.
    pub fn usage(&self) -> usize {
        self.shared.usage.load(Ordering::Relaxed) as usize
    }

    /// Number of blocks held now.
    pub fn len(&self) -> usize {
        self.shared.shards.iter().map(|s| read(s).slots.len()).sum()
    }

    /// Whether no block is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: Key) -> &RwLock<Shard> {
        let h = (key.0 ^ (key.1 as u64).rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        &self.shared.shards[(h >> 60) as usize % SHARDS]
    }

    /// The cached block `key`, marked as used.
    pub(crate) fn get(&self, key: Key) -> Option<Mapping> {
        let shard = read(self.shard(key));
        let slot = shard.slots.get(&key)?;
        // Relaxed: the bit only steers eviction.
        slot.referenced.store(true, Ordering::Relaxed);
        Some(slot.block.clone())
    }

    /// Caches `block` as `key` unless it is there already, evicting blocks until the
    /// shard is within its capacity again; returns the cached block (the one another
    /// thread inserted first, if it did). A block larger than a shard is not cached.
    pub(crate) fn insert(&self, key: Key, block: Mapping) -> Mapping {
        let charge = block.len() + SLOT_OVERHEAD;
        let cap = self.shared.shard_capacity;
        if charge > cap {
            return block;
        }
        let mut shard = write(self.shard(key));
        if let Some(slot) = shard.slots.get(&key) {
            return slot.block.clone();
        }
        let slot = Slot {
            block: block.clone(),
            charge,
            referenced: AtomicBool::new(false),
        };
        shard.slots.insert(key, slot);
        shard.clock.push_back(key);
        shard.used += charge;
        self.shared
            .usage
            .fetch_add(charge as u64, Ordering::Relaxed);
        let freed = shard.evict(cap);
        self.shared.usage.fetch_sub(freed as u64, Ordering::Relaxed);
        block
    }

    /// Drops the blocks `0..blocks` of the table with cache id `table`: it is closed,
    /// they will never be read again.
    pub(crate) fn forget_table(&self, table: u64, blocks: usize) {
        for i in 0..blocks {
            let mut shard = write(self.shard((table, i)));
            if let Some(slot) = shard.slots.remove(&(table, i)) {
                shard.used -= slot.charge;
                self.shared
                    .usage
                    .fetch_sub(slot.charge as u64, Ordering::Relaxed);
                if shard.clock.len() > 2 * shard.slots.len() + 64 {
                    let Shard { slots, clock, .. } = &mut *shard;
                    clock.retain(|k| slots.contains_key(k));
                }
            }
        }
    }
}

impl Shard {
    /// Evicts by CLOCK until at most `cap` bytes are held; the bytes freed. Ends: each
    /// turn either evicts, drops a stale key, or clears a reference bit, and a slot's
    /// bit is only set again by a reader.
    fn evict(&mut self, cap: usize) -> usize {
        let mut freed = 0;
        let mut turns = 2 * self.clock.len() + 1;
        while self.used > cap && turns > 0 {
            turns -= 1;
            let Some(key) = self.clock.pop_front() else {
                break;
            };
            let Some(slot) = self.slots.get(&key) else {
                continue;
            };
            if slot.referenced.swap(false, Ordering::Relaxed) {
                self.clock.push_back(key);
                continue;
            }
            if let Some(slot) = self.slots.remove(&key) {
                self.used -= slot.charge;
                freed += slot.charge;
            }
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(len: usize, byte: u8) -> Mapping {
        Mapping::new(vec![byte; len])
    }

    #[test]
    fn holds_blocks_within_capacity() {
        let cache = BlockCache::new(SHARDS * 1000);
        for i in 0..1000 {
            cache.insert((1, i), block(200, i as u8));
            assert!(cache.usage() <= cache.capacity(), "after {i}");
        }
        assert!(cache.len() < 1000 && !cache.is_empty());
        let kept = (0..1000).filter(|&i| cache.get((1, i)).is_some()).count();
        assert_eq!(kept, cache.len());
        assert_eq!(
            cache.usage(),
            cache.len() * (200 + SLOT_OVERHEAD),
            "usage counts every held block"
        );
    }

    #[test]
    fn second_insert_returns_the_first_block() {
        let cache = BlockCache::new(1 << 20);
        let first = cache.insert((3, 0), block(10, 1));
        let second = cache.insert((3, 0), block(10, 2));
        assert_eq!(&*first, &*second);
        assert_eq!(&*cache.get((3, 0)).unwrap(), &[1; 10]);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn recently_read_blocks_survive_eviction() {
        // One shard's worth of blocks per key class; 4 blocks fit in a shard.
        let cache = BlockCache::new(SHARDS * 4 * (100 + SLOT_OVERHEAD));
        let hot = (7, 0);
        cache.insert(hot, block(100, 9));
        for i in 1..500 {
            assert!(cache.get(hot).is_some(), "hot block evicted before {i}");
            cache.insert((7, i), block(100, 0));
        }
    }

    #[test]
    fn oversized_and_zero_capacity_blocks_are_not_cached() {
        let none = BlockCache::new(0);
        assert_eq!(&*none.insert((1, 1), block(5, 4)), &[4; 5]);
        assert!(none.get((1, 1)).is_none());
        assert_eq!(none.usage(), 0);
        let small = BlockCache::new(SHARDS * 100);
        small.insert((1, 1), block(200, 4));
        assert!(small.is_empty());
    }

    #[test]
    fn forgetting_a_table_gives_its_bytes_back() {
        let cache = BlockCache::new(1 << 20);
        for i in 0..50 {
            cache.insert((5, i), block(100, 0));
            cache.insert((6, i), block(100, 0));
        }
        cache.forget_table(5, 50);
        assert_eq!(cache.len(), 50);
        assert_eq!(cache.usage(), 50 * (100 + SLOT_OVERHEAD));
        assert!((0..50).all(|i| cache.get((5, i)).is_none() && cache.get((6, i)).is_some()));
    }

    #[test]
    fn concurrent_readers_and_writers_agree() {
        let cache = BlockCache::new(SHARDS * 2000);
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let cache = &cache;
                s.spawn(move || {
                    for i in 0..2000 {
                        let key = (9, i % 300);
                        let got = match cache.get(key) {
                            Some(b) => b,
                            None => cache.insert(key, block(64, (i % 300) as u8)),
                        };
                        assert_eq!(got[0], (i % 300) as u8, "thread {t}");
                    }
                });
            }
        });
        assert!(cache.usage() <= cache.capacity());
    }
}
