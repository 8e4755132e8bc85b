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
