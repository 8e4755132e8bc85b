//! Helpers shared by the integration tests: models, table building, model answers.

#![allow(dead_code, reason = "each test file uses a different subset")]
#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

use std::collections::BTreeMap;
use std::path::Path;

use quickcache_fs::FileSystem;
use quickcache_sstable::conformance::Model;
use quickcache_sstable::{
    Compression, Entry, InternalKey, SeqNo, Table, TableBuilder, TableMeta, TableOptions, ValueKind,
};

pub(crate) fn seq(n: u64) -> SeqNo {
    SeqNo::new(n).unwrap()
}

/// Writes `model` as a table at `path`.
pub(crate) fn build(
    fs: &dyn FileSystem,
    path: &Path,
    model: &Model,
    options: TableOptions,
) -> TableMeta {
    let mut b = TableBuilder::new(fs, path, options).unwrap();
    for (k, v) in model {
        b.add(k.as_ref(), v).unwrap();
    }
    b.finish().unwrap()
}

/// Options that make many small blocks.
pub(crate) fn small_blocks() -> TableOptions {
    TableOptions {
        block_size: 256,
        restart_interval: 4,
        bloom_bits_per_key: 10,
        compression: Compression::None,
    }
}

/// A model with several versions per key, tombstones and values of varied lengths.
pub(crate) fn sample_model(keys: usize) -> Model {
    let mut m = Model::new();
    for i in 0..keys {
        let user = format!("key-{:05}", i * 7).into_bytes();
        let versions = 1 + i % 3;
        for v in 0..versions {
            let s = seq((i * 10 + v) as u64 + 1);
            let tomb = (i + v) % 5 == 4;
            let kind = if tomb {
                ValueKind::Tombstone
            } else {
                ValueKind::Value
            };
            let value = if tomb {
                Vec::new()
            } else {
                format!("value {i} v{v} {}", "x".repeat(i % 40)).into_bytes()
            };
            m.insert(InternalKey::new(user.clone(), s, kind), value);
        }
    }
    m
}

/// What `get(user_key, snapshot)` must answer: the newest entry with seqno <= snapshot.
pub(crate) fn model_get(
    model: &Model,
    user_key: &[u8],
    snapshot: SeqNo,
) -> Option<(SeqNo, ValueKind, Vec<u8>)> {
    model
        .iter()
        .find(|(k, _)| k.user_key == user_key && k.seqno <= snapshot)
        .map(|(k, v)| (k.seqno, k.kind, v.clone()))
}

/// A table answer in the model's terms.
pub(crate) fn answer(entry: Option<Entry>) -> Option<(SeqNo, ValueKind, Vec<u8>)> {
    entry.map(|e| (e.seqno, e.kind, e.value.to_vec()))
}

/// The plain view of a model: newest version per user key, tombstoned keys left out.
pub(crate) fn plain(model: &Model) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut newest: BTreeMap<&[u8], (&InternalKey, &Vec<u8>)> = BTreeMap::new();
    for (k, v) in model {
        newest.entry(&k.user_key).or_insert((k, v));
    }
    newest
        .into_values()
        .filter(|(k, _)| k.kind == ValueKind::Value)
        .map(|(k, v)| (k.user_key.clone(), v.clone()))
        .collect()
}

/// Every user key of the model plus keys around and between them, for lookups.
pub(crate) fn probe_keys(model: &Model) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new(), vec![0xff; 20]];
    for k in model.keys() {
        out.push(k.user_key.clone());
        let mut after = k.user_key.clone();
        after.push(0);
        out.push(after);
        if let Some(shorter) = k.user_key.split_last().map(|(_, rest)| rest.to_vec()) {
            out.push(shorter);
        }
    }
    out
}

/// Checks every lookup the model can answer, at several snapshots.
pub(crate) fn check_gets(table: &Table, model: &Model) {
    let mut snapshots: Vec<SeqNo> = model.keys().map(|k| k.seqno).collect();
    snapshots.extend([SeqNo::ZERO, SeqNo::MAX]);
    snapshots.sort();
    snapshots.dedup();
    snapshots.truncate(12);
    snapshots.push(SeqNo::MAX);
    for key in probe_keys(model) {
        for &snap in &snapshots {
            let got = answer(table.get(&key, snap).unwrap());
            assert_eq!(
                got,
                model_get(model, &key, snap),
                "get({:?}, {snap})",
                key.escape_ascii().to_string()
            );
        }
    }
}

/// Every entry of the table, forward, through its std iterator.
pub(crate) fn entries(table: &Table) -> Vec<(InternalKey, Vec<u8>)> {
    table
        .iter()
        .map(|e| e.map(|(k, v)| (k, v.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap()
}
