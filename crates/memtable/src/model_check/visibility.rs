//! [`Visibility`] with batches published out of order: a reader never sees a
//! seqno whose batch is unpublished, and `wait_visible` returns (loom reports a
//! waiter left blocked as a deadlock).

use std::sync::atomic::Ordering::Relaxed;

use loom::sync::Arc;
use loom::sync::atomic::AtomicBool;
use loom::thread;
use quickcache_sstable::SeqNo;

use crate::visibility::Visibility;

/// Seqnos per batch: two, so that a snapshot inside a batch would show.
const BATCH: u32 = 2;

/// A visibility tracker and, per seqno, whether its entry is "inserted": the stand-in
/// for the memtable, written `Relaxed` as the skiplist's node words are.
struct Shared {
    visibility: Visibility,
    inserted: [AtomicBool; 5],
}

/// One writer: reserve a batch, insert its entries, publish.
fn write(shared: &Shared) {
    let reservation = shared.visibility.reserve(BATCH).unwrap();
    let first = reservation.first().get();
    for seqno in first..first + u64::from(BATCH) {
        shared.inserted[seqno as usize].store(true, Relaxed);
    }
    reservation.publish();
}

/// Every entry at or below the snapshot `visible` must be inserted.
fn check_snapshot(shared: &Shared, visible: SeqNo) {
    assert_eq!(
        visible.get() % u64::from(BATCH),
        0,
        "{visible:?} inside a batch"
    );
    for seqno in 1..=visible.get() {
        assert!(
            shared.inserted[seqno as usize].load(Relaxed),
            "{seqno} unpublished"
        );
    }
}

#[test]
fn out_of_order_publishes_never_expose_an_unpublished_batch() {
    super::check(3, || {
        let shared = Arc::new(Shared {
            visibility: Visibility::new(SeqNo::ZERO),
            inserted: Default::default(),
        });
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || write(&shared))
            })
            .collect();
        check_snapshot(&shared, shared.visibility.visible());
        writers.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(shared.visibility.visible().get(), 4);
        check_snapshot(&shared, shared.visibility.visible());
    });
}

#[test]
fn wait_visible_returns_once_the_gap_closes() {
    super::check(3, || {
        let shared = Arc::new(Shared {
            visibility: Visibility::new(SeqNo::ZERO),
            inserted: Default::default(),
        });
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || write(&shared))
            })
            .collect();
        // Both batches are 1..=4 between them, whichever reserved first.
        let last = SeqNo::new(4).unwrap();
        shared.visibility.wait_visible(last).unwrap();
        check_snapshot(&shared, shared.visibility.visible());
        writers.into_iter().for_each(|w| w.join().unwrap());
    });
}
