//! What the adapter promises across crashes, checked on quickcache's simulated disk
//! (`SimFs`): acknowledged log writes and votes survive a power loss; a purge and its
//! last-purged id, and a snapshot install, are each all or nothing, also when the
//! disk fails partway and then loses power.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, RaftLogReader, RaftSnapshotBuilder, Vote,
};
use quickcache::Options;
use quickcache::fs::{CrashMode, Fault, FaultPlan, SimFs};
use quickcache_raft::{Command, Store, TypeConfig};

const DIR: &str = "/node";

fn open(fs: &SimFs) -> Store {
    let options = Options {
        fs: Arc::new(fs.clone()),
        ..Options::default()
    };
    Store::open_with(DIR, options).unwrap()
}

fn log_id(index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(1, 1), index)
}

fn put(index: u64, key: &str, value: &str) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(index),
        payload: EntryPayload::Normal(Command::put(key, value)),
    }
}

fn blank(index: u64) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(index),
        payload: EntryPayload::Blank,
    }
}

fn all_keys(store: &Store) -> BTreeMap<Vec<u8>, Vec<u8>> {
    use std::ops::Bound::Unbounded;
    let pairs = store
        .reader()
        .scan(Unbounded, Unbounded, usize::MAX, Default::default())
        .unwrap();
    pairs.into_iter().collect()
}

const MODES: [CrashMode; 3] = [
    CrashMode::DropUnsynced,
    CrashMode::Torn,
    CrashMode::TornWithGarbage,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_entries_and_vote_survive_power_loss() {
    for mode in MODES {
        let fs = SimFs::new(7);
        let store = open(&fs);
        let mut log = store.log_store();
        log.blocking_append((1..=20).map(blank)).await.unwrap();
        log.save_vote(&Vote::new(3, 2)).await.unwrap();
        let crashed = fs.crash_with(mode);
        drop((log, store));

        let mut log = open(&crashed).log_store();
        assert_eq!(
            log.read_vote().await.unwrap(),
            Some(Vote::new(3, 2)),
            "{mode:?}"
        );
        let entries = log.try_get_log_entries(1..=20).await.unwrap();
        let indexes: Vec<u64> = entries.iter().map(|e| e.log_id.index).collect();
        assert_eq!(indexes, (1..=20).collect::<Vec<_>>(), "{mode:?}");
        assert_eq!(
            log.get_log_state().await.unwrap().last_log_id,
            Some(log_id(20))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_and_its_last_purged_id_survive_together_or_not_at_all() {
    for (seed, mode) in MODES.into_iter().enumerate() {
        let fs = SimFs::new(seed as u64);
        let store = open(&fs);
        let mut log = store.log_store();
        log.blocking_append((1..=10).map(blank)).await.unwrap();
        log.purge(log_id(6)).await.unwrap();
        let crashed = fs.crash_with(mode);
        drop((log, store));

        let mut log = open(&crashed).log_store();
        let state = log.get_log_state().await.unwrap();
        let first = log
            .try_get_log_entries(..)
            .await
            .unwrap()
            .first()
            .map(|e| e.log_id.index);
        match state.last_purged_log_id {
            None => assert_eq!(
                first,
                Some(1),
                "{mode:?}: entries purged without their record"
            ),
            Some(purged) => assert_eq!((purged, first), (log_id(6), Some(7)), "{mode:?}"),
        }
        assert_eq!(state.last_log_id, Some(log_id(10)), "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_removes_the_tail_durably() {
    let fs = SimFs::new(3);
    let store = open(&fs);
    let mut log = store.log_store();
    log.blocking_append((1..=10).map(blank)).await.unwrap();
    log.truncate(log_id(4)).await.unwrap();
    let crashed = fs.crash_with(CrashMode::DropUnsynced);
    drop((log, store));
    let mut log = open(&crashed).log_store();
    assert_eq!(
        log.get_log_state().await.unwrap().last_log_id,
        Some(log_id(3))
    );
    assert_eq!(log.try_get_log_entries(..).await.unwrap().len(), 3);
}

/// A snapshot of `{b: new, c: new}` at index 12, built on another store.
async fn new_snapshot() -> openraft::Snapshot<TypeConfig> {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path()).unwrap();
    let mut sm = source.state_machine();
    sm.apply([put(10, "b", "new"), put(11, "c", "new"), blank(12)])
        .await
        .unwrap();
    let snapshot = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(12)));
    snapshot
}

/// The old state: `{a: old, b: old}` applied up to 2, made durable.
async fn old_state(fs: &SimFs) -> Store {
    let store = open(fs);
    let mut sm = store.state_machine();
    sm.apply([put(1, "a", "old"), put(2, "b", "old")])
        .await
        .unwrap();
    store.log_store().save_vote(&Vote::new(1, 1)).await.unwrap(); // a synced write
    store
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    items
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_snapshot_replaces_the_state_and_survives_power_loss() {
    let snapshot = new_snapshot().await;
    let fs = SimFs::new(11);
    let store = old_state(&fs).await;
    let mut sm = store.state_machine();
    let data = Box::new(snapshot.snapshot.as_ref().clone());
    sm.install_snapshot(&snapshot.meta, data).await.unwrap();
    assert_eq!(all_keys(&store), pairs(&[("b", "new"), ("c", "new")]));
    let crashed = fs.crash_with(CrashMode::DropUnsynced);
    drop((sm, store));

    let store = open(&crashed);
    let mut sm = store.state_machine();
    assert_eq!(all_keys(&store), pairs(&[("b", "new"), ("c", "new")]));
    assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(12)));
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, snapshot.meta);
    assert_eq!(
        current.snapshot.into_inner(),
        snapshot.snapshot.into_inner()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_failing_at_any_disk_operation_then_losing_power_leaves_old_or_new() {
    let snapshot = new_snapshot().await;
    let old = pairs(&[("a", "old"), ("b", "old")]);
    let new = pairs(&[("b", "new"), ("c", "new")]);
    let mut outcomes = BTreeMap::new();
    for n in 0..60 {
        let fs = SimFs::new(100 + n);
        let store = old_state(&fs).await;
        let mut sm = store.state_machine();
        let fault = if n % 2 == 0 {
            Fault::Io
        } else {
            Fault::ShortWrite
        };
        fs.set_faults(FaultPlan::new().fail_nth(n / 2, fault));
        let data = Box::new(snapshot.snapshot.as_ref().clone());
        let installed = sm.install_snapshot(&snapshot.meta, data).await.is_ok();
        fs.clear_faults();
        let crashed = fs.crash();
        drop((sm, store));

        let store = open(&crashed);
        let found = all_keys(&store);
        let applied = store.state_machine().applied_state().await.unwrap().0;
        if found == new {
            assert_eq!(
                applied,
                Some(log_id(12)),
                "fault at op {n}: new data, old applied id"
            );
            *outcomes.entry("new").or_insert(0) += 1;
        } else {
            assert!(
                !installed,
                "fault at op {n}: an acknowledged install was lost"
            );
            assert_eq!(found, old, "fault at op {n}: a mix of old and new state");
            assert_eq!(
                applied,
                Some(log_id(2)),
                "fault at op {n}: old data, new applied id"
            );
            *outcomes.entry("old").or_insert(0) += 1;
        }
    }
    assert!(
        outcomes.contains_key("old") && outcomes.contains_key("new"),
        "faults never hit the install: {outcomes:?}"
    );
}
