//! quickcache-wal (in progress).
