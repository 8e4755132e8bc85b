//! Block summaries under a `SummaryBudget`: whatever the budget admits, lookups and
//! seeks agree with the model and the budget is never exceeded; tables opened with one
//! budget share its bytes, and a dropped table gives its bytes back.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::path::Path;

use common::*;
use quickcache_fs::{FileSystem, SimFs};
use quickcache_sstable::conformance::{Model, check_cursor};
use quickcache_sstable::{KeyRef, SeqNo, SummaryBudget, Table};

/// A file system holding `names`, each a table of `model` in small blocks.
fn tables(model: &Model, names: &[&str]) -> SimFs {
    let fs = SimFs::new(5);
    fs.create_dir_all(Path::new("/b")).unwrap();
    for name in names {
        build(&fs, &Path::new("/b").join(name), model, small_blocks());
    }
    fs
}

fn open(fs: &SimFs, name: &str, budget: &SummaryBudget) -> Table {
    Table::open_with(fs, &Path::new("/b").join(name), budget.clone()).unwrap()
}

/// Lookups of every probe key, newest and at snapshots just at and below each entry,
/// against the model (by a range query: `check_gets` is quadratic).
fn check_gets(table: &Table, model: &Model) {
    let want = |user: &[u8], snapshot: SeqNo| {
        let from = KeyRef::lookup(user, snapshot).to_owned();
        let (k, v) = model.range(from..).next()?;
        (k.user_key == user).then(|| (k.seqno, k.kind, v.clone()))
    };
    let mut lookups: Vec<(Vec<u8>, SeqNo)> = probe_keys(model)
        .into_iter()
        .map(|k| (k, SeqNo::MAX))
        .collect();
    for k in model.keys() {
        lookups.push((k.user_key.clone(), k.seqno));
        let below = k.seqno.get().checked_sub(1).and_then(SeqNo::new);
        lookups.push((k.user_key.clone(), below.unwrap_or(SeqNo::ZERO)));
    }
    for (user, snapshot) in lookups {
        let got = answer(table.get(&user, snapshot).unwrap());
        assert_eq!(got, want(&user, snapshot), "get({user:?}, {snapshot})");
    }
}

/// Every lookup and every seek the harnesses try.
fn check_all(table: &Table, model: &Model) {
    check_gets(table, model);
    check_cursor(&mut table.cursor(), model);
}

/// Bytes the summaries of every block of a table of `model` take.
fn full_summaries(fs: &SimFs, model: &Model) -> u64 {
    let budget = SummaryBudget::unlimited();
    let table = open(fs, "a.sst", &budget);
    check_gets(&table, model);
    budget.used()
}

#[test]
fn a_small_budget_summarizes_some_blocks_and_every_answer_stays_right() {
    let model = sample_model(2000);
    let fs = tables(&model, &["a.sst"]);
    let full = full_summaries(&fs, &model);
    let budget = SummaryBudget::new(full / 4);
    let table = open(&fs, "a.sst", &budget);
    let bare = table.memory_usage();
    check_all(&table, &model);
    let used = budget.used();
    assert!(
        used > 0,
        "no block summarized: the test covers only one path"
    );
    assert!(
        used <= full / 4,
        "{used} bytes of summaries, budget {}",
        full / 4
    );
    assert_eq!(table.memory_usage() as u64, bare as u64 + used);
}

#[test]
fn a_zero_budget_summarizes_nothing_and_every_answer_stays_right() {
    let model = sample_model(2000);
    let fs = tables(&model, &["a.sst"]);
    let budget = SummaryBudget::new(0);
    let table = open(&fs, "a.sst", &budget);
    let bare = table.memory_usage();
    check_all(&table, &model);
    assert_eq!(budget.used(), 0);
    assert_eq!(table.memory_usage(), bare);
}

#[test]
fn answers_stay_right_at_every_budget_between_none_and_all() {
    let model = sample_model(600);
    let fs = tables(&model, &["a.sst"]);
    let full = full_summaries(&fs, &model);
    for limit in [1, full / 10, full / 3, full - 1, full] {
        let budget = SummaryBudget::new(limit);
        let table = open(&fs, "a.sst", &budget);
        check_all(&table, &model);
        assert!(budget.used() <= limit, "limit {limit}");
    }
}

#[test]
fn tables_share_their_budget_and_a_dropped_table_gives_its_bytes_back() {
    let model = sample_model(1000);
    let fs = tables(&model, &["a.sst", "b.sst"]);
    let full = full_summaries(&fs, &model);
    let budget = SummaryBudget::new(full);
    let (a, b) = (open(&fs, "a.sst", &budget), open(&fs, "b.sst", &budget));
    let b_bare = b.memory_usage();
    check_gets(&a, &model);
    assert_eq!(budget.used(), full, "the first table fills the budget");
    check_all(&b, &model);
    assert_eq!(budget.used(), full);
    assert_eq!(b.memory_usage(), b_bare, "the second table got no summary");
    drop(a);
    assert_eq!(budget.used(), 0);
    check_gets(&b, &model);
    assert!(budget.used() > 0 && budget.used() <= full);
    assert!(b.memory_usage() > b_bare);
}
