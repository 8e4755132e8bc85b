#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]
//! Installs that the one-batch install could not do: a snapshot larger than the WAL's
//! 64 MiB record limit (staged in many writes, its data stored in chunks), and
//! installs while readers scan and builds run, none of which may see a mix of two
//! states.

use std::collections::BTreeMap;
use std::ops::Bound::Unbounded;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot};
use quickcache_raft::{Command, Store, TypeConfig};

/// `quickcache_wal::MAX_RECORD_LEN`: the most one write (one WAL record) carries.
const WAL_RECORD_LIMIT: usize = 64 << 20;

fn log_id(index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(1, 1), index)
}

fn put(index: u64, key: Vec<u8>, value: Vec<u8>) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(index),
        payload: EntryPayload::Normal(Command::put(key, value)),
    }
}

fn all_keys(store: &Store) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let pairs = store
        .reader()
        .scan(Unbounded, Unbounded, usize::MAX, Default::default());
    pairs.unwrap().into_iter().collect()
}

/// A snapshot of `pairs`, applied from index `first` in calls of `per_apply` entries
/// and built on a fresh store in `dir`.
async fn build(
    dir: &std::path::Path,
    pairs: &BTreeMap<Vec<u8>, Vec<u8>>,
    first: u64,
    per_apply: usize,
) -> Snapshot<TypeConfig> {
    let store = Store::open(dir).unwrap();
    let mut sm = store.state_machine();
    let entries: Vec<_> = (first..)
        .zip(pairs)
        .map(|(i, (k, v))| put(i, k.clone(), v.clone()))
        .collect();
    for part in entries.chunks(per_apply) {
        sm.apply(part.to_vec()).await.unwrap();
    }
    let snapshot = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let last = first + pairs.len() as u64 - 1;
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(last)));
    snapshot
}

/// 70 values of 1 MiB: 70 MiB of snapshot data, over the WAL record limit of 64 MiB
/// ([`WAL_RECORD_LIMIT`]), so neither the install nor the store of the
/// built snapshot could be one batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_larger_than_a_wal_record_installs_and_survives_a_reopen() {
    let pairs: BTreeMap<Vec<u8>, Vec<u8>> = (0u8..70)
        .map(|i| (format!("big{i:02}").into_bytes(), vec![i; 1 << 20]))
        .collect();
    let source = tempfile::tempdir().unwrap();
    let snapshot = build(source.path(), &pairs, 1, 8).await;
    let data = snapshot.snapshot.get_ref();
    assert!(data.len() > WAL_RECORD_LIMIT);
    // The source's current snapshot, stored in chunks, reads back whole.
    let stored = {
        let store = Store::open(source.path()).unwrap();
        store
            .state_machine()
            .get_current_snapshot()
            .await
            .unwrap()
            .unwrap()
    };
    assert!(stored.meta == snapshot.meta && stored.snapshot.get_ref() == data);
    drop(stored);
    drop(source);

    let target = tempfile::tempdir().unwrap();
    {
        let store = Store::open(target.path()).unwrap();
        let mut sm = store.state_machine();
        sm.apply([put(1, b"old".to_vec(), b"gone".to_vec())])
            .await
            .unwrap();
        let data = Box::new(snapshot.snapshot.as_ref().clone());
        sm.install_snapshot(&snapshot.meta, data).await.unwrap();
        assert!(all_keys(&store) == pairs, "installed keys differ");
    }
    let store = Store::open(target.path()).unwrap();
    assert!(all_keys(&store) == pairs, "keys differ after a reopen");
    let mut sm = store.state_machine();
    assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(70)));
    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, snapshot.meta);
    assert!(current.snapshot.get_ref() == snapshot.snapshot.get_ref());
}

/// 30 keys `<prefix>NN`, each with the value `<prefix>` repeated 20 times.
fn state(prefix: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    (0..30)
        .map(|i| {
            let key = format!("{prefix}{i:02}").into_bytes();
            (key, prefix.repeat(20).into_bytes())
        })
        .collect()
}

/// How often the readers (`[0]`) and the builds (`[1]`) saw state A and state B.
type Seen = [[AtomicUsize; 2]; 2];

fn saw_both(seen: &Seen) -> bool {
    seen.iter()
        .flatten()
        .all(|count| count.load(Ordering::Relaxed) > 0)
}

/// Scans everything until `stop`, checking each scan is exactly one of the states.
fn scan_until(
    store: &Store,
    states: [BTreeMap<Vec<u8>, Vec<u8>>; 2],
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let reader = store.reader();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let pairs = reader.scan(Unbounded, Unbounded, usize::MAX, Default::default());
            let found: BTreeMap<_, _> = pairs.unwrap().into_iter().collect();
            let Some(which) = states.iter().position(|s| *s == found) else {
                panic!("a scan saw a mix of states: {} keys", found.len());
            };
            seen[0][which].fetch_add(1, Ordering::Relaxed);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_and_builds_during_installs_never_see_a_mix() {
    let states = [state("a"), state("b")];
    let source = tempfile::tempdir().unwrap();
    let snapshots = [
        build(&source.path().join("a"), &states[0], 1, 30).await,
        build(&source.path().join("b"), &states[1], 101, 30).await,
    ];
    let target = tempfile::tempdir().unwrap();
    let store = Store::open(target.path()).unwrap();
    // Installs of many small writes, so that readers and builds overlap each step.
    store.set_stage_bytes(64);
    let mut sm = store.state_machine();
    let install = |sm: &mut quickcache_raft::StateMachine, s: &Snapshot<TypeConfig>| {
        let data = Box::new(s.snapshot.as_ref().clone());
        let meta = s.meta.clone();
        let mut sm = sm.clone();
        async move { sm.install_snapshot(&meta, data).await.unwrap() }
    };
    install(&mut sm, &snapshots[0]).await;

    let seen: Arc<Seen> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| scan_until(&store, states.clone(), Arc::clone(&seen), Arc::clone(&stop)))
        .collect();
    let mut builder = sm.get_snapshot_builder().await;
    let builds = {
        let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
        let expected: Vec<_> = snapshots
            .iter()
            .map(|s| (s.meta.last_log_id, s.snapshot.get_ref().clone()))
            .collect();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let built = builder.build_snapshot().await.unwrap();
                let id = built.meta.last_log_id;
                let which = expected.iter().position(|(last, _)| *last == id);
                let which = which.unwrap_or_else(|| panic!("a build at {id:?}"));
                assert!(
                    *built.snapshot.get_ref() == expected[which].1,
                    "a build at {id:?} holds other data than that state's"
                );
                seen[1][which].fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Alternate installs until every reader kind saw both states, or one of them
    // failed (a watchdog bounds it).
    let installs = async {
        let mut count = 0;
        let failed = || builds.is_finished() || readers.iter().any(|r| r.is_finished());
        while (count < 10 || !saw_both(&seen)) && !failed() {
            install(&mut sm, &snapshots[(count + 1) % 2]).await;
            count += 1;
        }
        count
    };
    let count = tokio::time::timeout(Duration::from_secs(120), installs).await;
    stop.store(true, Ordering::Relaxed);
    let count = count.expect("installs went on for 120 s without every reader seeing both states");
    for reader in readers {
        reader.join().unwrap();
    }
    tokio::time::timeout(Duration::from_secs(60), builds)
        .await
        .expect("a build hung")
        .unwrap();
    assert!(count >= 10);
    // The state of the last install, whole, and no other state keyspace left.
    let last = &states[count % 2];
    assert!(all_keys(&store) == *last);
    let names = store.db().keyspaces();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("raft-state")).count(),
        1,
        "{names:?}"
    );
}
