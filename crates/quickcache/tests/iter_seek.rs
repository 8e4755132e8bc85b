#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! `Iter::seek` and `Iter::seek_for_prev` against a `BTreeMap`, over a tree of
//! several sources (tables in levels, frozen and active memtables, tombstones).

use std::collections::BTreeMap;
use std::ops::Bound;

use quickcache::{Db, Options};

fn key(i: u64) -> Vec<u8> {
    format!("k{i:03}").into_bytes()
}

#[test]
fn seeks_in_both_directions_match_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_size: 4 << 10,
        flush_interval: None,
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options).unwrap();
    let mut model = BTreeMap::new();
    let mut rng = quickcache::fs::Rng::new(0x5eed);
    for round in 0..4 {
        for _ in 0..150 {
            let k = key(rng.below(300));
            if rng.below(4) == 0 {
                db.delete(&k).unwrap();
                model.remove(&k);
            } else {
                let v = format!("v{round}").into_bytes();
                db.put(&k, &v).unwrap();
                model.insert(k, v);
            }
        }
        if round < 3 {
            db.flush().unwrap();
        }
    }
    let (lo, hi) = (key(40), key(260));
    let in_range: BTreeMap<_, _> = model
        .range::<Vec<u8>, _>((Bound::Included(lo.clone()), Bound::Excluded(hi.clone())))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for _ in 0..200 {
        let mut iter = db.range(lo.clone()..hi.clone());
        let target = key(rng.below(320));
        if rng.below(2) == 0 {
            iter.seek(&target);
            let want: Vec<_> = in_range.range(target.clone()..).take(3).collect();
            for (k, v) in want {
                let (got_k, got_v) = iter.next().unwrap().unwrap();
                assert_eq!((&got_k, &got_v.to_vec()), (k, v), "after seek({target:?})");
            }
        } else {
            iter.seek_for_prev(&target);
            let want: Vec<_> = in_range.range(..=target.clone()).rev().take(3).collect();
            for (k, v) in want {
                let (got_k, got_v) = iter.next_back().unwrap().unwrap();
                assert_eq!(
                    (&got_k, &got_v.to_vec()),
                    (k, v),
                    "after seek_for_prev({target:?})"
                );
            }
        }
    }
}

#[test]
fn a_seek_on_a_snapshot_iterator_keeps_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.put("a", "old").unwrap();
    db.put("b", "old").unwrap();
    let snapshot = db.snapshot();
    let mut iter = snapshot.iter();
    db.put("a", "new").unwrap();
    db.delete("b").unwrap();
    db.put("c", "new").unwrap();
    assert_eq!(iter.next().unwrap().unwrap().0, b"a");
    iter.seek("a");
    let (k, v) = iter.next().unwrap().unwrap();
    assert_eq!((k.as_slice(), &*v), (&b"a"[..], &b"old"[..]));
    assert_eq!(iter.next().unwrap().unwrap().0, b"b");
    assert!(iter.next().is_none(), "c was written after the snapshot");
}
