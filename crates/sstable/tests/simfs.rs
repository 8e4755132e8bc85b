//! Tables on the simulated file system: failed writes poison the builder, a synced
//! table survives a power loss, and an unfinished one is never mistaken for a table.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::path::Path;

use common::*;
use quickcache_fs::{CrashMode, Fault, FaultPlan, FileSystem, Op, SimFs};
use quickcache_sstable::conformance::Model;
use quickcache_sstable::{Error, Table, TableBuilder, TableOptions};

const DIR: &str = "/db";
const PATH: &str = "/db/000001.sst";

fn disk(seed: u64) -> SimFs {
    let fs = SimFs::new(seed);
    fs.create_dir_all(Path::new(DIR)).unwrap();
    fs.sync_dir(Path::new(DIR)).unwrap();
    fs
}

fn options() -> TableOptions {
    // Large enough that appends happen before finish (the write buffer is 256 KiB).
    TableOptions {
        block_size: 1024,
        ..TableOptions::default()
    }
}

fn big_model() -> Model {
    sample_model(6000)
}

/// Builds the model, stopping after `stop_after` entries if given; returns the result
/// of the last call that failed, if any.
fn try_build(fs: &SimFs, model: &Model, stop_after: Option<usize>) -> Result<(), Error> {
    let mut b = TableBuilder::new(fs, Path::new(PATH), options())?;
    for (i, (k, v)) in model.iter().enumerate() {
        if stop_after == Some(i) {
            return Ok(());
        }
        b.add(k.as_ref(), v)?;
    }
    b.finish().map(drop)
}

#[test]
fn a_synced_table_survives_every_crash_mode() {
    let model = big_model();
    for (seed, mode) in [
        (1, CrashMode::DropUnsynced),
        (2, CrashMode::Torn),
        (3, CrashMode::TornWithGarbage),
    ] {
        let fs = disk(seed);
        try_build(&fs, &model, None).unwrap();
        fs.sync_dir(Path::new(DIR)).unwrap();
        let after = fs.crash_with(mode);
        let table = Table::open(&after, Path::new(PATH)).unwrap();
        table.verify().unwrap();
        assert_eq!(entries(&table).len(), model.len());
    }
}

#[test]
fn an_unfinished_table_is_never_taken_for_a_table() {
    let model = big_model();
    for seed in 0..12 {
        let fs = disk(seed);
        try_build(&fs, &model, Some(model.len() / 2)).unwrap();
        let after = fs.crash();
        match Table::open(&after, Path::new(PATH)) {
            Ok(t) => panic!("half-written table opened: {:?}", t.properties()),
            Err(Error::Fs { source }) => assert!(source.is_not_found()),
            Err(e) => assert!(e.is_corruption(), "{e}"),
        }
    }
}

#[test]
fn a_failed_append_poisons_the_builder() {
    let model = big_model();
    for fault in [Fault::Io, Fault::NoSpace, Fault::ShortWrite] {
        let fs = disk(9);
        fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Append, fault));
        let mut b = TableBuilder::new(&fs, Path::new(PATH), options()).unwrap();
        let mut first_err = None;
        for (k, v) in &model {
            if let Err(e) = b.add(k.as_ref(), v) {
                first_err = Some(e);
                break;
            }
        }
        assert!(matches!(first_err, Some(Error::Fs { .. })), "{first_err:?}");
        let (k, v) = model.iter().last().unwrap();
        assert!(matches!(b.add(k.as_ref(), v), Err(Error::Poisoned { .. })));
        assert!(matches!(b.finish(), Err(Error::Poisoned { .. })));
    }
}

#[test]
fn a_failed_sync_fails_finish() {
    let fs = disk(4);
    fs.set_faults(
        FaultPlan::new().fail_matching(|op, _| matches!(op, Op::SyncAll | Op::SyncData), Fault::Io),
    );
    let err = try_build(&fs, &sample_model(10), None).unwrap_err();
    assert!(matches!(err, Error::Fs { .. }), "{err}");
}

#[test]
fn every_operation_failing_in_turn_gives_an_error_never_a_bad_table() {
    let model = sample_model(300);
    let small = TableOptions {
        block_size: 128,
        ..TableOptions::default()
    };
    for n in 0..20 {
        let fs = disk(n);
        fs.set_faults(FaultPlan::new().fail_nth(n, Fault::Io));
        let built = (|| {
            let mut b = TableBuilder::new(&fs, Path::new(PATH), small.clone())?;
            for (k, v) in &model {
                b.add(k.as_ref(), v)?;
            }
            b.finish()
        })();
        fs.clear_faults();
        if built.is_ok() {
            let table = Table::open(&fs, Path::new(PATH)).unwrap();
            table.verify().unwrap();
            let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(entries(&table), want);
        }
    }
}
