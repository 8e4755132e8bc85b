//! openraft's own storage test suite (`openraft::testing::Suite`), run against the
//! quickcache adapter: 35 cases written by openraft's authors, each on a fresh database.

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use quickcache_raft::{LogStore, NodeId, StateMachine, Store, TypeConfig};
use tempfile::TempDir;

/// Makes each case a fresh store in its own directory, removed when the case ends
/// (the directory guard is dropped after the store, so the database closes first).
struct FreshStore;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for FreshStore {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
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
    Suite::test_all(FreshStore).unwrap();
}
