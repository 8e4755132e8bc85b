//! The memtable benchmark's workload, shared with `examples/profile.rs` so that the
//! cachegrind counts and the criterion figures measure the same keys.

use quickcache_sstable::SeqNo;
use quickcache_sstable::fs::Rng;

/// Entries inserted: about one 64 MiB memtable of 16-byte keys and 100-byte values.
pub(crate) const ENTRIES: usize = 500_000;
/// Point lookups per measurement.
pub(crate) const LOOKUPS: usize = 200_000;
/// Every entry's value.
pub(crate) const VALUE: [u8; 100] = [0x5a; 100];

/// `n` distinct-with-overwhelming-probability random 16-byte keys (SplitMix64, the
/// workspace's `quickcache_fs::Rng`, from a fixed seed).
pub(crate) fn random_keys(n: usize) -> Vec<[u8; 16]> {
    let mut rng = Rng::new(0x0123_4567_89ab_cdef);
    (0..n)
        .map(|_| {
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            key[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            key
        })
        .collect()
}

/// The sequence number of entry `n` (1-based, as the engine's are).
pub(crate) fn seq(n: usize) -> SeqNo {
    SeqNo::new(n as u64 + 1).unwrap_or(SeqNo::MAX)
}
