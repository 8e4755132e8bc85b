//! The memtable against a `BTreeMap` model: point lookups and cursors at random
//! snapshots, and the shared cursor conformance harness.

#![expect(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::collections::BTreeMap;
use std::sync::Arc;

use quickcache_memtable::{FrozenMemtable, Lookup, Memtable};
use quickcache_sstable::conformance::{Model, check_cursor};
use quickcache_sstable::{Cursor, InternalKey, KeyRef, SeqNo, ValueKind};
use quickcheck::quickcheck;

/// One write: a key selector and a value, or `None` for a delete.
type Op = (u8, Option<Vec<u8>>);

/// A small key universe: short keys differing in their first and second bytes (the
/// inline prefix decides), keys sharing an 8-byte prefix (the full keys decide),
/// keys that are prefixes of each other, and the empty key.
fn user_key(selector: u8) -> Vec<u8> {
    let (a, b) = (selector / 4 % 3, selector / 12 % 3);
    let [a, b] = [a, b].map(|x| [0u8, 1, 0xff][usize::from(x)]);
    match selector % 4 {
        0 => vec![a, b],
        1 => [b"prefix__".as_slice(), &[a, b]].concat(),
        2 => [b"prefix_".as_slice(), &vec![b; usize::from(a % 9)]].concat(),
        _ => vec![b, 7, 7, a, 7, 7, 7, 7, a, b][..usize::from(selector % 11)].to_vec(),
    }
}

fn universe() -> Vec<Vec<u8>> {
    (0..=255).map(user_key).chain([Vec::new()]).collect()
}

fn seq(n: u64) -> SeqNo {
    SeqNo::new(n).unwrap()
}

/// Applies `ops` with seqnos 1, 2, ... to a memtable and to the model.
fn build(ops: &[Op]) -> (Memtable, Model) {
    let memtable = Memtable::new();
    let mut model = Model::new();
    for (i, (selector, value)) in ops.iter().enumerate() {
        let (key, s) = (user_key(*selector), seq(i as u64 + 1));
        match value {
            Some(v) => memtable.put(&key, s, v),
            None => memtable.delete(&key, s),
        }
        let kind = if value.is_some() {
            ValueKind::Value
        } else {
            ValueKind::Tombstone
        };
        let stored = value.clone().unwrap_or_default();
        model.insert(InternalKey::new(key, s, kind), stored);
    }
    (memtable, model)
}

/// The newest model entry of `key` at or below `snapshot`, as `get` should report it.
fn model_get(model: &Model, key: &[u8], snapshot: SeqNo) -> Option<Result<Vec<u8>, SeqNo>> {
    let from = InternalKey::new(key.to_vec(), snapshot, ValueKind::SEEK);
    let (k, v) = model.range(from..).next()?;
    (k.user_key == key).then(|| match k.kind {
        ValueKind::Value => Ok(v.clone()),
        ValueKind::Tombstone => Err(k.seqno),
        // Never written here: an answer no memtable lookup gives, so a mismatch.
        ValueKind::ExpiringValue => Err(SeqNo::MAX),
    })
}

fn memtable_get(m: &Memtable, key: &[u8], snapshot: SeqNo) -> Option<Result<Vec<u8>, SeqNo>> {
    m.get(key, snapshot).map(|l| match l {
        Lookup::Value(v) => Ok(v.value().to_vec()),
        Lookup::Deleted(s) => Err(s),
        // Never written here: shown as its stored form, which no model value equals.
        Lookup::Expiring { value, .. } => Ok([b"expiring:", value.value()].concat()),
    })
}

fn snapshots(raw: &[u64], ops: usize) -> Vec<SeqNo> {
    let top = ops as u64 + 2;
    raw.iter()
        .map(|r| seq(r % top))
        .chain([SeqNo::ZERO, SeqNo::MAX])
        .collect()
}

fn current(c: &impl Cursor) -> Option<(InternalKey, Vec<u8>)> {
    Some((c.key()?.to_owned(), c.value()?.to_vec()))
}

fn entry((k, v): (&InternalKey, &Vec<u8>)) -> (InternalKey, Vec<u8>) {
    (k.clone(), v.clone())
}

quickcheck! {
    fn get_matches_the_model_at_every_snapshot(ops: Vec<Op>, raw: Vec<u64>) -> bool {
        let (memtable, model) = build(&ops);
        snapshots(&raw, ops.len()).into_iter().all(|s| {
            universe().iter().all(|k| memtable_get(&memtable, k, s) == model_get(&model, k, s))
        })
    }

    fn cursor_seeks_match_the_model_at_every_snapshot(ops: Vec<Op>, raw: Vec<u64>) -> bool {
        let (memtable, model) = build(&ops);
        let mut cursor = memtable.cursor();
        let mut ok = true;
        for s in snapshots(&raw, ops.len()) {
            for key in universe() {
                let target = KeyRef::lookup(&key, s);
                cursor.seek(target).unwrap();
                let owned = target.to_owned();
                let mut after = model.range(owned.clone()..);
                ok &= current(&cursor) == after.next().map(entry);
                cursor.next().unwrap();
                ok &= current(&cursor) == after.next().map(entry);
                cursor.seek_for_prev(target).unwrap();
                ok &= current(&cursor) == model.range(..=owned).next_back().map(entry);
            }
        }
        ok
    }

    fn cursor_conforms_on_random_contents(ops: Vec<Op>) -> bool {
        let (memtable, model) = build(&ops);
        check_cursor(&mut memtable.cursor(), &model);
        true
    }

    fn shared_cursor_conforms_on_random_contents(ops: Vec<Op>) -> bool {
        let (memtable, model) = build(&ops);
        check_cursor(&mut Arc::new(memtable).shared_cursor(), &model);
        true
    }
}

#[test]
fn shared_cursors_conform_on_empty_and_frozen_memtables() {
    check_cursor(
        &mut Arc::new(Memtable::new()).shared_cursor(),
        &Model::new(),
    );
    let ops: Vec<Op> = (0..300u32)
        .map(|i| ((i * 53 % 251) as u8, (i % 4 != 0).then(|| vec![i as u8; 3])))
        .collect();
    let (memtable, model) = build(&ops);
    let frozen = FrozenMemtable::from(memtable);
    check_cursor(&mut frozen.shared_cursor(), &model);
}

#[test]
fn cursor_conforms_on_an_empty_memtable() {
    check_cursor(&mut Memtable::new().cursor(), &Model::new());
}

#[test]
fn cursor_conforms_on_many_versions_of_many_keys() {
    let ops: Vec<Op> = (0..600u32)
        .map(|i| {
            let selector = (i * 37 % 251) as u8;
            let value = (i % 5 != 0).then(|| i.to_le_bytes().to_vec());
            (selector, value)
        })
        .collect();
    let (memtable, model) = build(&ops);
    assert_eq!(memtable.len(), model.len());
    check_cursor(&mut memtable.cursor(), &model);
}

#[test]
fn random_keys_with_distinct_prefixes_keep_full_key_order() {
    // Keys that differ only after byte 8 and keys shorter than 8 bytes.
    let keys: Vec<&[u8]> = vec![
        b"abcdefgh",
        b"abcdefgh\0",
        b"abcdefghz",
        b"abc",
        b"abc\0",
        b"",
    ];
    let memtable = Memtable::new();
    let mut model = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        memtable.put(k, seq(i as u64 + 1), b"v");
        model.insert(
            InternalKey::new(k.to_vec(), seq(i as u64 + 1), ValueKind::Value),
            b"v".to_vec(),
        );
    }
    check_cursor(&mut memtable.cursor(), &model);
}
