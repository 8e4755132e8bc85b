//! The skiplist under concurrent inserts and a concurrent reader: every node a
//! reader reaches is whole (key, seqno and value as inserted) and in order, a node
//! reached through an upper level is already linked at level 0, and after the
//! writers join the list holds every key exactly once.

use loom::sync::Arc;
use loom::thread;
use quickcache_sstable::{KeyRef, SeqNo, ValueKind};

use crate::key::KeyParts;
use crate::skiplist::{NodeRef, SkipList, Splice};

/// An internal key as (user key, seqno).
type Key = (&'static [u8], u64);

fn key((user, seqno): Key) -> KeyRef<'static> {
    KeyRef::new(user, SeqNo::new(seqno).unwrap(), ValueKind::Value)
}

/// The value stored with `k`: a node showing another value is torn.
fn value_of((user, seqno): Key) -> Vec<u8> {
    [user, &seqno.to_le_bytes()].concat()
}

fn insert(list: &SkipList, k: Key) -> bool {
    list.insert(key(k), &value_of(k))
}

/// What `node` holds, checked whole against the value it must carry.
fn read(node: NodeRef<'_>) -> (Vec<u8>, u64) {
    let got = (node.user_key().to_vec(), node.head().seqno().get());
    let seqno = got.1.to_le_bytes();
    assert_eq!(node.value(), [&got.0[..], &seqno].concat(), "torn node");
    got
}

/// The list at level 0, checking that it is strictly ascending.
fn scan(list: &SkipList) -> Vec<(Vec<u8>, u64)> {
    let mut out: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut at = list.first();
    while let Some(node) = at {
        let got = read(node);
        if let Some(last) = out.last() {
            assert!(key_owned(last) < key_owned(&got), "out of order");
        }
        out.push(got);
        at = node.next();
    }
    out
}

fn key_owned((user, seqno): &(Vec<u8>, u64)) -> KeyRef<'_> {
    KeyRef::new(user, SeqNo::new(*seqno).unwrap(), ValueKind::Value)
}

/// A reader mid-insert: what it sees is in order, whole, one of `all`; a seek
/// (which descends the upper levels) lands on a node a level-0 scan then finds.
fn read_concurrently(list: &SkipList, probe: Key, all: &[Key]) {
    let sought = list.seek_ge(&KeyParts::of(key(probe))).map(read);
    let seen = scan(list);
    let owned: Vec<_> = all.iter().map(|(u, s)| (u.to_vec(), *s)).collect();
    assert!(seen.iter().all(|k| owned.contains(k)), "unknown key");
    if let Some(found) = sought {
        assert!(
            key_owned(&found) >= key(probe),
            "seek landed before the probe"
        );
        assert!(seen.contains(&found), "reached above level 0 only");
    }
}

/// After the join: exactly the keys of `all`, sorted, each once.
fn check_complete(list: &SkipList, all: &[Key]) {
    let mut want: Vec<_> = all.iter().map(|(u, s)| (u.to_vec(), *s)).collect();
    want.sort_by(|a, b| key_owned(a).cmp(&key_owned(b)));
    want.dedup();
    assert_eq!(scan(list), want);
    assert_eq!(list.len(), want.len());
    let last = list.last().map(read);
    assert_eq!(last.as_ref(), want.last());
}

/// Two writers insert equal user keys with different seqnos, and both the same
/// internal key (exactly one wins), while the main thread reads.
#[test]
fn equal_user_keys_from_two_threads() {
    const A: [Key; 2] = [(b"k", 1), (b"k", 3)];
    const B: [Key; 2] = [(b"k", 2), (b"k", 3)];
    super::check(2, || {
        let list = Arc::new(SkipList::new());
        let other = Arc::clone(&list);
        let b = thread::spawn(move || B.map(|k| insert(&other, k)));
        let a = A.map(|k| insert(&list, k));
        read_concurrently(&list, (b"k", 2), &[A, B].concat());
        let b = b.join().unwrap();
        assert_eq!([a[0], b[0]], [true, true]);
        assert!(a[1] ^ b[1], "one of the equal keys wins: {a:?} {b:?}");
        check_complete(&list, &[A, B].concat());
    });
}

/// Two writers and a reader thread; one key is longer than the inline prefix, so
/// comparisons read entries, and the third node inserted is two levels tall.
#[test]
fn distinct_keys_with_a_reader_thread() {
    const A: [Key; 2] = [(b"b", 1), (b"prefix-longer-than-16-bytes/2", 2)];
    const B: [Key; 2] = [(b"prefix-longer-than-16-bytes/1", 3), (b"a", 4)];
    super::check(2, || {
        let list = Arc::new(SkipList::new());
        let writers: Vec<_> = [A, B]
            .into_iter()
            .map(|keys| {
                let list = Arc::clone(&list);
                thread::spawn(move || assert!(keys.iter().all(|&k| insert(&list, k))))
            })
            .collect();
        read_concurrently(
            &list,
            (b"prefix-longer-than-16-bytes/1", 9),
            &[A, B].concat(),
        );
        writers.into_iter().for_each(|w| w.join().unwrap());
        check_complete(&list, &[A, B].concat());
    });
}

/// A batch insert through a splice while another thread links a node into the
/// splice's bracket: the repair or the failed exchange must notice it.
#[test]
fn a_splice_meets_a_concurrent_insert_in_its_bracket() {
    const BATCH: [Key; 2] = [(b"a", 1), (b"c", 2)];
    const OTHER: Key = (b"b", 3);
    super::check(2, || {
        let list = Arc::new(SkipList::new());
        let other = Arc::clone(&list);
        let t = thread::spawn(move || assert!(insert(&other, OTHER)));
        let mut splice = Splice::new();
        for k in BATCH {
            assert!(list.insert_with(&mut splice, key(k), &value_of(k)));
        }
        t.join().unwrap();
        check_complete(&list, &[BATCH[0], BATCH[1], OTHER]);
    });
}
