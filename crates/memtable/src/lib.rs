//! quickcache-memtable (in progress).
