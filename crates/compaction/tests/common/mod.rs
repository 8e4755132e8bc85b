//! Helpers shared by the integration tests: a vector-backed memtable stand-in, a tree
//! opener with small sizes, and dumps of a tree's contents.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use quickcache_compaction::{CompactionOptions, MergingCursor, VersionSet};
use quickcache_fs::{DynFs, SimFs};
use quickcache_sstable::conformance::VecCursor;
use quickcache_sstable::{Cursor, InternalKey, SeqNo, ValueKind};

pub(crate) const DIR: &str = "/db";

/// A cursor over `map` in internal-key order, as a frozen memtable would give it.
pub(crate) fn frozen(map: &BTreeMap<InternalKey, Vec<u8>>) -> VecCursor {
    VecCursor::from_model(map)
}

pub(crate) fn seq(n: u64) -> SeqNo {
    SeqNo::new(n).unwrap()
}

pub(crate) fn put(map: &mut BTreeMap<InternalKey, Vec<u8>>, key: &str, s: u64, value: &str) {
    map.insert(
        InternalKey::new(key.as_bytes(), seq(s), ValueKind::Value),
        value.as_bytes().to_vec(),
    );
}

pub(crate) fn del(map: &mut BTreeMap<InternalKey, Vec<u8>>, key: &str, s: u64) {
    map.insert(
        InternalKey::new(key.as_bytes(), seq(s), ValueKind::Tombstone),
        Vec::new(),
    );
}

/// Options with tiny sizes so that a few hundred entries make several levels.
pub(crate) fn small_options() -> CompactionOptions {
    CompactionOptions {
        l0_compaction_trigger: 2,
        base_level_size: 8 << 10,
        table_size: 2 << 10,
        max_grandparent_overlap: 20 << 10,
        ..CompactionOptions::default()
    }
}

pub(crate) fn open(
    fs: &SimFs,
    options: CompactionOptions,
) -> quickcache_compaction::Result<VersionSet> {
    VersionSet::open_or_create(Arc::new(fs.clone()) as DynFs, Path::new(DIR), options)
}

/// Every entry of the tree, in order.
pub(crate) fn dump(set: &VersionSet) -> Vec<(InternalKey, Vec<u8>)> {
    let mut merge = MergingCursor::new(set.current().cursors());
    merge.seek_to_first().unwrap();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (merge.key(), merge.value()) {
        out.push((k.to_owned(), v.to_vec()));
        merge.next().unwrap();
    }
    out
}

/// What a reader at `snapshot` sees: user key → value (tombstoned keys absent).
pub(crate) fn visible(
    entries: &[(InternalKey, Vec<u8>)],
    snapshot: SeqNo,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut last: Option<&[u8]> = None;
    for (k, v) in entries {
        if k.seqno > snapshot || last == Some(k.user_key.as_slice()) {
            continue;
        }
        last = Some(&k.user_key);
        if k.kind == ValueKind::Value {
            out.insert(k.user_key.clone(), v.clone());
        }
    }
    out
}
