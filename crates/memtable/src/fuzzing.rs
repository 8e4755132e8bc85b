//! Entry points for the fuzz targets in `fuzz/`, also replayed over the committed seed
//! corpus by `cargo test` (`tests/fuzz_corpus.rs`), so both run the same code.
//!
//! Each function decodes arbitrary bytes the way recovery would and checks properties
//! that must hold for every input. Decoding errors are expected and fine; `Err` means a
//! property failed, which is a bug (the fuzz target panics on it).

use quickcache_sstable::{Cursor, SeqNo, ValueKind};

use crate::{Lookup, Memtable, WriteBatch};

/// Batches with more entries than this are not applied, so each input runs quickly.
const MAX_APPLIED: u32 = 4096;

/// A broken property, described.
pub type Bug = String;

/// Decodes `data` as a write batch. Properties: a rejection is a corruption error; an
/// accepted batch is canonical (rebuilding it entry by entry gives the same bytes), and
/// once applied to a memtable each entry is what `get` finds at its own seqno.
pub fn write_batch(data: &[u8]) -> Result<(), Bug> {
    let batch = match WriteBatch::decode(data) {
        Ok(batch) => batch,
        Err(e) if e.is_corruption() => return Ok(()),
        Err(e) => return Err(format!("decode failed without corruption: {e}")),
    };
    if batch.encoded() != data {
        return Err("decoded batch does not keep the input bytes".into());
    }
    let rebuilt = rebuild(&batch)?;
    if rebuilt != batch || rebuilt.encoded() != data {
        return Err(format!("rebuilding gives different bytes: {rebuilt:?}"));
    }
    if batch.base_seqno() != SeqNo::ZERO && batch.count() <= MAX_APPLIED {
        check_applied(&batch)?;
    }
    Ok(())
}

/// The batch rebuilt through the public building API.
fn rebuild(batch: &WriteBatch) -> Result<WriteBatch, Bug> {
    let mut out = WriteBatch::new();
    for entry in batch {
        match entry.kind {
            ValueKind::Value => out.put(entry.key, entry.value),
            ValueKind::Tombstone => out.delete(entry.key),
        }
        .map_err(|e| format!("rebuild rejected a decoded entry: {e}"))?;
    }
    if out.count() != batch.count() {
        return Err(format!(
            "iterated {} of {} entries",
            out.count(),
            batch.count()
        ));
    }
    out.set_base_seqno(batch.base_seqno())
        .map_err(|e| format!("rebuild rejected the decoded seqno: {e}"))?;
    Ok(out)
}

fn check_applied(batch: &WriteBatch) -> Result<(), Bug> {
    let memtable = Memtable::new();
    memtable
        .apply(batch)
        .map_err(|e| format!("apply failed: {e}"))?;
    let mut seqno = batch.base_seqno();
    for entry in batch {
        let found = match memtable.get(entry.key, seqno) {
            Some(Lookup::Value(v)) => Some((ValueKind::Value, v.value().to_vec(), v.seqno())),
            Some(Lookup::Deleted(s)) => Some((ValueKind::Tombstone, Vec::new(), s)),
            None => None,
        };
        if found != Some((entry.kind, entry.value.to_vec(), seqno)) {
            return Err(format!("entry at {seqno} reads back as {found:?}"));
        }
        seqno = seqno.checked_add(1).unwrap_or(SeqNo::MAX);
    }
    let mut cursor = memtable.cursor();
    let mut walked = 0u64;
    let mut step = cursor.seek_to_first();
    while step.is_ok() && cursor.valid() {
        walked += 1;
        step = cursor.next();
    }
    if walked != u64::from(batch.count()) {
        return Err(format!(
            "cursor walked {walked} of {} entries",
            batch.count()
        ));
    }
    Ok(())
}
