//! What the adapter promises across crashes, checked on quickcache's simulated disk
//! (`SimFs`): acknowledged log writes and votes survive a power loss; a purge and its
//! last-purged id, a snapshot install (staged in many writes) and the store of a
//! built snapshot (in many chunks) are each all or nothing, also when the disk fails
//! or loses power at any one of their operations; an install larger than the WAL's
//! 64 MiB record limit works.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, Membership, RaftLogReader, RaftSnapshotBuilder,
    Snapshot, StoredMembership, Vote,
};
use quickcache::Options;
use quickcache::fs::{CrashMode, Fault, FaultPlan, SimFs};
use quickcache_raft::{Command, Node, Store, TypeConfig};

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

/// The bound on a staged write or a stored chunk in the crash tests: small, so that
/// their small snapshots take many writes and chunks.
const SMALL_STAGE: usize = 300;

/// `count` keys `<prefix>NN`, each with the value `<tag>` repeated to 100 bytes.
fn values(prefix: &str, count: u64, tag: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    (0..count)
        .map(|i| {
            let key = format!("{prefix}{i:02}").into_bytes();
            (key, tag.repeat(100 / tag.len()).into_bytes())
        })
        .collect()
}

fn puts(first: u64, pairs: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<Entry<TypeConfig>> {
    let entry = |(i, (key, value)): (u64, (&Vec<u8>, &Vec<u8>))| Entry {
        log_id: log_id(first + i),
        payload: EntryPayload::Normal(Command::put(key.clone(), value.clone())),
    };
    (0..).zip(pairs).map(entry).collect()
}

fn membership(index: u64, voter: u64) -> Entry<TypeConfig> {
    let voters = BTreeSet::from([voter]);
    Entry {
        log_id: log_id(index),
        payload: EntryPayload::Membership(Membership::new(vec![voters], ())),
    }
}

/// The new state: 20 keys `bNN` / `cNN` at index 40 with node 2 the voter, as a
/// snapshot built on another store (several chunks of [`SMALL_STAGE`] bytes).
async fn new_snapshot() -> Snapshot<TypeConfig> {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path()).unwrap();
    source.set_stage_bytes(SMALL_STAGE);
    let mut sm = source.state_machine();
    sm.apply([membership(10, 2)]).await.unwrap();
    sm.apply(puts(11, &new_keys())).await.unwrap();
    sm.apply([blank(40)]).await.unwrap();
    let mut builder = sm.get_snapshot_builder().await;
    let snapshot = builder.build_snapshot().await.unwrap();
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(40)));
    snapshot
}

fn new_keys() -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut keys = values("b", 10, "new");
    keys.extend(values("c", 10, "new"));
    keys
}

fn old_keys() -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut keys = values("a", 10, "old");
    keys.extend(values("b", 10, "old"));
    keys
}

/// The old state: `aNN` / `bNN` applied up to 21 with node 1 the voter, and its
/// snapshot current (in chunks), made durable.
async fn old_state(fs: &SimFs) -> (Store, Snapshot<TypeConfig>) {
    let store = open(fs);
    store.set_stage_bytes(SMALL_STAGE);
    let mut sm = store.state_machine();
    sm.apply([membership(1, 1)]).await.unwrap();
    sm.apply(puts(2, &old_keys())).await.unwrap();
    let snapshot = sm.get_snapshot_builder().await.build_snapshot().await;
    let snapshot = snapshot.unwrap(); // stored with a synced batch
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(21)));
    (store, snapshot)
}

/// What a store holds that an install or a snapshot store replaces, all together.
#[derive(PartialEq)]
struct Replaced {
    keys: BTreeMap<Vec<u8>, Vec<u8>>,
    applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, Node>,
    current: Option<(openraft::SnapshotMeta<u64, Node>, Vec<u8>)>,
}

/// A summary: the full values would bury a failure's message.
impl std::fmt::Debug for Replaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}..",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(v.get(..3).unwrap_or(v))
                )
            })
            .collect();
        let current = self
            .current
            .as_ref()
            .map(|(m, d)| (&m.snapshot_id, d.len()));
        f.debug_struct("Replaced")
            .field("keys", &keys)
            .field("applied", &self.applied.map(|id| id.index))
            .field("membership", &self.membership.log_id().map(|id| id.index))
            .field("current (id, bytes)", &current)
            .finish()
    }
}

async fn replaced(store: &Store) -> Replaced {
    let mut sm = store.state_machine();
    let (applied, membership) = sm.applied_state().await.unwrap();
    let current = sm.get_current_snapshot().await.unwrap();
    Replaced {
        keys: all_keys(store),
        applied,
        membership,
        current: current.map(|s| (s.meta, s.snapshot.into_inner())),
    }
}

/// Checks that `store` holds no leftover of an interrupted install or store: one
/// state keyspace, and only the current snapshot's chunks.
fn assert_no_leftovers(store: &Store, context: &str) {
    let names = store.db().keyspaces();
    let states = names.iter().filter(|n| n.starts_with("raft-state"));
    assert_eq!(states.count(), 1, "{context}: {names:?}");
    let meta = store.db().find_keyspace("raft-meta").unwrap();
    let record = meta.get("snapshot-chunks").unwrap().unwrap();
    let record: serde_json::Value = serde_json::from_slice(&record).unwrap();
    let chunks = meta.prefix("chunk/").count() as u64;
    assert_eq!(
        Some(chunks),
        record["count"].as_u64(),
        "{context}: {record}"
    );
}

