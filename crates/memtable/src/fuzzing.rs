//! Entry points for the fuzz targets in `fuzz/`, also replayed over the committed seed
//! corpus by `cargo test` (`tests/fuzz_corpus.rs`), so both run the same code.
//!
//! Each function decodes arbitrary bytes the way recovery would and checks properties
//! that must hold for every input. Decoding errors are expected and fine; `Err` means a
//! property failed, which is a bug (the fuzz target panics on it).

use std::collections::BTreeMap;

use quickcache_sstable::{Cursor, KeyspaceId, SeqNo, ValueKind, encode_expiring, split_expiring};

use crate::{BatchFormat, BatchKind, Lookup, Memtable, WriteBatch};

/// Batches with more entries than this are not applied, so each input runs quickly.
const MAX_APPLIED: u32 = 4096;

/// A broken property, described.
pub type Bug = String;

/// Decodes `data` as a write batch in each layout. Properties, in the current layout:
/// a rejection is a corruption error; an accepted batch is canonical (rebuilding it
/// entry by entry gives the same bytes), and once applied, each keyspace to its own
/// memtable, each entry is what `get` finds at its own seqno. In the version-1 layout:
/// a rejection is a corruption error; an accepted batch is the same entries in the
/// default keyspace, and its current encoding decodes back to it. In the version-2
/// layout: what the current layout accepts, less batches holding a version-3 kind
/// (an expiring put or a range delete).
pub fn write_batch(data: &[u8]) -> Result<(), Bug> {
    current_layout(data)?;
    version_2_layout(data)?;
    version_1_layout(data)
}

/// The version-2 layout is the current one with puts and deletes only (expiring puts
/// and range deletes came with version 3): it accepts exactly the current batches
/// that hold nothing else, and a rejection is a corruption error.
fn version_2_layout(data: &[u8]) -> Result<(), Bug> {
    let current = WriteBatch::decode(data).ok();
    let version_3 =
        (current.iter().flatten()).any(|e| !matches!(e.kind, BatchKind::Put | BatchKind::Delete));
    match WriteBatch::decode_format(data, BatchFormat::V2) {
        Ok(batch) if current.as_ref() == Some(&batch) && !version_3 => Ok(()),
        Ok(_) => {
            Err("version 2 accepts what the current layout does not, or a version-3 kind".into())
        }
        Err(e) if !e.is_corruption() => {
            Err(format!("version-2 decode failed without corruption: {e}"))
        }
        Err(_) if current.is_some() && !version_3 => {
            Err("version 2 refuses a plain current batch".into())
        }
        Err(_) => Ok(()),
    }
}

fn current_layout(data: &[u8]) -> Result<(), Bug> {
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

fn version_1_layout(data: &[u8]) -> Result<(), Bug> {
    let batch = match WriteBatch::decode_format(data, BatchFormat::V1) {
        Ok(batch) => batch,
        Err(e) if e.is_corruption() => return Ok(()),
        Err(e) => return Err(format!("version-1 decode failed without corruption: {e}")),
    };
    if let Some(entry) = batch.iter().find(|e| !e.keyspace.is_default()) {
        return Err(format!("a version-1 entry landed in {}", entry.keyspace));
    }
    if batch.iter().len() != batch.count() as usize
        || batch.iter().count() != batch.count() as usize
    {
        return Err("a version-1 batch lost entries in the conversion".into());
    }
    let again = WriteBatch::decode(batch.encoded())
        .map_err(|e| format!("a converted version-1 batch does not decode: {e}"))?;
    if again != batch || rebuild(&batch)? != batch {
        return Err("a converted version-1 batch does not round-trip".into());
    }
    Ok(())
}

/// The batch rebuilt through the public building API.
fn rebuild(batch: &WriteBatch) -> Result<WriteBatch, Bug> {
    let mut out = WriteBatch::new();
    for entry in batch {
        match entry.kind {
            BatchKind::Put => out.put_in(entry.keyspace, entry.key, entry.value),
            BatchKind::Delete => out.delete_in(entry.keyspace, entry.key),
            BatchKind::DeleteRange => out.delete_range_in(entry.keyspace, entry.key, entry.value),
            BatchKind::PutExpiring => match split_expiring(entry.value) {
                Some((at, value)) => out.put_expiring_in(entry.keyspace, entry.key, value, at),
                None => return Err("a decoded expiring entry has no expiry".into()),
            },
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

/// Applies the batch to one memtable per keyspace it names and checks that each
/// entry reads back from its keyspace's memtable at its own seqno, and that the
/// memtables together hold exactly the batch's entries.
fn check_applied(batch: &WriteBatch) -> Result<(), Bug> {
    let mut memtables: BTreeMap<KeyspaceId, Memtable> = BTreeMap::new();
    for entry in batch {
        // Small: an input may name thousands of keyspaces, each gets a key filter.
        memtables
            .entry(entry.keyspace)
            .or_insert_with(|| Memtable::with_capacity(4096));
    }
    for (&keyspace, memtable) in &memtables {
        memtable
            .apply_keyspace(batch, keyspace)
            .map_err(|e| format!("apply to {keyspace} failed: {e}"))?;
    }
    let mut seqno = batch.base_seqno();
    for entry in batch {
        let memtable = memtables
            .get(&entry.keyspace)
            .ok_or_else(|| format!("no memtable for {}", entry.keyspace))?;
        let found = match memtable.get(entry.key, seqno) {
            Some(Lookup::Value(v)) => Some((ValueKind::Value, v.value().to_vec(), v.seqno())),
            Some(Lookup::Expiring { value, expires_at }) => {
                let mut stored = Vec::new();
                encode_expiring(expires_at, value.value(), &mut stored);
                Some((ValueKind::ExpiringValue, stored, value.seqno()))
            }
            Some(Lookup::Deleted(s)) => Some((ValueKind::Tombstone, Vec::new(), s)),
            None => None,
        };
        // A range delete reads back, at its own seqno, as a delete of its start key.
        let want = match entry.kind {
            BatchKind::Put => (ValueKind::Value, entry.value.to_vec(), seqno),
            BatchKind::PutExpiring => (ValueKind::ExpiringValue, entry.value.to_vec(), seqno),
            BatchKind::Delete | BatchKind::DeleteRange => (ValueKind::Tombstone, Vec::new(), seqno),
        };
        if found != Some(want) {
            return Err(format!("entry at {seqno} reads back as {found:?}"));
        }
        seqno = seqno.checked_add(1).unwrap_or(SeqNo::MAX);
    }
    // Range deletes live apart from the point entries the cursors walk.
    let walked: u64 = memtables.values().map(walk).sum();
    let ranges: usize = memtables
        .values()
        .map(Memtable::range_tombstone_count)
        .sum();
    if walked + ranges as u64 != u64::from(batch.count()) {
        return Err(format!(
            "cursors walked {walked} of {} entries",
            batch.count()
        ));
    }
    Ok(())
}

/// The entries a cursor walks from the first.
fn walk(memtable: &Memtable) -> u64 {
    let mut cursor = memtable.cursor();
    let mut walked = 0u64;
    let mut step = cursor.seek_to_first();
    while step.is_ok() && cursor.valid() {
        walked += 1;
        step = cursor.next();
    }
    walked
}
