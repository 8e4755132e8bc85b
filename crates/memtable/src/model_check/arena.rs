//! The arena's buckets under concurrent claims: allocations never overlap, a
//! bucket is created once, and slots another thread wrote and published read back.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use loom::sync::Arc;
use loom::thread;

use crate::arena::{self, Buckets};
use crate::sync::{AtomicU64, AtomicUsize};

/// Words per allocation: with the model's 4-slot first bucket, four allocations
/// of three words span buckets 0 to 2 and skip the ranges that straddle two.
const LEN: usize = 3;

/// Shared state: the array, its bump index, and a slot to hand one allocation's
/// start from one thread to the other.
struct Shared {
    words: Buckets<AtomicU64>,
    next: AtomicUsize,
    handed: AtomicUsize,
}

/// Claims `LEN` words as the skiplist's store does (bump, claim, skip a range that
/// straddles two buckets), fills them with `tag + i` and returns the start.
fn alloc(shared: &Shared, tag: u64) -> usize {
    loop {
        let start = shared.next.fetch_add(LEN, Relaxed);
        let words = shared.words.claim(start).unwrap();
        if !arena::fits(start, LEN) {
            continue;
        }
        for (i, word) in words.iter().take(LEN).enumerate() {
            word.store(tag + i as u64, Relaxed);
        }
        return start;
    }
}

/// The `LEN` words from `start`, as any thread reads them.
fn read(shared: &Shared, start: usize) -> Vec<u64> {
    let words = shared.words.get(start).unwrap();
    words.iter().take(LEN).map(|w| w.load(Relaxed)).collect()
}

fn expect(tag: u64) -> Vec<u64> {
    (0..LEN as u64).map(|i| tag + i).collect()
}

#[test]
fn concurrent_claims_never_overlap_and_read_back() {
    super::check(3, || {
        let shared = Arc::new(Shared {
            words: Buckets::new(),
            next: AtomicUsize::new(1),
            handed: AtomicUsize::new(0),
        });
        let other = Arc::clone(&shared);
        let writer = thread::spawn(move || {
            let a = alloc(&other, 0x100);
            // Hand `a` over: its words, and the bucket holding them, must be
            // visible to whoever acquires the start.
            other.handed.store(a, Release);
            let b = alloc(&other, 0x200);
            assert_eq!(read(&other, a), expect(0x100), "overwritten");
            (a, b)
        });
        let c = alloc(&shared, 0x300);
        let handed = shared.handed.load(Acquire);
        if handed != 0 {
            assert_eq!(read(&shared, handed), expect(0x100), "handed over");
        }
        let d = alloc(&shared, 0x400);
        assert_eq!(read(&shared, c), expect(0x300), "overwritten");
        let (a, b) = writer.join().unwrap();
        let mut starts = [a, b, c, d];
        starts.sort_unstable();
        assert!(starts.windows(2).all(|w| w[0] + LEN <= w[1]), "{starts:?}");
        for (start, tag) in [(a, 0x100), (b, 0x200), (c, 0x300), (d, 0x400)] {
            assert_eq!(read(&shared, start), expect(tag), "at {start}");
        }
    });
}

#[test]
fn a_bucket_is_created_once_when_two_threads_need_it() {
    super::check(3, || {
        let words = Arc::new(Buckets::<AtomicU64>::new());
        let other = Arc::clone(&words);
        // Slots 5 and 6 are both in bucket 1: whoever creates it, the other's
        // write must land in the same bucket.
        let writer = thread::spawn(move || other.claim(5).unwrap()[0].store(5, Relaxed));
        words.claim(6).unwrap()[0].store(6, Relaxed);
        writer.join().unwrap();
        assert_eq!(words.get(5).unwrap()[0].load(Relaxed), 5);
        assert_eq!(words.get(6).unwrap()[0].load(Relaxed), 6);
    });
}
