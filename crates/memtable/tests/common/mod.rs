//! Helpers shared by the memtable's integration tests.

/// The workspace's one deterministic generator (SplitMix64, `quickcache_fs::Rng`,
/// re-exported by the sstable crate), so a seed replays a test's operations.
pub(crate) use quickcache_sstable::fs::Rng;
