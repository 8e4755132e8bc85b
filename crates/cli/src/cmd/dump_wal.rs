//! `dump-wal`: every record of one WAL segment file, decoded as a write batch, and
//! every damaged range, with no database needed around the file (when there is one,
//! its manifest names the keyspaces).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use quickcache_memtable::{BatchFormat, BatchKind, WriteBatch};
use quickcache_sstable::split_expiring;
use quickcache_wal::SegmentId;

use super::frames::{Expect, check_header, check_kind, number_in_header, walk};
use super::read_file;
use crate::CliError;
use crate::error::output;
use crate::escape::Format;

/// The segment a file holds: from its canonical name, else from its header.
fn segment_of(path: &Path, bytes: &[u8]) -> SegmentId {
    let name = path.file_name().and_then(|n| n.to_str());
    name.and_then(SegmentId::from_file_name)
        .or_else(|| number_in_header(bytes).map(SegmentId))
        .unwrap_or(SegmentId(0))
}

/// The batch layout of a segment of format `version`: version 1 has no keyspace ids,
/// version 2 no range deletes or expiring values.
fn layout(version: u32) -> BatchFormat {
    BatchFormat::of_wal_version(version).unwrap_or(BatchFormat::CURRENT)
}

/// Keyspace ids to names, from the manifest of the database the segment lives in
/// (`<db>/wal/<segment>`), read without changing anything; empty if there is none.
fn keyspace_names(path: &Path) -> BTreeMap<u32, String> {
    let Some(db) = path.parent().and_then(Path::parent) else {
        return BTreeMap::new();
    };
    let fs: quickcache::fs::DynFs = std::sync::Arc::new(quickcache::fs::RealFs::new());
    match quickcache_compaction::VersionSet::inspect(fs, db) {
        Ok(tree) => (tree.keyspaces.into_iter())
            .map(|(id, k)| (id.0, k.def.name))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

fn print_batch(
    out: &mut dyn Write,
    payload: &[u8],
    layout: BatchFormat,
    format: Format,
    names: &BTreeMap<u32, String>,
) -> std::io::Result<()> {
    let batch = match WriteBatch::decode_format(payload, layout) {
        Ok(batch) => batch,
        Err(e) => return writeln!(out, "    DAMAGE: payload is not a write batch: {e}"),
    };
    let last = batch
        .last_seqno()
        .map_or_else(|| "-".into(), |s| s.to_string());
    writeln!(
        out,
        "    seqno {}..={last}, {} entries",
        batch.base_seqno(),
        batch.count()
    )?;
    for entry in batch.iter() {
        // The default keyspace's entries read as before; others name their keyspace
        // id (the WAL holds ids only; `dump-manifest` maps them to names).
        let id = entry.keyspace.0;
        let keyspace = match names.get(&id) {
            _ if entry.keyspace.is_default() => String::new(),
            Some(name) => format!("[keyspace {id} {}] ", format.show(name.as_bytes())),
            None => format!("[keyspace {id}] "),
        };
        match entry.kind {
            BatchKind::Delete => {
                writeln!(out, "    DEL {keyspace}{}", format.show(entry.key))?;
            }
            BatchKind::DeleteRange => writeln!(
                out,
                "    DELRANGE {keyspace}{}..{}",
                format.show(entry.key),
                format.show(entry.value)
            )?,
            BatchKind::PutExpiring => {
                let (at, value) = split_expiring(entry.value).unwrap_or_default();
                writeln!(
                    out,
                    "    PUT {keyspace}{} = {} (expires at {} ms)",
                    format.show(entry.key),
                    format.show(value),
                    at.as_millis()
                )?;
            }
            BatchKind::Put => writeln!(
                out,
                "    PUT {keyspace}{} = {}",
                format.show(entry.key),
                format.show(entry.value)
            )?,
        }
    }
    Ok(())
}

/// Prints an ingest record (WAL version 5 on): its sequence number, keyspace and
/// tables.
fn print_ingest(
    out: &mut dyn Write,
    record: Result<quickcache::IngestRecord, quickcache::IngestRecordError>,
    names: &BTreeMap<u32, String>,
) -> std::io::Result<()> {
    let record = match record {
        Ok(record) => record,
        Err(e) => return writeln!(out, "    DAMAGE: {e}"),
    };
    let id = record.keyspace.0;
    let keyspace = match names.get(&id) {
        _ if record.keyspace.is_default() => String::new(),
        Some(name) => format!(" [keyspace {id} {name:?}]"),
        None => format!(" [keyspace {id}]"),
    };
    writeln!(
        out,
        "    INGEST{keyspace} seqno {}, {} tables",
        record.seqno,
        record.tables.len()
    )?;
    for t in &record.tables {
        writeln!(
            out,
            "    TABLE {} ({} bytes, tail checksum {:#018x})",
            t.id.file_name(),
            t.size,
            t.tail
        )?;
    }
    Ok(())
}

/// Dumps the segment file `path`.
///
/// # Errors
/// The file cannot be read, or it is damaged (after printing what was readable).
pub(crate) fn dump_wal(path: &Path, format: Format, out: &mut dyn Write) -> Result<(), CliError> {
    let bytes = read_file(path)?;
    check_kind(path, &bytes, Expect::Wal)?;
    let id = segment_of(path, &bytes);
    writeln!(
        out,
        "WAL segment {} ({}, {} bytes)",
        id.0,
        path.display(),
        bytes.len()
    )
    .map_err(output)?;
    let version = check_header(path, &bytes, id)?;
    let layout = layout(version);
    let marks = quickcache_wal::frame::sync_marks_in(version);
    let names = keyspace_names(path);
    let mut bad_batches = 0u64;
    let (records, damaged) = walk(out, &bytes, id, (true, marks), &mut |out, at, payload| {
        writeln!(out, "@{at} record, {} payload bytes", payload.len())?;
        if quickcache::is_ingest_record(version, payload) {
            let record = quickcache::IngestRecord::decode(payload);
            bad_batches += u64::from(record.is_err());
            return print_ingest(out, record, &names);
        }
        bad_batches += u64::from(WriteBatch::decode_format(payload, layout).is_err());
        print_batch(out, payload, layout, format, &names)
    })
    .map_err(output)?;
    writeln!(
        out,
        "{records} records, {damaged} damaged ranges, {bad_batches} undecodable batches"
    )
    .map_err(output)?;
    if damaged + bad_batches > 0 {
        let what =
            format!("{damaged} damaged ranges, {bad_batches} undecodable batches (listed above)");
        return Err(CliError::Damaged {
            path: path.to_path_buf(),
            what,
        });
    }
    Ok(())
}
