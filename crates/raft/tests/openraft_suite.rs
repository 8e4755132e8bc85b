//! openraft's own storage test suite (`openraft::testing::Suite`), run against the
//! quickcache adapter: 35 cases written by openraft's authors, each on a fresh database
//! (the last, `transfer_snapshot`, on two: a leader's and a follower's).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use quickcache_raft::{LogStore, NodeId, StateMachine, Store, TypeConfig};
use tempfile::TempDir;

/// Makes each case a fresh store in its own directory, removed when the case ends
/// (the directory guard is dropped after the store, so the database closes first).
/// Counts the stores it built, so the test can tell how many cases ran.
struct FreshStore {
    built: Arc<AtomicUsize>,
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for FreshStore {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        self.built.fetch_add(1, Ordering::Relaxed);
        let dir = tempfile::tempdir().map_err(|e| {
            StorageError::from_io_error(
                openraft::ErrorSubject::Store,
                openraft::ErrorVerb::Write,
                e,
            )
        })?;
        let store = Store::open(dir.path()).map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            StorageError::from_io_error(
                openraft::ErrorSubject::Store,
                openraft::ErrorVerb::Read,
                io,
            )
        })?;
        Ok((dir, store.log_store(), store.state_machine()))
    }
}

#[test]
fn openraft_storage_suite_passes() {
    let built = Arc::new(AtomicUsize::new(0));
    let builder = FreshStore {
        built: Arc::clone(&built),
    };
    Suite::test_all(builder).unwrap();
    // 34 cases on one fresh store each, and transfer_snapshot on two. A different
    // count means openraft's suite changed: update the count in docs/raft.md too.
    assert_eq!(built.load(Ordering::Relaxed), 36, "stores built");
}
