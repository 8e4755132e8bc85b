//! One manifest record (a version edit) as readable lines for `dump-manifest`,
//! decoded by the compaction crate's own decoder so the dump reads exactly what
//! recovery reads.

use quickcache_compaction::{TableInfo, VersionEdit};
use quickcache_sstable::InternalKey;

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

/// The edit's fields, one line each: the keyspace it is about (when not the default),
/// a create (id, name, stored options) or drop, numbers (the WAL segment recorded as
/// created among them), compaction pointers, removed tables, added tables.
///
/// # Errors
/// The decoder's report of the damaged field: which, where, what is wrong.
pub(crate) fn describe(payload: &[u8], format: Format) -> Result<Vec<String>, String> {
    let edit = VersionEdit::decode(payload).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    let id = edit.keyspace.0;
    if !edit.keyspace.is_default() {
        lines.push(format!("keyspace {id}"));
    }
    if let Some(def) = &edit.create {
        let o = &def.options;
        lines.push(format!(
            "create keyspace {id} {}: memtable {} bytes, tables {} bytes, blocks {} bytes, bloom {} bits/key, base level {} bytes, level multiplier {}, compression {}",
            format.show(def.name.as_bytes()),
            o.memtable_size,
            o.table_size,
            o.block_size,
            o.bloom_bits_per_key,
            o.base_level_size,
            o.level_multiplier,
            o.compression.map(|c| c.name()).join(",")
        ));
    }
    if edit.drop {
        lines.push(format!("drop keyspace {id}"));
    }
    lines.extend(
        edit.last_keyspace
            .map(|k| format!("last keyspace id {}", k.0)),
    );
    lines.extend(edit.log_number.map(|n| format!("log number {n}")));
    lines.extend(edit.next_file.map(|n| format!("next file {n}")));
    lines.extend(edit.last_seqno.map(|n| format!("last seqno {n}")));
    lines.extend(edit.wal_segment.map(|n| format!("WAL segment {n} created")));
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
    use quickcache_compaction::{Level, TableId};

    #[test]
    fn numbers_and_removals_decode() {
        let mut edit = VersionEdit::new();
        edit.log_number = Some(7);
        edit.wal_segment = Some(9);
        edit.removed
            .push((Level::all().nth(2).unwrap(), TableId(42)));
        let mut payload = Vec::new();
        edit.encode(&mut payload);
        let text = Format::Text;
        assert_eq!(
            describe(&payload, text),
            Ok(vec![
                "log number 7".into(),
                "WAL segment 9 created".into(),
                "remove L2 table 42".into()
            ])
        );
    }

    #[test]
    fn keyspace_fields_are_shown() {
        use quickcache_compaction::{KeyspaceDef, TreeOptions};
        use quickcache_sstable::KeyspaceId;
        let edit = VersionEdit {
            keyspace: KeyspaceId(3),
            create: Some(KeyspaceDef {
                name: "log".into(),
                options: TreeOptions {
                    memtable_size: 1,
                    table_size: 2,
                    block_size: 3,
                    bloom_bits_per_key: 4,
                    base_level_size: 5,
                    level_multiplier: 6,
                    compression: quickcache_compaction::DEFAULT_COMPRESSION,
                },
            }),
            last_keyspace: Some(KeyspaceId(3)),
            ..VersionEdit::new()
        };
        let mut payload = Vec::new();
        edit.encode(&mut payload);
        let lines = describe(&payload, Format::Text).unwrap();
        assert_eq!(lines[0], "keyspace 3");
        assert!(
            lines[1].starts_with("create keyspace 3 log: memtable 1 bytes"),
            "{lines:?}"
        );
        assert!(
            lines[1].ends_with("compression none,none,lz4,lz4,lz4,lz4,zstd"),
            "{lines:?}"
        );
        assert_eq!(lines[2], "last keyspace id 3");
        let drop = VersionEdit {
            keyspace: KeyspaceId(3),
            drop: true,
            ..VersionEdit::new()
        };
        let mut payload = Vec::new();
        drop.encode(&mut payload);
        let lines = describe(&payload, Format::Text).unwrap();
        assert_eq!(lines, ["keyspace 3", "drop keyspace 3"]);
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
