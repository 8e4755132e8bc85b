//! `Filter`: a concurrent, word-blocked bloom filter of the user keys a memtable holds.
//!
//! Why: a point read looks in the memtable first, and most reads' keys are not there
//! (a memtable holds the last writes, a small part of the key space). The skiplist
//! answers "not here" only after a full search, a chain of dependent cache misses
//! (about 1 µs in a full memtable); the filter answers it with one hash and one
//! word for all but about 0.2% of absent keys (at 16 bits per key). LevelDB has no
//! such filter; RocksDB has one as `memtable_whole_key_filtering`.
//!
//! Layout: one `AtomicU64` word per key: the hash picks a word and five bits in it,
//! so adding is one load and at most one atomic OR, and probing is one load. (Bits
//! spread over a whole cache line would cut false positives a little, but cost an
//! atomic OR per bit on every insert.) Bits are only ever set. A key is added before
//! its entry is linked into the skiplist, so a reader that can see the entry (through
//! the skiplist's release-acquire publication, or the engine's published sequence
//! number) also sees the key's bits: never a false "not here".

use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::xxh3_64;

/// Bits set per key.
const PROBES: u32 = 5;

/// A bloom filter that many threads add to at once through `&Filter`.
pub(crate) struct Filter {
    words: Box<[AtomicU64]>,
    /// Words in `words`, minus one: their count is a power of two.
    word_mask: u64,
}

impl Filter {
    /// A filter of about `bits` bits (rounded up to a power of two of words, at least
    /// one word).
    pub(crate) fn with_bits(bits: usize) -> Filter {
        let count = bits.div_ceil(64).max(1).next_power_of_two();
        let words = (0..count).map(|_| AtomicU64::new(0)).collect();
        Filter {
            words,
            word_mask: count as u64 - 1,
        }
    }

    /// Bytes the filter occupies.
    pub(crate) fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    /// The word of `user_key`'s hash, and the bits it sets there.
    fn probe(&self, user_key: &[u8]) -> (Option<&AtomicU64>, u64) {
        let hash = xxh3_64(user_key);
        // The low bits pick the word; each bit takes six of the high ones.
        let word = self.words.get((hash & self.word_mask) as usize);
        let (mut bits, mut mask) = (hash >> 34, 0u64);
        for _ in 0..PROBES {
            mask |= 1 << (bits & 63);
            bits >>= 6;
        }
        (word, mask)
    }

    /// Adds `user_key`.
    pub(crate) fn add(&self, user_key: &[u8]) {
        let (Some(word), mask) = self.probe(user_key) else {
            return;
        };
        // Reading first keeps a key added again (every overwrite) from writing a line
        // other writers share.
        if word.load(Ordering::Relaxed) & mask != mask {
            word.fetch_or(mask, Ordering::Relaxed);
        }
    }

    /// `false` only if `user_key` was never added.
    pub(crate) fn may_contain(&self, user_key: &[u8]) -> bool {
        match self.probe(user_key) {
            (Some(word), mask) => word.load(Ordering::Relaxed) & mask == mask,
            (None, _) => true,
        }
    }
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("bytes", &self.bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn added_keys_are_always_found(keys: Vec<Vec<u8>>, bits: u16) -> bool {
            let filter = Filter::with_bits(usize::from(bits));
            keys.iter().for_each(|k| filter.add(k));
            keys.iter().all(|k| filter.may_contain(k))
        }
    }

    #[test]
    fn absent_keys_are_mostly_rejected_at_16_bits_per_key() {
        let n = 100_000u32;
        let filter = Filter::with_bits(16 * n as usize);
        for i in 0..n {
            filter.add(format!("{i:016}").as_bytes());
        }
        let false_positives = (n..2 * n)
            .filter(|i| filter.may_contain(format!("{i:016}").as_bytes()))
            .count();
        // One word per key, 16 bits per key, five probes: well under 1%.
        assert!(false_positives < n as usize / 100, "{false_positives}");
    }

    #[test]
    fn an_empty_filter_contains_nothing() {
        let filter = Filter::with_bits(0);
        assert_eq!(filter.bytes(), 8);
        assert!(!filter.may_contain(b"anything"));
    }
}
