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