/// The faults of one crash test: at every operation `n` of `ops`, first a power loss
/// there (operation `n` and every later one fail), then a failed write or a short
/// write there that the process lives past.
fn faults(ops: u64) -> impl Iterator<Item = (u64, FaultPlan)> {
    (0..=ops).flat_map(|n| {
        let fault = if n % 2 == 0 {
            Fault::Io
        } else {
            Fault::ShortWrite
        };
        [
            (n, FaultPlan::new().fail_from(n, Fault::Io)),
            (n, FaultPlan::new().fail_nth(n, fault)),
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_snapshot_replaces_the_state_and_survives_power_loss() {
    let snapshot = new_snapshot().await;
    let fs = SimFs::new(11);
    let (store, _) = old_state(&fs).await;
    let mut sm = store.state_machine();
    let data = Box::new(snapshot.snapshot.as_ref().clone());
    sm.install_snapshot(&snapshot.meta, data).await.unwrap();
    let new = replaced(&store).await;
    assert_eq!(new.keys, new_keys());
    let crashed = fs.crash_with(CrashMode::DropUnsynced);
    drop((sm, store));

    let store = open(&crashed);
    assert_eq!(replaced(&store).await, new);
    assert_eq!(new.applied, Some(log_id(40)));
    let current = new.current.unwrap();
    assert_eq!(current.0, snapshot.meta);
    assert_eq!(current.1, snapshot.snapshot.into_inner());
    assert_no_leftovers(&store, "after the install");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_losing_power_or_failing_at_any_disk_operation_leaves_old_or_new() {
    let snapshot = new_snapshot().await;
    // A run without faults: the states to expect and the operations to hit.
    let fs = SimFs::new(99);
    let (store, _) = old_state(&fs).await;
    let old = replaced(&store).await;
    let before = fs.op_count();
    let data = Box::new(snapshot.snapshot.as_ref().clone());
    let mut sm = store.state_machine();
    sm.install_snapshot(&snapshot.meta, data).await.unwrap();
    let ops = fs.op_count() - before;
    let new = replaced(&store).await;
    assert!(ops > 20, "an install of {ops} operations: not staged?");
    drop((sm, store));

    let mut outcomes = BTreeMap::new();
    for (i, (n, plan)) in faults(ops).enumerate() {
        let fs = SimFs::new(100 + i as u64);
        let (store, _) = old_state(&fs).await;
        let mut sm = store.state_machine();
        fs.set_faults(plan);
        let data = Box::new(snapshot.snapshot.as_ref().clone());
        let installed = sm.install_snapshot(&snapshot.meta, data).await.is_ok();
        fs.clear_faults();
        let crashed = fs.crash();
        drop((sm, store));

        let store = open(&crashed);
        let found = replaced(&store).await;
        let context = format!("fault {i} at op {n} of {ops}");
        if found != new {
            assert!(!installed, "{context}: an acknowledged install was lost");
            assert_eq!(found, old, "{context}: neither the old state nor the new");
        }
        assert_no_leftovers(&store, &context);
        *outcomes.entry(found == new).or_insert(0) += 1;
    }
    assert_eq!(
        outcomes.len(),
        2,
        "faults never hit the install: {outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storing_a_built_snapshot_is_all_or_nothing_at_any_disk_operation() {
    let more = values("d", 10, "more");
    let run = |fs: SimFs, plan: Option<FaultPlan>| {
        let more = more.clone();
        async move {
            let (store, _) = old_state(&fs).await;
            let mut sm = store.state_machine();
            sm.apply(puts(22, &more)).await.unwrap();
            store.log_store().save_vote(&Vote::new(1, 1)).await.unwrap(); // synced
            let before = fs.op_count();
            if let Some(plan) = plan {
                fs.set_faults(plan);
            }
            let built = sm.get_snapshot_builder().await.build_snapshot().await;
            fs.clear_faults();
            (store, built.is_ok(), fs.op_count() - before)
        }
    };
    let (store, built, ops) = run(SimFs::new(5), None).await;
    assert!(
        built && ops > 10,
        "a store of {ops} operations: not chunked?"
    );
    let new = replaced(&store).await.current;
    let old = {
        let (store, _) = old_state(&SimFs::new(6)).await;
        replaced(&store).await.current
    };
    assert_ne!(new, old);
    drop(store);

    let mut outcomes = BTreeMap::new();
    for (i, (n, plan)) in faults(ops).enumerate() {
        let fs = SimFs::new(300 + i as u64);
        let (store, built, _) = run(fs.clone(), Some(plan)).await;
        let crashed = fs.crash();
        drop(store);
        let store = open(&crashed);
        let found = replaced(&store).await;
        let context = format!("fault {i} at op {n} of {ops}");
        assert_eq!(found.applied, Some(log_id(31)), "{context}");
        if found.current != new {
            assert!(!built, "{context}: an acknowledged snapshot was lost");
            assert_eq!(found.current, old, "{context}: neither snapshot");
        }
        assert_no_leftovers(&store, &context);
        *outcomes.entry(found.current == new).or_insert(0) += 1;
    }
    assert_eq!(
        outcomes.len(),
        2,
        "faults never hit the store: {outcomes:?}"
    );
}
