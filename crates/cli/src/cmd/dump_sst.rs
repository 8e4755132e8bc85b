//! `dump-sst`: a table file's properties and entries, then its checksums verified.

use std::io::Write;
use std::path::Path;

use quickcache::fs::RealFs;
use quickcache_sstable::{InternalKey, Table, ValueKind, split_expiring};

use crate::CliError;
use crate::error::output;
use crate::escape::Format;

fn damaged(path: &Path, e: &quickcache_sstable::Error) -> CliError {
    CliError::Damaged {
        path: path.to_path_buf(),
        what: e.to_string(),
    }
}

fn show_key(key: &InternalKey, format: Format) -> String {
    let kind = if key.kind == ValueKind::Tombstone {
        "DEL"
    } else {
        "PUT"
    };
    format!("{kind} {} @{}", format.show(&key.user_key), key.seqno)
}

fn print_properties(table: &Table, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    let p = table.properties();
    writeln!(
        out,
        "table {} ({} bytes, format version {})",
        table.path().display(),
        table.file_size(),
        p.format_version
    )?;
    writeln!(
        out,
        "entries {} (tombstones {}), data blocks {}, filter {}",
        p.entry_count,
        p.tombstone_count,
        p.data_block_count,
        if table.has_filter() { "yes" } else { "no" }
    )?;
    writeln!(
        out,
        "key bytes {}, value bytes {}, seqnos {}..={}",
        p.raw_key_bytes, p.raw_value_bytes, p.smallest_seqno, p.largest_seqno
    )?;
    let bound = |k: &Option<InternalKey>| {
        k.as_ref()
            .map_or_else(|| "-".into(), |k| show_key(k, format))
    };
    writeln!(
        out,
        "smallest {}\nlargest  {}",
        bound(&p.smallest_key),
        bound(&p.largest_key)
    )
}

/// Dumps the table file `path`.
///
/// # Errors
/// The file cannot be opened as a table, an entry cannot be read, or a checksum fails.
pub(crate) fn dump_sst(path: &Path, format: Format, out: &mut dyn Write) -> Result<(), CliError> {
    if !path.is_file() {
        return Err(CliError::Usage(format!("{}: no such file", path.display())));
    }
    let table = Table::open(&RealFs::new(), path).map_err(|e| damaged(path, &e))?;
    print_properties(&table, format, out).map_err(output)?;
    for entry in table.iter() {
        let (key, value) = entry.map_err(|e| damaged(path, &e))?;
        let shown = show_key(&key, format);
        if key.kind == ValueKind::Tombstone {
            writeln!(out, "{shown}").map_err(output)?;
        } else if key.kind == ValueKind::ExpiringValue {
            let (at, value) = split_expiring(value.as_slice()).unwrap_or_default();
            let (value, at) = (format.show(value), at.as_millis());
            writeln!(out, "{shown} = {value} (expires at {at} ms)").map_err(output)?;
        } else {
            writeln!(out, "{shown} = {}", format.show(value.as_slice())).map_err(output)?;
        }
    }
    table.verify().map_err(|e| damaged(path, &e))?;
    writeln!(out, "checksums, filter and key order verified").map_err(output)
}
