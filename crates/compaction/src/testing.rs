//! Test helpers: a cursor over a sorted vector and generators of small key spaces.

use quickcache_sstable::{InternalKey, SeqNo, ValueKind};

/// A correct cursor over sorted, distinct entries (the conformance harness's own).
pub(crate) use quickcache_sstable::conformance::VecCursor;

/// A small internal key: user key `k{n}` from a tiny alphabet so that keys collide.
pub(crate) fn ikey(user: u8, seq: u64, tomb: bool) -> InternalKey {
    let kind = if tomb {
        ValueKind::Tombstone
    } else {
        ValueKind::Value
    };
    let seqno = SeqNo::new(seq & 0xffff).unwrap_or(SeqNo::ZERO);
    InternalKey::new(vec![b'k', user % 16], seqno, kind)
}

/// A version built from `(level, id, smallest user key, largest user key, size, seqno)`.
pub(crate) fn version_of(tables: &[(usize, u64, &str, &str, u64, u64)]) -> crate::Version {
    use std::sync::Arc;
    let fs: quickcache_fs::DynFs = Arc::new(quickcache_fs::SimFs::new(1));
    let mut edit = crate::VersionEdit::new();
    for &(level, id, lo, hi, size, seq) in tables {
        let seqno = SeqNo::new(seq).unwrap_or(SeqNo::ZERO);
        let info = crate::TableInfo {
            id: crate::TableId(id),
            size,
            smallest: InternalKey::new(lo.as_bytes(), seqno, ValueKind::Value),
            largest: InternalKey::new(hi.as_bytes(), seqno, ValueKind::Value),
            min_seqno: seqno,
            max_seqno: seqno,
            entries: 1,
            tombstones: 0,
            global_seqno: None,
        };
        edit.added
            .push((crate::Level::new(level).unwrap_or(crate::Level::L0), info));
    }
    let mut open = |info: &crate::TableInfo| {
        Arc::new(crate::TableHandle::new(
            Arc::clone(&fs),
            std::path::Path::new("/db"),
            info.clone(),
        ))
    };
    match edit.apply(&crate::Version::new(), &mut open) {
        Ok(applied) => applied.version,
        Err(e) => panic!("bad test version: {e}"),
    }
}
