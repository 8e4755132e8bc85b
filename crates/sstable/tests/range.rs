#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! `Table::range_plain` against a model: random tables of several versions per key
//! and tombstones, random bounds of every kind, both directions and both at once.

use std::collections::BTreeMap;
use std::ops::Bound;

use quickcache_sstable::fs::{Rng, SimFs};
use quickcache_sstable::{KeyRef, SeqNo, Table, TableBuilder, TableOptions, ValueKind};

fn key(i: u64) -> Vec<u8> {
    format!("k{i:03}").into_bytes()
}

/// A table of `n` user keys, each with 1–3 versions (newest first), some newest
/// versions tombstones; returns it with the plain view it should show.
fn table(fs: &SimFs, rng: &mut Rng, n: u64) -> (Table, BTreeMap<Vec<u8>, Vec<u8>>) {
    let path = std::path::Path::new("/t.sst");
    let options = TableOptions {
        block_size: 64, // many blocks: bounds fall inside and between them
        ..TableOptions::default()
    };
    let mut builder = TableBuilder::new(fs, path, options).unwrap();
    let mut model = BTreeMap::new();
    let mut seq = 10_000;
    for i in 0..n {
        if rng.below(3) == 0 {
            continue;
        }
        let versions = 1 + rng.below(3);
        for v in 0..versions {
            seq -= 1;
            let deleted = v == 0 && rng.below(4) == 0;
            let kind = if deleted {
                ValueKind::Tombstone
            } else {
                ValueKind::Value
            };
            let value = format!("v{i}-{v}").into_bytes();
            let stored: &[u8] = if deleted { b"" } else { &value };
            builder
                .add(KeyRef::new(&key(i), SeqNo::new(seq).unwrap(), kind), stored)
                .unwrap();
            if v == 0 && !deleted {
                model.insert(key(i), value);
            }
        }
    }
    builder.finish().unwrap();
    (Table::open(fs, path).unwrap(), model)
}

fn bound(rng: &mut Rng, n: u64) -> Bound<Vec<u8>> {
    match rng.below(3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(key(rng.below(n + 2))),
        _ => Bound::Excluded(key(rng.below(n + 2))),
    }
}

#[test]
fn ranges_match_the_model_in_both_directions() {
    for seed in 0..20 {
        let mut rng = Rng::new(seed);
        let fs = SimFs::new(seed);
        let n = 40;
        let (table, model) = table(&fs, &mut rng, n);
        for _ in 0..50 {
            let (lo, hi) = (bound(&mut rng, n), bound(&mut rng, n));
            let reversed = match (&lo, &hi) {
                (
                    Bound::Included(l) | Bound::Excluded(l),
                    Bound::Included(h) | Bound::Excluded(h),
                ) => l > h,
                _ => false,
            };
            // BTreeMap panics on reversed ranges and on (Excluded(k), Excluded(k)); both
            // are empty.
            let same_excluded =
                matches!((&lo, &hi), (Bound::Excluded(l), Bound::Excluded(h)) if l == h);
            let want: Vec<(Vec<u8>, Vec<u8>)> = if reversed || same_excluded {
                Vec::new()
            } else {
                let range = model.range((lo.clone(), hi.clone()));
                range.map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            let got: Vec<(Vec<u8>, Vec<u8>)> = table
                .range_plain((lo.clone(), hi.clone()))
                .map(|kv| kv.map(|(k, v)| (k, v.to_vec())).unwrap())
                .collect();
            assert_eq!(got, want, "seed {seed}, range {lo:?}..{hi:?}");
            let back: Vec<Vec<u8>> = table
                .range_plain((lo.clone(), hi.clone()))
                .rev()
                .map(|kv| kv.unwrap().0)
                .collect();
            let want_back: Vec<Vec<u8>> = want.iter().rev().map(|(k, _)| k.clone()).collect();
            assert_eq!(back, want_back, "seed {seed}, reverse {lo:?}..{hi:?}");
            // Both ends at once meet in the middle, each key once.
            let mut it = table.range_plain((lo.clone(), hi.clone()));
            let (mut front, mut rear) = (Vec::new(), Vec::new());
            loop {
                let from_front = rng.below(2) == 0;
                let step = if from_front {
                    it.next()
                } else {
                    it.next_back()
                };
                let Some(kv) = step else { break };
                let k = kv.unwrap().0;
                if from_front {
                    assert!(
                        front.last().is_none_or(|f: &Vec<u8>| *f < k),
                        "seed {seed}: {k:?}"
                    );
                    front.push(k);
                } else {
                    assert!(
                        rear.last().is_none_or(|r: &Vec<u8>| *r > k),
                        "seed {seed}: {k:?}"
                    );
                    rear.push(k);
                }
            }
            if let (Some(f), Some(r)) = (front.last(), rear.last()) {
                assert!(f < r, "seed {seed}: the ends crossed");
            }
            assert_eq!(
                front.len() + rear.len(),
                want.len(),
                "seed {seed}, both ends {lo:?}..{hi:?}"
            );
        }
    }
}
