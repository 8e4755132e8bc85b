//! One manifest record (a version edit) as readable lines for `dump-manifest`,
//! decoded by the compaction crate's own decoder so the dump reads exactly what
//! recovery reads.

use quickcache::compaction::{TableInfo, VersionEdit};
use quickcache::sstable::InternalKey;

use crate::escape::Format;

fn key(k: &InternalKey, format: Format) -> String {
    let k = k.as_ref();
    format!("{}@{}", format.show(k.user_key), k.seqno)
}

fn add_table(level: impl std::fmt::Display, t: &TableInfo, format: Format) -> String {
    format!(
        "add {level} table {}: {} bytes, {} entries ({} tombstones), seqnos {}..={}, keys {} .. {}",
        t.id.0,
        t.size,
        t.entries,
        t.tombstones,
        t.min_seqno,
        t.max_seqno,
        key(&t.smallest, format),
        key(&t.largest, format)
    )
}

/// The edit's fields, one line each: numbers, compaction pointers, removed tables,
/// added tables.
///
/// # Errors
/// The decoder's report of the damaged field: which, where, what is wrong.
pub(crate) fn describe(payload: &[u8], format: Format) -> Result<Vec<String>, String> {
    let edit = VersionEdit::decode(payload).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    lines.extend(edit.log_number.map(|n| format!("log number {n}")));
    lines.extend(edit.next_file.map(|n| format!("next file {n}")));
    lines.extend(edit.last_seqno.map(|n| format!("last seqno {n}")));
    for (level, k) in &edit.pointers {
        lines.push(format!("compaction pointer {level} {}", key(k, format)));
    }
    for (level, id) in &edit.removed {
        lines.push(format!("remove {level} table {}", id.0));
    }
    for (level, t) in &edit.added {
        lines.push(add_table(level, t, format));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcache::compaction::{Level, TableId};

    #[test]
    fn numbers_and_removals_decode() {
        let mut edit = VersionEdit::new();
        edit.log_number = Some(7);
        edit.removed
            .push((Level::all().nth(2).unwrap(), TableId(42)));
        let mut payload = Vec::new();
        edit.encode(&mut payload);
        let text = Format::Text;
        assert_eq!(
            describe(&payload, text),
            Ok(vec!["log number 7".into(), "remove L2 table 42".into()])
        );
    }

    #[test]
    fn damage_is_named_never_panics() {
        let text = Format::Text;
        assert!(describe(&[9], text).is_err_and(|e| e.contains("version")));
        let truncated = [1, 1, 8, 0, 0, 0, 1, 2];
        assert!(describe(&truncated, text).is_err_and(|e| e.contains("at byte")));
        for len in 0..64 {
            let _ = describe(&vec![0xff; len], text);
        }
    }
}
