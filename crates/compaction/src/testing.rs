//! Test helpers: a cursor over a sorted vector and generators of small key spaces.

use quickcache_sstable::{Cursor, InternalKey, KeyRef, Result, SeqNo, ValueKind};

/// A correct cursor over sorted, distinct entries.
#[derive(Debug, Clone)]
pub(crate) struct VecCursor {
    pub(crate) entries: Vec<(InternalKey, Vec<u8>)>,
    pos: Option<usize>,
}

impl VecCursor {
    pub(crate) fn new(mut entries: Vec<(InternalKey, Vec<u8>)>) -> Self {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        VecCursor { entries, pos: None }
    }
}

impl Cursor for VecCursor {
    fn seek(&mut self, t: KeyRef<'_>) -> Result<()> {
        let i = self.entries.partition_point(|(k, _)| k.as_ref() < t);
        self.pos = (i < self.entries.len()).then_some(i);
        Ok(())
    }
    fn seek_to_first(&mut self) -> Result<()> {
        self.pos = (!self.entries.is_empty()).then_some(0);
        Ok(())
    }
    fn seek_to_last(&mut self) -> Result<()> {
        self.pos = self.entries.len().checked_sub(1);
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        self.pos = self.pos.map(|p| p + 1).filter(|&p| p < self.entries.len());
        Ok(())
    }
    fn prev(&mut self) -> Result<()> {
        self.pos = self.pos.and_then(|p| p.checked_sub(1));
        Ok(())
    }
    fn key(&self) -> Option<KeyRef<'_>> {
        self.pos.map(|p| self.entries[p].0.as_ref())
    }
    fn value(&self) -> Option<&[u8]> {
        self.pos.map(|p| self.entries[p].1.as_slice())
    }
}

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
