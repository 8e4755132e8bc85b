//! The edit decoder's reader: the shared field reader plus the edit's own fields.

use quickcache_sstable::wire::{self, WireError};
use quickcache_sstable::{InternalKey, KeyRef, SeqNo};

use super::DecodeError;
use crate::Level;

/// The shared bounds-checked reader (`quickcache_sstable::wire::Reader`, see
/// `docs/design.md`, "Shared vocabulary") with the edit's own fields on top; its
/// errors become [`DecodeError`]s with the same field, position and problem.
#[derive(Debug)]
pub(super) struct Reader<'a>(wire::Reader<'a>);

impl From<WireError> for DecodeError {
    fn from(e: WireError) -> Self {
        DecodeError {
            at: e.at,
            field: e.field,
            problem: e.problem,
        }
    }
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader(wire::Reader::new(buf))
    }

    /// The position of the next read.
    pub(super) fn at(&self) -> usize {
        self.0.pos()
    }

    pub(super) fn bad(&self, at: usize, field: &'static str, problem: &'static str) -> DecodeError {
        DecodeError { at, field, problem }
    }

    pub(super) fn take(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        Ok(self.0.bytes(len, field)?)
    }

    pub(super) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.0.u8(field)?)
    }

    pub(super) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(self.0.u32_le(field)?)
    }

    pub(super) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(self.0.u64_le(field)?)
    }

    pub(super) fn seqno(&mut self, field: &'static str) -> Result<SeqNo, DecodeError> {
        let at = self.at();
        let n = self.u64(field)?;
        SeqNo::new(n).ok_or_else(|| self.bad(at, field, "exceeds the largest sequence number"))
    }

    pub(super) fn level(&mut self, field: &'static str) -> Result<Level, DecodeError> {
        let at = self.at();
        let n = self.u8(field)?;
        Level::new(usize::from(n)).ok_or_else(|| self.bad(at, field, "no such level"))
    }

    pub(super) fn key(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<InternalKey, DecodeError> {
        let at = self.at();
        let bytes = self.take(len, field)?;
        let key =
            KeyRef::decode(bytes).ok_or_else(|| self.bad(at, field, "malformed internal key"))?;
        Ok(key.to_owned())
    }

    pub(super) fn key_rest(&mut self, field: &'static str) -> Result<InternalKey, DecodeError> {
        self.key(self.0.remaining(), field)
    }

    pub(super) fn finished(&self) -> Result<(), DecodeError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.bad(self.at(), "field body", "has trailing bytes"))
        }
    }
}
