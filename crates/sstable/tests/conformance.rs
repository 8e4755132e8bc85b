//! The shared cursor conformance harness on table cursors, across block layouts.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::path::Path;

use common::*;
use quickcache_fs::{FileSystem, SimFs};
use quickcache_sstable::conformance::{Model, check_cursor};
use quickcache_sstable::{Compression, Cursor, Table, TableOptions};

fn table_of(model: &Model, options: TableOptions) -> Table {
    let fs = SimFs::new(11);
    fs.create_dir_all(Path::new("/c")).unwrap();
    build(&fs, Path::new("/c/t.sst"), model, options);
    Table::open(&fs, Path::new("/c/t.sst")).unwrap()
}

#[test]
fn table_cursors_conform_for_every_block_layout() {
    let model = sample_model(150);
    let layouts = [
        (1, 1),
        (64, 1),
        (64, 3),
        (300, 16),
        (4096, 16),
        (1 << 20, 7),
    ];
    let kinds = [Compression::None, Compression::Lz4, Compression::Zstd];
    for ((block_size, restart_interval), compression) in layouts
        .into_iter()
        .flat_map(|l| kinds.into_iter().map(move |k| (l, k)))
    {
        let options = TableOptions {
            block_size,
            restart_interval,
            bloom_bits_per_key: 10,
            compression,
        };
        let table = table_of(&model, options);
        check_cursor(&mut table.cursor(), &model);
        let mut boxed: Box<dyn Cursor> = Box::new(table.cursor());
        check_cursor(&mut boxed, &model);
    }
}

#[test]
fn empty_and_single_entry_tables_conform() {
    check_cursor(
        &mut table_of(&Model::new(), TableOptions::default()).cursor(),
        &Model::new(),
    );
    let one = sample_model(1);
    check_cursor(&mut table_of(&one, TableOptions::default()).cursor(), &one);
}

#[test]
fn cursor_values_are_zero_copy_slices_that_outlive_the_cursor() {
    let model = sample_model(40);
    let table = table_of(
        &model,
        TableOptions {
            block_size: 64,
            ..TableOptions::default()
        },
    );
    let mut c = table.cursor();
    c.seek_to_first().unwrap();
    let mut values = Vec::new();
    while c.valid() {
        values.push(c.value_ref().unwrap());
        c.next().unwrap();
    }
    assert!(c.value_ref().is_none());
    drop((c, table));
    let want: Vec<&[u8]> = model.values().map(Vec::as_slice).collect();
    let got: Vec<&[u8]> = values.iter().map(|v| &**v).collect();
    assert_eq!(got, want);
}

/// A table written with sequence number 0 and read through a global sequence number
/// behaves as a table whose keys carry that number: the cursor conforms to that
/// model, and lookups at older snapshots find nothing.
#[test]
fn a_global_seqno_table_conforms_to_the_renumbered_model() {
    use quickcache_sstable::{InternalKey, SeqNo, ValueKind};
    let global = SeqNo::new(500).unwrap();
    let mut stored = Model::new();
    let mut renumbered = Model::new();
    for i in 0..200u32 {
        let user = format!("k{:04}", i * 3).into_bytes();
        let kind = if i % 7 == 3 {
            ValueKind::Tombstone
        } else {
            ValueKind::Value
        };
        let value = if kind == ValueKind::Value {
            i.to_le_bytes().to_vec()
        } else {
            Vec::new()
        };
        stored.insert(
            InternalKey::new(user.clone(), SeqNo::ZERO, kind),
            value.clone(),
        );
        renumbered.insert(InternalKey::new(user, global, kind), value);
    }
    for block_size in [1, 64, 4096] {
        let options = TableOptions {
            block_size,
            restart_interval: 3,
            ..TableOptions::default()
        };
        let table = table_of(&stored, options).with_global_seqno(global);
        check_cursor(&mut table.cursor(), &renumbered);
        let below = SeqNo::new(499).unwrap();
        assert_eq!(table.get(b"k0003", below).unwrap(), None);
        let found = table.get(b"k0003", global).unwrap().unwrap();
        assert_eq!(found.seqno, global);
        assert_eq!(table.get(b"k0004", SeqNo::MAX).unwrap(), None);
        let plain: Vec<_> = table.iter_plain().map(|kv| kv.unwrap().0).collect();
        assert_eq!(plain.len(), 200 - 200 / 7 - 1);
    }
}
