//! Merging cursor against a `BTreeMap` model: the shared harness and random walks.

use std::collections::BTreeMap;

use quickcache_sstable::conformance::{Model, check_cursor};
use quickcache_sstable::{Cursor, InternalKey, KeyRef, SeqNo, ValueKind};
use quickcheck::{Arbitrary, Gen, quickcheck};

use super::MergingCursor;
use crate::testing::{VecCursor, ikey};

/// Splits `entries` over `k` children by `child % k`.
fn split(entries: &[(u8, u64, bool, u8)], k: usize) -> (Vec<VecCursor>, Model) {
    let mut parts = vec![Vec::new(); k];
    let mut model = Model::new();
    for (i, &(user, _, tomb, child)) in entries.iter().enumerate() {
        // Distinct seqnos keep internal keys distinct across children.
        let key = ikey(user, i as u64 + 1, tomb);
        parts[usize::from(child) % k].push((key.clone(), vec![user, child]));
        model.insert(key, vec![user, child]);
    }
    (parts.into_iter().map(VecCursor::new).collect(), model)
}

#[test]
fn empty_merges_conform() {
    check_cursor(
        &mut MergingCursor::<VecCursor>::new(Vec::new()),
        &Model::new(),
    );
    let empty = vec![VecCursor::new(Vec::new()); 3];
    check_cursor(&mut MergingCursor::new(empty), &Model::new());
}

quickcheck! {
    fn merge_conforms_to_the_harness(entries: Vec<(u8, u64, bool, u8)>, k: u8) -> bool {
        let (children, model) = split(&entries, usize::from(k % 5) + 1);
        check_cursor(&mut MergingCursor::new(children), &model);
        true
    }

    fn random_walks_match_the_model(children: Vec<Vec<(u8, u8)>>, ops: Vec<Op>) -> bool {
        random_walk(&children, &ops)
    }

    fn runs_of_one_child_match_the_model(
        dense: Vec<(u8, u8)>,
        sparse: Vec<(u8, u8)>,
        k: u8,
        ops: Vec<Op>
    ) -> bool {
        // One child holds most keys, each other child a few: the top child runs ahead
        // for stretches, which the merge steps against the remembered runner-up
        // without its heap. Walks both ways, switching direction and seeking.
        let k = usize::from(k % 3) + 1;
        let mut children = vec![dense];
        children.extend((0..k).map(|c| sparse.iter().copied().skip(c).step_by(k).take(3).collect()));
        let walks = random_walk(&children, &ops);
        // The same children under the full harness: whole walks, every seek.
        let (mut cursors, mut model) = (Vec::new(), Model::new());
        for (c, entries) in children.iter().enumerate() {
            let mut v: Vec<(InternalKey, Vec<u8>)> = Vec::new();
            for (i, &(user, _)) in entries.iter().enumerate() {
                // Distinct seqnos across children keep the model's keys distinct.
                let key = ikey(user, (c * 1000 + i) as u64 + 1, false);
                model.insert(key.clone(), vec![c as u8]);
                v.push((key, vec![c as u8]));
            }
            v.sort_by(|a, b| a.0.cmp(&b.0));
            cursors.push(VecCursor::new(v));
        }
        check_cursor(&mut MergingCursor::new(cursors), &model);
        walks
    }

    fn long_keys_merge_conforms(entries: Vec<(u8, u8, u8)>, k: u8) -> bool {
        // User keys of 15 to 19 bytes sharing a 15-byte head, tails of 0, 1 and 2:
        // equal sixteen-byte prefixes, zero bytes against zero padding, and keys
        // longer than the prefix that only their last bytes order.
        let k = usize::from(k % 4) + 1;
        let mut parts = vec![Vec::new(); k];
        let mut model = Model::new();
        for (i, &(len, bits, child)) in entries.iter().enumerate() {
            let mut user = vec![b'h'; 15];
            user.extend((0..len % 5).map(|j| (bits >> (2 * j)) % 3));
            let seqno = SeqNo::new(i as u64 + 1).unwrap_or(SeqNo::ZERO);
            let key = InternalKey::new(user, seqno, ValueKind::Value);
            parts[usize::from(child) % k].push((key.clone(), vec![child]));
            model.insert(key, vec![child]);
        }
        let children = parts.into_iter().map(VecCursor::new).collect();
        check_cursor(&mut MergingCursor::new(children), &model);
        true
    }
}

/// One step of a random walk.
#[derive(Debug, Clone)]
enum Op {
    First,
    Last,
    Next,
    Prev,
    Seek(u8, u8),
    SeekForPrev(u8, u8),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        let (u, s) = (u8::arbitrary(g), u8::arbitrary(g));
        match u8::arbitrary(g) % 8 {
            0 => Op::First,
            1 => Op::Last,
            2 | 3 => Op::Next,
            4 | 5 => Op::Prev,
            6 => Op::Seek(u, s),
            _ => Op::SeekForPrev(u, s),
        }
    }
}

/// The model allows the same internal key in several children: entries are ordered by
/// `(key, child)`, which is exactly the documented tie-break.
fn random_walk(children: &[Vec<(u8, u8)>], ops: &[Op]) -> bool {
    let children = &children[..children.len().min(6)];
    let mut model: BTreeMap<(InternalKey, usize), Vec<u8>> = BTreeMap::new();
    let mut cursors = Vec::new();
    for (c, entries) in children.iter().enumerate() {
        let mut v = Vec::new();
        for &(user, seq) in entries {
            let key = ikey(user, u64::from(seq % 4), false);
            model.insert((key.clone(), c), vec![c as u8]);
            v.push((key, vec![c as u8]));
        }
        cursors.push(VecCursor::new(v));
    }
    let sorted: Vec<_> = model.into_iter().collect();
    let mut merge = MergingCursor::new(cursors);
    let mut pos: Option<usize> = None;
    for op in ops {
        pos = apply(&mut merge, &sorted, pos, op);
        let got = merge.key().map(|k| (k.to_owned(), merge.current_child()));
        let want = pos.map(|p| (sorted[p].0.0.clone(), Some(sorted[p].0.1)));
        if got != want {
            return false;
        }
    }
    true
}

type Sorted = [((InternalKey, usize), Vec<u8>)];

fn apply(
    merge: &mut MergingCursor<VecCursor>,
    sorted: &Sorted,
    pos: Option<usize>,
    op: &Op,
) -> Option<usize> {
    let n = sorted.len();
    let result = match op {
        Op::First => (merge.seek_to_first(), (n > 0).then_some(0)),
        Op::Last => (merge.seek_to_last(), n.checked_sub(1)),
        Op::Next => (merge.next(), pos.map(|p| p + 1).filter(|&p| p < n)),
        Op::Prev => (merge.prev(), pos.and_then(|p| p.checked_sub(1))),
        Op::Seek(u, s) => {
            let t = ikey(*u, u64::from(*s % 4), false);
            let i = sorted.partition_point(|e| e.0.0.as_ref() < t.as_ref());
            (merge.seek(t.as_ref()), (i < n).then_some(i))
        }
        Op::SeekForPrev(u, s) => {
            let t = ikey(*u, u64::from(*s % 4), false);
            let t: KeyRef<'_> = t.as_ref();
            let i = sorted.partition_point(|e| e.0.0.as_ref() <= t);
            (merge.seek_for_prev(t), i.checked_sub(1))
        }
    };
    assert!(result.0.is_ok());
    result.1
}
