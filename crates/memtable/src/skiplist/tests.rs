//! Unit tests of the skiplist: order, seeks, duplicates, concurrent inserts, and
//! batch inserts through a splice.

use super::*;
use quickcache_sstable::{SeqNo, ValueKind};
use std::thread;

fn key(user: &[u8], seq: u64) -> KeyRef<'_> {
    KeyRef::new(user, SeqNo::new(seq).unwrap(), ValueKind::Value)
}

fn scan(list: &SkipList) -> Vec<(Vec<u8>, u64)> {
    let mut out = Vec::new();
    let mut at = list.first();
    while let Some(node) = at {
        out.push((node.user_key().to_vec(), node.head().seqno().get()));
        at = node.next();
    }
    out
}

/// Keys in a scrambled order, long enough to span several arena buckets, half
/// of them longer than the inline prefix.
fn keys(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let k = i.wrapping_mul(2_654_435_761).to_be_bytes();
            if i % 2 == 0 {
                k.to_vec()
            } else {
                [&[7u8; 16][..], &k].concat()
            }
        })
        .collect()
}

#[test]
fn scrambled_inserts_come_out_sorted() {
    let list = SkipList::new();
    assert!(list.first().is_none() && list.last().is_none());
    let keys = keys(20_000);
    for (i, k) in keys.iter().enumerate() {
        assert!(list.insert(key(k, i as u64 + 1), b"v"));
    }
    let mut want = keys.clone();
    want.sort();
    let got: Vec<_> = scan(&list).into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, want);
    assert_eq!(list.len(), keys.len());
    assert_eq!(
        list.last().map(|n| n.user_key().to_vec()),
        want.last().cloned()
    );
}

#[test]
fn seeks_land_on_either_side_of_a_key() {
    let list = SkipList::new();
    for (k, s) in [(&b"b"[..], 5), (b"b", 3), (b"d", 1)] {
        list.insert(key(k, s), k);
    }
    let at = |n: Option<NodeRef<'_>>| n.map(|n| (n.user_key().to_vec(), n.head().seqno().get()));
    let probe = |k: &'static [u8], s| KeyParts::of(key(k, s));
    assert_eq!(at(list.seek_ge(&probe(b"b", 4))), Some((b"b".to_vec(), 3)));
    assert_eq!(at(list.seek_ge(&probe(b"b", 5))), Some((b"b".to_vec(), 5)));
    assert_eq!(at(list.seek_ge(&probe(b"c", 9))), Some((b"d".to_vec(), 1)));
    assert_eq!(at(list.seek_ge(&probe(b"e", 9))), None);
    assert_eq!(
        at(list.seek_before(&probe(b"b", 3), false)),
        Some((b"b".to_vec(), 5))
    );
    assert_eq!(
        at(list.seek_before(&probe(b"b", 3), true)),
        Some((b"b".to_vec(), 3))
    );
    assert_eq!(at(list.seek_before(&probe(b"b", 9), false)), None);
    assert_eq!(
        list.first().map(|n| n.value().to_vec()),
        Some(b"b".to_vec())
    );
}

#[test]
fn an_equal_internal_key_is_ignored() {
    let list = SkipList::new();
    assert!(list.insert(key(b"k", 1), b"first"));
    assert!(!list.insert(key(b"k", 1), b"second"));
    assert_eq!(list.len(), 1);
    assert_eq!(list.first().map(|n| n.value()), Some(&b"first"[..]));
}

#[test]
fn concurrent_inserts_all_land_in_order() {
    let list = SkipList::new();
    let keys = keys(40_000);
    thread::scope(|s| {
        for part in keys.chunks(keys.len() / 4) {
            let list = &list;
            // Every thread also inserts the same duplicates: exactly one wins.
            s.spawn(move || {
                for (i, k) in part.iter().enumerate() {
                    list.insert(key(k, 1), b"v");
                    list.insert(key(b"shared", i as u64 % 64 + 1), b"dup");
                }
            });
        }
    });
    let got = scan(&list);
    assert_eq!(got.len(), keys.len() + 64);
    assert_eq!(list.len(), got.len());
    assert!(
        got.windows(2)
            .all(|w| key(&w[0].0, w[0].1) < key(&w[1].0, w[1].1))
    );
}

/// Inserts `keys` (with their seqnos) through one splice, as `Memtable::apply` does.
fn insert_batch(list: &SkipList, keys: &[(Vec<u8>, u64)]) -> Vec<bool> {
    let mut splice = Splice::new();
    keys.iter()
        .map(|(k, s)| list.insert_with(&mut splice, key(k, *s), b"v"))
        .collect()
}

#[test]
fn a_splice_falls_back_when_keys_go_backwards() {
    let list = SkipList::new();
    // Enough keys that the path spans several levels, so a backward step has to
    // climb past preds shared by many levels before it finds a bracket.
    let ascending: Vec<_> = (0..2_000u32)
        .map(|i| ((i * 2).to_be_bytes().to_vec(), 1))
        .collect();
    assert!(insert_batch(&list, &ascending).iter().all(|&ok| ok));
    // One batch: forwards, then backwards into the gaps, before the first key,
    // past the last, onto an existing key (refused), then an equal user key with a
    // newer seqno (sorts first among that key's entries).
    let mut batch: Vec<_> = (500..510u32).map(|i| (i * 2 + 1, 2)).collect();
    batch.extend((0..10u32).rev().map(|i| (i * 2 + 1, 2)));
    batch.extend([(1_000_001, 2), (778, 1), (0, 1), (600, 9)]);
    let batch: Vec<_> = batch
        .into_iter()
        .map(|(k, s)| (k.to_be_bytes().to_vec(), s))
        .collect();
    let got = insert_batch(&list, &batch);
    let refused: Vec<_> = got.into_iter().enumerate().filter(|(_, ok)| !ok).collect();
    assert_eq!(
        refused,
        [(21, false), (22, false)],
        "(778, 1) and (0, 1) exist"
    );
    let mut want: Vec<_> = ascending.into_iter().chain(batch).collect();
    want.sort_by(|a, b| key(&a.0, a.1).cmp(&key(&b.0, b.1)));
    want.dedup();
    assert_eq!(scan(&list), want);
    assert_eq!(list.len(), want.len());
}

#[test]
fn splices_from_several_threads_interleave() {
    let list = SkipList::new();
    // Each thread inserts ascending runs of its own residue class, so every
    // thread's brackets keep getting other threads' nodes linked into them.
    thread::scope(|s| {
        for t in 0..4u32 {
            let list = &list;
            s.spawn(move || {
                for run in 0..50u32 {
                    let batch: Vec<_> = (0..200u32)
                        .map(|i| (((run * 200 + i) * 4 + t).to_be_bytes().to_vec(), 1))
                        .collect();
                    assert!(insert_batch(list, &batch).iter().all(|&ok| ok));
                }
            });
        }
    });
    let got = scan(&list);
    assert_eq!(got.len(), 40_000);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, (k, _))| *k == (i as u32).to_be_bytes())
    );
}
